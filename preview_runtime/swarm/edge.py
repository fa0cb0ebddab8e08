"""The edge: Forja's one way into the previews' overlay networks (DESIGN.md, "Routing").

Each preview's overlay network is internal: nothing on it reaches anything but the network itself. The edge is a
container on Forja's own node (a manager) attached to every preview's network under the alias EDGE_ALIAS; it runs
nothing but `sleep`. Forja, which runs as root on that node, makes sockets inside the edge's network namespace (a
thread of its own enters it with setns): connections from there are the edge's, a real endpoint of each overlay, so
they reach a preview's task on any node of the swarm. Through them:

- the proxy reaches previews: a relay per preview listens on Forja's 127.0.0.1 and passes each connection on to the
  task's address (Traefik's upstream for the preview);
- the previews' installs reach the registries: Forja's egress proxy listens in the edge's namespace on EGRESS_PORT.

The edge forwards nothing between its networks (net.ipv4.ip_forward=0, and no capability to change it), so one
preview's network never leads to another's.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import errno
import logging
import os
import socket
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor

from aiodocker.exceptions import DockerError

from preview_runtime.docker.engine import Engine
from preview_runtime.docker.layout import LABEL_NETWORK, PREVIEW_UID
from preview_runtime.local.egress import Streams
from preview_runtime.local.inside_bridge import splice
from preview_runtime.local.network import EGRESS_PORT
from preview_runtime.runner import RunnerError
from preview_runtime.stream_transport import StreamTransport
from preview_runtime.swarm.config import SwarmConfig
from preview_runtime.swarm.networks import create_network

log = logging.getLogger(__name__)

EDGE_ALIAS = "forja-edge"
LABEL_EDGE = "forja.edge"
_CLONE_NEWNET = 0x40000000
_UNREACHABLE = (errno.ENETUNREACH, errno.EHOSTUNREACH)

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


class _Namespace:
    """Sockets made in another network namespace: one thread enters it once and makes them there (a socket stays in
    the namespace it was made in, whichever thread then uses it)."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._fd = os.open(path, os.O_RDONLY)  # holds the namespace while Forja uses it
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="forja-edge")
        self._entered = False

    def _make(self) -> socket.socket:
        if not self._entered:  # only ever read and written by the namespace's own thread
            libc = ctypes.CDLL(None, use_errno=True)
            if libc.setns(self._fd, _CLONE_NEWNET) != 0:
                code = ctypes.get_errno()
                raise OSError(code, f"Forja cannot enter the edge's network namespace: {os.strerror(code)}")
            self._entered = True
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setblocking(False)
        return sock

    async def socket(self) -> socket.socket:
        return await asyncio.get_running_loop().run_in_executor(self._thread, self._make)

    def close(self) -> None:
        self._thread.shutdown(wait=False)
        os.close(self._fd)


