"""A push's commits, checked while they are still in git's quarantine, become versions of the project.

The pre-receive hook (hook.py) hands the ref updates and the quarantine's environment to `PushReceiver.receive`,
which refuses anything an import would refuse (bad paths, folders Forja does not keep, symbolic links, submodules,
files or projects over the limits) before it saves anything, then saves each commit on main's first-parent line
as one version through the project service's save: the quota, the log and the preview see it as any save. A
refusal's sentence is what git prints to the pusher as `remote: ...`.
"""

from __future__ import annotations

import asyncio
import logging
import subprocess
from collections.abc import Awaitable
from dataclasses import dataclass
from pathlib import Path

from builder.errors import FileTreeError, ForjaError, GitExportError, VersionMoved
from builder.filetree import Limits, human_size, is_skipped, normalize_path
from builder.git.commands import GIT, GIT_TIMEOUT_S, git, git_env
from builder.git.mirror import MAIN, Head
from builder.models import Author
from builder.schemas import CommitResult
from builder.services.access import Actor
from builder.services.projects import ProjectService

log = logging.getLogger(__name__)

ZERO = "0" * 40
# What of the hook's environment says where the pushed objects are (git's quarantine).
QUARANTINE_ENV = ("GIT_OBJECT_DIRECTORY", "GIT_ALTERNATE_OBJECT_DIRECTORIES", "GIT_QUARANTINE_PATH")


