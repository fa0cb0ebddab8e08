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


def test_git_tokens_table_comes_and_goes_with_its_revision(database_urls: DatabaseUrls) -> None:
    """Revision 0022: a git token's row refers to its person, its project and the API token it was made with; the
    downgrade drops the table with its rows (and no other), and upgrading again makes it afresh, as the models say."""
    config = db.alembic_config(database_urls.sync)
    engine = sqlalchemy.create_engine(database_urls.sync)
    now = datetime.now(UTC)
    try:
        with engine.begin() as connection:
            connection.execute(
                sqlalchemy.text(
                    'INSERT INTO "user" (id, email, name, password_hash, role, created_at) '
                    "VALUES ('u1', 'ana@example.org', 'Ana', '', 'member', :now)"
                ),
                {"now": now},
            )
            connection.execute(
                sqlalchemy.text(
                    "INSERT INTO project (id, name, stack, provider, model, run_command, run_folder, approve_changes, "
                    "created_at, updated_at) VALUES ('p1', 'Site', '', '', '', '', '', false, :now, :now)"
                ),
                {"now": now},
            )
            connection.execute(
                sqlalchemy.text(
                    "INSERT INTO apitoken (id, user_id, name, token_hash, hint, created_at) "
                    "VALUES (7, 'u1', 'script', :hash, 'forja_abcd', :now)"
                ),
                {"hash": "a" * 64, "now": now},
            )
            connection.execute(
                sqlalchemy.text(
                    "INSERT INTO gittoken (user_id, project_id, name, token_hash, hint, can_push, api_token_id, created_at, "
                    "expires_at) VALUES ('u1', 'p1', '', :hash, 'forja_git_abcd', true, 7, :now, :now)"
                ),
                {"hash": "b" * 64, "now": now},
            )
        command.downgrade(config, "0021")
        assert "gittoken" not in sqlalchemy.inspect(engine).get_table_names()
        with engine.connect() as connection:
            assert connection.execute(sqlalchemy.text("SELECT count(*) FROM apitoken")).one() == (1,)
        command.upgrade(config, "head")
        with engine.connect() as connection:
            assert connection.execute(sqlalchemy.text("SELECT count(*) FROM gittoken")).one() == (0,)
            assert compare_metadata(MigrationContext.configure(connection), SQLModel.metadata) == []
    finally:
        engine.dispose()
