"""Containment: hostile programs in real preview containers, while Forja and other previews keep serving.

Each test starts a "victim" preview (a small HTTP server that records who connected to it) and
an attacking preview running a real program. A stand-in for Forja serves on 127.0.0.1. After
the attack the victim and Forja must still answer, quickly.

Network rule (shared/environment.md): test packets go only to loopback, to the containers and
bridges these tests create, and to addresses the tests put on `lo`. The metadata address
169.254.169.254 is made local (added to lo) before anything probes it; if that is impossible the
test fails instead of probing the real one. Positive controls run in a container on a plain
test-made bridge without Forja's rules, to show each probe would have worked there.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import http.server
import json
import os
import socket
import socketserver
import subprocess
import threading
import time
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from preview_runtime.docker.runner import DockerRunner
from preview_runtime.plan import RunPlan
from preview_runtime.runner import PreviewInfo, PreviewSpec, PreviewState

pytest.register_assert_rewrite("tests.docker_fixtures")  # it is a plugin too (pytest_plugins below)
from tests.docker_fixtures import TEST_NETWORK, LogCollector, wait_state  # noqa: E402

# The Docker fixtures (docker_engine, preview_image, docker_runner_factory...) live in tests/docker_fixtures.py.
pytest_plugins = ["tests.docker_fixtures"]

METADATA_IP = "169.254.169.254"
CONTROL_NETWORK = f"{TEST_NETWORK}-control"
METADATA_LOCK = "/var/lock/forja-test-metadata.lock"  # parallel runs take turns with the address on lo
# A program that asks the metadata address and prints what came back, or that it was blocked.
METADATA_FETCH = (
    "import urllib.request\n"
    "try:\n"
    f"    print('metadata:', urllib.request.urlopen('http://{METADATA_IP}/latest/meta-data/', timeout=3).read().decode(), flush=True)\n"
    "except Exception as exc:\n"
    "    print('metadata: blocked', exc, flush=True)\n"
)

VICTIM = b"""import http.server, json, os, threading
peers = {}
lock = threading.Lock()

class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        with lock:
            body = json.dumps({"victim": "ok", "peers": peers}).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass

class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def verify_request(self, request, client_address):
        with lock:  # every accepted connection, by peer address
            peers[client_address[0]] = peers.get(client_address[0], 0) + 1
        return True

