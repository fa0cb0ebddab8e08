"""`forja backup` and `forja restore-backup` end to end: a Forja with a project of two versions and its git mirror, a share
link, an app variable and an app's /data file, backed up by the command (on a thread and event loop of its own) while
versions are being saved, and restored into a second, empty data folder, where each thing comes back; the refusals (a data folder
that is not empty, a damaged archive, one from a newer Forja) and the key kept out of the archive."""

from __future__ import annotations

import asyncio
import gzip
import io
import os
import shutil
import sqlite3
import stat
import subprocess
import tarfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import LiteralString

import psycopg
import pytest
from alembic import command
from alembic.script import ScriptDirectory

from builder import db
from builder.app_secrets import decrypt
from builder.composition import Services
from builder.errors import RestoreRefused
from builder.git.commands import repo_path
from builder.git.mirror import project_lock
from builder.models import LOCAL_USER_ID
from builder.services import admin as admin_service
from builder.services import app_databases
from builder.services.access import LOCAL_ACTOR
from builder.services.app_data import Scope, files_dir
from builder.services.app_databases import Server
from builder.services.backup.manifest import MANIFEST_NAME, Manifest
from builder.services.backup.restore import restore_backup
from builder.services.backup.take import take_backup
from builder.settings import settings
from builder.store import ProjectStore
from preview_runtime.logs import LogHub
from tests.conftest import DatabaseUrls, PostgresServer
from tests.integration.test_cli import Cli
from tests.waiting import until

SECRET = "sk_live_backup_9f8e7d6c5b4a"
ORDERS = b"order 1: two loaves\n"
TREE = {"index.html": b"<h1>Bakery</h1>\n", "app.js": b"console.log('v1')\n"}


@dataclass
class Made:
    project_id: str
    share_token: str
    trees: dict[int, dict[str, bytes]]
    tags: str


def git_out(repo: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True, check=True).stdout


def on_folder(monkeypatch: pytest.MonkeyPatch, folder: Path, database_url: str = "") -> None:
    """This process's settings on `folder`, with no key but the one Forja makes there."""
    monkeypatch.setattr(settings, "data_dir", folder)
    monkeypatch.setattr(settings, "database_url", database_url)
    monkeypatch.setattr(settings, "shared_dir", None)
    monkeypatch.setattr(settings, "secret_key", "")


def source_folder(monkeypatch: pytest.MonkeyPatch, folder: Path, migrated_sqlite: Path) -> None:
    """A data folder of this process's settings, its database at the newest schema."""
    on_folder(monkeypatch, folder)
    settings.data_dir.mkdir()
    shutil.copyfile(migrated_sqlite, settings.sqlite_path)


def app_files(project_id: str) -> Path:
    """The project's live app's /data folder, made."""
    files = files_dir(project_id, Scope.live)
    files.mkdir(parents=True)
    return files


async def make_forja(services: Services) -> Made:
    """Through the real services: two versions and their mirror, a share link, a variable and an app's /data file."""
    project_id = (await services.projects.create("Bakery", TREE, owner=LOCAL_USER_ID)).project_id
    await services.projects.save(project_id, {"app.js": "console.log('v2')\n"}, message="Say v2")
    async with project_lock(project_id):
        await services.git.mirror.sync(project_id)
    share = await services.shares.create(project_id, 2)
    await services.app_env.set(project_id, "STRIPE_KEY", SECRET)
    files_dir(project_id, Scope.live).mkdir(parents=True)
    (files_dir(project_id, Scope.live) / "orders.txt").write_bytes(ORDERS)
    trees = {n: await services.projects.read_tree(project_id, n) for n in (1, 2)}
    return Made(project_id, share.token, trees, git_out(repo_path(project_id), "show-ref", "--tags"))


async def saving_while(services: Services, project_id: str, backup: asyncio.Task[object]) -> list[tuple[float, float]]:
    """Save versions one after another until the backup has ended; when each save began and ended."""
    saves = []
    while not backup.done():
        began = time.monotonic()
        await services.projects.save(project_id, {f"notes/{len(saves)}.txt": f"note {len(saves)}\n" * 200})
        saves.append((began, time.monotonic()))
        await asyncio.sleep(0.02)
    return saves


