"""A push's commits, checked while they are still in git's quarantine, become versions of the project.

The pre-receive hook (`pre-receive`) hands the ref updates and the quarantine's environment to `PushReceiver.receive`,
which refuses anything an import would refuse (bad paths, folders Forja does not keep, symbolic links, submodules,
files or projects over the limits) before it saves anything, then saves each commit on main's first-parent line
as one version through the project service's save: the quota, the log and the preview see it as any save. A
refusal's sentence is what git prints to the pusher as `remote: ...`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from dulwich.objects import Commit

from builder.errors import FileTreeError, ForjaError, GitExportError, VersionMoved
from builder.filetree import Limits, human_size, is_skipped, normalize_path
from builder.git.commands import git
from builder.git.mirror import MAIN, Head
from builder.git.objects import ObjectReader, TooManyEntries, TreeItem, subject
from builder.models import Author
from builder.schemas import CommitResult
from builder.services.access import Actor
from builder.services.projects import ProjectService

log = logging.getLogger(__name__)

ZERO = "0" * 40
GITLINK_MODE, SYMLINK_MODE = 0o160000, 0o120000
# What of the hook's environment says where the pushed objects are (git's quarantine).
QUARANTINE_ENV = ("GIT_OBJECT_DIRECTORY", "GIT_ALTERNATE_OBJECT_DIRECTORIES", "GIT_QUARANTINE_PATH")


class PushRefused(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class Entry:
    mode: int
    sha: str
    size: int


def tree_of(reader: ObjectReader, sha: str, commit: Commit, limits: Limits, known: Mapping[str, Entry]) -> dict[str, Entry]:
    """The commit's files, or PushRefused naming the first rule one of them breaks. A file `known` with the same blob
    keeps its size; git reads the others' from their headers."""
    short = sha[:10]
    try:
        items = reader.tree(commit, limits.max_files)
    except TooManyEntries:
        raise PushRefused(f"{short} has more than {limits.max_files} files; the limit is {limits.max_files}.") from None
    paths: dict[str, TreeItem] = {}
    for item in items:
        path = item.path.decode("utf-8", "replace")
        if item.mode == GITLINK_MODE:
            raise PushRefused(f"{path} in {short} is a submodule (a gitlink); Forja keeps files only. Remove it first.")
        if item.mode == SYMLINK_MODE:
            raise PushRefused(f"{path} in {short} is a symbolic link; Forja keeps regular files only. Remove it first.")
        try:
            if normalize_path(path) != path or item.path != path.encode():
                raise FileTreeError(f"File name {path!r} is not a plain relative path.", path)
        except FileTreeError as exc:
            raise PushRefused(f"{exc.message} (in {short})") from None
        if is_skipped(path):
            raise PushRefused(f"{path} in {short} is in a folder Forja does not keep; add it to .gitignore.")
        paths[path] = item
    sizes = reader.sizes(i.sha for p, i in paths.items() if (k := known.get(p)) is None or k.sha != i.sha)
    entries: dict[str, Entry] = {}
    for path, item in paths.items():
        size = sizes[item.sha] if item.sha in sizes else known[path].size
        if size > limits.max_file_bytes:
            limit = human_size(limits.max_file_bytes)
            raise PushRefused(f"{path} in {short} is {human_size(size)}; the limit per file is {limit}.")
        entries[path] = Entry(item.mode, item.sha, size)
    total = sum(entry.size for entry in entries.values())
    if total > limits.max_total_bytes:
        raise PushRefused(
            f"{short}'s files add up to {human_size(total)}; a project may hold {human_size(limits.max_total_bytes)}."
        )
    return entries


def first_parent_line(repo: Path, old: str, new: str, env: dict[str, str]) -> tuple[list[tuple[str, str]], bool]:
    """(commit, subject) of each commit the push adds on main's first-parent line, oldest first, and whether `new`
    descends from `old` (a fast-forward): it does when that line starts on `old`, and asks git only when it does not
    (`old` reached through a merge's other parent)."""
    span = [new] if old == ZERO else [f"{old}..{new}"]
    out = git(repo, "log", "--first-parent", "--reverse", "--format=%H%x00%P%x00%s", *span, "--", env=env)
    records = [line.split("\0", 2) for line in out.decode("utf-8", "replace").splitlines() if line]
    commits = [(commit, subject) for commit, _, subject in records]
    starts_on_old = old == ZERO or (bool(records) and records[0][1].split(" ")[0] == old)
    return commits, starts_on_old or is_ancestor(repo, old, new, env)


