"""Runner.open_shell: the Terminal tab's shell runs inside the preview's own sandbox, with its limits, user and network
rules, on a real pty (local runner: real bubblewrap and cgroups) or a real `docker exec` TTY (Docker runner); resizing
reaches the shell, and closing ends it and what it left running.

Network rule (shared/environment.md): the probes connect only to listeners these tests open on this machine.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from preview_runtime.docker.layout import APP_DIR, PREVIEW_UID
from preview_runtime.docker.runner import DockerRunner
from preview_runtime.local import LocalRunner
from preview_runtime.plan import RunPlan
from preview_runtime.runner import PreviewState, Shell
from tests.integration.test_local_limits import LIMITS, _cgroup_folder, _spec, _until, confined  # noqa: F401 (a fixture)
from tests.integration.test_local_runner import Sink
from tests.waiting import until

pytest.register_assert_rewrite("tests.docker_fixtures")
from tests.docker_fixtures import TEST_LIMITS, LogCollector, MiB, spec, wait_state  # noqa: E402

pytest_plugins = ["tests.docker_fixtures"]

ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b\][^\x07]*\x07")
# Connects to host:port and says how it went, in one line (python3 is in both sandboxes).
PROBE = "python3 -c \"import socket,sys\ntry:\n socket.create_connection(('{host}',{port}),timeout=2).close(); print('probe: CONNECTED')\nexcept OSError as e:\n print('probe: blocked', type(e).__name__)\""


async def run_in(shell: Shell, command: str, within: float = 30) -> str:
    """Type `command` into the shell; its output (colours and cursor moves taken out) up to an end marker."""
    marker = f"done-{time.monotonic_ns()}"
    await shell.write(f"{command}; echo {marker[:5]}''{marker[5:]}\r".encode())
    seen = ""
    try:
        async with asyncio.timeout(within):
            while f"\n{marker}" not in seen.replace("\r", ""):
                data = await shell.read()
                assert data, f"the shell ended; it said:\n{seen}"
                seen += ANSI.sub("", data.decode("utf-8", errors="replace"))
    except TimeoutError:
        pytest.fail(f"{command!r} did not end within {within:.0f} s; the terminal shows:\n{seen}")
    text = seen.replace("\r", "")
    return text[: text.index(f"\n{marker}")]


async def assert_resizes(shell: Shell) -> None:
    """The shell's terminal is the size it was opened with (30 rows, 100 columns), and takes a new one; typed at once,
    before the shell said anything (the Docker shell's pid line stays out of what it shows)."""
    first = await run_in(shell, "stty size")
    assert first.strip().endswith("30 100") and "forja-shell" not in first, first
    await shell.resize(132, 40)
    assert (await run_in(shell, "stty size")).strip().endswith("40 132")


@contextlib.contextmanager
def tcp_listener(host: str) -> Iterator[tuple[int, list[str]]]:
    """A TCP server recording who connects: stands in for Forja's API."""
    server = socket.create_server((host, 0))
    server.settimeout(0.2)
    peers: list[str] = []
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                conn, peer = server.accept()
                peers.append(peer[0])
                conn.close()

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield server.getsockname()[1], peers
    finally:
        stop.set()
        thread.join()
        server.close()


async def docker_top(container: str) -> str:
    done = await asyncio.to_thread(subprocess.run, ["docker", "top", container], capture_output=True, text=True)
    return done.stdout


def _alive(pattern: str) -> bool:
    return subprocess.run(["pgrep", "-f", pattern], capture_output=True).returncode == 0


async def _started(pattern: str, within: float = 10) -> bool:
    """Whether a process matching `pattern` runs within `within` seconds: a command sent to the background has its
    prompt back before its fork has become the program (until then it is the shell, under the shell's name)."""
    deadline = time.monotonic() + within
    while not _alive(pattern):
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(0.05)
    return True


@pytest.mark.usefixtures("confined")
async def test_a_local_shell_is_in_the_previews_sandbox_with_its_limits(tmp_path: Path) -> None:
    assert shutil.which("bwrap")
    runner = LocalRunner(tmp_path / "work", limits=LIMITS)
    try:
        await runner.start(_spec("term", "exec python3 -m http.server $PORT"), Sink())
        await _until(runner, "term", PreviewState.running)
        shell = await runner.open_shell("term", 100, 30)
        await assert_resizes(shell)

        # The preview's folder, writable; the system read-only, as the dev server sees it.
        said = await run_in(shell, "pwd; echo from-the-shell > made.txt; touch /usr/forja-was-here")
        assert str(runner.work_dir / "term") in said
        assert "Read-only file system" in said
        assert (runner.work_dir / "term" / "made.txt").read_text() == "from-the-shell\n"

        # A cgroup of its own with the preview's limits (as run_command's commands get).
        bubblewrap = shell._process.pid  # pyright: ignore[reportAttributeAccessIssue]
        pids = _cgroup_folder(bubblewrap, "pids")
        assert pids.name.startswith("forja-command-"), pids
        assert int((pids / "pids.max").read_text()) == LIMITS.pids
        memory = _cgroup_folder(bubblewrap, "memory")
        limit_file = memory / ("memory.max" if (memory / "memory.max").exists() else "memory.limit_in_bytes")
        assert int(limit_file.read_text()) == LIMITS.memory_bytes

        # No route to Forja's API (a listener on the host's loopback stands in for it).
        with tcp_listener("127.0.0.1") as (port, peers):
            assert "probe: blocked" in await run_in(shell, PROBE.format(host="127.0.0.1", port=port))
            assert peers == []

        await run_in(shell, "sleep 61.75 & true")
        assert await _started("sleep 61.75")
        await shell.close()
        await shell.close()  # idempotent
        assert await shell.read() == b""
        assert not _alive("sleep 61.75")
    finally:
        await runner.close()


async def test_a_docker_shell_is_in_the_container_with_its_limits(docker_runner_factory) -> None:
    runner: DockerRunner = docker_runner_factory(pids_limit=77)
    log = LogCollector()
    await runner.start(
        spec("term-1", {"index.html": b"x"}, RunPlan(dev="exec python -m http.server $PORT", port=8080, has_server=False)), log
    )
    await wait_state(runner, "term-1", PreviewState.running, 60, log)
    shell = await runner.open_shell("term-1", 100, 30)
    try:
        await assert_resizes(shell)

        said = await run_in(shell, "id -u; pwd; echo from-the-shell > made.txt; cat index.html; touch /etc/x")
        assert f"\n{PREVIEW_UID}\n{APP_DIR}\nx" in said, said
        assert "Read-only file system" in said
        assert (await runner.collect("term-1", "", MiB))["made.txt"] == b"from-the-shell\n"

        limits = await run_in(
            shell,
            "cat /sys/fs/cgroup/memory.max /sys/fs/cgroup/pids.max 2>/dev/null || "
            "cat /sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/pids/pids.max",
        )
        assert re.search(rf"\n{TEST_LIMITS['memory_bytes']}\n77\s*$", limits), limits

        # The preview network's firewall: the host (where Forja's API listens) is out of reach.
        with tcp_listener("0.0.0.0") as (port, peers):
            with socket.create_connection((runner.gateway, port), timeout=3):  # the host reaches it
                pass

            # The listener records a peer in its own thread, after the connection is made: wait for this one first.
            async def recorded() -> bool:
                return bool(peers)

            await until(recorded, "the host's own connection was recorded", 5)
            peers.clear()
            assert "probe: blocked" in await run_in(shell, PROBE.format(host=runner.gateway, port=port))
            assert peers == []

        await run_in(shell, "sleep 61.75 & true")
        started = time.monotonic() + 10
        while "sleep 61.75" not in await docker_top(runner._preview("term-1").container_id):  # see _started
            assert time.monotonic() < started, "the shell's background sleep never ran"
            await asyncio.sleep(0.1)
    finally:
        await shell.close()
    container = runner._preview("term-1").container_id

    deadline = time.monotonic() + 15
    while "sleep 61.75" in (top := await docker_top(container)) or "bash -i" in top:
        assert time.monotonic() < deadline, f"the shell outlived its terminal:\n{top}"
        await asyncio.sleep(0.2)
