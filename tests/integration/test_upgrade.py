"""An upgrade from a data folder an older Forja made (tests/fixtures/upgrade_0025/, its database at revision 0025, made by
scripts/make_upgrade_fixture.py with that Forja's own services): the current code migrates it as a server start does
(get_services), and everything the older Forja kept still works through the current services.

On PostgreSQL, the same rows: a SQLite dump is not PostgreSQL's SQL, so the fixture's rows are copied table by table
into a PostgreSQL database the current migrations brought to 0025 (the same revisions the older Forja had), and that
database is upgraded. It proves the PostgreSQL migrations keep those rows; it is not a database an older Forja made on
PostgreSQL itself."""

from __future__ import annotations

import hashlib
import json
import sqlite3
import subprocess
import tarfile
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlmodel import SQLModel

import builder.composition
from builder import db
from builder.api import api, guarded
from builder.composition import Services, get_services
from builder.errors import SignInRefused
from builder.git.commands import repo_path
from builder.git.mirror import project_lock
from builder.models import ProjectRole
from builder.publish.addresses import app_url
from builder.services.access import Actor
from builder.services.app_data import Scope
from builder.services.throttle import Attempt
from builder.settings import settings
from scripts.make_upgrade_fixture import LOGO
from tests.conftest import PostgresServer

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "upgrade_0025"
ATTEMPT = Attempt("127.0.0.1")


@dataclass
class Upgraded:
    services: Services
    manifest: dict[str, Any]


def unpack(tmp_path: Path) -> tuple[Path, Path]:
    """The fixture's data folder, and its database as a SQLite file (at 0025) beside it."""
    data = tmp_path / "data"
    with tarfile.open(FIXTURE / "data.tar.gz") as archive:
        archive.extractall(data, filter="data")
    database = tmp_path / "old.db"
    with sqlite3.connect(database) as connection:
        connection.executescript((FIXTURE / "forja.sql").read_text())
    connection.close()
    return data, database


def utc(value: object) -> object:
    """Forja keeps its moments in UTC; SQLite's come back without a zone, which PostgreSQL would read as its own."""
    return value.replace(tzinfo=UTC) if isinstance(value, datetime) and value.tzinfo is None else value


def copy_rows(sqlite_path: Path, postgres_url: str) -> None:
    """Every row of the SQLite database into the PostgreSQL one, both at the same revision, each table as the other
    database describes it (PostgreSQL's has its enum types); then each table's id sequence past its rows, as inserts
    with explicit ids do not move it."""
    source = sqlalchemy.create_engine(f"sqlite:///{sqlite_path}")
    target = sqlalchemy.create_engine(postgres_url)
    old, new = sqlalchemy.MetaData(), sqlalchemy.MetaData()
    old.reflect(source)
    new.reflect(target)
    try:
        with source.connect() as reading, target.begin() as writing:
            # The rows the migrations made themselves (the machine's own user) are in the fixture too.
            for table in reversed(new.sorted_tables):
                if table.name != "alembic_version":
                    writing.execute(table.delete())
            for table in new.sorted_tables:  # those referred to first
                if table.name == "alembic_version":
                    continue
                rows = [
                    {name: utc(value) for name, value in row._mapping.items()}
                    for row in reading.execute(old.tables[table.name].select())
                ]
                if rows:
                    writing.execute(table.insert(), rows)
                if "id" in table.c and isinstance(table.c.id.type, sqlalchemy.Integer):
                    writing.execute(
                        sqlalchemy.text(
                            f"SELECT setval(pg_get_serial_sequence('\"{table.name}\"', 'id'), "
                            f'coalesce(max(id), 0) + 1, false) FROM "{table.name}"'
                        )
                    )
    finally:
        source.dispose()
        target.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