def is_ancestor(repo: Path, old: str, new: str, env: dict[str, str]) -> bool:
    if old == ZERO:
        return True
    try:
        git(repo, "merge-base", "--is-ancestor", old, new, env=env)
    except GitExportError:
        return False
    return True


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


class PushReceiver:
    def __init__(self, projects: ProjectService) -> None:
        self._projects = projects
        # The tree of each project's last saved commit: the next push most often starts from it.
        self._last_tree: dict[str, tuple[str, dict[str, Entry]]] = {}

    def _read(self, project_id: str, repo: Path, old: str, new: str, env: dict[str, str], limits: Limits) -> Read:
        """Blocking: run it in a thread."""
        with ObjectReader(repo, env) as reader:
            pushed = reader.commit(new)
            if old != ZERO and pushed.parents[:1] == [old.encode()]:
                # Most pushes are one commit on main: no need to ask git for the line.
                commits, forward = [(new, subject(pushed))], True
            else:
                commits, forward = first_parent_line(repo, old, new, env)
            if not forward:
                return Read(commits, forward, {}, [], {})
            last, cached = self._last_tree.get(project_id, ("", {}))
            if old == ZERO:
                before = {}
            else:
                before = cached if last == old else tree_of(reader, old, reader.commit(old), limits, {})
            trees: list[dict[str, Entry]] = []
            for commit, _ in commits:
                read = pushed if commit == new else reader.commit(commit)
                trees.append(tree_of(reader, commit, read, limits, trees[-1] if trees else before))
            changed = {tree[p].sha for tree, was in zip(trees, [before, *trees], strict=False) for p in changed_paths(tree, was)}
            return Read(commits, forward, before, trees, reader.contents(changed))

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
    ) -> str:
        """Check and save a push (`head`: where main was when the pusher was answered); what to tell the pusher.
        Each commit saved goes into `saved` as it is, so the caller tags it, and announces it, even when a later one
        fails."""
        env = {k: v for k, v in env.items() if k in QUARANTINE_ENV}
        for old, _new, ref in updates:
            if ref != MAIN:
                raise PushRefused(f"Forja keeps one branch, main; push to it (git push origin HEAD:main), not {ref}.")
            if old != (head.commit if head else ZERO):
                raise PushRefused("The project changed since you fetched it; run git pull, then push again.")
        if not updates:
            return ""
        old, new, _ = updates[0]
        read = await asyncio.to_thread(self._read, project_id, repo, old, new, env, Limits.from_settings())
        # git checks receive.denyNonFastForwards only after this hook has run: by then the versions would be saved.
        if not read.forward:
            raise PushRefused(
                "main -> main is a non-fast-forward update and Forja keeps every version; run git pull, then push again."
            )
        previous = read.before
        latest = head.version if head else 0
        for (commit, said), tree in zip(read.commits, read.trees, strict=True):
            writes = {p: read.contents[tree[p].sha] for p in changed_paths(tree, previous)}
            message = f"{verb} {actor.name or actor.email}: {said}".strip()
            try:
                # Each on the version before it: a save that lands meanwhile refuses the rest of the push.
                result = await self._projects.record(
                    project_id, writes, sorted(previous.keys() - tree.keys()), message, Author.user, actor.user_id, latest
                )
            except VersionMoved:
                raise PushRefused("The project changed since you fetched it; run git pull, then push again.") from None
            except ForjaError as exc:
                raise PushRefused(f"{commit[:10]} was not saved: {exc.message}") from None
            latest = result.version.number
            saved.append(Saved(commit, result, writes))
            self._last_tree[project_id] = (commit, tree)
            previous = tree
        log.info("push to %s by %s: %d commits saved up to version %s", project_id, actor.user_id, len(read.commits), latest)
        return f"Forja saved {len(read.commits)} commit(s); the project is at version {latest}."

    async def announce(self, project_id: str, saved: list[Saved]) -> None:
        for one in saved:
            await self._projects.announce(project_id, one.result, one.writes)