print("victim listening", flush=True)
Server(("0.0.0.0", int(os.environ["PORT"])), Handler).serve_forever()
"""


def attacker_plan(program: str = "attack.py", args: str = "") -> RunPlan:
    return RunPlan(dev=f"python {program} {args}".strip(), port=8080, has_server=False)


def spec(preview_id: str, files: dict[str, bytes], plan: RunPlan) -> PreviewSpec:
    return PreviewSpec(preview_id=preview_id, project_id=f"proj-{preview_id}", version=1, files=files, plan=plan)


def ip_of(info: PreviewInfo) -> str:
    return info.upstream.removeprefix("http://").rsplit(":", 1)[0]


class _Quiet(http.server.BaseHTTPRequestHandler):
    body = b"forja ok"

    def do_GET(self) -> None:
        self.server.peers.append(self.client_address[0])  # type: ignore[attr-defined]
        self.send_response(200)
        self.send_header("content-length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@contextlib.contextmanager
def http_listener(host: str, port: int = 0, body: bytes = b"forja ok") -> Iterator[tuple[str, list[str]]]:
    """A threaded HTTP server on host:port; yields (url, peers that sent a request)."""
    handler = type("Handler", (_Quiet,), {"body": body})
    server = http.server.ThreadingHTTPServer((host, port), handler)
    server.peers = []  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://{host}:{server.server_address[1]}", server.peers  # type: ignore[attr-defined]
    finally:
        server.shutdown()
        server.server_close()


@contextlib.contextmanager
def tcp_listener(host: str) -> Iterator[tuple[int, list[str]]]:
    """A PostgreSQL-like TCP listener: accepts, records the peer, says nothing useful."""
    peers: list[str] = []

    class Handler(socketserver.BaseRequestHandler):
        def handle(self) -> None:
            peers.append(self.client_address[0])
            with contextlib.suppress(OSError):
                self.request.sendall(b"N")  # what PostgreSQL answers to an SSL request it refuses

    server = socketserver.ThreadingTCPServer((host, 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1], peers
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def forja_host() -> Iterator[str]:
    """Stands in for Forja itself: an HTTP server on 127.0.0.1."""
    with http_listener("127.0.0.1") as (url, _):
        yield url


async def assert_still_serving(forja_url: str, victim: PreviewInfo) -> None:
    async with httpx.AsyncClient(trust_env=False, timeout=5) as client:
        for url in (forja_url, victim.upstream + "/"):
            started = time.monotonic()
            response = await client.get(url)
            assert response.status_code == 200, url
            assert time.monotonic() - started < 1.0, f"{url} answered slowly"


async def victim_peers(victim: PreviewInfo) -> dict[str, int]:
    async with httpx.AsyncClient(trust_env=False, timeout=5) as client:
        return (await client.get(victim.upstream + "/")).json()["peers"]


async def start_victim(runner: DockerRunner, log: LogCollector, preview_id: str = "victim") -> PreviewInfo:
    await runner.start(spec(preview_id, {"victim.py": VICTIM}, RunPlan(dev="python victim.py", port=8080, has_server=True)), log)
    return await wait_state(runner, preview_id, PreviewState.running, 30, log)


def run(*argv: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, capture_output=True, text=True, check=check, timeout=60)


@pytest.fixture
def control_network(docker_engine: str) -> Iterator[str]:
    """A plain bridge without Forja's rules, for positive controls; returns its gateway IP."""
    run("docker", "network", "rm", CONTROL_NETWORK, check=False)
    run("docker", "network", "create", "--label", f"forja.network={TEST_NETWORK}", CONTROL_NETWORK)
    try:
        info = json.loads(run("docker", "network", "inspect", CONTROL_NETWORK).stdout)[0]
        yield info["IPAM"]["Config"][0]["Gateway"]
    finally:
        run("docker", "network", "rm", CONTROL_NETWORK, check=False)


def control_probe(image: str, code: str) -> str:
    """Run Python code in a container on the control network (no Forja rules); its output."""
    result = run(
        "docker", "run", "--rm", "--network", CONTROL_NETWORK, "--user", "10001:10001", "--label", f"forja.network={TEST_NETWORK}",
        image, "python", "-c", code,
        check=False,
    )  # fmt: skip
    return result.stdout + result.stderr


PROBE_TCP = """
import socket, sys
host, port = sys.argv[1], int(sys.argv[2])
try:
    socket.create_connection((host, port), timeout=2).close()
    print(f"probe {host}:{port}: CONNECTED", flush=True)
except OSError as exc:
    print(f"probe {host}:{port}: blocked ({exc})", flush=True)
"""


def probe_code(host: str, port: int) -> str:
    return PROBE_TCP.replace("sys.argv[1], int(sys.argv[2])", f"{host!r}, {port}")


# -- resources --------------------------------------------------------------------------------


async def test_fork_bomb_hits_the_pids_limit(docker_runner_factory, forja_host) -> None:
    runner: DockerRunner = docker_runner_factory(pids_limit=64)
    log = LogCollector()
    victim = await start_victim(runner, log)
    bomb = b"""import os, sys, time
n = 0
try:
    while True:
        if os.fork() == 0:
            time.sleep(600)
            os._exit(0)
        n += 1
except OSError as exc:
    print(f"fork bomb stopped after {n} processes: {exc}", flush=True)
    sys.exit(1)
"""
    await runner.start(spec("bomb", {"attack.py": bomb}, attacker_plan()), log)
    info = await wait_state(runner, "bomb", PreviewState.failed, 60, log)
    line = await log.wait_for(lambda t: t.startswith("fork bomb stopped after"), "bomb")
    assert "Resource temporarily unavailable" in line
    assert int(line.split()[4]) < 64
    assert info.detail.startswith("The preview stopped: exit code 1 (the command failed). Last lines:\n")
    assert info.detail.endswith(line)
    assert "The preview stopped: exit code 1 (the command failed)." in log.texts("bomb", source="forja")
    await assert_still_serving(forja_host, victim)


