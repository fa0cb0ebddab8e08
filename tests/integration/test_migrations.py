"""The migrations build exactly the schema the models describe, on both databases the store supports."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import sqlalchemy
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlmodel import SQLModel

import builder.models  # noqa: F401 (registers the tables on SQLModel.metadata)
from tests.conftest import DatabaseUrls

REPO = Path(__file__).resolve().parents[2]


def test_migrations_match_the_models(database_urls: DatabaseUrls) -> None:
    engine = sqlalchemy.create_engine(database_urls.sync)
    try:
        with engine.connect() as connection:
            differences = compare_metadata(MigrationContext.configure(connection), SQLModel.metadata)
    finally:
        engine.dispose()
    assert differences == []


def test_workers_starting_together_migrate_once(postgres_url: DatabaseUrls) -> None:
    """Several processes (workers, or one server's several) migrate a new PostgreSQL database at the same moment."""
    command = [sys.executable, "-c", f"from builder import db; db.migrate({postgres_url.sync!r})"]
    processes = [subprocess.Popen(command, cwd=REPO, stderr=subprocess.PIPE, text=True) for _ in range(4)]
    for process in processes:
        _, errors = process.communicate(timeout=120)
        assert process.returncode == 0, errors  # none of them fails on another's half-made tables
    engine = sqlalchemy.create_engine(postgres_url.sync)
    try:
        with engine.connect() as connection:
            assert compare_metadata(MigrationContext.configure(connection), SQLModel.metadata) == []
    finally:
        engine.dispose()
