"""Network isolation of sandboxed local previews: real bubblewrap, real sockets, no mocks.

Network rule (shared/environment.md): every packet goes to this machine's loopback or into the previews' own
network namespaces. Names the egress proxy must refuse are never resolved by the system (an injected resolver maps
them to loopback), and nothing connects to an outside address.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from preview_runtime.local import LocalRunner
from preview_runtime.local.egress import EgressPolicy, EgressProxy, address_refusal
from preview_runtime.plan import RunPlan
from preview_runtime.runner import PreviewInfo, PreviewSpec, PreviewState

# Connects to each port given, says what happened, then serves (so the preview counts as running).
PROBE = b"""
import http.server, os, socket, sys
for port in sys.argv[1:]:
    try:
        socket.create_connection(("127.0.0.1", int(port)), timeout=2).close()
        print(f"probe {port}: connected", flush=True)
    except OSError as exc:
        print(f"probe {port}: refused ({exc})", flush=True)
bind = os.environ.get("BIND", "127.0.0.1")
class Server(http.server.ThreadingHTTPServer):
    address_family = socket.AF_INET6 if ":" in bind else socket.AF_INET  # "::" takes IPv4 too (dual stack)
Server((bind, int(os.environ["PORT"])), http.server.SimpleHTTPRequestHandler).serve_forever()
"""
# Answers an HTTP upgrade, then echoes every byte back: what a websocket (Vite's HMR) needs from the bridge.
UPGRADE_ECHO = b"""
import os, socket, threading
def serve(conn):
    head = b""
    while b"\\r\\n\\r\\n" not in head:
        head += conn.recv(4096)
    if b"upgrade: websocket" in head.lower():
        conn.sendall(b"HTTP/1.1 101 Switching Protocols\\r\\nUpgrade: websocket\\r\\nConnection: Upgrade\\r\\n\\r\\n")
        while data := conn.recv(4096):
            conn.sendall(data)
    else:
        conn.sendall(b"HTTP/1.1 200 OK\\r\\nContent-Type: text/html\\r\\nContent-Length: 6\\r\\n\\r\\n<p>ws</p>"[:-3])
    conn.close()
server = socket.create_server(("::", int(os.environ["PORT"])), family=socket.AF_INET6, dualstack_ipv6=True)
while True:
    threading.Thread(target=serve, args=(server.accept()[0],), daemon=True).start()
"""


def _bwrap_or_fail_in_ci() -> None:
    if shutil.which("bwrap") is None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("bubblewrap is required in CI (apt-get install bubblewrap) but is not installed", pytrace=False)
        pytest.skip("Network isolation tests skipped: bubblewrap (bwrap) is not installed")


@contextlib.contextmanager
def tcp_listener() -> Iterator[tuple[int, list[str]]]:
    """A TCP server on 127.0.0.1 recording who connects: stands in for Forja's API or another local service."""
    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(0.2)
    peers: list[str] = []
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                conn, peer = server.accept()
                peers.append(f"{peer[0]}:{peer[1]}")
                conn.close()

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield server.getsockname()[1], peers
    finally:
        stop.set()
        thread.join()
        server.close()


async def _accepted(*peer_lists: list[str], within: float = 5) -> None:
    deadline = time.monotonic() + within
    while any(len(peers) != 1 for peers in peer_lists):
        assert time.monotonic() < deadline, f"connections accepted after {within} s: {peer_lists}"
        await asyncio.sleep(0.02)


@pytest.fixture
async def runner(tmp_path: Path) -> AsyncIterator[LocalRunner]:
    _bwrap_or_fail_in_ci()
    instance = LocalRunner(tmp_path / "work", sandbox=True)
    yield instance
    await instance.close()


def _spec(preview_id: str, files: dict[str, bytes], dev: str) -> PreviewSpec:
    return PreviewSpec(preview_id=preview_id, project_id="p", version=1, files=files, plan=RunPlan(dev=dev, has_server=True))


async def _running(runner: LocalRunner, preview_id: str, within: float = 20) -> PreviewInfo:
    deadline = time.monotonic() + within
    while (info := await runner.status(preview_id)).state != PreviewState.running:
        assert info.state != PreviewState.failed, info.detail
        assert time.monotonic() < deadline, f"{preview_id} is {info.state.value} after {within} s"
        await asyncio.sleep(0.1)
    return info


def _log() -> tuple[list[str], object]:
    lines: list[str] = []
    return lines, lambda _id, text, _level, _source: lines.append(text)