async def test_allocating_4_gb_is_killed_for_memory(docker_runner_factory, forja_host) -> None:
    runner: DockerRunner = docker_runner_factory()  # 256 MiB
    log = LogCollector()
    victim = await start_victim(runner, log)
    hog = b"""chunks = []
for i in range(64):  # 64 x 64 MiB = 4 GiB, each page written
    chunks.append(bytearray(b"x") * (64 << 20))
    print(f"allocated {(i + 1) * 64} MiB", flush=True)
print("allocated 4 GiB", flush=True)
"""
    await runner.start(spec("hog", {"attack.py": hog}, attacker_plan()), log)
    info = await wait_state(runner, "hog", PreviewState.failed, 60, log)
    expected = "The preview stopped: exit code 137 (out of memory: it needed more than the 256 MiB a preview may use, FORJA_PREVIEW_MEMORY_MB)."
    assert info.detail.startswith(expected + " Last lines:\n")
    assert expected in log.texts("hog", source="forja")
    assert "allocated 4 GiB" not in log.texts("hog")
    await assert_still_serving(forja_host, victim)


async def test_filling_the_disk_fails_with_enospc(docker_runner_factory, forja_host) -> None:
    runner: DockerRunner = docker_runner_factory()  # /app 64 MiB, /tmp 32 MiB, /home/preview 32 MiB
    log = LogCollector()
    victim = await start_victim(runner, log)
    filler = b"""import sys
for path in ("/app/fill.bin", "/tmp/fill.bin", "/home/preview/fill.bin"):
    written = 0
    try:
        with open(path, "wb") as f:
            while True:
                f.write(b"\\0" * (1 << 20))
                f.flush()
                written += 1
    except OSError as exc:
        print(f"{path}: write failed after {written} MiB: {exc}", flush=True)
try:
    open("/etc/fill.bin", "wb")
except OSError as exc:
    print(f"/etc: {exc}", flush=True)
sys.exit(1)
"""
    await runner.start(spec("filler", {"attack.py": filler}, attacker_plan()), log)
    await wait_state(runner, "filler", PreviewState.failed, 60, log)
    lines = {t.split(":")[0]: t for t in log.texts("filler", source="dev-server")}
    for path, cap in (("/app/fill.bin", 64), ("/tmp/fill.bin", 32), ("/home/preview/fill.bin", 32)):
        assert "[Errno 28] No space left on device" in lines[path], lines
        assert int(lines[path].split("after ")[1].split()[0]) <= cap
    assert "[Errno 30] Read-only file system" in lines["/etc"]
    assert "The preview stopped: exit code 1 (the command failed)." in log.texts("filler", source="forja")
    await assert_still_serving(forja_host, victim)


async def test_spinning_cpu_is_capped(docker_runner_factory, forja_host) -> None:
    victims: DockerRunner = docker_runner_factory()
    spinners: DockerRunner = docker_runner_factory(nano_cpus=500_000_000)  # half a CPU
    log = LogCollector()
    victim = await start_victim(victims, log)
    spin = b"""import multiprocessing

def spin():
    while True:
        pass

if __name__ == "__main__":
    for _ in range(4):
        multiprocessing.Process(target=spin).start()
    print("spinning on 4 processes", flush=True)
"""
    await spinners.start(spec("spinner", {"attack.py": spin}, attacker_plan()), log)
    await log.wait_for(lambda t: t == "spinning on 4 processes", "spinner")
    before, t0 = (await spinners.stats("spinner"))["cpu_ns"], time.monotonic()
    slowest = 0.0
    async with httpx.AsyncClient(trust_env=False, timeout=5) as client:
        while time.monotonic() - t0 < 3:
            started = time.monotonic()
            assert (await client.get(victim.upstream + "/")).status_code == 200
            assert (await client.get(forja_host)).status_code == 200
            slowest = max(slowest, time.monotonic() - started)
            await asyncio.sleep(0.1)
    used = ((await spinners.stats("spinner"))["cpu_ns"] - before) / 1e9 / (time.monotonic() - t0)
    print(f"\n[cpu] spinner used {used:.2f} CPU (cap 0.5); slowest victim+forja round trip {slowest * 1000:.0f} ms")
    assert 0.05 < used < 0.65  # it did spin, and never past its half CPU (more than 2 CPUs were asked for)
    assert slowest < 1.0
    assert (await spinners.status("spinner")).state == PreviewState.installing  # still spinning, never ready


