"""Database engine and migrations.

The services use an asyncio engine; Alembic runs on a synchronous one pointing at the same
database, because migrations run once at start-up and need no event loop.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlmodel.ext.asyncio.session import AsyncSession

from builder.settings import settings
from builder.sqlite_async import OneTripDbapi

if TYPE_CHECKING:
    from alembic.config import Config

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def alembic_config(sync_url: str) -> Config:
    # Alembic is loaded by the processes that migrate or restore, not with every Forja process (a tenth of a second).
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", sync_url.replace("%", "%%"))
    return config


def migrate(sync_url: str | None = None) -> None:
    """Bring the database schema to the newest revision (creating the SQLite file if needed)."""
    url = sync_url or settings.sync_database_url
    if url.startswith("sqlite:///"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    from alembic import command

    command.upgrade(alembic_config(url), "head")


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()


def create_engine(async_url: str | None = None) -> AsyncEngine:
    url = async_url or settings.async_database_url
    # SQLite's statements reach aiosqlite's thread in one trip each, not four (sqlite_async.py).
    module = {"module": OneTripDbapi()} if url.startswith("sqlite+aiosqlite") else {}
    engine = create_async_engine(url, pool_pre_ping=not url.startswith("sqlite"), **module)
    if url.startswith("sqlite"):
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
    return engine


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, class_=AsyncSession, expire_on_commit=False)