def timed_run(cli: Cli, *args: str) -> tuple[subprocess.CompletedProcess[str], float, float]:
    """The command's run, and when it began and ended."""
    began = time.monotonic()
    result = cli.run(*args)
    return result, began, time.monotonic()


async def check_restored(services: Services, made: Made) -> None:
    """Each thing the source had, read back through the restored Forja's services."""
    pid = made.project_id
    for number, tree in made.trees.items():
        assert await services.projects.read_tree(pid, number) == tree
    for version in await services.projects.versions(pid):  # those saved during the backup too: whole, or not there
        await services.projects.read_tree(pid, version.number)
    assert (await services.shares.resolve(made.share_token)).version == 2
    assert await services.app_env.values(pid) == {"STRIPE_KEY": SECRET}
    assert (files_dir(pid, Scope.live) / "orders.txt").read_bytes() == ORDERS
    repo = repo_path(pid)
    assert made.tags.strip() in git_out(repo, "show-ref", "--tags")
    assert git_out(repo, "show", "v2:app.js") == "console.log('v2')\n"


def rewrite(archive: Path, target: Path, change: dict[str, bytes]) -> None:
    """A copy of `archive` with the members named in `change` holding other bytes."""
    with tarfile.open(archive, "r:gz") as source, tarfile.open(target, "w:gz") as copy:
        for member in source:
            data = change.get(member.name)
            if data is None:
                data = source.extractfile(member).read()  # type: ignore[union-attr]
            member.size = len(data)
            copy.addfile(member, io.BytesIO(data))


def db_revision(path: Path) -> str:
    with sqlite3.connect(path) as conn:
        return conn.execute("SELECT version_num FROM alembic_version").fetchone()[0]


def refused(cli: Cli, *args: str) -> str:
    """The sentence a refused restore printed: exit 2, nothing restored."""
    result = cli.run(*args)
    assert result.returncode == 2, (result.stdout, result.stderr)
    return result.stderr.strip().removeprefix("error: ")


