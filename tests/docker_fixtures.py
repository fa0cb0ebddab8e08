"""Fixtures for the Docker runner tests: a running Docker engine, the preview image, runners.

Import them by name from the test modules (`from tests.docker_fixtures import docker_engine, ...`);
they are kept out of conftest.py on purpose.

* docker_engine: the engine's socket. Starts dockerd when it is not running and we are root.
  Without an engine the tests fail in CI (CI=true) and are skipped elsewhere.
* preview_image: the image Forja itself uses (forja-preview tagged by a hash of its inputs), built
  once with preview_runtime/images/build_offline.sh (the script skips the build when the tag already
  exists, so later runs take a second, and a Forja on the same machine finds it built).
* docker_runner_factory: DockerRunner instances on this session's own network (forja-test-<pid>,
  so parallel runs on one machine stay apart) with small limits; every preview they started is
  stopped after the test. At the end of the session the network, its firewall rules, containers
  and volumes are removed (and those of earlier runs whose pytest process is gone).
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from preview_runtime.docker.config import DockerConfig
from preview_runtime.docker.image import image_name
from preview_runtime.docker.runner import DockerRunner
from preview_runtime.logs import LogLevel, classify
from preview_runtime.plan import RunPlan, plan_for
from preview_runtime.runner import PreviewInfo, PreviewSpec, PreviewState, Runner

ROOT = Path(__file__).resolve().parents[1]
SOCKET = "/var/run/docker.sock"
REPOSITORY = "forja-preview"
IMAGE = image_name(REPOSITORY)
# One network per test session, so parallel runs on one machine never touch each other's previews.
TEST_NETWORK_PREFIX = "forja-test-"
TEST_NETWORK = f"{TEST_NETWORK_PREFIX}{os.getpid()}"
MiB = 1 << 20


def _unavailable(reason: str) -> None:
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"Docker is required in CI but {reason}", pytrace=False)
    pytest.skip(f"Docker tests skipped: {reason}")


def _engine_answers(path: str = SOCKET) -> bool:
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(3)
            s.connect(path)
            s.sendall(b"GET /_ping HTTP/1.0\r\nHost: docker\r\n\r\n")
            return b"OK" in s.recv(4096)
    except OSError:
        return False


@pytest.fixture(scope="session")
def docker_engine() -> str:
    return start_engine()


def start_engine() -> str:
    """The engine's socket, with dockerd started when it is not running and we are root."""
    if _engine_answers():
        return SOCKET
    if os.geteuid() != 0 or not shutil.which("dockerd"):
        _unavailable(f"no Docker engine answers on {SOCKET} and dockerd cannot be started here")
    log = open("/var/log/dockerd.log", "ab")  # handed to the daemon, which outlives the tests
    subprocess.Popen(["dockerd"], stdout=log, stderr=log, stdin=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if _engine_answers():
            return SOCKET
        time.sleep(0.5)
    _unavailable("dockerd was started but did not answer within 60 s (see /var/log/dockerd.log)")
    raise AssertionError("unreachable")


@pytest.fixture(scope="session")
def preview_image(docker_engine: str) -> str:
    return build_preview_image()


def build_preview_image() -> str:
    """The preview image's name, built unless its tag exists (scripts/test.sh starts this beside the checks)."""
    script = ROOT / "preview_runtime" / "images" / "build_offline.sh"
    if os.geteuid() != 0 or not shutil.which("debootstrap"):
        inspect = subprocess.run(["docker", "image", "inspect", IMAGE], capture_output=True)
        if inspect.returncode == 0:
            return IMAGE
        _unavailable("the preview image is missing and build_offline.sh needs root and debootstrap")
    started = time.monotonic()
    # One build at a time on this machine (xdist workers, two checkouts): the second finds the tag and only checks it.
    with open("/var/lock/forja-test-preview-image.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        result = subprocess.run(
            ["bash", str(script), "--image", REPOSITORY, "--tag", IMAGE.rsplit(":", 1)[1]],
            env={**os.environ, "PYTHON": sys.executable},
            capture_output=True,
            text=True,
            # debootstrap from Debian's mirror and the packages: minutes on a quiet machine, many more on a busy one.
            timeout=1800,
        )
    if result.returncode != 0:
        pytest.fail(f"build_offline.sh failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}", pytrace=False)
    print(f"\n[preview_image] {result.stdout.strip().splitlines()[-1]} ({time.monotonic() - started:.1f} s)")
    return IMAGE


def _docker(*args: str) -> str:
    return subprocess.run(["docker", *args], capture_output=True, text=True).stdout


@dataclass
class OwnEngine:
    """A second Docker engine beside the machine's, for a test that stops and starts it (the machine's serves every
    other test): its own data, state, pid file and socket, no default bridge and no iptables rules of its own, its
    networks in an address pool no other engine here uses."""

    folder: Path
    process: subprocess.Popen[bytes] | None = None

    @property
    def socket(self) -> str:
        return str(self.folder / "docker.sock")

    @property
    def url(self) -> str:
        return f"unix://{self.socket}"

    def start(self) -> None:
        command = [
            "dockerd", "--data-root", str(self.folder / "data"), "--exec-root", str(self.folder / "exec"),
            "--pidfile", str(self.folder / "docker.pid"), "-H", self.url, "--bridge=none", "--iptables=false",
            "--ip6tables=false", "--default-address-pool", "base=10.213.0.0/16,size=24",
        ]  # fmt: skip
        with (self.folder / "dockerd.log").open("ab") as log:
            self.process = subprocess.Popen(command, stdout=log, stderr=log, stdin=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + 60
        while not _engine_answers(self.socket):
            assert self.process.poll() is None, (self.folder / "dockerd.log").read_text()[-3000:]
            assert time.monotonic() < deadline, "the test's own dockerd did not answer within 60 s"
            time.sleep(0.2)

    def stop(self) -> None:
        """As `systemctl stop docker`: dockerd stops its containers, then exits."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=60)

    def docker(self, *args: str) -> str:
        return subprocess.run(["docker", "-H", self.url, *args], capture_output=True, text=True).stdout


@contextlib.contextmanager
def own_engine(image: str) -> Iterator[OwnEngine]:
    """An OwnEngine, running, with `image` copied from the machine's engine (there is no registry to pull from)."""
    if os.geteuid() != 0 or not shutil.which("dockerd"):
        _unavailable("a Docker engine of the test's own needs root and dockerd")
    # In /tmp: its containerd's socket goes under the exec root, and a socket's path is at most 107 bytes.
    engine = OwnEngine(Path(tempfile.mkdtemp(prefix="forja-engine-", dir="/tmp")))
    try:
        engine.start()
        saved = subprocess.Popen(["docker", "save", image], stdout=subprocess.PIPE)
        loaded = subprocess.run(["docker", "-H", engine.url, "load", "--quiet"], stdin=saved.stdout, capture_output=True)
        assert saved.wait(timeout=300) == 0 and loaded.returncode == 0, loaded.stderr
        yield engine
    finally:
        if engine.process is not None and engine.process.poll() is None:
            if containers := engine.docker("ps", "-aq").split():
                engine.docker("rm", "-f", "-v", *containers)
            # A network's bridge outlives the engine that made it (and so would its addresses on this machine).
            for network in set(engine.docker("network", "ls", "--format", "{{.Name}}").split()) - {"bridge", "host", "none"}:
                cleanup_network_rules(network, engine.url)
                engine.docker("network", "rm", network)
        engine.stop()
        shutil.rmtree(engine.folder, ignore_errors=True)


def cleanup_network_rules(network: str, docker_url: str | None = None) -> None:
    """The firewall rules a DockerRunner put on this machine for `network`'s bridge, removed."""

    async def remove_rules() -> None:
        runner = DockerRunner(DockerConfig(network=network, docker_url=docker_url))
        try:
            await runner.remove_firewall()
        finally:
            await runner.close()

    asyncio.run(remove_rules())


def remove_previews(network: str, preview_ids: str = "") -> None:
    """Remove the containers and volumes on `network` whose preview id starts with `preview_ids` (all by default)."""
    on_network, preview_id = f"label=forja.network={network}", ' {{.Label "forja.preview_id"}}'

    def chosen(listing: str) -> list[str]:
        pairs = (line.partition(" ") for line in listing.splitlines())
        return [name for name, _, of in pairs if of.startswith(preview_ids)]

    if containers := chosen(_docker("ps", "-a", "--filter", on_network, "--format", "{{.ID}}" + preview_id)):
        _docker("rm", "-f", "-v", *containers)
    if volumes := chosen(_docker("volume", "ls", "--filter", on_network, "--format", "{{.Name}}" + preview_id)):
        _docker("volume", "rm", "-f", *volumes)


def cleanup_test_network(network: str = TEST_NETWORK) -> None:
    """Remove everything the tests made on `network`: containers, volumes, firewall rules, the network."""
    remove_previews(network)
    cleanup_network_rules(network)
    _docker("network", "rm", network)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def cleanup_stale_test_networks() -> None:
    """Leftovers of interrupted runs: test networks whose pytest process is gone."""
    for name in _docker("network", "ls", "--format", "{{.Name}}").split():
        pid, _, rest = name.removeprefix(TEST_NETWORK_PREFIX).partition("-")
        if name.startswith(TEST_NETWORK_PREFIX) and pid.isdigit() and not _pid_alive(int(pid)):
            if rest:
                _docker("network", "rm", name)  # a control network of that run
            else:
                cleanup_test_network(name)


@pytest.fixture(scope="session")
def docker_test_network(docker_engine: str) -> Iterator[str]:
    cleanup_stale_test_networks()
    cleanup_test_network()
    yield TEST_NETWORK
    cleanup_test_network()


def spec(
    preview_id: str, files: dict[str, bytes], plan: RunPlan | None = None, project_id: str = "proj-1", version: int = 1
) -> PreviewSpec:
    return PreviewSpec(preview_id=preview_id, project_id=project_id, version=version, files=files, plan=plan or plan_for(files))


async def get(url: str) -> httpx.Response:
    async with httpx.AsyncClient(trust_env=False, timeout=5) as client:
        return await client.get(url)


@dataclass
class LogCollector:
    """A LogSink that keeps every line, for assertions."""

    lines: list[tuple[str, str, LogLevel, str]] = field(default_factory=list)

    def __call__(self, preview_id: str, text: str, level: LogLevel | None, source: str) -> None:
        self.lines.append((preview_id, text, level or classify(text), source))

    def texts(self, preview_id: str | None = None, source: str | None = None) -> list[str]:
        return [t for p, t, _, s in self.lines if (preview_id is None or p == preview_id) and (source is None or s == source)]

    def dump(self, preview_id: str | None = None) -> str:
        return "\n".join(f"[{s}/{lv}] {t}" for p, t, lv, s in self.lines if preview_id is None or p == preview_id)

    async def wait_for(self, predicate: Callable[[str], bool], preview_id: str | None = None, within: float = 30) -> str:
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            for text in self.texts(preview_id):
                if predicate(text):
                    return text
            await asyncio.sleep(0.1)
        raise AssertionError(f"no matching log line within {within} s; log:\n{self.dump(preview_id)}")


async def wait_state(
    runner: Runner,
    preview_id: str,
    states: set[PreviewState] | PreviewState,
    within: float = 60,
    log: LogCollector | None = None,
) -> PreviewInfo:
    wanted = {states} if isinstance(states, PreviewState) else states
    deadline = time.monotonic() + within
    info = await runner.status(preview_id)
    while time.monotonic() < deadline:
        info = await runner.status(preview_id)
        if info.state in wanted:
            return info
        await asyncio.sleep(0.1)
    detail = f"\nlog:\n{log.dump(preview_id)}" if log else ""
    raise AssertionError(f"{preview_id} is {info.state} ({info.detail}) after {within} s, wanted {wanted}{detail}")


# Small enough for many previews at once on a test machine, large enough for the starters.
TEST_LIMITS: dict[str, object] = {
    "memory_bytes": 256 * MiB,
    "app_size_bytes": 64 * MiB,
    "tmp_size_bytes": 32 * MiB,
    "home_size_bytes": 32 * MiB,
    "pids_limit": 128,
}


@pytest.fixture
async def docker_runner_factory(preview_image: str, docker_test_network: str) -> AsyncIterator[Callable[..., DockerRunner]]:
    """make(**settings) -> DockerRunner with test-sized limits on the test network."""
    if os.geteuid() != 0:
        _unavailable("the preview firewall (iptables) needs root")
    runners: list[DockerRunner] = []

    def make(**settings: object) -> DockerRunner:
        options: dict[str, object] = {"image": preview_image, "network": docker_test_network, **TEST_LIMITS}
        options.update(settings)
        runner = DockerRunner(DockerConfig(**options))  # type: ignore[arg-type]
        runners.append(runner)
        return runner

    yield make
    for runner in runners:
        for preview_id in list(runner._previews):
            await runner.stop(preview_id)
        await runner.close()


def container_inspect(container_id: str) -> dict:
    return json.loads(_docker("inspect", container_id))[0]


if __name__ == "__main__":
    # scripts/test.sh: the engine and the preview image (debootstrap: minutes) made beside the checks; the first Docker
    # test waits for the build through its lock, and then finds the tag.
    start_engine()
    print(build_preview_image())