async def test_preview_code_cannot_reach_forjas_api_or_other_loopback_services(runner: LocalRunner, tmp_path: Path) -> None:
    with tcp_listener() as (api_port, api_peers), tcp_listener() as (service_port, service_peers):
        # Positive control: the same probe run on the host, as with the old --share-net, connects to both.
        (tmp_path / "probe.py").write_bytes(PROBE.split(b"bind = ")[0])
        argv = [sys.executable, str(tmp_path / "probe.py"), str(api_port), str(service_port)]
        direct = await asyncio.to_thread(subprocess.run, argv, capture_output=True, text=True)
        assert f"probe {api_port}: connected" in direct.stdout and f"probe {service_port}: connected" in direct.stdout
        # The kernel completes a connection before the listener's thread accepts it, so its peer is awaited.
        await _accepted(api_peers, service_peers)
        api_peers.clear()
        service_peers.clear()

        lines, sink = _log()
        await runner.start(_spec("probe1", {"probe.py": PROBE}, f"python probe.py {api_port} {service_port}"), sink)  # pyright: ignore[reportArgumentType]
        await _running(runner, "probe1")
        assert any(f"probe {api_port}: refused" in line for line in lines), lines
        assert any(f"probe {service_port}: refused" in line for line in lines), lines
        assert api_peers == [] and service_peers == []


async def test_another_previews_port_is_unreachable_from_a_preview(runner: LocalRunner) -> None:
    _, sink = _log()
    await runner.start(_spec("victim1", {"probe.py": PROBE}, "python probe.py"), sink)  # pyright: ignore[reportArgumentType]
    victim = await _running(runner, "victim1")
    victim_host_port = int(victim.upstream.rsplit(":", 1)[1])
    async with httpx.AsyncClient(trust_env=False) as client:
        assert (await client.get(victim.upstream + "/")).status_code == 200  # it serves, through its bridge

    lines, sink = _log()
    # Its bridge on the host, and the PORT it was given inside its own namespace (same number, other namespace).
    victim_inner = runner._runs["victim1"].port  # pyright: ignore[reportPrivateUsage]
    await runner.start(_spec("attacker1", {"probe.py": PROBE}, f"python probe.py {victim_host_port} {victim_inner}"), sink)  # pyright: ignore[reportArgumentType]
    await _running(runner, "attacker1")
    assert any(f"probe {victim_host_port}: refused" in line for line in lines), lines
    assert any(f"probe {victim_inner}: refused" in line for line in lines), lines


@pytest.mark.parametrize("bind", ["0.0.0.0", "::"])
async def test_a_server_listening_everywhere_is_reached_only_through_the_bridge(runner: LocalRunner, bind: str) -> None:
    _, sink = _log()
    await runner.start(_spec("wide1", {"probe.py": PROBE}, f"BIND={bind} python probe.py"), sink)  # pyright: ignore[reportArgumentType]
    info = await _running(runner, "wide1")
    inner = runner._runs["wide1"].port  # pyright: ignore[reportPrivateUsage]
    async with httpx.AsyncClient(trust_env=False, timeout=2) as client:
        assert (await client.get(info.upstream + "/")).status_code == 200
        for host in ("127.0.0.1", "[::1]"):
            with pytest.raises(httpx.ConnectError):
                await client.get(f"http://{host}:{inner}/")


async def test_a_websocket_upgrade_passes_through_the_bridge(runner: LocalRunner) -> None:
    _, sink = _log()
    await runner.start(_spec("ws1", {"ws.py": UPGRADE_ECHO}, "python ws.py"), sink)  # pyright: ignore[reportArgumentType]
    info = await _running(runner, "ws1")
    host, port = info.upstream.removeprefix("http://").rsplit(":", 1)
    reader, writer = await asyncio.open_connection(host, int(port))
    key = base64.b64encode(os.urandom(16)).decode()
    writer.write(
        f"GET /hmr HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
        "Sec-WebSocket-Version: 13\r\n\r\n".encode()
    )
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
    assert head.startswith(b"HTTP/1.1 101")
    for message in (b"\x81\x05hello", b"\x81\x03hmr"):  # frames both ways, on the same upgraded connection
        writer.write(message)
        assert await asyncio.wait_for(reader.readexactly(len(message)), 5) == message
    writer.close()