async def test_a_backup_taken_while_versions_are_saved_restores_everything_elsewhere(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = Cli(tmp_path / "source")
    on_folder(monkeypatch, source.data_dir)
    source.ok("migrate")
    services = source.services()
    try:
        made = await make_forja(services)
        key = (source.data_dir / "secret.key").read_bytes().strip()
        args = "backup", "--to", str(tmp_path / "kept"), "--with-key"
        backup = asyncio.create_task(asyncio.to_thread(timed_run, source, *args))
        saves = await saving_while(services, made.project_id, backup)
        result, began, ended = await backup
    finally:
        await services.close()
    assert result.returncode == 0, result.stderr
    assert any(began < save_ended and save_began < ended for save_began, save_ended in saves)  # saved while it ran
    [archive] = (tmp_path / "kept").glob("*.tar.gz")
    [key_file] = (tmp_path / "kept").glob("*.key")
    assert f"Backed up this Forja to {archive}" in result.stdout
    assert key_file.read_bytes().strip() == key and stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(archive.stat().st_mode) == 0o600
    assert key not in gzip.decompress(archive.read_bytes())  # the key only ever beside the archive

    target = Cli(tmp_path / "target")
    said = target.ok("restore-backup", str(archive), "--key", str(key_file))
    assert "Restored the backup of" in said
    assert not (target.data_dir / ".restoring").exists()
    assert {p.name for p in target.data_dir.iterdir()} >= {"forja.db", "secret.key", "git", "appdata"}
    assert stat.S_IMODE((target.data_dir / "secret.key").stat().st_mode) == 0o600
    on_folder(monkeypatch, target.data_dir)
    restored = target.services()
    try:
        await check_restored(restored, made)
    finally:
        await restored.close()

    assert "is not empty: restore into an empty one" in refused(target, "restore-backup", str(archive), "--key", str(key_file))

    pid = made.project_id
    damaged = tmp_path / "damaged.tar.gz"
    rewrite(archive, damaged, {f"data/appdata/{pid}/live/files/orders.txt": b"order 1: ten loaves\n"})
    empty = Cli(tmp_path / "empty")
    sentence = refused(empty, "restore-backup", str(damaged), "--key", str(key_file))
    assert sentence == (
        "The archive is damaged: its part 'appdata' does not match its checksum. Nothing was restored; take the backup again."
    )
    flipped = bytearray(archive.read_bytes())
    flipped[len(flipped) // 2] ^= 0xFF
    damaged.write_bytes(bytes(flipped))
    assert refused(empty, "restore-backup", str(damaged)).startswith("The archive is damaged: its part ")
    assert [p.name for p in empty.data_dir.iterdir()] == ["forja.lock"]  # left as empty as it was


def test_without_the_key_option_no_key_is_written_and_a_newer_schema_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = Cli(tmp_path / "source")
    on_folder(monkeypatch, source.data_dir)
    older = "0028"
    source.data_dir.mkdir()
    command.upgrade(db.alembic_config(settings.sync_database_url), older)  # made by an older Forja
    (source.data_dir / "secret.key").write_bytes(b"qG0bX3m8u1fW0hV4zS2yT6cR9eJ5kL7nA1dF3gH5iJk=\n")
    assert "is inside the data folder, which the backup reads" in source.refused("backup", "--to", str(source.data_dir))
    said = source.json("backup", "--to", str(tmp_path / "kept"))
    assert said["key_path"] is None and [p.suffix for p in (tmp_path / "kept").iterdir()] == [".gz"]
    archive = Path(said["path"])
    assert b"qG0bX3m8u1fW0hV4zS2yT6cR9eJ5kL7nA1dF3gH5iJk=" not in gzip.decompress(archive.read_bytes())
    assert said["manifest"]["schema_revision"] == older

    on_folder(monkeypatch, tmp_path / "target")
    restored = restore_backup(archive)
    assert restored.migrated_from == older and not restored.with_key
    assert (
        db_revision(settings.sqlite_path)
        == ScriptDirectory.from_config(db.alembic_config(settings.sync_database_url)).get_current_head()
    )

    manifest = Manifest.model_validate(said["manifest"])
    future = manifest.model_copy(update={"schema_revision": "0099"}).model_dump_json().encode()
    newer = tmp_path / "newer.tar.gz"
    rewrite(archive, newer, {MANIFEST_NAME: future})
    sentence = refused(Cli(tmp_path / "other"), "restore-backup", str(newer))
    assert sentence.startswith("This backup comes from a newer Forja (its database is at '0099'")


def app_rows(server: PostgresServer, name: str, password: str, *statements: LiteralString) -> list[tuple[object, ...]]:
    """Run statements in an app's own database as its own role; the last one's rows."""
    with psycopg.connect(host="127.0.0.1", port=server.port, user=name, password=password, dbname=name, autocommit=True) as conn:
        for statement in statements[:-1]:
            conn.execute(statement)
        return conn.execute(statements[-1]).fetchall()


@pytest.mark.postgres
async def test_on_postgresql_forja_and_each_app_database_come_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, postgres_server: PostgresServer
) -> None:
    source_url = postgres_server.url(postgres_server.migrated_database())
    on_folder(monkeypatch, tmp_path / "source", source_url)
    store = ProjectStore(db.create_engine(source_url))
    services = Services(store, LogHub())
    try:
        made = await make_forja(services)
        await services.app_data.app_data_plan(made.project_id, "live")  # the app's own database, made as Forja does
        row = await store.app_database(made.project_id, "live")
    finally:
        await services.close()
    assert row is not None
    name, password = row.name, decrypt(row.password)
    create, insert = "CREATE TABLE orders (text text)", "INSERT INTO orders VALUES ('two loaves')"
    app_rows(postgres_server, name, password, create, insert, "SELECT count(*) FROM orders")
    taken = take_backup(tmp_path / "kept", with_key=True)
    assert [part.name for part in taken.manifest.parts][:2] == ["database", f"app-database {name}"]
    app_databases.drop(Server.from_url(source_url), name)  # the other machine's server has no such database

    target_url = postgres_server.url(postgres_server.create_database())
    on_folder(monkeypatch, tmp_path / "target", target_url)
    assert taken.key_path is not None
    restore_backup(taken.path, taken.key_path)
    restored = Services(ProjectStore(db.create_engine(target_url)), LogHub())
    try:
        await check_restored(restored, made)
    finally:
        await restored.close()
    assert app_rows(postgres_server, name, password, "SELECT text FROM orders") == [("two loaves",)]
    with pytest.raises(RestoreRefused, match="already holds tables: restore into an empty database"):
        on_folder(monkeypatch, tmp_path / "again", target_url)
        restore_backup(taken.path, taken.key_path)
    on_folder(monkeypatch, tmp_path / "sqlite", "")
    with pytest.raises(RestoreRefused, match="holds a postgresql database and this Forja's DATABASE_URL names sqlite"):
        restore_backup(taken.path, taken.key_path)
    assert [p.name for p in (tmp_path / "sqlite").iterdir()] == ["forja.lock"]  # nothing restored


async def test_the_server_takes_a_backup_when_one_is_due_and_keeps_the_newest(
    services: Services, sqlite_url: DatabaseUrls, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    on_folder(monkeypatch, tmp_path / "data", sqlite_url.sync)
    folder = tmp_path / "backups"
    monkeypatch.setattr(settings, "backup_dir", folder)
    monkeypatch.setattr(settings, "backup_keep", 2)
    await services.projects.create("Bakery", TREE, owner=LOCAL_USER_ID)
    assert services.backups.words()[0] == "off"
    services.backups.start_when_due()  # off: nothing
    await services.backups.settled()
    assert not folder.exists()

    monkeypatch.setattr(settings, "backup_every_hours", 24)
    folder.mkdir()
    old = [folder / f"forja-backup-2026010{n}-000000.tar.gz" for n in (1, 2)]
    for n, path in enumerate(old):
        path.write_bytes(b"an old backup")
        then = time.time() - (3 - n) * 86400
        os.utime(path, (then, then))
    (folder / "forja-backup-20260101-000000.key").write_bytes(b"its key")
    assert services.backups.words()[0] == "problem"  # the last one is two days old
    monkeypatch.setattr(settings, "sweep_every_s", 0.05)
    sweeps = asyncio.create_task(services.run_sweeps())  # as the server runs them
    try:
        await until(lambda: asyncio.to_thread(lambda: not old[0].exists()), "the oldest backup's pruning")
    finally:
        sweeps.cancel()
    await services.backups.settled()
    kept = sorted(p.name for p in folder.iterdir())
    assert len(kept) == 2 and kept[0] == old[1].name and kept[1].startswith("forja-backup-2026") and kept[1] > old[1].name
    with tarfile.open(folder / kept[1], "r:gz") as archive:
        assert archive.getnames()[0] == "database/forja.db"
    # What the admin page's Health lists (the machine's checks cut short: they are not this test's).
    monkeypatch.setattr(admin_service, "MACHINE_CHECKS_S", 0.001)
    shown = next(check for check in (await services.admin.health(LOCAL_ACTOR)).checks if check.name == "backups")
    assert shown.state == "ok"
    assert shown.detail.startswith(f"Every 24 h into {folder}, the newest 2 kept. The last backup was taken ")
    assert shown.detail.endswith(f"in {folder / kept[1]}.")

    services.backups.start_when_due()  # not due again for a day
    await services.backups.settled()
    assert sorted(p.name for p in folder.iterdir()) == kept


def test_a_shared_folder_comes_back_into_a_data_folder_without_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, migrated_sqlite: Path
) -> None:
    source_folder(monkeypatch, tmp_path / "source", migrated_sqlite)
    monkeypatch.setattr(settings, "shared_dir", tmp_path / "shared")  # FORJA_SHARED_DIR: releases/ and appdata/ there
    files = {
        "shared/appdata/p1/live/files/orders.txt": ORDERS,
        "shared/releases/p1/1/index.html": b"<h1>Bakery</h1>",
        "shared/previews/p1/app.js": b"not a part of the shared folder",
        "source/appdata/p1/live/files/stale.txt": b"the data folder's own appdata/ is not read: the shared one is",
        "source/previews/p1/node_modules/x.js": b"a cache",
    }
    for name, data in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(data)
    taken = take_backup(tmp_path / "kept")
    with tarfile.open(taken.path, "r:gz") as archive:
        names = archive.getnames()
    assert {name for name in names if not name.startswith("database/")} == {
        "shared/appdata/p1/live/files/orders.txt",
        "shared/releases/p1/1/index.html",
        "manifest.json",
    }

    on_folder(monkeypatch, tmp_path / "target")  # no shared folder here: both go into the data folder
    restore_backup(taken.path)
    assert (tmp_path / "target/appdata/p1/live/files/orders.txt").read_bytes() == ORDERS
    assert (tmp_path / "target/releases/p1/1/index.html").read_bytes() == b"<h1>Bakery</h1>"
    assert not (tmp_path / "target/previews").exists()


def notes_app_writing(path: Path, stop: threading.Event) -> threading.Thread:
    """An app writing its SQLite file (WAL mode, never checkpointed) ten rows per transaction until `stop`."""
    writer = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
    writer.execute("PRAGMA journal_mode=WAL")
    writer.execute("PRAGMA wal_autocheckpoint=0")  # what it commits stays in the log, never in the file itself
    writer.execute("CREATE TABLE notes (batch INTEGER, text TEXT)")

    def write() -> None:
        batch = 0
        while not stop.is_set() or batch < 10:
            writer.execute("BEGIN")
            writer.executemany("INSERT INTO notes VALUES (?, ?)", [(batch, "x" * 500)] * 10)
            writer.execute("COMMIT")
            batch += 1
        writer.close()

    thread = threading.Thread(target=write)
    thread.start()
    return thread


def test_an_apps_sqlite_file_is_backed_up_as_of_one_moment_while_the_app_writes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, migrated_sqlite: Path
) -> None:
    source_folder(monkeypatch, tmp_path / "source", migrated_sqlite)
    files = app_files("p1")
    (files / "orders.txt").write_bytes(ORDERS)
    stop = threading.Event()
    writing = notes_app_writing(files / "notes.db", stop)
    assert (files / "notes.db-wal").exists()
    try:
        taken = take_backup(tmp_path / "kept")
    finally:
        stop.set()
        writing.join()
    with tarfile.open(taken.path, "r:gz") as archive:
        names = set(archive.getnames())
        kept = archive.extractfile("data/appdata/p1/live/files/notes.db").read()  # type: ignore[union-attr]
    # The log and shared memory are inside the database's own copy, not beside it.
    assert {n for n in names if n.startswith("data/appdata/")} == {
        "data/appdata/p1/live/files/orders.txt",
        "data/appdata/p1/live/files/notes.db",
    }
    (tmp_path / "kept.db").write_bytes(kept)
    with sqlite3.connect(tmp_path / "kept.db") as copy:
        assert copy.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        rows, batches = copy.execute("SELECT count(*), count(DISTINCT batch) FROM notes").fetchone()
    with sqlite3.connect(files / "notes.db") as live:
        written = live.execute("SELECT count(*) FROM notes").fetchone()[0]
    # Whole transactions only, those in the log too (the file itself holds none of them: never checkpointed).
    assert rows == 10 * batches and 0 < rows <= written

    on_folder(monkeypatch, tmp_path / "target")
    restore_backup(taken.path)
    assert (tmp_path / "target/appdata/p1/live/files/notes.db").read_bytes() == kept


def test_the_backup_leaves_an_apps_sqlite_file_as_its_owner_can_open_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, migrated_sqlite: Path
) -> None:
    source_folder(monkeypatch, tmp_path / "source", migrated_sqlite)
    files = app_files("p1")
    with sqlite3.connect(files / "notes.db") as app:
        app.execute("PRAGMA journal_mode=WAL")
        app.execute("CREATE TABLE notes (text TEXT)")
        app.execute("INSERT INTO notes VALUES ('closed cleanly')")
    app.close()
    # As previews run apps: another user than Forja's, when Forja runs as root.
    app_user = 10001 if os.geteuid() == 0 else os.geteuid()
    for path in (files, files / "notes.db"):
        os.chown(path, app_user, app_user if os.geteuid() == 0 else os.getegid())
    assert not (files / "notes.db-wal").exists()

    take_backup(tmp_path / "kept")
    # Whatever SQLite made to read the file (its shared memory, its log) is the app's, as if the app had made it.
    beside = [p for p in files.iterdir() if p.name != "notes.db"]
    assert all(p.stat().st_uid == app_user for p in beside), [(p.name, p.stat().st_uid) for p in beside]
    assert (files / "notes.db").stat().st_uid == app_user
