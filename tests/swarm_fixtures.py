"""Fixtures for the swarm runner's tests: a single-node swarm on the test engine, and SwarmRunners on it.

Import them by name from the test modules (with `pytest_plugins = ["tests.swarm_fixtures"]`), like tests/docker_fixtures.py.

* swarm_manager (module): the test engine as a swarm manager. When the engine is in no swarm, the fixture makes one
  (`docker swarm init --advertise-addr 127.0.0.1`) and the swarm is left again after the module, only if a test
  fixture made it and no other test session still uses it: sessions hold a shared lock on SWARM_LOCK while they use
  the swarm, and the one that made it writes SWARM_MADE. A swarm the machine had before is never left. Module scope,
  because while the engine is a manager `auto` picks the swarm runner: other modules' tests expect Docker.
* swarm_runner_factory: SwarmRunner instances named after this session (forja-swarm-test-<pid>) with small limits;
  every preview they started is stopped after the test, and at the end of the module everything they made (services,
  networks, volumes, the edge container) is removed, with what earlier runs whose pytest process is gone left behind.
"""

from __future__ import annotations

import fcntl
import json
import os
import subprocess
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import pytest

from preview_runtime.swarm import SwarmConfig, SwarmRunner
from tests.docker_fixtures import (  # noqa: F401 (fixtures)
    TEST_LIMITS,
    TEST_NETWORK_PREFIX,
    _pid_alive,
    _unavailable,
    docker_engine,
    preview_image,
)

SWARM_LOCK = Path("/var/lock/forja-test-swarm.lock")
SWARM_MADE = Path("/var/lock/forja-test-swarm.made")  # its text: "gwbridge" when the swarm's init made docker_gwbridge
TEST_PREFIX_START = "forja-swarm-test-"
TEST_PREFIX = f"{TEST_PREFIX_START}{os.getpid()}"


def docker(*args: str, check: bool = False) -> str:
    return subprocess.run(["docker", *args], capture_output=True, text=True, check=check, timeout=120).stdout


def swarm_state() -> dict:
    return json.loads(docker("info", "--format", "{{json .Swarm}}") or "{}")


@pytest.fixture(scope="module")
def swarm_manager(docker_engine: str) -> Iterator[str]:  # noqa: F811
    """The engine's node id, as a swarm manager (made one when it is in no swarm)."""
    if os.geteuid() != 0:
        _unavailable("the swarm runner enters its edge's network namespace, which needs root")
    lock = open(SWARM_LOCK, "a")
    try:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one session at a time decides whether to make the swarm
        state = swarm_state()
        if state.get("LocalNodeState") != "active":
            had_gwbridge = bool(docker("network", "ls", "-q", "--filter", "name=^docker_gwbridge$").strip())
            made = subprocess.run(
                ["docker", "swarm", "init", "--advertise-addr", "127.0.0.1"], capture_output=True, text=True, timeout=120
            )
            if made.returncode != 0:
                pytest.fail(f"docker swarm init failed: {made.stderr.strip()}", pytrace=False)
            SWARM_MADE.write_text("" if had_gwbridge else "gwbridge")
            state = swarm_state()
        elif not state.get("ControlAvailable"):
            pytest.fail("the test engine is a swarm worker; the swarm tests need a manager", pytrace=False)
        fcntl.flock(lock, fcntl.LOCK_SH)  # others may use it now; it is left only once nobody does
        yield state["NodeID"]
    finally:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            pass  # another session still uses the swarm: the last one out leaves it
        else:
            if SWARM_MADE.exists():
                gwbridge = SWARM_MADE.read_text() == "gwbridge"
                # A removed service's tasks stop after `service rm` returns. Leaving while they are still torn down
                # once stalled the engine for eleven minutes ("deleting object [endpoint ...], retrying"), and the
                # Docker tests running beside these with it: leave once they are gone.
                deadline = time.monotonic() + 60
                while docker("ps", "-q", "--filter", "label=com.docker.swarm.task.id").strip():
                    if time.monotonic() > deadline:
                        break
                    time.sleep(0.5)
                docker("swarm", "leave", "--force")
                if gwbridge:
                    docker("network", "rm", "docker_gwbridge")  # the swarm's init made it; leaving does not remove it
                SWARM_MADE.unlink()
        lock.close()


def cleanup_swarm_test(prefix: str = TEST_PREFIX) -> None:
    """Remove everything SwarmRunners named `prefix` made: services, their networks, the edge, volumes."""
    services = docker("service", "ls", "-q", "--filter", f"label=forja.network={prefix}").split()
    if services:
        docker("service", "rm", *services)
    containers = docker("ps", "-aq", "--filter", f"label=forja.network={prefix}").split()
    if containers:
        docker("rm", "-f", "-v", *containers)
    for _ in range(50):  # the swarm releases a network once its tasks are gone
        networks = docker("network", "ls", "-q", "--filter", f"label=forja.network={prefix}").split()
        if not networks:
            break
        docker("network", "rm", *networks)
        time.sleep(0.2)
    volumes = docker("volume", "ls", "-q", "--filter", f"label=forja.network={prefix}").split()
    if volumes:
        docker("volume", "rm", "-f", *volumes)


def cleanup_stale_swarm_tests() -> None:
    """Leftovers of interrupted runs whose pytest process is gone: what its SwarmRunners made, found by their
    forja.network label (forja-swarm-test-<pid>, or <docker test network>-swarm in test_swarm_choice.py)."""
    by_label = ["--filter", "label=forja.network", "--format", '{{.Label "forja.network"}}']
    labels = set(docker("network", "ls", *by_label).split()) | set(docker("ps", "-a", *by_label).split())
    for label in labels:
        if label.startswith(TEST_PREFIX_START):
            pid, _, rest = label.removeprefix(TEST_PREFIX_START).partition("-")
            ours = rest == ""
        else:
            pid, _, rest = label.removeprefix(TEST_NETWORK_PREFIX).partition("-")
            ours = label.startswith(TEST_NETWORK_PREFIX) and rest == "swarm"
        if ours and pid.isdigit() and not _pid_alive(int(pid)):
            cleanup_swarm_test(label)


@pytest.fixture(scope="module")
def swarm_prefix(swarm_manager: str) -> Iterator[str]:
    cleanup_stale_swarm_tests()
    cleanup_swarm_test()
    yield TEST_PREFIX
    cleanup_swarm_test()


@pytest.fixture
async def swarm_runner_factory(preview_image: str, swarm_prefix: str) -> AsyncIterator[Callable[..., SwarmRunner]]:  # noqa: F811
    """make(**settings) -> SwarmRunner with test-sized limits, named after this session."""
    runners: list[SwarmRunner] = []

    def make(**settings: object) -> SwarmRunner:
        options: dict[str, object] = {"image": preview_image, "network": swarm_prefix, **TEST_LIMITS}
        options.update(settings)
        runner = SwarmRunner(SwarmConfig(**options))  # type: ignore[arg-type]
        runners.append(runner)
        return runner

    yield make
    for runner in runners:
        for preview_id in list(runner._previews):
            await runner.stop(preview_id)
        await runner.close()


def service_inspect(service_id: str) -> dict:
    return json.loads(docker("service", "inspect", service_id))[0]