async def test_installs_reach_the_egress_proxy_and_it_refuses_local_targets(runner: LocalRunner) -> None:
    with tcp_listener() as (api_port, api_peers):
        lines, sink = _log()
        # curl through HTTPS_PROXY, as npm and pip do (--noproxy '': even for 127.0.0.1, which NO_PROXY exempts):
        # CONNECT to Forja's port on the host's loopback.
        dev = f"curl -sS --noproxy '' -o /dev/null https://127.0.0.1:{api_port}/ ; python probe.py"
        await runner.start(_spec("egress1", {"probe.py": PROBE}, dev), sink)  # pyright: ignore[reportArgumentType]
        await _running(runner, "egress1")
        assert any("Blocked a connection to 127.0.0.1" in line for line in lines), lines
        assert any("403" in line for line in lines), lines
        assert api_peers == []


async def _connect(proxy: EgressProxy, target: str) -> bytes:
    """One CONNECT through the proxy, served on a unix socket as a sandbox reaches it; the answer's head."""
    path = Path(os.environ.get("TMPDIR", "/tmp")) / f"egress-test-{os.getpid()}-{time.monotonic_ns()}.sock"
    server = await asyncio.start_unix_server(proxy.handle, path=str(path))
    try:
        reader, writer = await asyncio.open_unix_connection(str(path))
        writer.write(f"CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n\r\n".encode())
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
        writer.close()
        return head
    finally:
        server.close()
        path.unlink(missing_ok=True)


async def test_the_egress_proxy_refuses_loopback_unlisted_names_and_names_resolving_to_loopback() -> None:
    with tcp_listener() as (port, peers):
        # Every name "resolves" to this machine: the test never asks a real resolver about anything.
        async def to_loopback(host: str, _port: int) -> list[str]:
            return ["127.0.0.1"]

        said: list[str] = []
        policy = EgressPolicy(hosts=["registry.npmjs.org", "127.0.0.1"], resolve=to_loopback)
        proxy = EgressProxy(policy, said.append)
        assert (await _connect(proxy, f"127.0.0.1:{port}")).startswith(b"HTTP/1.1 403")  # a port not 443/80
        assert (await _connect(proxy, "127.0.0.1:443")).startswith(b"HTTP/1.1 403")  # listed, but loopback
        assert (await _connect(proxy, "example.invalid:443")).startswith(b"HTTP/1.1 403")  # not listed
        assert (await _connect(proxy, "registry.npmjs.org:443")).startswith(b"HTTP/1.1 403")  # listed, maps to loopback
        assert (await _connect(proxy, "registry.npmjs.org:443")).startswith(b"HTTP/1.1 403")
        assert peers == []
        assert sum("registry.npmjs.org" in line for line in said) == 1, said  # told once per host
        assert all("previews may reach only the package registries" in line for line in said)

        # Positive control: with that port of loopback configured as a mirror the same proxy connects (so the
        # refusals above are its rules, not a broken proxy).
        open_policy = EgressPolicy(hosts=["127.0.0.1"], resolve=to_loopback, mirrors=[("127.0.0.1", port)])
        assert (await _connect(EgressProxy(open_policy, said.append), f"127.0.0.1:{port}")).startswith(b"HTTP/1.1 200")
        await _accepted(peers)


def test_the_allow_decision() -> None:
    policy = EgressPolicy(hosts=["registry.npmjs.org", "Pypi.org."])
    assert policy.name_refusal("registry.npmjs.org", 443) is None
    assert policy.name_refusal("PYPI.ORG", 80) is None
    assert policy.name_refusal("registry.npmjs.org", 22) is not None
    assert policy.name_refusal("evil.example", 443) is not None
    assert policy.name_refusal("127.0.0.1", 443) is not None
    for address in ("127.0.0.1", "::1", "10.1.2.3", "172.16.0.1", "192.168.1.1", "169.254.169.254", "100.64.0.1",
                    "0.0.0.0", "::", "224.0.0.1", "fe80::1", "fc00::1", "::ffff:127.0.0.1", "::ffff:10.0.0.1",
                    "::127.0.0.1", "2002:a9fe:a9fe::1"):  # fmt: skip
        assert address_refusal(address) is not None, address
    # IPv4-compatible and 6to4 forms are judged by the IPv4 address they carry (Python calls ::127.0.0.1 global).
    for address in ("104.16.0.35", "151.101.0.223", "2606:4700::6810:1b22", "2002:6810:23::1"):
        assert address_refusal(address) is None, address
