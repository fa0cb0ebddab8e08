"""The host side of a sandboxed local preview's network: its own namespace, a bridge in, a proxy out.

bubblewrap gives the sandbox a network namespace holding only `lo`: its processes cannot reach Forja's API, other
previews or any service of this machine, and whatever they listen on (0.0.0.0, ::, a fixed port) is inside that
namespace only. Two unix sockets in a per-preview folder (bound at /run/forja inside) cross that wall:

- in: a TCP listener on the host's 127.0.0.1 (the preview's upstream, for the proxy) passes each connection to
  inside_bridge.py's in.sock with a one-line header naming the dev server's port inside (the port `supervise`
  found); websockets pass too, they are bytes like any other.
- out: egress.sock is served by Forja's EgressProxy (egress.py); inside_bridge.py offers it on
  127.0.0.1:EGRESS_PORT in the namespace, and HTTPS_PROXY & co. point there.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shlex
import shutil
import socket
import ssl
import stat
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path

import httpx

from preview_runtime.local.egress import EgressPolicy, EgressProxy, splice
from preview_runtime.stream_transport import StreamTransport

EGRESS_PORT = 47801  # the proxy's port inside each namespace (its own: nothing else there to collide with)
INSIDE_DIR = "/run/forja"
INSIDE_BRIDGE = "/run/forja-bridge.py"
_BRIDGE_SOURCE = Path(__file__).with_name("inside_bridge.py")
CA_FILE = "registry-ca.pem"  # in the sandbox's folder of sockets, at INSIDE_DIR there
BUNDLE_FILE = "ca-bundle.pem"
NPM_CA_FILE = "npm-ca.pem"
_BUNDLE_VARS = ("SSL_CERT_FILE", "PIP_CERT", "REQUESTS_CA_BUNDLE")
_NPM_CAFILE = ("npm_config_cafile", "NPM_CONFIG_CAFILE")
Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


def proxy_env(url: str = f"http://127.0.0.1:{EGRESS_PORT}") -> dict[str, str]:
    """Variables that send a preview's installs through the egress proxy at `url` (and nothing local through it).

    Node's own fetch and http modules ignore HTTPS_PROXY unless NODE_USE_ENV_PROXY is set (Node 24): corepack, which
    fetches with them, could otherwise download no pnpm or yarn missing from its cache (tests/integration/test_yarn_mirror.py).
    """
    names = ("HTTPS_PROXY", "HTTP_PROXY", "https_proxy", "http_proxy", "npm_config_https_proxy", "npm_config_proxy")
    # 0.0.0.0 too: a server-side render that fetches its own API at http://0.0.0.0:PORT would, with Node's fetch now
    # reading the proxy variables, be sent to the egress proxy and refused.
    nearby = "localhost,127.0.0.1,::1,0.0.0.0"
    local = {"NO_PROXY": nearby, "no_proxy": nearby}
    return {name: url for name in names} | local | {"NODE_USE_ENV_PROXY": "1"}


def _read(path: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError:
        return b""


async def open_network(policy: EgressPolicy, env: dict[str, str], say: Callable[[str], None]) -> SandboxNetwork:
    """A sandbox's network, its egress proxy serving, and `env` sending installs through it."""
    network = SandboxNetwork(policy, say)
    try:
        await network.open()
    except BaseException:
        await network.close()
        raise
    env |= proxy_env()
    if policy.reading is not None:
        env |= await asyncio.to_thread(network.trust, policy.reading.authority.pem(), env)
    return network


