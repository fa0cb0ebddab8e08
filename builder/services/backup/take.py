"""Taking a backup: the database first, as of one moment, then the data folder's durable files, then the manifest,
into one compressed tar written beside its place and renamed into it whole.

Backing up needs no lock on the data folder: it only reads, while Forja runs. A project's git mirror is read while
holding its lock file (the one pushes and syncs take, builder/git/mirror.py), so no mirror is copied halfway through
a push; an app's SQLite database is taken by SQLite's online backup, as Forja's own is. The key is never in the archive: with `with_key` it goes into a file of its own beside it (mode 0600).
"""

from __future__ import annotations

import fcntl
import logging
import os
import secrets
import sqlite3
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from pydantic import BaseModel

from builder.app_secrets import KEY_FILE
from builder.errors import InvalidInput
from builder.git.commands import git_root
from builder.services.backup import databases
from builder.services.backup.contents import LEFT_OUT, LEFT_OUT_INSIDE, PART_WORDS, Kept, durable_files
from builder.services.backup.manifest import MANIFEST_NAME, Manifest, Part, PartSum, forja_version
from builder.services.backup.tar_stream import CHUNK, TarWriter
from builder.settings import settings

log = logging.getLogger(__name__)

SUFFIX = ".tar.gz"
KEY_SUFFIX = ".key"
# gzip's level 6 is `gzip`'s and `tar -z`'s own default: level 9 takes twice as long for 2-3% less.
GZIP_LEVEL = 6


class BackupResult(BaseModel):
    path: Path
    bytes: int
    key_path: Path | None = None
    manifest: Manifest


def archive_path(to: Path | None, now: datetime) -> Path:
    """`to` when it names a file, else a file named after the time in `to` (a folder; the working folder by default)."""
    if to is not None and not to.is_dir() and to.name.endswith(SUFFIX):
        return to
    return (to or Path.cwd()) / f"forja-backup-{now:%Y%m%d-%H%M%S}{SUFFIX}"


def _add_file(archive: TarWriter, path: str | Path, name: str, sums: PartSum) -> None:
    """Add the file as it is when opened (its size then: a file replaced since it was listed is read whole)."""
    with open(path, "rb") as file:
        stat = os.fstat(file.fileno())
        digest = archive.add(name, file, stat.st_size, int(stat.st_mtime), stat.st_mode & 0o7777)
    sums.add(name, digest, stat.st_size)


def _hold_mirror(kept: Kept, held: dict[str, int]) -> None:
    """Hold the lock of the git mirror `kept` is in while its files are read, and no other (`held`: those held, by
    repository)."""
    parts = kept.name.split("/", 3)
    repo = parts[2] if len(parts) > 3 and parts[1] == "git" and parts[2].endswith(".git") else None
    for other in [name for name in held if name != repo]:
        os.close(held.pop(other))
    if repo is not None and repo not in held:
        fd = os.open(git_root() / f"{repo.removesuffix('.git')}.lock", os.O_CREAT | os.O_RDWR, 0o600)
        fcntl.flock(fd, fcntl.LOCK_EX)
        held[repo] = fd


def _add_app_file(archive: TarWriter, kept: Kept, scratch: Path, sums: PartSum) -> None:
    """A file of an app's /data folder; its SQLite databases as of one moment, their logs inside them."""
    if databases.sqlite_sidecar_of(kept.path):
        return
    if not databases.is_sqlite(kept.path):
        _add_file(archive, kept.path, kept.name, sums)
        return
    copy = scratch / "app.sqlite"
    try:
        try:
            databases.take_app_sqlite(Path(kept.path), copy)
        except sqlite3.Error as exc:  # locked past the wait, or damaged: the file as it is, as any other
            log.warning("the app's SQLite file %s was copied as a file: %s", kept.name, exc)
            _add_file(archive, kept.path, kept.name, sums)
            return
        source = os.stat(kept.path)
        with open(copy, "rb") as file:
            size = os.fstat(file.fileno()).st_size
            digest = archive.add(kept.name, file, size, int(source.st_mtime), source.st_mode & 0o7777)
        sums.add(kept.name, digest, size)
    finally:
        copy.unlink(missing_ok=True)