# -- network ----------------------------------------------------------------------------------


async def test_10000_connections_to_another_preview_are_blocked(docker_runner_factory, forja_host) -> None:
    runner: DockerRunner = docker_runner_factory()
    log = LogCollector()
    victim = await start_victim(runner, log)
    flood = b"""import asyncio, sys
host, port = sys.argv[1], int(sys.argv[2])

async def one():
    try:
        _, writer = await asyncio.wait_for(asyncio.open_connection(host, port), 3)
    except (OSError, asyncio.TimeoutError):
        return False
    writer.close()
    return True

async def main():
    results = await asyncio.gather(*(one() for _ in range(10000)))
    print(f"flood: {sum(results)} of {len(results)} connections to {host}:{port} succeeded", flush=True)

asyncio.run(main())
"""
    await runner.start(spec("flood", {"attack.py": flood}, attacker_plan(args=f"{ip_of(victim)} 8080")), log)
    attacker = await runner.status("flood")
    await assert_still_serving(forja_host, victim)  # during the flood too
    await wait_state(runner, "flood", PreviewState.stopped, 60, log)
    assert f"flood: 0 of 10000 connections to {ip_of(victim)}:8080 succeeded" in log.texts("flood")
    assert ip_of(attacker) not in await victim_peers(victim)
    await assert_still_serving(forja_host, victim)


async def test_another_previews_port_is_blocked(docker_runner_factory, forja_host, control_network) -> None:
    runner: DockerRunner = docker_runner_factory()
    log = LogCollector()
    victim = await start_victim(runner, log)
    await runner.start(spec("peek", {"attack.py": probe_code(ip_of(victim), 8080).encode()}, attacker_plan()), log)
    attacker = await runner.status("peek")
    await wait_state(runner, "peek", PreviewState.stopped, 30, log)
    line = await log.wait_for(lambda t: t.startswith("probe "), "peek")
    assert line.startswith(f"probe {ip_of(victim)}:8080: blocked"), line
    assert ip_of(attacker) not in await victim_peers(victim)
    await assert_still_serving(forja_host, victim)


@contextlib.asynccontextmanager
async def machine_lock(path: str) -> AsyncIterator[None]:
    fd = os.open(path, os.O_CREAT | os.O_WRONLY, 0o644)
    try:
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                await asyncio.sleep(0.2)
        yield
    finally:
        os.close(fd)  # releases the lock


@contextlib.asynccontextmanager
async def metadata_made_local() -> AsyncIterator[None]:
    """169.254.169.254 on `lo`, for one test at a time on this machine: the probes then reach a listener of the
    test's, never the real metadata service. An address already there (another run's, the machine's own) is used and
    left; one added here is removed. If it cannot be made local, the test fails rather than probe the real one."""
    async with machine_lock(METADATA_LOCK):
        added = run("ip", "addr", "add", f"{METADATA_IP}/32", "dev", "lo", check=False)
        if added.returncode != 0 and f"{METADATA_IP}/32" not in run("ip", "addr", "show", "dev", "lo").stdout:
            pytest.fail(f"cannot make {METADATA_IP} local ({added.stderr.strip()}); refusing to probe the real metadata address")
        try:
            route = run("ip", "route", "get", METADATA_IP).stdout
            if not route.startswith("local"):
                pytest.fail(f"{METADATA_IP} is not local after adding it to lo ({route!r}); refusing to probe it")
            yield
        finally:
            if added.returncode == 0:
                run("ip", "addr", "del", f"{METADATA_IP}/32", "dev", "lo", check=False)


