"""A push's commits, checked while they are still in git's quarantine, become versions of the project.

The pre-receive hook (`pre-receive`) hands the ref updates and the quarantine's environment to `PushReceiver.receive`,
which refuses, before it saves anything: a ref other than main or its deletion; a push past the person's hourly caps
(caps.py); any commit the push brings, those a merge brings through its other parents too, that an import would refuse
(trees.py: bad paths, folders Forja does not keep, symbolic links, submodules, files or projects over the limits); an
object none of those commits holds; and a push that would take the owner's storage past their quota (the files it
saves and the bytes git received). Then it saves each commit on main's first-parent line as one version through the
project service's save: the quota, the log and the preview see it as any save. A refusal's sentence is what git
prints to the pusher as `remote: ...`; git then drops the quarantine, so a refused push leaves nothing.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from pathlib import Path

from dulwich.objects import Commit

from builder.errors import ForjaError, GitExportError, QuotaExceeded, VersionMoved
from builder.filetree import Limits
from builder.git.caps import PushCaps
from builder.git.commands import git
from builder.git.mirror import MAIN, Head
from builder.git.objects import NotACommit, ObjectReader, subject
from builder.git.quarantine import object_ids, quarantine_of
from builder.git.trees import Entry, Known, PushRefused, check_tree, tree_of
from builder.models import Author
from builder.schemas import CommitResult
from builder.services.access import Actor
from builder.services.projects import ProjectService
from builder.services.quotas import QuotaService
from preview_runtime.common import folder_bytes

log = logging.getLogger(__name__)

ZERO = "0" * 40
# What of the hook's environment says where the pushed objects are (git's quarantine).
QUARANTINE_ENV = ("GIT_OBJECT_DIRECTORY", "GIT_ALTERNATE_OBJECT_DIRECTORIES", "GIT_QUARANTINE_PATH")
MERGED = "Forja checks every new commit, merged ones too: take this one out of the history first."
CHANGED = "The project changed since you fetched it; run git pull, then push again."
# Most folder entries a push's checks read ahead for all its commits at once (a few MB); past it, commit by commit.
READ_AHEAD = 100_000


def new_commits(repo: Path, old: str, new: str, env: dict[str, str]) -> dict[str, list[str]]:
    """{commit: its parents} of every commit reachable from `new` but not from `old`: all the commits a push brings."""
    span = [new] if old == ZERO else [new, f"^{old}"]
    out = git(repo, "rev-list", "--parents", *span, "--", env=env)
    return {commit: parents for commit, *parents in (line.split() for line in out.decode().splitlines() if line)}


def first_parent_line(graph: dict[str, list[str]], new: str) -> list[str]:
    """The commits of `graph` on `new`'s first-parent line, oldest first: those that become versions."""
    line: list[str] = []
    commit: str | None = new
    while commit is not None and commit in graph:
        line.append(commit)
        commit = next(iter(graph[commit]), None)
    return line[::-1]


def is_ancestor(repo: Path, old: str, new: str, env: dict[str, str]) -> bool:
    if old == ZERO:
        return True
    try:
        git(repo, "merge-base", "--is-ancestor", old, new, env=env)
    except GitExportError:
        return False
    return True


def unused_objects(repo: Path, quarantine: Path, read: set[str]) -> set[str]:
    """The objects in the quarantine that the checks did not read and the mirror does not hold already (a client may
    send one it has): nothing a checked commit holds, so nothing to keep."""
    left = object_ids(quarantine) - read
    if not left:
        return set()
    # Without the quarantine's environment git sees the mirror's objects only.
    out = git(repo, "cat-file", "--batch-check=%(objectname)", input="".join(f"{sha}\n" for sha in left).encode())
    held = {line for line in out.decode().splitlines() if not line.endswith(" missing")}
    return left - held


@dataclass(frozen=True)
class Saved:
    """A pushed commit saved as a version, and what the save wrote: told to the project (its log, preview and editors)
    once the pusher has heard back."""

    commit: str
    result: CommitResult
    writes: dict[str, bytes]

    @property
    def version(self) -> int:
        return self.result.version.number


def changed_paths(tree: dict[str, Entry], before: dict[str, Entry]) -> list[str]:
    return [p for p, e in tree.items() if (was := before.get(p)) is None or was.sha != e.sha]