async def upgraded(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Upgraded]:
    """The fixture's Forja, upgraded by the current code when its services start, as a server's first request does."""
    manifest = json.loads((FIXTURE / "manifest.json").read_text())
    data, old = unpack(tmp_path)
    if request.param == "sqlite":
        old.rename(data / "forja.db")
        url = ""  # the data folder's own forja.db, as a Forja with no database setting uses
    else:
        server: PostgresServer = request.getfixturevalue("postgres_server")
        url = server.url(server.create_database())
        command.upgrade(db.alembic_config(url), "0025")
        copy_rows(old, url)
    for name, value in {
        "data_dir": data,
        "database_url": url,
        "secret_key": manifest["secret_key"],
        "auth": "password",
        "verify_generations": False,
    }.items():
        monkeypatch.setattr(settings, name, value)
    monkeypatch.setattr(builder.composition, "_services", None)
    services = await get_services()
    yield Upgraded(services, manifest)
    await services.close()


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def git(repo: Path, *args: str) -> bytes:
    return subprocess.run(["git", *args], cwd=repo, capture_output=True, check=True).stdout


async def signed_in(services: Services, email: str, password: str) -> Actor:
    session = await services.accounts.sign_in(email, password, ATTEMPT)
    return await services.accounts.actor(session_token=session)


async def test_the_schema_is_the_newest_and_people_sign_in_with_their_old_passwords(upgraded: Upgraded) -> None:
    services, manifest = upgraded.services, upgraded.manifest
    engine = sqlalchemy.create_engine(settings.sync_database_url)
    try:
        with engine.connect() as connection:
            assert compare_metadata(MigrationContext.configure(connection), SQLModel.metadata) == []
    finally:
        engine.dispose()

    owner, member = manifest["owner"], manifest["member"]
    olive = await signed_in(services, owner["email"], manifest["password"])
    assert (olive.user_id, olive.name, olive.role) == (owner["id"], owner["name"], "admin")
    max_ = await signed_in(services, member["email"], manifest["password"])
    assert (max_.user_id, max_.role) == (member["id"], "member")
    with pytest.raises(SignInRefused):
        await services.accounts.sign_in(member["email"], "not the password", ATTEMPT)
    # The API token Olive made still names her, through the API as a script sends it.
    transport = httpx.ASGITransport(app=guarded(api))
    async with httpx.AsyncClient(
        transport=transport, base_url="http://127.0.0.1:3000", headers={"Authorization": f"Bearer {owner['api_token']}"}
    ) as http:
        tokens = await http.get("/api/account/tokens")
        listed = await http.get("/api/projects")
    assert tokens.status_code == 200, tokens.text
    assert [t["hint"] for t in tokens.json()] == [owner["api_token"][: len("forja_") + 4]]
    assert {p["id"] for p in listed.json()["items"]} == {manifest["bakery"]["id"], manifest["plan"]["project_id"]}

    # Each sees their own projects and those they are a member of, and no one else's.
    bakery, todo, plan_project = manifest["bakery"]["id"], manifest["todo"]["id"], manifest["plan"]["project_id"]
    mine = {p.id: p.role for p in await services.projects.summaries(olive)}
    assert mine == {bakery: ProjectRole.owner, plan_project: ProjectRole.owner}
    theirs = {p.id: p.role for p in await services.projects.summaries(max_)}
    assert theirs == {bakery: ProjectRole.editor, todo: ProjectRole.owner}