async def test_metadata_address_is_unreachable(docker_runner_factory, forja_host, control_network, preview_image) -> None:
    async with metadata_made_local():
        with http_listener(METADATA_IP, 80, b"ami-id: fake") as (url, peers):
            async with httpx.AsyncClient(trust_env=False, timeout=3) as client:
                assert (await client.get(url + "/latest/meta-data/")).text == "ami-id: fake"  # the listener works
            assert "metadata: ami-id: fake" in control_probe(preview_image, METADATA_FETCH)  # reachable without Forja's rules

            runner: DockerRunner = docker_runner_factory()
            log = LogCollector()
            victim = await start_victim(runner, log)
            await runner.start(spec("meta", {"attack.py": METADATA_FETCH.encode()}, attacker_plan()), log)
            attacker = await runner.status("meta")
            await wait_state(runner, "meta", PreviewState.stopped, 30, log)
            line = await log.wait_for(lambda t: t.startswith("metadata:"), "meta")
            assert line.startswith("metadata: blocked"), line
            assert ip_of(attacker) not in peers
            await assert_still_serving(forja_host, victim)


async def test_forja_database_on_the_host_is_unreachable(
    docker_runner_factory, forja_host, control_network, preview_image
) -> None:
    runner: DockerRunner = docker_runner_factory()
    log = LogCollector()
    victim = await start_victim(runner, log)  # also makes the preview network (and so its gateway) exist
    gateway = runner.gateway
    assert gateway
    with tcp_listener("0.0.0.0") as (port, peers):
        with socket.create_connection((gateway, port), timeout=3):  # the host reaches it
            pass
        assert "CONNECTED" in control_probe(preview_image, probe_code(control_network, port))  # so would a plain container
        forja_port = int(forja_host.rsplit(":", 1)[1])
        code = probe_code(gateway, port) + probe_code(gateway, forja_port)
        await runner.start(spec("dbprobe", {"attack.py": code.encode()}, attacker_plan()), log)
        attacker = await runner.status("dbprobe")
        await wait_state(runner, "dbprobe", PreviewState.stopped, 30, log)
        lines = [t for t in log.texts("dbprobe") if t.startswith("probe ")]
        assert len(lines) == 2, log.dump("dbprobe")
        assert lines[0].startswith(f"probe {gateway}:{port}: blocked"), lines
        assert lines[1].startswith(f"probe {gateway}:{forja_port}: blocked"), lines
        assert ip_of(attacker) not in peers
    await assert_still_serving(forja_host, victim)


async def test_docker_socket_is_not_in_the_container(docker_runner_factory, forja_host) -> None:
    runner: DockerRunner = docker_runner_factory()
    log = LogCollector()
    victim = await start_victim(runner, log)
    look = b"""import os, stat
found = []
for root, dirs, files in os.walk("/"):
    if root == "/":
        dirs[:] = [d for d in dirs if d not in ("proc", "sys", "dev")]
    for name in files:
        path = os.path.join(root, name)
        try:
            if stat.S_ISSOCK(os.lstat(path).st_mode) or name == "docker.sock":
                found.append(path)
        except OSError:
            pass
print("unix sockets in the container:", sorted(found), "DOCKER_HOST=" + os.environ.get("DOCKER_HOST", ""), flush=True)
"""
    await runner.start(spec("sock", {"attack.py": look}, attacker_plan()), log)
    info = await wait_state(runner, "sock", PreviewState.stopped, 60, log)
    assert "unix sockets in the container: [] DOCKER_HOST=" in log.texts("sock"), log.dump("sock")
    inspect = json.loads(run("docker", "inspect", info.handle).stdout)[0]
    assert not inspect["HostConfig"].get("Binds")
    assert not any((m.get("Source") or "").endswith(".sock") for m in inspect["Mounts"])
    await assert_still_serving(forja_host, victim)