@dataclass(frozen=True)
class Read:
    """What a push adds, as read from git before anything is saved."""

    commits: list[tuple[str, str]]  # (commit, subject) on main's first-parent line, oldest first
    forward: bool  # whether the push is a fast-forward
    before: dict[str, Entry]  # the tree main had
    trees: list[dict[str, Entry]]  # each commit's, checked
    contents: dict[str, bytes]  # by sha, every blob a commit changes
    merged: int = 0  # commits checked off the first-parent line (brought by merges)
    received: int = 0  # what git received into its quarantine, on disk


@dataclass(frozen=True)
class Taken:
    """A push taken: what to tell the pusher, and what git received (the mirror keeps it once the hook said yes)."""

    message: str
    received: int = 0


@dataclass(frozen=True)
class Pushed:
    """The push as git gave it: main from `old` to `new`, and where git holds its objects until the hook answers."""

    old: str
    new: str
    env: dict[str, str]
    quarantine: Path | None  # None for a pull, whose objects are in the mirror already


def brought(repo: Path, push: Pushed, pushed: Commit) -> tuple[list[str], list[str], bool]:
    """The commits the push brings: those on main's first-parent line (oldest first), the others (merged in), and
    whether it is a fast-forward. git checks receive.denyNonFastForwards only after the hook has run: by then versions
    would be saved."""
    old, new = push.old, push.new
    if old != ZERO and pushed.parents == [old.encode()]:
        return [new], [], True  # most pushes: one commit on main, all the push brings; no need to ask git
    graph = new_commits(repo, old, new, push.env)
    line = first_parent_line(graph, new)
    forward = old == ZERO or bool(line and graph[line[0]][:1] == [old]) or is_ancestor(repo, old, new, push.env)
    return line, [commit for commit in graph if commit not in set(line)], forward


def check_merged(
    reader: ObjectReader, others: list[str], merged: list[Commit], limits: Limits, known: Known, checked: set[bytes]
) -> None:
    """Each commit merged in passes the rules too (those with a tree checked already need nothing more)."""
    for sha, commit in zip(others, merged, strict=True):
        if commit.tree in checked:
            continue
        try:
            check_tree(reader, sha, commit, limits, known)
        except PushRefused as exc:
            raise PushRefused(f"{exc.message} {MERGED}") from None
        checked.add(commit.tree)