class Edge:
    def __init__(self, engine: Engine, config: SwarmConfig, on_egress: Handler) -> None:
        self.engine = engine
        self.config = config
        self.name = f"{config.network}-edge"  # the container, and the network it starts on
        self._on_egress = on_egress
        self._namespace: _Namespace | None = None
        self._egress: asyncio.Server | None = None
        self._lock = asyncio.Lock()

    async def ensure(self, image_id: str) -> None:
        """The edge container running and Forja's egress proxy listening in it; made or started when it is not."""
        async with self._lock:
            docker = await self.engine.client()
            try:
                info = await docker.containers.container(self.name).show()
            except DockerError as exc:
                if exc.status != 404:
                    raise RunnerError(f"Docker cannot be reached: {exc.message}") from exc
                info = await self._create(image_id)
            if not info["State"].get("Running"):
                try:
                    await docker.containers.container(self.name).start()
                    info = await docker.containers.container(self.name).show()
                except DockerError as exc:
                    raise RunnerError(f"Forja could not start its edge container {self.name}: {exc.message}") from exc
            await self._enter(info["NetworkSettings"].get("SandboxKey") or "")

    async def _create(self, image_id: str) -> dict:
        docker = await self.engine.client()
        network_id = await create_network(self.engine, self.name, {LABEL_NETWORK: self.config.network, LABEL_EDGE: "1"})
        config = {
            "Image": image_id,
            "Hostname": EDGE_ALIAS,
            "User": f"{PREVIEW_UID}:{PREVIEW_UID}",
            "Entrypoint": ["/usr/bin/tini", "--"],
            "Cmd": ["sleep", "infinity"],
            "Labels": {LABEL_NETWORK: self.config.network, LABEL_EDGE: "1"},
            "HostConfig": {
                "NetworkMode": network_id,
                "ReadonlyRootfs": True,
                "CapDrop": ["ALL"],
                "SecurityOpt": ["no-new-privileges"],
                "Memory": 32 << 20,
                "MemorySwap": 32 << 20,
                "PidsLimit": 8,
                # What reaches the edge on one preview's network must not be routed on to another's.
                "Sysctls": {"net.ipv4.ip_forward": "0", "net.ipv6.conf.all.disable_ipv6": "1"},
                "RestartPolicy": {"Name": "unless-stopped"},
                "LogConfig": {"Type": "json-file", "Config": {"max-size": "1m", "max-file": "1"}},
            },
            "NetworkingConfig": {"EndpointsConfig": {network_id: {}}},
        }
        try:
            container = await docker.containers.create(config, name=self.name)
            await container.start()
            return await container.show()
        except DockerError as exc:
            if exc.status == 409:  # made meanwhile by another Forja process on this node
                return await docker.containers.container(self.name).show()
            raise RunnerError(f"Forja could not make its edge container {self.name}: {exc.message}") from exc

    async def _enter(self, sandbox_key: str) -> None:
        """Use the edge's network namespace (again, when the container was restarted and has a new one)."""
        if self._namespace is not None and self._namespace.path == sandbox_key:
            return
        self._close()
        try:
            if not sandbox_key:
                raise FileNotFoundError(sandbox_key)
            self._namespace = _Namespace(sandbox_key)
            sock = await self._namespace.socket()
        except FileNotFoundError as exc:
            raise RunnerError(
                "Forja cannot reach the swarm's previews: it must run on the manager node whose Docker engine it uses "
                f"(the edge's network namespace {sandbox_key or '(none)'} is not on this machine)."
            ) from exc
        except OSError as exc:
            self._close()
            raise RunnerError(
                f"Forja cannot reach the swarm's previews: {exc.strerror or exc} (the swarm runner needs root)."
            ) from exc
        # Every Forja process on this node serves the previews' installs here: the kernel spreads connections.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind(("0.0.0.0", EGRESS_PORT))
        sock.listen(128)
        self._egress = await asyncio.start_server(self._on_egress, sock=sock)

    async def attach(self, network_id: str) -> None:
        """Join a preview's network (before its task starts, so its installs find the egress proxy at once)."""
        docker = await self.engine.client()
        body = {"Container": self.name, "EndpointConfig": {"Aliases": [EDGE_ALIAS]}}
        try:
            await docker._query_json(f"networks/{network_id}/connect", method="POST", data=body)
        except DockerError as exc:
            if "already exists" not in exc.message:
                raise RunnerError(f"Forja could not join the preview's network: {exc.message}") from exc

    async def detach(self, network_id: str) -> None:
        docker = await self.engine.client()
        with contextlib.suppress(DockerError):
            await docker._query_json(
                f"networks/{network_id}/disconnect", method="POST", data={"Container": self.name, "Force": True}
            )

    async def connect(self, host: str, port: int) -> Streams:
        """A connection from the edge to host:port on one of the previews' networks."""
        for attempt in range(2):
            if self._namespace is None:
                raise ConnectionRefusedError("the swarm runner's edge is not ready")
            sock = await self._namespace.socket()
            try:
                await asyncio.get_running_loop().sock_connect(sock, (host, port))
            except OSError as exc:
                sock.close()
                if attempt or exc.errno not in _UNREACHABLE:
                    raise
                # The edge was restarted (its engine was): its networks are in a new namespace.
                with contextlib.suppress(RunnerError, DockerError):
                    info = await (await self.engine.client()).containers.container(self.name).show()
                    async with self._lock:
                        await self._enter(info["NetworkSettings"].get("SandboxKey") or "")
                continue
            return await asyncio.open_connection(sock=sock)
        raise ConnectionRefusedError(f"{host}:{port} cannot be reached")

    async def relay(self, target: Callable[[], tuple[str, int]]) -> asyncio.Server:
        """A listener on Forja's 127.0.0.1 whose connections go on to target() (a preview's address and port)."""

        async def pass_on(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            try:
                inside = await self.connect(*target())
            except OSError:
                writer.close()  # the task ended, or listens nowhere yet: the proxy answers 502
                return
            await splice((reader, writer), inside)

        return await asyncio.start_server(pass_on, "127.0.0.1", 0)

    def transport(self) -> StreamTransport:
        """An httpx transport to the previews' addresses: http://<task address>:<port>/ goes there through the edge."""
        return StreamTransport(self.connect)

    def _close(self) -> None:
        if self._egress is not None:
            self._egress.close()
            self._egress = None
        if self._namespace is not None:
            self._namespace.close()
            self._namespace = None

    async def close(self) -> None:
        """Forja stops using the edge; the container stays for the previews that keep running."""
        self._close()
