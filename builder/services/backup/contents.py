"""What of the data folder a backup holds, and what it leaves out and why (docs/deploying.md#backups says the same).

The projects' files and versions are in the database (content-addressed blobs), so the folder's durable content is
what only it has: the projects' git mirrors (a push's own commits), the published apps' releases, the apps' /data
folders, pictures waiting for their message and the evaluations' results. The rest Forja writes again by itself.
Only regular files are kept: a symbolic link or a socket an app left in its /data folder is not.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from builder.settings import settings

# Right under the data folder, by name.
LEFT_OUT: dict[str, str] = {
    "forja.db": "the database, taken on its own by SQLite's online backup",
    "forja.db-wal": "the database's write-ahead log, inside the online backup",
    "forja.db-shm": "the database's shared memory, inside the online backup",
    "forja.db-journal": "the database's rollback journal, inside the online backup",
    "secret.key": "the key of the apps' variables: only with --with-key, in a file of its own beside the archive",
    "forja.lock": "who holds the data folder now",
    "previews": "the previews' working copies and dependency caches, written again from the versions at a preview's start",
    "parked": "parked previews' saved state: a preview starts again from its version",
    "proxy": "the preview proxy's configuration and process files, written at each start",
    "logs": "the tools' logs",
    "registry-ca": "the authority previews' installs trust for the registries, made again at start",
}
# Deeper down: a mirror's lock file, an app's database socket, what a writer left half-done.
LEFT_OUT_INSIDE: dict[str, str] = {
    "git/*.lock": "a mirror's lock file",
    "git/*.git/hooks/*.sample": "git's sample hooks, which git never runs (Forja writes its own hook at each use)",
    "appdata/*/*/db": "the socket an app reaches its PostgreSQL database by (the database is dumped on its own)",
    "appdata/*/.removed-*": "an app's /data folder being removed",
    "appdata/**/DATABASE-wal, -shm, -journal": "a SQLite database's log and shared memory, inside its online backup",
    "releases/*/.*.partial-*": "a release being written (it is renamed into place whole)",
}
# The parts of a data folder the shared folder holds instead, when there is one (FORJA_SHARED_DIR).
SHARED_PARTS = ("releases", "appdata")
DATA_PREFIX = "data"
SHARED_PREFIX = "shared"
PART_WORDS = {
    "git": "the projects' git histories",
    "releases": "the published apps' files",
    "appdata": "the apps' /data folders",
    "attachments": "pictures waiting for their message",
    "evals": "the evaluations' results",
}


@dataclass(frozen=True)
class Kept:
    """A file the backup holds: where it is, and its name in the archive."""

    path: str
    name: str

    @property
    def part(self) -> str:
        return part_of(self.name)


def part_of(name: str) -> str:
    """A file's part of the archive: the folder right under the data folder it is in, or "data" beside them."""
    inside = name.split("/")[1:]
    return inside[0] if len(inside) > 1 else DATA_PREFIX


def shared_folder() -> Path | None:
    """FORJA_SHARED_DIR when it is a folder of its own (not the data folder nor inside it)."""
    shared = settings.shared_dir
    return shared if shared is not None and not shared.is_relative_to(settings.data_dir) else None


def _left_out(parts: tuple[str, ...], is_dir: bool) -> bool:
    """Whether a path below a top folder of the data folder (its parts from there) is left out."""
    match parts:
        case ("git", name):
            return not is_dir and name.endswith(".lock")
        case ("git", _, "hooks", name):
            return name.endswith(".sample")
        case ("appdata", _, name):
            return name.startswith(".removed-")
        case ("appdata", _, _, "db"):
            return is_dir
        case ("releases", _, name):
            return name.startswith(".") and ".partial-" in name
    return False


def _walk(folder: str, name: str, here: tuple[str, ...], kept_top: Callable[[str], bool]) -> Iterator[Kept]:
    """The kept files under `folder` (`name` in the archive, `here` its parts below the data folder), a folder's files
    before its folders' (so each folder of the data folder, a part of the archive, is in one run). One scandir per
    folder: its entries' types come with it."""
    try:
        with os.scandir(folder) as listed:
            entries = list(listed)
    except FileNotFoundError:  # removed since its parent was listed
        return
    folders = []
    for entry in entries:
        parts = (*here, entry.name)
        is_dir = entry.is_dir(follow_symlinks=False)
        if not kept_top(entry.name) if not here else _left_out(parts, is_dir):
            continue
        if is_dir:
            folders.append(entry)
        elif entry.is_file(follow_symlinks=False):
            yield Kept(entry.path, f"{name}/{entry.name}")
    for entry in folders:
        yield from _walk(entry.path, f"{name}/{entry.name}", (*here, entry.name), kept_top)


def durable_files() -> Iterator[Kept]:
    """Every file of the data folder (and of the shared folder) a backup holds."""
    shared = shared_folder()
    in_shared = SHARED_PARTS if shared is not None else ()
    yield from _walk(str(settings.data_dir), DATA_PREFIX, (), lambda name: name not in LEFT_OUT and name not in in_shared)
    if shared is not None:
        yield from _walk(str(shared), SHARED_PREFIX, (), lambda name: name in SHARED_PARTS)