class PushReceiver:
    def __init__(self, projects: ProjectService, caps: PushCaps, quotas: QuotaService) -> None:
        self._projects = projects
        self._caps = caps
        self._quotas = quotas
        # The tree of each project's last saved commit: the next push most often starts from it.
        self._last_tree: dict[str, tuple[str, dict[str, Entry]]] = {}

    def _before(self, project_id: str, reader: ObjectReader, old: str, limits: Limits) -> dict[str, Entry]:
        """The tree main had."""
        last, cached = self._last_tree.get(project_id, ("", {}))
        if old == ZERO:
            return {}
        return cached if last == old else tree_of(reader, old, reader.commit(old), limits, Known())

    def _read(self, project_id: str, repo: Path, push: Pushed) -> Read:
        """Blocking: run it in a thread."""
        limits = Limits.from_settings()
        received = folder_bytes(push.quarantine) if push.quarantine is not None else 0
        with ObjectReader(repo, push.env) as reader:
            try:
                pushed = reader.commit(push.new)
            except NotACommit as exc:
                raise PushRefused(f"main takes commits only, and {push.new[:10]} is a {exc.kind}.") from None
            line, others, forward = brought(repo, push, pushed)
            if not forward:
                return Read([], False, {}, [], {})
            before = self._before(project_id, reader, push.old, limits)
            known = Known({entry.sha: entry.size for entry in before.values()}, {p.encode() for p in before})
            read = [pushed] if line == [push.new] else reader.commits(line)
            merged = reader.commits(others)
            if len(read) + len(merged) > 1:
                # The commits share most of their folders and files: each read and measured once, for all of them.
                blobs = reader.read_ahead([commit.tree.decode() for commit in [*read, *merged]], READ_AHEAD)
                known.sizes.update(reader.sizes(blobs - known.sizes.keys()))
            trees = [tree_of(reader, sha, commit, limits, known) for sha, commit in zip(line, read, strict=True)]
            check_merged(reader, others, merged, limits, known, {commit.tree for commit in read})
            changed = {tree[p].sha for tree, was in zip(trees, [before, *trees], strict=False) for p in changed_paths(tree, was)}
            contents = reader.contents(changed)
            if push.quarantine is not None and (unused := unused_objects(repo, push.quarantine, reader.asked)):
                raise PushRefused(
                    f"This push holds {len(unused)} object(s) none of its commits uses; Forja keeps only what the "
                    "commits hold, so nothing was saved. Push with git itself (git push origin main)."
                )
            commits = [(sha, subject(commit)) for sha, commit in zip(line, read, strict=True)]
            return Read(commits, forward, before, trees, contents, len(others), received)

    async def receive(
        self,
        project_id: str,
        actor: Actor,
        repo: Path,
        updates: list[tuple[str, str, str]],
        env: dict[str, str],
        head: Head | None,
        saved: list[Saved],
        verb: str = "Pushed by",
    ) -> Taken:
        """Check and save a push (`head`: where main was when the pusher was answered); what to tell the pusher.
        Each commit saved goes into `saved` as it is, so the caller tags it, and announces it, even when a later one
        fails."""
        for old, new, ref in updates:
            if new == ZERO:
                raise PushRefused(f"Forja keeps every version, so a push cannot delete {ref}; nothing was changed.")
            if ref != MAIN:
                raise PushRefused(f"Forja keeps one branch, main; push to it (git push origin HEAD:main), not {ref}.")
            if old != (head.commit if head else ZERO):
                raise PushRefused(CHANGED)
        if not updates:
            return Taken("")
        old, new, _ = updates[0]
        env = {k: v for k, v in env.items() if k in QUARANTINE_ENV}
        push = Pushed(old, new, env, quarantine_of(repo, env.get("GIT_QUARANTINE_PATH")))
        read = await asyncio.to_thread(self._read, project_id, repo, push)
        if not read.forward:
            raise PushRefused(
                "main -> main is a non-fast-forward update and Forja keeps every version; run git pull, then push again."
            )
        if push.quarantine is not None:
            await self._caps.check(actor, read.received)
        try:
            # Every version's files and what git received, together: a push is taken whole or not at all.
            await self._quotas.check_write(project_id, read.contents, git_bytes=read.received)
        except QuotaExceeded as exc:
            raise PushRefused(exc.message) from None
        latest = await self._save(project_id, actor, read, head, saved, verb)
        log.info(
            "push to %s by %s: %d commits saved up to version %s (%d merged in checked, %d bytes received)",
            project_id,
            actor.user_id,
            len(read.commits),
            latest,
            read.merged,
            read.received,
        )
        return Taken(f"Forja saved {len(read.commits)} commit(s); the project is at version {latest}.", read.received)

    async def _save(self, project_id: str, actor: Actor, read: Read, head: Head | None, saved: list[Saved], verb: str) -> int:
        """Each commit on the first-parent line as a version; the last one's number."""
        previous = read.before
        latest = head.version if head else 0
        for (commit, said), tree in zip(read.commits, read.trees, strict=True):
            writes = {p: read.contents[tree[p].sha] for p in changed_paths(tree, previous)}
            message = f"{verb} {actor.name or actor.email}: {said}".strip()
            try:
                # Each on the version before it: a save that lands meanwhile refuses the rest of the push.
                result = await self._projects.record(
                    project_id,
                    writes,
                    sorted(previous.keys() - tree.keys()),
                    message,
                    Author.user,
                    actor.user_id,
                    latest,
                    quota_checked=True,  # for the whole push, in receive
                )
            except VersionMoved:
                raise PushRefused(CHANGED) from None
            except ForjaError as exc:
                raise PushRefused(f"{commit[:10]} was not saved: {exc.message}") from None
            latest = result.version.number
            saved.append(Saved(commit, result, writes))
            self._last_tree[project_id] = (commit, tree)
            previous = tree
        return latest

    async def announce(self, project_id: str, saved: list[Saved]) -> None:
        for one in saved:
            await self._projects.announce(project_id, one.result, one.writes)
