"""A project's history as a bare git repository: one commit per version, in order, kept up to date from the store.

Which commit is which version is in the repository itself: tag `v<N>` names version N's commit (as in the history's
git bundle). A sync adds commits only for the versions without a tag, with `git fast-import` from the newest tagged
one, so a clone of a long history does not rebuild it each time. A pushed commit that became a version is tagged
as that version (pushes.py), so the pusher's own commits stay in the history they cloned, and their next push is a
fast-forward. What the repository takes on disk is measured after each change and kept with the project: its
owner's storage counts it (builder/services/quotas.py).
"""

from __future__ import annotations

import asyncio
import fcntl
import logging
import os
import shutil
import tempfile
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from builder.errors import GitExportError
from builder.git.commands import ensure_repo, git, git_root, repo_path
from builder.models import Author
from builder.schemas import VersionInfo
from builder.services.history import AUTHOR_EMAILS, AUTHOR_NAMES
from builder.store import ProjectStore
from preview_runtime.common import folder_bytes

log = logging.getLogger(__name__)

FORJA_AUTHOR = ("Forja", "forja@forja.invalid")
TAG_PREFIX = "refs/tags/v"
MAIN = "refs/heads/main"
# Loose tags at which a mirror's tags are packed into one file: git reads each loose ref at every request (a push's
# advertisement, its connectivity check and its ref update), and Forja turns off git's gc, which would pack them.
# A 200-version mirror's loose tags cost a push 3 to 5 ms here.
PACK_TAGS_AT = 32

# Left in a repository by a git killed while it wrote: its locks, and a push's objects still in quarantine.
STALE = ("refs/**/*.lock", "packed-refs.lock", "HEAD.lock", "config.lock", "shallow.lock", "objects/tmp_objdir-incoming-*")

_locks: dict[str, asyncio.Lock] = {}


def _open_lock(path: Path) -> int:
    path.parent.mkdir(parents=True, exist_ok=True)
    return os.open(path, os.O_CREAT | os.O_RDWR, 0o600)


def _wait_lock(fd: int) -> None:
    fcntl.flock(fd, fcntl.LOCK_EX)


@asynccontextmanager
async def project_lock(project_id: str) -> AsyncIterator[None]:
    """One sync or push at a time per project (a push holds it from its sync to its tags): in this process, and, by a
    lock file beside the repository, in every worker whose FORJA_DATA_DIR is the same folder. What a git killed while it
    held the lock left in the repository is removed as the lock is taken."""
    async with _locks.setdefault(project_id, asyncio.Lock()):
        fd = _open_lock(git_root() / f"{project_id}.lock")
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:  # another worker holds it: wait in a thread, not on the event loop
                await asyncio.to_thread(_wait_lock, fd)
            if left := await asyncio.to_thread(clear_stale, repo_path(project_id)):
                log.warning("removed what a git killed mid-write left in the git mirror of %s: %s", project_id, ", ".join(left))
            yield
        finally:
            os.close(fd)  # which releases the lock


def clear_stale(repo: Path) -> list[str]:
    """Remove what a git process killed mid-write left (its worker was killed in the middle of a push): locks of refs,
    which would refuse every later ref update and fast-import until removed by hand, and a push's quarantined objects.
    Only git run under `project_lock` writes a mirror: when the lock is just taken, no such file is anyone's any more."""
    removed = []
    for pattern in STALE:
        for path in repo.glob(pattern):
            if path.is_dir():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)
            removed.append(path.relative_to(repo).as_posix())
    return removed


def git_path(path: str) -> str | None:
    """The path as fast-import reads it (C-quoted), or None for a path git cannot check out (under .git)."""
    if any(part.casefold() == ".git" for part in path.split("/")):
        return None
    return '"' + path.replace("\\", "\\\\").replace('"', '\\"') + '"'


def timestamp(when: datetime) -> int:
    return int((when if when.tzinfo else when.replace(tzinfo=UTC)).timestamp())


@dataclass(frozen=True)
class Head:
    """Where main is: the newest version and its commit."""

    version: int
    commit: str