def _add_folder(archive: TarWriter, scratch: Path) -> list[Part]:
    sums: dict[str, PartSum] = {}
    held: dict[str, int] = {}
    try:
        for kept in durable_files():
            part = sums.setdefault(kept.part, PartSum(kept.part, PART_WORDS.get(kept.part, "other files of the data folder")))
            _hold_mirror(kept, held)
            try:
                if kept.part == "appdata":
                    _add_app_file(archive, kept, scratch, part)
                else:
                    _add_file(archive, kept.path, kept.name, part)
            except FileNotFoundError:  # removed since the folder was listed: it is not part of the backup
                continue
    finally:
        for fd in held.values():
            os.close(fd)
    return [part.done() for part in sums.values()]


def _add_whole(archive: TarWriter, path: Path, name: str, part: str, words: str) -> Part:
    sums = PartSum(part, words)
    _add_file(archive, path, name, sums)
    return sums.done()


def _take_databases(archive: TarWriter, scratch: Path) -> tuple[str, list[Part]]:
    """Forja's database, then each app's; the migration revision Forja's was at."""
    url = settings.sync_database_url
    if databases.is_postgres(url):
        copy = scratch / "forja.dump"
        revision = databases.take_postgres(url, copy)
        names = databases.app_database_names(None)
    else:
        copy = scratch / "forja.db"
        revision = databases.take_sqlite(databases.sqlite_file(url), copy)
        names = databases.app_database_names(copy)
    parts = [_add_whole(archive, copy, f"database/{copy.name}", "database", "Forja's database")]
    copy.unlink()
    for name in names:
        dump = scratch / f"{name}.dump"
        databases.take_app_database(name, dump)
        parts.append(_add_whole(archive, dump, f"app-databases/{name}.dump", f"app-database {name}", f"the database {name}"))
        dump.unlink()
    return revision, parts


@contextmanager
def _compressed(path: Path) -> Iterator[TarWriter]:
    """A tar stream into `gzip` writing `path`: gzip compresses on a core of its own while this one reads and hashes
    (as `tar -z` does; in-process, compressing took as long as all the rest)."""
    # Only Forja's user reads it: the database inside holds the people's accounts and the apps' data.
    with os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb") as out:
        gzip = subprocess.Popen(["gzip", f"-{GZIP_LEVEL}", "-c"], stdin=subprocess.PIPE, stdout=out, bufsize=CHUNK)
        assert gzip.stdin is not None
        try:
            archive = TarWriter(gzip.stdin)
            yield archive
            archive.close()
        finally:
            gzip.stdin.close()
            if gzip.wait() != 0:
                raise OSError(f"gzip could not compress the backup into {path} (exit {gzip.returncode})")


def _write_key(archive: Path) -> Path | None:
    """The key beside the archive (mode 0600), when this Forja has one."""
    key_file = settings.data_dir / KEY_FILE
    key = (
        settings.secret_key.strip().encode()
        if settings.secret_key
        else key_file.read_bytes().strip()
        if key_file.exists()
        else b""
    )
    if not key:
        return None
    path = archive.with_name(archive.name.removesuffix(SUFFIX) + KEY_SUFFIX)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)  # a file of that name made before keeps its mode through O_TRUNC
    with os.fdopen(fd, "wb") as file:
        file.write(key + b"\n")
    return path


def take_backup(to: Path | None = None, with_key: bool = False) -> BackupResult:
    """Write one archive of this Forja (see the module's docstring). Blocking: run it in a thread."""
    now = datetime.now(UTC)
    path = archive_path(to, now)
    if path.resolve().is_relative_to(settings.data_dir.resolve()):
        raise InvalidInput(f"{path} is inside the data folder, which the backup reads: write it somewhere else (--to PATH).")
    path.parent.mkdir(parents=True, exist_ok=True)
    draft = path.with_name(f".{path.name}.partial-{secrets.token_hex(4)}")
    try:
        with tempfile.TemporaryDirectory(prefix="forja-backup-") as scratch, _compressed(draft) as archive:
            revision, parts = _take_databases(archive, Path(scratch))
            parts += _add_folder(archive, Path(scratch))
            manifest = Manifest(
                forja_version=forja_version(),
                schema_revision=revision,
                created_at=now,
                database="postgresql" if databases.is_postgres(settings.sync_database_url) else "sqlite",
                parts=parts,
                left_out={**LEFT_OUT, **LEFT_OUT_INSIDE},
            )
            archive.add_bytes(MANIFEST_NAME, manifest.model_dump_json(indent=2).encode(), int(now.timestamp()))
        os.replace(draft, path)
    finally:
        draft.unlink(missing_ok=True)
    key_path = _write_key(path) if with_key else None
    log.info("backed up to %s", path)
    return BackupResult(path=path, bytes=path.stat().st_size, key_path=key_path, manifest=manifest)
