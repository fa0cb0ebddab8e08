"""One running swarm preview as the runner tracks it: a Docker preview (its task's container, on its node) plus the
service, network and relay that make it a swarm one."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass

from preview_runtime.docker.preview import DockerPreview
from preview_runtime.runner import PreviewInfo


@dataclass
class SwarmPreview(DockerPreview):
    node_id: str = ""
    service_id: str = ""
    network_id: str = ""
    relay: asyncio.Server | None = None  # on Forja's 127.0.0.1, to the task's address through the edge

    # `ip` and `upstream` (DockerPreview's) are the task's address on its overlay network, which only the edge reaches;
    # the proxy gets the relay instead.
    @property
    def relay_url(self) -> str:
        if self.relay is None or not self.relay.sockets:
            return ""
        return f"http://127.0.0.1:{self.relay.sockets[0].getsockname()[1]}"

    def info(self, runner: str) -> PreviewInfo:
        info = super().info(runner)
        info.upstream = self.relay_url if self.ip else ""
        info.handle = self.service_id
        return info

    async def close_relay(self) -> None:
        if self.relay is not None:
            self.relay.close()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.relay.wait_closed(), timeout=1)
            self.relay = None
