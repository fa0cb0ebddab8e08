"""Each server app's own PostgreSQL database: made, dropped and addressed on the apps' PostgreSQL server.

The apps' server is FORJA_APPS_DATABASE_URL, else Forja's own when DATABASE_URL is PostgreSQL. Each app and scope gets
a role and a database of the same name, owned by that role, that PUBLIC may not connect to: so no app's role can open
another app's database, nor Forja's (whose CONNECT Forja takes from PUBLIC the first time, when it owns it). The role
may create nothing else (no databases, no roles). Blocking psycopg calls: run them in a thread.
"""

from __future__ import annotations

import hashlib
import logging
import re
import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy.engine import make_url

from builder.settings import settings
from preview_runtime.db_relay import Target

if TYPE_CHECKING:
    import psycopg

log = logging.getLogger(__name__)

# A role's sessions at once: enough for a web app's pool, not enough to take the server's connections from the others.
CONNECTION_LIMIT = 20


def apps_database_url() -> str:
    """The PostgreSQL server the apps' databases live on; "" when they use SQLite files in their /data folders."""
    if settings.apps_database_url:
        return settings.apps_database_url
    if settings.database_url.startswith(("postgres://", "postgresql://", "postgresql+")):
        return settings.database_url
    return ""


def database_name(project_id: str, scope: str) -> str:
    """The database's (and its role's) name: from the project's id when it is plain, else from a hash of it."""
    plain = project_id if re.fullmatch(r"[a-z0-9]{1,32}", project_id) else hashlib.sha256(project_id.encode()).hexdigest()[:24]
    return f"forja_app_{plain}_{scope}"


@dataclass(frozen=True)
class Server:
    """How Forja reaches the apps' PostgreSQL as its admin, read from the URL."""

    host: str
    port: int
    user: str
    password: str
    database: str

    @classmethod
    def from_url(cls, url: str) -> Server:
        parsed = make_url(url)
        query_host = parsed.query.get("host")
        host = parsed.host or (query_host if isinstance(query_host, str) else "") or "/var/run/postgresql"
        return cls(
            host=host,
            port=parsed.port or 5432,
            user=parsed.username or "",
            password=parsed.password or "",
            database=parsed.database or "postgres",
        )

    @property
    def target(self) -> Target:
        return Target(self.host, self.port)

    def connect(self, database: str | None = None) -> psycopg.Connection:
        # Loaded by the first app database, not with Forja: psycopg took a quarter of a second of every process's start,
        # and the apps' databases are SQLite files unless PostgreSQL is set up for them.
        import psycopg

        return psycopg.connect(
            host=self.host,
            port=self.port,
            user=self.user or None,
            password=self.password or None,
            dbname=database or self.database,
            autocommit=True,
            connect_timeout=10,
        )


def new_password() -> str:
    return secrets.token_urlsafe(24)


def create(server: Server, name: str, password: str, forja_database: str | None) -> None:
    """The role `name` (login with `password`; its password set again when it exists) and its database, closed to
    PUBLIC; with `forja_database` (Forja's own, on this server), that one closed to PUBLIC too."""
    from psycopg import sql

    with server.connect() as conn:
        role = sql.Identifier(name)
        exists = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (name,)).fetchone()
        verb = sql.SQL("ALTER") if exists else sql.SQL("CREATE")
        conn.execute(
            sql.SQL(
                "{} ROLE {} LOGIN PASSWORD {} NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT NOREPLICATION CONNECTION LIMIT {}"
            ).format(verb, role, sql.Literal(password), sql.Literal(CONNECTION_LIMIT))
        )
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
            conn.execute(sql.SQL("CREATE DATABASE {} OWNER {}").format(role, role))
        conn.execute(sql.SQL("REVOKE ALL ON DATABASE {} FROM PUBLIC").format(role))
        if forja_database:
            _close_forja(conn, forja_database)
    # Inside the new database: its public schema the role's alone (PostgreSQL < 15 lets PUBLIC create there).
    with server.connect(name) as conn:
        conn.execute("REVOKE ALL ON SCHEMA public FROM PUBLIC")
        conn.execute(sql.SQL("GRANT ALL ON SCHEMA public TO {}").format(role))


def _close_forja(conn: psycopg.Connection, database: str) -> None:
    """Forja's own database closed to PUBLIC (so to every app's role), when Forja's role owns it; else the operator
    must (docs/features.md#data says so)."""
    from psycopg import sql

    owner = conn.execute(
        "SELECT pg_get_userbyid(datdba) = current_user FROM pg_database WHERE datname = %s", (database,)
    ).fetchone()
    if owner and owner[0]:
        conn.execute(sql.SQL("REVOKE CONNECT, TEMPORARY ON DATABASE {} FROM PUBLIC").format(sql.Identifier(database)))
    else:
        log.warning("Forja's database %s is not its role's: revoke CONNECT on it from PUBLIC yourself", database)


def drop(server: Server, name: str) -> None:
    """The app's database (its sessions ended first) and its role, when they exist."""
    from psycopg import sql

    with server.connect() as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        conn.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(name)))


def forja_database() -> str | None:
    """Forja's own database's name when it lives on the apps' server (no FORJA_APPS_DATABASE_URL), else None."""
    if settings.apps_database_url or not apps_database_url():
        return None
    return make_url(settings.database_url).database