def read_refs(repo: Path) -> tuple[dict[int, str], str | None]:
    """{version number: commit} from the repository's v<N> tags, and main's commit (None before the first)."""
    out = git(repo, "for-each-ref", "--format=%(refname) %(objectname)", "refs/tags/", MAIN)
    tags: dict[int, str] = {}
    main = None
    for line in out.decode().splitlines():
        ref, _, sha = line.partition(" ")
        number = ref.removeprefix(TAG_PREFIX)
        if ref.startswith(TAG_PREFIX) and number.isdigit():
            tags[int(number)] = sha
        elif ref == MAIN:
            main = sha
    return tags, main


def version_tags(repo: Path) -> dict[int, str]:
    return read_refs(repo)[0]


def set_tags(repo: Path, tags: dict[int, str], main: str | None = None) -> None:
    """Tag each version as its commit; with `main`, only if main is that commit (GitExportError if not): one
    transaction."""
    lines = f"verify {MAIN} {main}\n" if main else ""
    lines += "".join(f"update {TAG_PREFIX}{n} {sha}\n" for n, sha in tags.items())
    git(repo, "update-ref", "--stdin", input=lines.encode())
    pack_tags(repo)


def pack_tags(repo: Path) -> None:
    """Pack the loose tags into packed-refs once there are PACK_TAGS_AT of them."""
    with os.scandir(repo / "refs" / "tags") as loose:
        if sum(1 for _ in loose) >= PACK_TAGS_AT:
            git(repo, "pack-refs")  # tags, and what is packed already: main, which moves at each push, stays loose


def message_of(info: VersionInfo, model: str) -> bytes:
    message = info.message.strip() or f"Version {info.number}"
    if info.author == Author.ai:
        message += f"\n\nModel: {model or 'unknown'}"
    return message.encode("utf-8") + b"\n"