class PushRefused(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class Entry:
    mode: str
    kind: str
    sha: str
    size: int


def tree_of(repo: Path, commit: str, env: dict[str, str], limits: Limits) -> dict[str, Entry]:
    """The commit's files, or PushRefused naming the first rule one of them breaks."""
    out = git(repo, "ls-tree", "-r", "-z", "-l", "--full-tree", commit, env=env)
    entries: dict[str, Entry] = {}
    total = 0
    short = commit[:10]
    for record in out.split(b"\0"):
        if not record:
            continue
        meta, _, raw = record.partition(b"\t")
        mode, kind, sha, size = meta.decode().split()
        path = raw.decode("utf-8", "replace")
        if kind == "commit":
            raise PushRefused(f"{path} in {short} is a submodule (a gitlink); Forja keeps files only. Remove it first.")
        if mode == "120000":
            raise PushRefused(f"{path} in {short} is a symbolic link; Forja keeps regular files only. Remove it first.")
        try:
            if normalize_path(path) != path or raw != path.encode():
                raise FileTreeError(f"File name {path!r} is not a plain relative path.", path)
        except FileTreeError as exc:
            raise PushRefused(f"{exc.message} (in {short})") from None
        if is_skipped(path):
            raise PushRefused(f"{path} in {short} is in a folder Forja does not keep; add it to .gitignore.")
        if int(size) > limits.max_file_bytes:
            limit = human_size(limits.max_file_bytes)
            raise PushRefused(f"{path} in {short} is {human_size(int(size))}; the limit per file is {limit}.")
        total += int(size)
        entries[path] = Entry(mode, kind, sha, int(size))
        if len(entries) > limits.max_files:
            raise PushRefused(f"{short} has more than {limits.max_files} files; the limit is {limits.max_files}.")
    if total > limits.max_total_bytes:
        raise PushRefused(
            f"{short}'s files add up to {human_size(total)}; a project may hold {human_size(limits.max_total_bytes)}."
        )
    return entries


def read_blobs(repo: Path, shas: list[str], env: dict[str, str]) -> dict[str, bytes]:
    """Blob contents by sha, in one `git cat-file --batch`."""
    if not shas:
        return {}
    with BlobReader(repo, env) as reader:
        return reader.read(shas)


class BlobReader:
    """A `git cat-file --batch` started before the blobs it is to read are known: its start-up (most of its time for a
    push's few files) overlaps the reading of the tree that names them."""

    def __init__(self, repo: Path, env: dict[str, str]) -> None:
        self._process = subprocess.Popen(
            [*GIT, "cat-file", "--batch"],
            cwd=repo,
            env=git_env(env),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )

    def read(self, shas: list[str]) -> dict[str, bytes]:
        out, err = self._process.communicate("".join(f"{s}\n" for s in shas).encode(), timeout=GIT_TIMEOUT_S)
        if self._process.returncode:
            detail = err.decode("utf-8", "replace").strip().splitlines()
            raise GitExportError(f"git cat-file failed: {detail[-1] if detail else self._process.returncode}")
        found: dict[str, bytes] = {}
        at = 0
        for sha in shas:
            end = out.index(b"\n", at)
            size = int(out[at:end].split()[2])
            found[sha] = out[end + 1 : end + 1 + size]
            at = end + 1 + size + 1
        return found

    def __enter__(self) -> BlobReader:
        return self

    def __exit__(self, *_: object) -> None:
        if self._process.poll() is None:
            self._process.kill()
        self._process.communicate()


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


class PushReceiver:
    def __init__(self, projects: ProjectService) -> None:
        self._projects = projects
        # The tree of each project's last saved commit: the next push most often starts from it.
        self._last_tree: dict[str, tuple[str, dict[str, Entry]]] = {}

    async def _tree_before(self, project_id: str, repo: Path, old: str, env: dict[str, str], limits: Limits) -> dict[str, Entry]:
        if old == ZERO:
            return {}
        commit, tree = self._last_tree.get(project_id, ("", {}))
        return tree if commit == old else await asyncio.to_thread(tree_of, repo, old, env, limits)

    @staticmethod
    async def _pushed(
        repo: Path, new: str, before: Awaitable[dict[str, Entry]], env: dict[str, str], limits: Limits
    ) -> tuple[dict[str, Entry], dict[str, bytes]]:
        """The pushed commit's tree, and the contents of its files that differ from the tree `before` the push (git's
        blob reader starting while the trees are read)."""
        with BlobReader(repo, env) as reader:
            tree, previous = await asyncio.gather(asyncio.to_thread(tree_of, repo, new, env, limits), before)
            shas = sorted({tree[p].sha for p in changed_paths(tree, previous)})
            return tree, await asyncio.to_thread(reader.read, shas)

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
        limits = Limits.from_settings()
        # At once: a push waits for each of them. Most pushes are one commit, so what the pushed commit adds is read
        # while git lists the commits.
        before = asyncio.ensure_future(self._tree_before(project_id, repo, old, env, limits))
        (commits, forward), (pushed_tree, contents) = await asyncio.gather(
            asyncio.to_thread(first_parent_line, repo, old, new, env),
            self._pushed(repo, new, before, env, limits),
        )
        previous = before.result()
        # git checks receive.denyNonFastForwards only after this hook has run: by then the versions would be saved.
        if not forward:
            raise PushRefused(
                "main -> main is a non-fast-forward update and Forja keeps every version; run git pull, then push again."
            )
        earlier = await asyncio.gather(*(asyncio.to_thread(tree_of, repo, c, env, limits) for c, _ in commits[:-1]))
        trees = [*earlier, pushed_tree] if commits else []
        latest = head.version if head else 0
        for (commit, subject), tree in zip(commits, trees, strict=True):
            paths = changed_paths(tree, previous)
            contents |= await asyncio.to_thread(read_blobs, repo, sorted({tree[p].sha for p in paths} - contents.keys()), env)
            writes = {p: contents[tree[p].sha] for p in paths}
            message = f"{verb} {actor.name or actor.email}: {subject}".strip()
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
        log.info("push to %s by %s: %d commits saved up to version %s", project_id, actor.user_id, len(commits), latest)
        return f"Forja saved {len(commits)} commit(s); the project is at version {latest}."

    async def announce(self, project_id: str, saved: list[Saved]) -> None:
        for one in saved:
            await self._projects.announce(project_id, one.result, one.writes)
