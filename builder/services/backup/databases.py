"""Forja's database and the apps' PostgreSQL databases, taken out consistently and put back.

SQLite is copied with its online backup API in one step: the copy is the database as of one transaction, while Forja
goes on writing (WAL lets a reader and a writer pass). PostgreSQL is dumped by `pg_dump`, which reads one snapshot, in
its custom format, owners and grants left out (the target's roles may be others). Each app's database goes back
into a database and role made as Forja makes them (app_databases.py), restored as that role so the app owns its
tables. The PostgreSQL tools are run with the password in their environment, never on a command line.
"""

from __future__ import annotations

import logging
import os
import shutil
import sqlite3
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING

from builder.app_secrets import decrypt
from builder.db import alembic_config
from builder.errors import RestoreRefused, ServerUnavailable
from builder.services import app_databases
from builder.services.app_databases import Server
from builder.settings import settings

if TYPE_CHECKING:
    from alembic.script import ScriptDirectory

log = logging.getLogger(__name__)

DUMP_TIMEOUT_S = 3600


def is_postgres(url: str) -> bool:
    return url.startswith(("postgres://", "postgresql://", "postgresql+"))


def sqlite_file(sync_url: str) -> Path:
    return Path(sync_url.removeprefix("sqlite:///"))


def _tool(server: Server, program: str, *args: str, database: str, user: str | None = None, password: str | None = None) -> None:
    """Run a PostgreSQL client program on `database` of `server` (as `user` when given); ServerUnavailable in words when
    it fails."""
    command = [program, "-h", server.host, "-p", str(server.port), "-U", user or server.user, "-d", database, *args]
    env = {**os.environ, "PGPASSWORD": (password or "") if user else server.password, "PGCONNECT_TIMEOUT": "10"}
    try:
        done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=DUMP_TIMEOUT_S, check=False)
    except FileNotFoundError:
        raise ServerUnavailable(
            f"{program} is not installed on this machine: install PostgreSQL's client programs (Debian's "
            "postgresql-client) to back up or restore a PostgreSQL database."
        ) from None
    if done.returncode != 0:
        raise ServerUnavailable(f"{program} could not work on the database {database}: {done.stderr.strip()[-500:]}")


def take_sqlite(source: Path, target: Path) -> str:
    """Copy the SQLite database at `source` into `target` as of one moment; its migration revision."""
    try:
        live = sqlite3.connect(f"{source.resolve().as_uri()}?mode=rw", uri=True)  # never made here when missing
    except sqlite3.OperationalError:
        raise ServerUnavailable(f"There is no database at {source} to back up (DATABASE_URL, FORJA_DATA_DIR).") from None
    with live, sqlite3.connect(target) as copy:
        live.backup(copy)
    live.close()
    with sqlite3.connect(target) as copy:
        return copy.execute("SELECT version_num FROM alembic_version").fetchone()[0]


SQLITE_HEADER = b"SQLite format 3\0"
# Beside a SQLite database while it is open or was not closed cleanly; what they hold is in its online backup.
SQLITE_SIDECARS = ("-wal", "-shm", "-journal")


def is_sqlite(path: str | Path) -> bool:
    try:
        with open(path, "rb") as file:
            return file.read(len(SQLITE_HEADER)) == SQLITE_HEADER
    except OSError:
        return False


def sqlite_sidecar_of(path: str) -> str | None:
    """The database `path` is the write-ahead log, shared memory or journal of, when it is one of a SQLite database."""
    for suffix in SQLITE_SIDECARS:
        if path.endswith(suffix) and is_sqlite(database := path.removesuffix(suffix)):
            return database
    return None


def take_app_sqlite(source: Path, target: Path) -> None:
    """An app's SQLite file as of one moment: SQLite's online backup, which waits out the app's writes and reads its
    write-ahead log. Read only; the shared-memory and log files SQLite may make to read it get the database's owner
    (SQLite does so when run as root), so the app, running as another user, still opens them."""
    live = sqlite3.connect(f"{source.resolve().as_uri()}?mode=ro", uri=True, timeout=30)
    try:
        with sqlite3.connect(target) as copy:
            live.backup(copy)
    finally:
        live.close()