class SandboxNetwork:
    """One preview's (or one preparation's) folder of sockets, egress proxy and, once exposed, inbound listener."""

    def __init__(self, policy: EgressPolicy, say: Callable[[str], None]) -> None:
        # A short path of its own: a unix socket's path must fit in 108 bytes, and the work folder may be deep.
        self.directory = Path(tempfile.mkdtemp(prefix="forja-net-"))
        self._proxy = EgressProxy(policy, say)
        self._egress: asyncio.Server | None = None
        self._inbound: asyncio.Server | None = None
        self._target: Callable[[], int] = lambda: 0
        self.host_port = 0
        self.last_inbound: float | None = None  # time.monotonic() of the last connection in (a visit)
        # Connections being served: closing a server does not end them (Python 3.11 has no close_clients), and a
        # task left pending when the loop ends is destroyed mid-splice.
        self._serving: set[asyncio.Task[None]] = set()

    async def open(self) -> None:
        """Serve the egress proxy (before the sandbox starts: its installs use it at once)."""
        self._egress = await asyncio.start_unix_server(
            self._tracked(self._proxy.handle), path=str(self.directory / "egress.sock")
        )

    async def expose(self, target: Callable[[], int]) -> int:
        """Listen on a free port of the host's 127.0.0.1 for the preview's dev server on port `target()` inside."""
        self._target = target
        self._inbound = await asyncio.start_server(self._tracked(self._pass_in), "127.0.0.1", 0)
        self.host_port = int(self._inbound.sockets[0].getsockname()[1])
        return self.host_port

    def trust(self, authority: bytes, env: Mapping[str, str]) -> dict[str, str]:
        """Variables making the sandbox's installs trust the egress proxy's registry certificates (registry_certs.py)
        besides what they trust already: Node adds NODE_EXTRA_CA_CERTS to its own authorities; pip, requests and
        OpenSSL read one bundle, the machine's authorities with it. The operator's extra authority (a corporate
        proxy's) stays in both."""
        extra = b"".join(_read(env.get(name, "")) for name in ("NODE_EXTRA_CA_CERTS", "PIP_CERT") if env.get(name))
        paths = ssl.get_default_verify_paths()
        system = _read(env.get("SSL_CERT_FILE", "") or paths.cafile or paths.openssl_cafile)
        (self.directory / CA_FILE).write_bytes(b"\n".join([authority, extra]))
        (self.directory / BUNDLE_FILE).write_bytes(b"\n".join([system, extra, authority]))
        bundle = f"{INSIDE_DIR}/{BUNDLE_FILE}"
        trusted = {"NODE_EXTRA_CA_CERTS": f"{INSIDE_DIR}/{CA_FILE}"} | dict.fromkeys(_BUNDLE_VARS, bundle)
        # npm's cafile replaces Node's authorities instead of adding to them: the operator's, with Forja's.
        if cafile := next((env[name] for name in _NPM_CAFILE if env.get(name)), ""):
            (self.directory / NPM_CA_FILE).write_bytes(b"\n".join([_read(cafile), authority]))
            trusted |= dict.fromkeys(_NPM_CAFILE, f"{INSIDE_DIR}/{NPM_CA_FILE}")
        return trusted

    def bwrap_args(self) -> list[str]:
        return ["--bind", str(self.directory), INSIDE_DIR, "--ro-bind", str(_BRIDGE_SOURCE), INSIDE_BRIDGE]

    def wrap(self, script: str, inbound: bool) -> str:
        """`script` after starting the inside bridge (which returns once it listens); without it, nothing runs."""
        bridge = [sys.executable, "-I", "-S", INSIDE_BRIDGE, INSIDE_DIR, str(EGRESS_PORT), *(["--inbound"] if inbound else [])]
        return f"{shlex.join(bridge)} || exit 125\n{script}"

    async def connect_inside(self, port: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        """A connection to `port` inside the namespace, through the bridge's in.sock.

        The sandbox can write that folder, so in.sock might be a symlink to some socket of this machine: it is
        opened without following links, checked to be a socket, and connected to through that open file.
        """
        fd = os.open(self.directory / "in.sock", os.O_PATH | os.O_NOFOLLOW)
        try:
            if not stat.S_ISSOCK(os.fstat(fd).st_mode):
                raise ConnectionRefusedError("the preview's bridge socket is not a socket")
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.setblocking(False)
            try:
                await asyncio.get_running_loop().sock_connect(sock, f"/proc/self/fd/{fd}")
            except BaseException:
                sock.close()
                raise
        finally:
            os.close(fd)
        reader, writer = await asyncio.open_unix_connection(sock=sock)
        writer.write(f"{port}\n".encode())
        return reader, writer

    def _tracked(self, handler: Handler) -> Handler:
        """The connection handler, its task kept until it ends so that close() can end it."""

        async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            task = asyncio.current_task()
            assert task is not None
            self._serving.add(task)
            task.add_done_callback(self._serving.discard)
            try:
                await handler(reader, writer)
            except asyncio.CancelledError:
                # close() ended it. Ending quietly is all close() asks, and Python 3.11's start_server logs a
                # traceback for a handler's task that ends cancelled (it asks the task for its exception).
                writer.close()

        return serve

    async def _pass_in(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.last_inbound = time.monotonic()
        try:
            inside = await self.connect_inside(self._target())
        except OSError:
            writer.close()  # the bridge is not up yet, or the preview ended: the proxy answers 502
            return
        await splice((reader, writer), inside)

    def transport(self) -> httpx.AsyncBaseTransport:
        """An httpx transport reaching ports inside the namespace: http://127.0.0.1:PORT/ means PORT in there."""
        return StreamTransport(lambda _host, port: self.connect_inside(port))

    async def close(self) -> None:
        servers = [server for server in (self._inbound, self._egress) if server is not None]
        for server in servers:
            server.close()
        for task in list(self._serving):
            task.cancel()
        await asyncio.gather(*self._serving, return_exceptions=True)
        for server in servers:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(server.wait_closed(), timeout=1)
        await asyncio.to_thread(shutil.rmtree, self.directory, True)
