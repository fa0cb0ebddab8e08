"""The migrations build exactly the schema the models describe, on both databases the store supports, and move the
rows a change of meaning asks to move."""

from __future__ import annotations

import re
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlmodel import SQLModel

import builder.models  # noqa: F401 (registers the tables on SQLModel.metadata)
from builder import db
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


def test_domains_set_before_proof_became_claims_that_wait_for_their_record(database_urls: DatabaseUrls) -> None:
    """Revision 0021: a domain an app had was routed on its owner's word alone; it becomes a claim with a value of its
    own, routed nowhere until its TXT record is seen. The downgrade forgets claims, and upgrading again works."""
    config = db.alembic_config(database_urls.sync)
    command.downgrade(config, "0020")
    engine = sqlalchemy.create_engine(database_urls.sync)
    tables = sqlalchemy.MetaData()
    project = sqlalchemy.Table("project", tables, autoload_with=engine)
    app = sqlalchemy.Table("publishedapp", tables, autoload_with=engine)
    now = datetime.now(UTC)
    try:
        with engine.begin() as connection:
            for pid, name, domain in (("p1", "one", "one.example.com"), ("p2", "two", "two.example.com"), ("p3", "three", None)):
                connection.execute(
                    project.insert().values(
                        id=pid, name=name, stack="", provider="", model="", run_command="", run_folder="",
                        approve_changes=False, created_at=now, updated_at=now,
                    )
                )  # fmt: skip
                connection.execute(app.insert().values(project_id=pid, name=name, domain=domain, created_at=now, updated_at=now))
        command.upgrade(config, "head")
        with engine.connect() as connection:
            rows = connection.execute(
                sqlalchemy.text(
                    "SELECT project_id, domain, domain_claim, domain_token, domain_claimed_at FROM publishedapp ORDER BY project_id"
                )
            ).all()
        assert [(pid, domain, claim) for pid, domain, claim, _, _ in rows] == [
            ("p1", None, "one.example.com"),
            ("p2", None, "two.example.com"),
            ("p3", None, None),
        ]
        one, two, three = (token for _, _, _, token, _ in rows)
        assert re.fullmatch("[0-9a-f]{32}", one) and re.fullmatch("[0-9a-f]{32}", two) and one != two and three is None
        assert rows[0][4] is not None and rows[2][4] is None
        command.downgrade(config, "0020")
        command.upgrade(config, "head")
        with engine.connect() as connection:
            assert connection.execute(
                sqlalchemy.text("SELECT count(*) FROM publishedapp WHERE domain_claim IS NOT NULL")
            ).one() == (0,)
    finally:
        engine.dispose()