def take_postgres(url: str, target: Path) -> str:
    """Dump Forja's PostgreSQL database into `target`; its migration revision."""
    server = Server.from_url(url)
    with server.connect() as conn:
        revision = conn.execute("SELECT version_num FROM alembic_version").fetchone()
    _tool(server, "pg_dump", "--format=custom", "--no-owner", "--no-acl", "-f", str(target), database=server.database)
    return revision[0] if revision else ""


def app_database_names(sqlite_copy: Path | None) -> list[str]:
    """The apps' PostgreSQL databases Forja made, read from the copy just taken (SQLite) or Forja's database."""
    if not app_databases.apps_database_url():
        return []
    query = "SELECT name FROM appdatabase ORDER BY name"
    if sqlite_copy is not None:
        with sqlite3.connect(sqlite_copy) as conn:
            return [row[0] for row in conn.execute(query)]
    with Server.from_url(settings.sync_database_url).connect() as conn:
        return [row[0] for row in conn.execute(query).fetchall()]


def take_app_database(name: str, target: Path) -> None:
    server = Server.from_url(app_databases.apps_database_url())
    _tool(server, "pg_dump", "--format=custom", "--no-owner", "--no-acl", "-f", str(target), database=name)


def _scripts() -> ScriptDirectory:
    from alembic.script import ScriptDirectory  # loaded by a restore, not with Forja (see builder/db.py)

    return ScriptDirectory.from_config(alembic_config(settings.sync_database_url))


def known_revision(revision: str) -> bool:
    """Whether this Forja's migrations know `revision` (a newer Forja's are unknown to it)."""
    return any(script.revision == revision for script in _scripts().walk_revisions())


def head_revision() -> str | None:
    return _scripts().get_current_head()


def check_target_empty(app_names: list[str]) -> None:
    """RestoreRefused unless the target database (and each app database to restore) is empty or absent."""
    url = settings.sync_database_url
    if is_postgres(url):
        server = Server.from_url(url)
        with server.connect() as conn:
            tables = conn.execute(
                "SELECT count(*) FROM pg_tables WHERE schemaname NOT IN ('pg_catalog', 'information_schema')"
            ).fetchone()
        if tables and tables[0]:
            raise RestoreRefused(
                f"The database {server.database} already holds tables: restore into an empty database, so nothing in it "
                "is lost or mixed with the backup."
            )
    elif (path := sqlite_file(url)).exists() and path.stat().st_size:
        raise RestoreRefused(f"There is already a database at {path}: restore into an empty data folder.")
    if app_names:
        server = Server.from_url(app_databases.apps_database_url())
        with server.connect() as conn:
            found = [
                name for name in app_names if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
            ]
        if found:
            raise RestoreRefused(
                f"The apps' database server already has {', '.join(found)}: restore onto one without these databases."
            )


def restore_database(dump: Path) -> None:
    """Put Forja's database back from the archive's copy (SQLite file or pg_dump's custom format)."""
    url = settings.sync_database_url
    if is_postgres(url):
        server = Server.from_url(url)
        _tool(server, "pg_restore", "--no-owner", "--no-acl", "--exit-on-error", str(dump), database=server.database)
        return
    path = sqlite_file(url)
    path.parent.mkdir(parents=True, exist_ok=True)
    shutil.move(dump, path)


def restore_app_database(name: str, password: str, dump: Path) -> None:
    """Make the app's role and database as Forja does, and restore its dump as that role (so it owns its tables)."""
    server = Server.from_url(app_databases.apps_database_url())
    app_databases.create(server, name, password, app_databases.forja_database())
    _tool(
        server, "pg_restore", "--no-owner", "--no-acl", "--exit-on-error", str(dump), database=name, user=name, password=password
    )


def app_passwords(names: list[str]) -> dict[str, str]:
    """Each app database's role password, as kept (encrypted) in the restored database."""
    url = settings.sync_database_url
    query = "SELECT name, password FROM appdatabase"
    if is_postgres(url):
        with Server.from_url(url).connect() as conn:
            rows = conn.execute(query).fetchall()
    else:
        with sqlite3.connect(sqlite_file(url)) as conn:
            rows = conn.execute(query).fetchall()
    return {name: decrypt(ciphertext) for name, ciphertext in rows if name in names}
