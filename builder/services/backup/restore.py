"""Restoring a backup into an empty data folder (and an empty database), holding the data folder's lock meanwhile so
no Forja starts there.

Nothing is put in place before the whole archive has been read into a folder of its own inside the data folder and
each part checked against the manifest: a damaged archive, one from a newer Forja, or a target that is not empty is
refused with a sentence, and the data folder is left as empty as it was. Then the key (when given), the database,
the files and the apps' databases go into place, and the migrations bring an older schema forward.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import subprocess
import tarfile
from pathlib import Path

from cryptography.fernet import Fernet
from pydantic import BaseModel, ValidationError

from builder import db
from builder.app_secrets import KEY_FILE
from builder.errors import RestoreRefused
from builder.services import app_databases
from builder.services.backup import databases
from builder.services.backup.contents import DATA_PREFIX, SHARED_PARTS, SHARED_PREFIX, part_of, shared_folder
from builder.services.backup.manifest import MANIFEST_NAME, Manifest, PartSum
from builder.settings import settings
from preview_runtime.folder_lock import LOCK_FILE, FolderHeld, FolderLock

log = logging.getLogger(__name__)

STAGING = ".restoring"
CHUNK = 1 << 20


class RestoreResult(BaseModel):
    manifest: Manifest
    migrated_from: str = ""
    with_key: bool = False


def _empty(folder: Path, ignored: tuple[str, ...] = ()) -> bool:
    return not folder.exists() or all(entry.name in ignored for entry in folder.iterdir())


def _check_folders_empty() -> None:
    if not _empty(settings.data_dir, (LOCK_FILE,)):
        raise RestoreRefused(
            f"The data folder {settings.data_dir} is not empty: restore into an empty one, so nothing in it is lost or "
            "mixed with the backup."
        )
    shared = shared_folder()
    if shared is not None and not _empty(shared):
        raise RestoreRefused(f"The shared folder {shared} is not empty: restore into an empty one.")


def _part_of(name: str) -> str:
    top = name.split("/", 1)[0]
    if top == "database":
        return "database"
    if top == "app-databases":
        return f"app-database {name.split('/', 1)[1].removesuffix('.dump')}"
    return part_of(name)


def _damaged(part: str, why: str) -> RestoreRefused:
    return RestoreRefused(f"The archive is damaged: its part {part!r} {why}. Nothing was restored; take the backup again.")


def _write(tar: tarfile.TarFile, member: tarfile.TarInfo, staging: Path, made: set[Path]) -> str:
    """The member's file written into `staging` (where tar's "data" filter lets it: no path out of it, no device, no
    link), hashed as it is written; its SHA-256. `made`: the folders made so far."""
    safe = tarfile.data_filter(member, str(staging))
    path = staging / safe.name
    if path.parent not in made:
        path.parent.mkdir(parents=True, exist_ok=True)
        made.add(path.parent)
    source = tar.extractfile(member)
    assert source is not None  # a regular file
    digest = hashlib.sha256()
    with path.open("wb") as out:
        while chunk := source.read(CHUNK):
            digest.update(chunk)
            out.write(chunk)
    if safe.mode is not None:
        path.chmod(safe.mode)
    if safe.mtime is not None:
        os.utime(path, (safe.mtime, safe.mtime))
    return digest.hexdigest()


def _read(tar: tarfile.TarFile, staging: Path, sums: dict[str, PartSum]) -> Manifest | None:
    """Every member into `staging`, each part's checksum computed on the way; the manifest."""
    manifest = None
    made: set[Path] = set()
    for member in tar:
        if member.name == MANIFEST_NAME:
            source = tar.extractfile(member)
            assert source is not None
            manifest = Manifest.model_validate_json(source.read())
            continue
        part = _part_of(member.name)
        if not member.isfile():
            raise _damaged(part, f"holds {member.name}, which is not a file")
        # Before its bytes are read: the last part in `sums` is the one being read when the archive breaks off.
        sums.setdefault(part, PartSum(part, ""))
        sums[part].add(member.name, _write(tar, member, staging, made), member.size)
    return manifest


