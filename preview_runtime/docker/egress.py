"""The Docker runner's registry traffic, read: Forja's egress proxy on the previews' bridge gateway (DESIGN.md).

A container's package managers (npm and what reads npm's settings, through npm_config_https_proxy; pip, through
PIP_PROXY) are sent to an EgressProxy (local/egress.py) that Forja serves on the bridge's gateway address, port
EGRESS_PORT: the one port of the host the firewall lets previews open (firewall.py). It reads the registries' HTTPS
as the local runner's proxy does (registry_relay.py), asking the install gate about each package, with certificates
from Forja's registry authority, which the containers trust through their bootstrap (container.py). Only the package
managers are sent there: the preview's own code still reaches public addresses straight through the firewall, as an
app calling a public API needs.

Every Forja process on the host listens there (SO_REUSEPORT: the kernel spreads connections), each answering its own
previews by their address on the bridge; a connection from another's preview is read the same, its refusals said in
Forja's log instead of the preview's. The swarm's edge serves the same policy (egress_policy).
"""

from __future__ import annotations

import asyncio
import dataclasses
import ipaddress
import logging
import socket
from collections.abc import Callable, Iterable

from preview_runtime.docker.config import DockerConfig
from preview_runtime.docker.container import ContainerSpec
from preview_runtime.docker.preview import DockerPreview
from preview_runtime.local.egress import EgressPolicy, EgressProxy, registry_hosts
from preview_runtime.local.network import EGRESS_PORT
from preview_runtime.local.registry_reading import registries
from preview_runtime.logs import LogLevel

log = logging.getLogger(__name__)


def egress_policy(config: DockerConfig) -> EgressPolicy:
    """What the previews of a Docker or swarm runner reach through Forja's egress proxy, and how it reads it."""
    env = {"npm_config_registry": config.npm_registry or "", "PIP_INDEX_URL": config.pip_index_url or ""}
    reading = config.reading and dataclasses.replace(config.reading, registries=registries(env, config.egress_hosts))
    return EgressPolicy(config.egress_hosts, mirrors=registry_hosts(env), upstream=config.upstream_proxy, reading=reading)


def managers_env(gateway: str) -> dict[str, str]:
    """Variables sending a container's package managers, and only them, to the egress proxy on `gateway`."""
    url = f"http://{gateway}:{EGRESS_PORT}"
    # pip retries a proxy's refusal five times with a growing wait (about 8 s for each package it looks up) as if the
    # network had failed; the proxy's 403 for a host it does not allow is final, and the proxy is on this host: one
    # retry keeps a blip covered without that wait for each requirement of a project whose index is not allowed.
    return {"npm_config_https_proxy": url, "npm_config_proxy": url, "PIP_PROXY": url, "PIP_RETRIES": "1"}


class GatewayEgress:
    """The egress proxy on the bridge's gateway, answering `previews()` (this runner's) by their address there."""

    def __init__(self, config: DockerConfig, previews: Callable[[], Iterable[DockerPreview]]) -> None:
        self.policy = egress_policy(config)
        self._previews = previews
        self._unattributed = EgressProxy(self.policy, lambda text: log.info("Docker preview egress: %s", text))
        self._server: asyncio.Server | None = None
        self._subnet: ipaddress.IPv4Network | ipaddress.IPv6Network | None = None
        self._gateway = ""

    async def open(self, gateway: str, subnet: str, containers: ContainerSpec) -> str:
        """Serve on the gateway's EGRESS_PORT, `containers` made to use it and trust its authority; the gateway's
        address, or "" when it cannot listen there (the engine is another machine's, the port is taken): then
        containers go straight out, unread, as before, and Forja's log says why."""
        if self._server is None:
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            try:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
                sock.bind((gateway, EGRESS_PORT))
                sock.listen(128)
                sock.setblocking(False)
                self._server = await asyncio.start_server(self._handle, sock=sock)
            except OSError as exc:
                sock.close()
                where = f"{gateway}:{EGRESS_PORT}, the previews' network gateway"
                log.warning("installs in Docker previews reach the registries unread: Forja cannot listen on %s (%s)", where, exc)
                return ""
            self._subnet = ipaddress.ip_network(subnet, strict=False) if subnet else None
            self._gateway = gateway
        if self.policy.reading is not None:
            containers.authority = self.policy.reading.authority.pem()
        containers.egress_env = managers_env(gateway)
        return gateway

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = str((writer.get_extra_info("peername") or ("",))[0])
        # The gateway's address is this host's: the host itself, or a machine that routes to it, is no preview.
        if self._subnet is None or not peer or peer == self._gateway or ipaddress.ip_address(peer) not in self._subnet:
            writer.close()
            return
        await self._proxy_of(peer).handle(reader, writer)

    def _proxy_of(self, address: str) -> EgressProxy:
        """The proxy of the preview at `address` (made at its first request), whose refusals go into its log."""
        p = next((p for p in self._previews() if p.ip == address), None)
        if p is None:
            return self._unattributed
        if p.egress is None:
            p.egress = EgressProxy(self.policy, lambda text: p.emit(text, LogLevel.warning, "forja"))
        return p.egress

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None