async def test_every_version_reads_back_and_an_old_one_is_restored(upgraded: Upgraded) -> None:
    services, manifest = upgraded.services, upgraded.manifest
    for key in ("bakery", "todo"):
        project = manifest[key]
        versions = await services.projects.versions(project["id"])
        assert [str(v.number) for v in versions] == list(project["versions"])
        for number, files in project["versions"].items():
            tree = await services.projects.read_tree(project["id"], int(number))
            assert {path: sha(content) for path, content in tree.items()} == files
    bakery = manifest["bakery"]["id"]
    assert await services.projects.read_file(bakery, "logo.png", 2) == LOGO

    restored = await services.history.restore(bakery, 1, manifest["owner"]["id"])
    assert restored.version.number == 4
    assert {p: sha(c) for p, c in (await services.projects.read_tree(bakery)).items()} == manifest["bakery"]["versions"]["1"]
    diff = await services.history.diff(bakery, 4, 3)
    assert {f.path for f in diff.files} == {"index.html", "logo.png", "style.css"}

    records = await services.generations.records(manifest["todo"]["id"])
    assert [[r.prompt, r.provider, r.outcome] for r in records] == manifest["todo"]["generations"]
    plan = await services.plans.get(manifest["plan"]["id"])
    assert (plan.project_id, plan.title, plan.status) == (manifest["plan"]["project_id"], manifest["plan"]["title"], "proposed")
    assert [c.text for c in plan.checks] == manifest["plan"]["checks"]


async def test_shares_the_release_and_the_apps_people_and_variables_still_work(upgraded: Upgraded) -> None:
    services, manifest = upgraded.services, upgraded.manifest
    bakery = manifest["bakery"]
    share = await services.shares.resolve(bakery["share"]["token"])
    assert (share.project_id, share.version, share.target, share.expires_at) == (bakery["id"], 2, "preview", None)
    live = await services.shares.resolve(bakery["live_share"]["token"])
    assert (live.project_id, live.target) == (bakery["id"], "live")

    releases = await services.publishing.releases(bakery["id"])
    app = bakery["app"]
    assert [(r.number, r.version, r.state, r.live) for r in releases] == [(app["release"], app["version"], "ready", True)]
    transport = httpx.ASGITransport(app=guarded(api))
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:3000") as http:
        page = await http.get("/", headers={"Host": app_url(app["name"]).split("://", 1)[1]})
    assert page.status_code == 200 and "Bread and cakes" in page.text  # release 1 is version 3's files, from disk

    people = bakery["app_users"]
    for scope in (Scope.live, Scope.preview):
        token = await services.app_users.sign_in(bakery["id"], scope, people[scope.value], people["password"], ATTEMPT)
        account = await services.app_users.account_of(bakery["id"], scope, token)
        assert account is not None and account.email == people[scope.value]
    with pytest.raises(SignInRefused):
        await services.app_users.sign_in(bakery["id"], Scope.live, people["live"], "a guess", ATTEMPT)
    # Every app took new accounts openly before sign-up by invitation came (0026): it still does.
    assert await services.app_user_mail.sign_up_mode(bakery["id"], Scope.live) == "open"
    newcomer = await services.app_users.sign_up(bakery["id"], Scope.live, "new@example.org", people["password"], ATTEMPT)
    assert (await services.app_users.account_of(bakery["id"], Scope.live, newcomer)) is not None

    assert await services.app_env.values(bakery["id"]) == bakery["variables"]


async def test_the_git_history_clones_and_goes_on_from_where_it_was(upgraded: Upgraded, tmp_path: Path) -> None:
    services, manifest = upgraded.services, upgraded.manifest
    bakery = manifest["bakery"]
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "--quiet", str(repo_path(bakery["id"])), str(clone))
    assert git(clone, "rev-parse", "HEAD").decode().strip() == bakery["git_head"]
    assert git(clone, "rev-list", "--count", "HEAD").decode().strip() == "3"
    assert git(clone, "cat-file", "blob", "v2:logo.png") == LOGO

    await services.history.restore(bakery["id"], 2, manifest["owner"]["id"])  # v4
    async with project_lock(bakery["id"]):
        head = await services.git.mirror.sync(bakery["id"])
    assert head is not None and head.version == 4
    repo = repo_path(bakery["id"])
    assert git(repo, "rev-parse", "v4^").decode().strip() == bakery["git_head"]  # the old commits kept, not rebuilt
    git(clone, "pull", "--quiet", "origin", "main")
    assert git(clone, "cat-file", "blob", "HEAD:logo.png") == LOGO