def _unpack(archive: Path, staging: Path) -> tuple[Manifest, dict[str, PartSum]]:
    """The archive, decompressed by `gzip` on a core of its own, read into `staging`; the manifest and each part's
    checksum as read."""
    if not archive.is_file():
        raise RestoreRefused(f"There is no archive at {archive}.")
    sums: dict[str, PartSum] = {}
    manifest = None
    gunzip = subprocess.Popen(["gzip", "-dc", str(archive)], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    assert gunzip.stdout is not None
    try:
        with tarfile.open(fileobj=gunzip.stdout, mode="r|") as tar:
            manifest = _read(tar, staging, sums)
        while gunzip.stdout.read(CHUNK):  # tar's padding after its end: read, so gzip ends on its own
            pass
    except (tarfile.TarError, EOFError, ValidationError) as exc:
        if not sums:
            raise RestoreRefused(f"{archive} is not a Forja backup (a .tar.gz that `forja backup` wrote).") from None
        raise _damaged(_last(sums), f"cannot be read ({exc})") from None
    finally:
        gunzip.stdout.close()
        damaged = gunzip.wait() != 0
    if damaged or manifest is None:
        # gzip stops at a damaged byte (or its checksum fails at the end), and tar takes what follows for the end.
        if not sums:
            raise RestoreRefused(f"{archive} is not a Forja backup (a .tar.gz that `forja backup` wrote).")
        raise _damaged(_last(sums), "is cut short: the archive cannot be read past it")
    return manifest, sums


def _last(sums: dict[str, PartSum]) -> str:
    return next(reversed(sums))


def _check(manifest: Manifest, sums: dict[str, PartSum]) -> None:
    for part in manifest.parts:
        found = sums.pop(part.name, None)
        if found is None:
            raise _damaged(part.name, "is missing")
        if found.done().sha256 != part.sha256:
            raise _damaged(part.name, "does not match its checksum")
    if sums:
        raise _damaged(next(iter(sums)), "is not in its manifest")
    if not databases.known_revision(manifest.schema_revision):
        raise RestoreRefused(
            f"This backup comes from a newer Forja (its database is at {manifest.schema_revision!r}, which this one does "
            "not know): restore it with that version of Forja or a later one."
        )


def _read_key(key: Path) -> bytes:
    try:
        text = key.read_bytes().strip()
        Fernet(text)
    except (OSError, ValueError):
        raise RestoreRefused(f"{key} is not the key file a backup wrote (a Fernet key).") from None
    return text


def _place_key(text: bytes) -> None:
    fd = os.open(settings.data_dir / KEY_FILE, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as file:
        file.write(text + b"\n")


def _place_files(staging: Path) -> None:
    """Move the staged folders into the data folder (and the shared folder): a rename each when on one disk."""
    shared = shared_folder()
    for prefix in (DATA_PREFIX, SHARED_PREFIX):
        source = staging / prefix
        if not source.is_dir():
            continue
        for entry in source.iterdir():
            in_shared = shared is not None and (prefix == SHARED_PREFIX or entry.name in SHARED_PARTS)
            home = shared if in_shared and shared is not None else settings.data_dir
            home.mkdir(parents=True, exist_ok=True)
            shutil.move(entry, home / entry.name)


def _restore(archive: Path, key: Path | None, staging: Path) -> RestoreResult:
    key_text = _read_key(key) if key is not None else None
    manifest, sums = _unpack(archive, staging)
    _check(manifest, sums)
    here = "postgresql" if databases.is_postgres(settings.sync_database_url) else "sqlite"
    if manifest.database != here:
        raise RestoreRefused(
            f"This backup holds a {manifest.database} database and this Forja's DATABASE_URL names {here}: restore it "
            "into the same kind of database (moving between SQLite and PostgreSQL is not done by a restore)."
        )
    app_names = [part.name.removeprefix("app-database ") for part in manifest.parts if part.name.startswith("app-database ")]
    if app_names and not app_databases.apps_database_url():
        raise RestoreRefused(
            "This backup holds apps' own PostgreSQL databases, and this Forja has no PostgreSQL server for them: set "
            "FORJA_APPS_DATABASE_URL (or a PostgreSQL DATABASE_URL)."
        )
    databases.check_target_empty(app_names)
    if app_names and key_text is None and not settings.secret_key:
        raise RestoreRefused(
            "This backup holds apps' own databases, whose passwords only its key opens: give the key file that "
            "`forja backup --with-key` wrote (--key FILE)."
        )
    dump = next((staging / "database").glob("forja.*"), None)
    if dump is None:
        raise _damaged("database", "is missing")
    if key_text is not None:
        _place_key(key_text)
    databases.restore_database(dump)
    _place_files(staging)
    db.migrate()
    passwords = databases.app_passwords(app_names)
    for name in app_names:
        databases.restore_app_database(name, passwords[name], staging / "app-databases" / f"{name}.dump")
    migrated = manifest.schema_revision if manifest.schema_revision != databases.head_revision() else ""
    return RestoreResult(manifest=manifest, migrated_from=migrated, with_key=key_text is not None)


def restore_backup(archive: Path, key: Path | None = None) -> RestoreResult:
    """Restore `archive` here (see the module's docstring). Blocking: run it in a thread."""
    _check_folders_empty()
    lock = FolderLock(settings.data_dir, "command", command="forja restore")
    try:
        lock.take()
    except FolderHeld as held:
        raise RestoreRefused(f"The data folder {settings.data_dir} is held by {held.holder.words()}: stop it first.") from None
    staging = settings.data_dir / STAGING
    try:
        try:
            return _restore(archive, key, staging)
        except RestoreRefused:
            for entry in settings.data_dir.iterdir():  # left as empty as it was found
                if entry.name != LOCK_FILE:
                    shutil.rmtree(entry) if entry.is_dir() else entry.unlink()
            raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
        lock.release()
