"""builder.services.admin on real databases (SQLite and PostgreSQL) and with real local previews behind Traefik."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import create_async_engine

import builder.composition
import builder.settings
from builder import db
from builder.composition import Services
from builder.errors import Forbidden, InvalidInput, NotFound
from builder.models import LOCAL_USER_ID, Author, Generation, PreviewSession, Role
from builder.services import admin as admin_service
from builder.services.access import LOCAL_ACTOR, Actor
from builder.services.quotas import midnight
from builder.store import ProjectStore
from preview_runtime.local import LocalRunner
from preview_runtime.logs import LogHub, LogLevel
from preview_runtime.plan import RunPlan
from preview_runtime.runner import PreviewSpec, PreviewState
from tests.conftest import CHECKED_PROJECT, DatabaseUrls, served

pytest.register_assert_rewrite("tests.docker_fixtures")  # it is a plugin too (pytest_plugins below)
from tests.docker_fixtures import LogCollector, MiB, spec, wait_state  # noqa: E402

# The Docker fixtures (docker_runner_factory...) live in tests/docker_fixtures.py.
pytest_plugins = ["tests.docker_fixtures"]

MEMBER = Actor("someone", "someone@example.org", "Someone", Role.member)
NODE_PLAN = RunPlan(install="", dev="node server.js", port=3000, has_server=True)


@pytest.fixture
async def services_on(database_urls: DatabaseUrls, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Services]:
    """The services on each database; PostgreSQL's sessions in a time zone 14 hours ahead of UTC, so a day counted
    in the session's zone rather than UTC would show."""
    url = database_urls.async_
    engine = (
        create_async_engine(url, connect_args={"options": "-c timezone=Pacific/Kiritimati"})
        if url.startswith("postgresql")
        else db.create_engine(url)
    )
    instance = Services(ProjectStore(engine), LogHub())
    monkeypatch.setattr(builder.composition, "_services", instance)
    yield instance
    await instance.close()


async def _record(services: Services, *rows: Generation | PreviewSession) -> None:
    async with db.session_factory(services.admin._store.engine)() as session, session.begin():
        session.add_all(rows)


async def test_usage_by_day_counts_each_utc_day_and_fills_the_quiet_ones_with_zeros(services_on: Services) -> None:
    services = services_on
    project = (await services.projects.create("Counted", {"index.html": b"<h1>hi</h1>"}, owner=LOCAL_USER_ID)).project_id
    today = midnight()

    def generation(at: timedelta, tokens: tuple[int, int], cost: float) -> Generation:
        return Generation(
            project_id=project,
            prompt="p",
            provider="anthropic",
            input_tokens=tokens[0],
            output_tokens=tokens[1],
            cost_usd=cost,
            outcome="saved",
            created_at=today + at,
        )

    def preview(at: timedelta) -> PreviewSession:
        return PreviewSession(project_id=project, runner="local", status="stopped", started_at=today + at)

    await _record(
        services,
        # Today, twice: one minute and one hour after midnight UTC.
        generation(timedelta(minutes=1), (100, 20), 0.5),
        generation(timedelta(hours=1), (1000, 200), 1.25),
        # Half an hour before midnight: yesterday, whatever the database session's own time zone.
        generation(timedelta(minutes=-30), (7, 3), 0.01),
        # Three days ago; and 40 days ago, outside the 30 days asked for.
        generation(timedelta(days=-3, hours=12), (50, 50), 0.0),
        generation(timedelta(days=-40), (9999, 9999), 99.0),
        preview(timedelta(minutes=2)),
        preview(timedelta(minutes=-1)),
        preview(timedelta(minutes=-2)),
        preview(timedelta(days=-29, minutes=1)),
        preview(timedelta(days=-30, hours=23)),
    )

    days = await services.admin.usage_by_day(LOCAL_ACTOR, 30)

    assert len(days) == 30
    assert days[0].day == (today - timedelta(days=29)).strftime("%Y-%m-%d")
    assert days[-1].day == today.strftime("%Y-%m-%d")
    by_day = {row.day: row for row in days}
    today_row = by_day[today.strftime("%Y-%m-%d")]
    assert (today_row.tokens, today_row.cost_usd, today_row.generations, today_row.previews) == (1320, 1.75, 2, 1)
    yesterday = by_day[(today - timedelta(days=1)).strftime("%Y-%m-%d")]
    assert (yesterday.tokens, yesterday.cost_usd, yesterday.generations, yesterday.previews) == (10, 0.01, 1, 2)
    three_ago = by_day[(today - timedelta(days=3)).strftime("%Y-%m-%d")]
    assert (three_ago.tokens, three_ago.generations, three_ago.previews) == (100, 1, 0)
    assert days[0].previews == 1 and days[0].generations == 0
    quiet = [row for row in days if row.day not in {today_row.day, yesterday.day, three_ago.day, days[0].day}]
    assert len(quiet) == 26
    assert all((row.tokens, row.cost_usd, row.generations, row.previews) == (0, 0.0, 0, 0) for row in quiet)
    assert sum(row.tokens for row in days) == 1430  # the record 40 days old is not counted

    week = await services.admin.usage_by_day(LOCAL_ACTOR, 7)
    assert len(week) == 7 and week[-1] == today_row
    with pytest.raises(InvalidInput):
        await services.admin.usage_by_day(LOCAL_ACTOR, 0)
    with pytest.raises(Forbidden):
        await services.admin.usage_by_day(MEMBER, 30)