class Mirror:
    def __init__(self, store: ProjectStore) -> None:
        self._store = store
        # Where this process last left each mirror: while the store has no newer version, a sync has nothing to do
        # (a fetch syncs on each of its requests, so this is most of them).
        self._synced: dict[str, Head] = {}

    def forget(self, project_id: str) -> None:
        """The mirror changed (a pull tagged versions): the next sync looks at it again."""
        self._synced.pop(project_id, None)

    async def pushed(self, project_id: str, saved: list[tuple[int, str]], pusher: str | None = None, received: int = 0) -> None:
        """Tag the (version, commit) pairs a push saved. When the push moved main to the last of them, the next fetch
        or push needs no sync; when it did not (refused after it saved some), the next sync looks again. What the
        repository takes now is kept, with the push of `received` bytes counted for `pusher` (the hourly caps), in
        one transaction."""
        repo = repo_path(project_id)
        version, commit = saved[-1]
        try:
            await asyncio.to_thread(set_tags, repo, dict(saved), main=commit)
        except GitExportError:
            await asyncio.to_thread(set_tags, repo, dict(saved))
            self.forget(project_id)
        else:
            self._synced[project_id] = Head(version, commit)
        await self._store.git_pushed(project_id, await asyncio.to_thread(folder_bytes, repo), pusher, received)

    async def measure(self, project_id: str) -> None:
        """Keep what the repository takes on disk with the project, for its owner's storage."""
        size = await asyncio.to_thread(folder_bytes, repo_path(project_id))
        await self._store.set_git_bytes(project_id, size)

    async def sync(self, project_id: str) -> Head | None:
        """Bring the project's repository up to date (the caller holds `project_lock`); where main is, None when the
        project has no version yet."""
        store = self._store
        latest = await store.latest_version(project_id)
        known = self._synced.get(project_id)
        if known is not None and known.version == latest and (repo_path(project_id) / "HEAD").exists():
            return known
        repo = await asyncio.to_thread(ensure_repo, project_id)
        if not latest:
            return None  # an empty repository: a first push gives the project its first version
        versions = await store.list_versions(project_id)
        latest = versions[-1].number
        tags, main = await asyncio.to_thread(read_refs, repo)
        if any(n > latest for n in tags):
            # Tags of versions the store does not have: this mirror belongs to an older database; start again.
            log.warning("the git mirror of %s is ahead of its history; rebuilding it", project_id)
            await asyncio.to_thread(shutil.rmtree, repo_path(project_id))
            repo, tags = await asyncio.to_thread(ensure_repo, project_id), {}
        base = max(tags, default=0)
        if base < latest:
            await self._add(project_id, repo, [v for v in versions if v.number > base], base, tags.get(base))
            tags = await asyncio.to_thread(version_tags, repo)
        head = Head(latest, tags[latest])
        if main != head.commit:
            await asyncio.to_thread(git, repo, "update-ref", MAIN, head.commit)
        # Once per process and mirror at least (a mirror made before Forja measured them is measured here), then after
        # each change.
        await self.measure(project_id)
        self._synced[project_id] = head
        return head

    async def _authors(self, project_id: str, versions: list[VersionInfo]) -> dict[Author | str, tuple[str, str]]:
        """(name, email) by author kind and by the user id of each person who saved one of `versions`."""
        members = await self._store.members(project_id)
        authors: dict[Author | str, tuple[str, str]] = {a: (AUTHOR_NAMES[a], AUTHOR_EMAILS[a]) for a in AUTHOR_NAMES}
        # Versions saved before they recorded who saved them: when one person alone works on the project, it was them.
        if len(members) == 1:
            user = members[0][0]
            authors[Author.user] = (user.name or user.email, user.email)
        authors[Author.ai] = FORJA_AUTHOR
        for user_id in {v.user_id for v in versions if v.user_id and v.author != Author.ai}:
            if (user := await self._store.user(user_id)) is not None:
                authors[user_id] = (user.name or user.email, user.email)
        return authors

    async def _add(self, project_id: str, repo: Path, versions: list[VersionInfo], base: int, base_commit: str | None) -> None:
        """Commits for `versions` (those after `base`), on top of `base_commit`, through one git fast-import."""
        store = self._store
        models = {g.version: g.model for g in await store.list_generations(project_id) if g.version is not None}
        authors = await self._authors(project_id, versions)
        previous = (await store.version_manifest(project_id, base))[1] if base else {}
        # A first sync reads every tree in one query; a later one, the few new versions one by one.
        every = dict((i.number, m) for i, m in await store.version_manifests(project_id)) if not base else {}
        with tempfile.TemporaryDirectory(prefix="forja-git-", dir=repo) as work:
            stream_path = Path(work) / "versions.fast-import"
            with stream_path.open("wb") as stream:
                mark = 0
                for info in versions:
                    manifest = every.get(info.number) or (await store.version_manifest(project_id, info.number))[1]
                    changed = {p: h for p, h in manifest.items() if previous.get(p) != h and git_path(p)}
                    blobs = await store.read_blobs(set(changed.values()))
                    marks: dict[str, int] = {}
                    for digest, data in sorted(blobs.items()):
                        mark += 1
                        marks[digest] = mark
                        stream.write(b"blob\nmark :%d\ndata %d\n%s\n" % (mark, len(data), data))
                    mark += 1
                    who_saved = info.user_id if info.author != Author.ai else None
                    name, email = authors.get(who_saved or info.author) or authors.get(info.author, FORJA_AUTHOR)
                    who = f"{name} <{email}> {timestamp(info.created_at)} +0000"
                    message = message_of(info, models.get(info.number, ""))
                    stream.write(f"commit {MAIN}\nmark :{mark}\nauthor {who}\ncommitter {who}\n".encode())
                    stream.write(b"data %d\n%s" % (len(message), message))
                    if base_commit:
                        stream.write(f"from {base_commit}\n".encode())
                        base_commit = None  # the next commits follow this one on the branch
                    stream.write(_changes(previous, manifest, changed, marks))
                    stream.write(f"\nreset {TAG_PREFIX}{info.number}\nfrom :{mark}\n\n".encode())
                    previous = manifest
                stream.write(b"done\n")
            data = stream_path.read_bytes()
            await asyncio.to_thread(git, repo, "fast-import", "--quiet", "--done", "--force", input=data)
            await asyncio.to_thread(pack_tags, repo)
        log.info("git mirror of %s: added versions %d to %d", project_id, versions[0].number, versions[-1].number)


def _changes(previous: dict[str, str], manifest: dict[str, str], changed: dict[str, str], marks: dict[str, int]) -> bytes:
    lines: Iterable[str] = [
        *(f"D {q}\n" for p in sorted(previous.keys() - manifest.keys()) if (q := git_path(p))),
        *(f"M 100644 :{marks[h]} {git_path(p)}\n" for p, h in sorted(changed.items())),
    ]
    return "".join(lines).encode()
