"""The migrations build exactly the schema the models describe, on both databases the store supports."""

from __future__ import annotations

import sqlalchemy
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlmodel import SQLModel

import builder.models  # noqa: F401 (registers the tables on SQLModel.metadata)
from tests.conftest import DatabaseUrls


def test_migrations_match_the_models(database_urls: DatabaseUrls) -> None:
    engine = sqlalchemy.create_engine(database_urls.sync)
    try:
        with engine.connect() as connection:
            differences = compare_metadata(MigrationContext.configure(connection), SQLModel.metadata)
    finally:
        engine.dispose()
    assert differences == []