async def test_the_store_check_names_the_database_and_answers(services_on: Services) -> None:
    health = await services_on.admin.health(LOCAL_ACTOR)
    store = next(check for check in health.checks if check.name == "store")
    assert store.state == "ok"
    dialect = services_on.admin._store.engine.dialect.name
    assert store.detail.startswith("PostgreSQL answered a SELECT 1" if dialect == "postgresql" else "SQLite answered a SELECT 1")
    assert health.generations_running == 0


async def test_machine_checks_that_do_not_finish_in_time_are_said_not_waited_for(
    services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(admin_service, "MACHINE_CHECKS_S", 0.001)
    health = await services.admin.health(LOCAL_ACTOR)
    assert not health.ok and health.previews_runner == "none"
    late = next(check for check in health.checks if check.name == "preview runners")
    assert late.state == "problem" and "did not finish within" in late.detail
    assert next(check for check in health.checks if check.name == "store").state == "ok"


async def test_a_local_previews_memory_is_what_its_processes_hold(tmp_path: Path) -> None:
    runner = LocalRunner(tmp_path / "work", sandbox=False)
    try:
        spec = PreviewSpec(preview_id="mem-1", project_id="project-1", version=1, files=CHECKED_PROJECT, plan=NODE_PLAN)
        await runner.start(spec, lambda *_: None)
        deadline = time.monotonic() + 30
        while (await runner.status("mem-1")).state != PreviewState.running:
            assert time.monotonic() < deadline, "the preview did not start"
            await asyncio.sleep(0.2)
        used = await runner.memory_bytes("mem-1")
        # A Node.js process alone holds tens of megabytes; a reading of the shell only would be far less.
        assert used is not None and used > 10 * 1024 * 1024
        assert await runner.memory_bytes("no-such-preview") is None
        await runner.stop("mem-1")
        assert await runner.memory_bytes("mem-1") is None
    finally:
        await runner.close()


async def test_a_docker_previews_memory_is_its_containers(docker_runner_factory) -> None:
    runner = docker_runner_factory()
    log = LogCollector()
    await runner.start(spec("mem-docker", CHECKED_PROJECT, NODE_PLAN), log)
    await wait_state(runner, "mem-docker", PreviewState.running, 60, log)
    used = await runner.memory_bytes("mem-docker")
    assert used is not None and 10 * MiB < used < 256 * MiB  # Node.js, within the test containers' limit
    assert await runner.memory_bytes("no-such-preview") is None


async def test_an_admin_sees_a_running_preview_with_its_memory_and_stops_it(local_previews: None, services: Services) -> None:
    created = await services.projects.create("Memory app", CHECKED_PROJECT, owner=LOCAL_USER_ID)
    started = await services.previews.start(created.project_id, started_by=LOCAL_USER_ID)
    assert await served(services, created.project_id) == "checked"

    (row,) = await services.admin.previews(LOCAL_ACTOR)

    assert (row.preview_id, row.project_name, row.runner, row.version, row.state) == (
        started.preview_id,
        "Memory app",
        "local",
        1,
        "running",
    )
    assert row.memory_bytes is not None and row.memory_bytes > 10 * 1024 * 1024
    assert row.age_s is not None and 0 <= row.age_s < 600
    with pytest.raises(Forbidden):
        await services.admin.previews(MEMBER)

    # A share link's preview of the version is another row, stopped on its own.
    shared = await services.version_previews.start(created.project_id, 1)
    assert {row.preview_id for row in await services.admin.previews(LOCAL_ACTOR)} == {started.preview_id, shared.preview_id}
    await services.admin.stop_preview(LOCAL_ACTOR, shared.preview_id)
    assert await services.version_previews.status(created.project_id, 1) is None
    assert await services.previews.status(created.project_id) is not None

    await services.admin.stop_preview(LOCAL_ACTOR, started.preview_id)

    assert await services.admin.previews(LOCAL_ACTOR) == []
    assert await services.previews.status(created.project_id) is None
    with pytest.raises(NotFound):
        await services.admin.stop_preview(LOCAL_ACTOR, started.preview_id)
    health = await services.admin.health(LOCAL_ACTOR)
    proxy = next(check for check in health.checks if check.name == "preview proxy")
    assert proxy.state == "ok", proxy.detail
    local = next(check for check in health.checks if check.name == "local runner")
    assert local.state == "ok", local.detail
    docker = next(check for check in health.checks if check.name == "docker runner")
    assert docker.state == "off" and builder.settings.settings.preview_runner == "local"


async def test_a_preview_shows_the_version_it_runs_after_saves_a_restart_of_forja_and_of_itself(
    local_previews: None, sqlite_url: DatabaseUrls
) -> None:
    db.migrate(sqlite_url.sync)
    first = Services(ProjectStore(db.create_engine(sqlite_url.async_)), LogHub())
    try:
        created = await first.projects.create("Saved app", CHECKED_PROJECT, owner=LOCAL_USER_ID)
        pid = created.project_id
        started = await first.previews.start(pid)
        assert await served(first, pid) == "checked"

        # A save is pushed into the running preview: it runs version 2 now, and the table and its status say so.
        await first.projects.save(pid, {"notes.txt": b"saved after the start"}, author=Author.user)
        (row,) = await first.admin.previews(LOCAL_ACTOR)
        assert (row.preview_id, row.version) == (started.preview_id, 2)
        status = await first.previews.status(pid)
        assert status is not None and status.version == 2

        # Parked, then Forja restarts and adopts it: its runner's record says version 1, the one it started with.
        assert await (await first.preview_hub.manager()).park(started.preview_id, "a test")
    finally:
        await first.close()
    second = Services(ProjectStore(db.create_engine(sqlite_url.async_)), LogHub())
    try:
        await second.preview_hub.manager()
        (row,) = await second.admin.previews(LOCAL_ACTOR)
        assert (row.preview_id, row.version, row.state) == (started.preview_id, 2, "parked")

        # Restarted, it is a new preview of the current version.
        restarted = await second.previews.start(pid, restart=True)
        (row,) = await second.admin.previews(LOCAL_ACTOR)
        assert restarted.preview_id != started.preview_id
        assert (row.preview_id, row.version) == (restarted.preview_id, 2)
    finally:
        await second.close()


async def test_webcontainers_are_ok_on_the_health_list_only_on_a_browsers_word(
    services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    """They run in each visitor's browser: the server says what the browsers reported, the same words as doctor."""
    monkeypatch.setattr(builder.settings.settings, "webcontainers", True)
    monkeypatch.setattr(builder.settings.settings, "preview_runner", "auto")

    async def said() -> tuple[str, str, str]:
        health = await services.admin.health(LOCAL_ACTOR)
        check = next(check for check in health.checks if check.name == "webcontainer runner")
        report = await services.doctor.report()
        return check.state, check.detail, report.runners["webcontainer"].reason

    state, detail, doctor_says = await said()
    assert state == "unknown" and "no browser has tried one here yet" in detail and doctor_says == detail

    timeout = "WebContainer: it did not boot within 20 s (its runtime loads from StackBlitz's servers). Falling back to the server runner."
    services.logs.emit("some-project", timeout, LogLevel.warning, "webcontainer")
    services.logs.emit("other-project", timeout, LogLevel.warning, "webcontainer")
    state, detail, doctor_says = await said()
    assert state == "problem" and doctor_says == detail
    assert "Last boots here: 0 booted, 2 fell back to the server runner (2 after a timeout)" in detail

    services.logs.emit("some-project", "WebContainer booted in this browser; mounting the project.", None, "webcontainer")
    state, detail, _ = await said()
    assert state == "ok" and detail.endswith(
        "1 booted, 2 fell back to the server runner (2 after a timeout); the last one booted."
    )

    monkeypatch.setattr(builder.settings.settings, "webcontainers", False)
    state, detail, _ = await said()
    assert (state, detail) == ("off", "Turned off in the settings (FORJA_WEBCONTAINERS=false).")

    # A server runner asked for by name rules them out as well: every preview runs on it, none in a browser first.
    monkeypatch.setattr(builder.settings.settings, "webcontainers", True)
    monkeypatch.setattr(builder.settings.settings, "preview_runner", "local")
    state, detail, _ = await said()
    assert (state, detail) == ("off", "Not used: the settings ask for the local runner (FORJA_PREVIEW_RUNNER=local).")
