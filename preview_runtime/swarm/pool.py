"""The swarm runner's warm pool on one node: services made ahead, each for one dependency cache key (DESIGN.md).

The policy is the Docker runner's (WarmPool); a slot here is a service with its network, started on the node and
waiting for a bootstrap. A claim writes the preview's identity into the service's own labels, which only the
swarm's managers hold (a preview cannot reach them) and which change nothing in its running task.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from aiodocker.exceptions import DockerError

from preview_runtime.docker.container import POOL_WAIT_S
from preview_runtime.docker.layout import LABEL_CLAIM, LABEL_POOL, LABEL_POOL_DEPS, preview_labels
from preview_runtime.docker.pool import Slot, WarmPool
from preview_runtime.runner import PreviewSpec, RunnerError
from preview_runtime.swarm.config import SwarmConfig
from preview_runtime.swarm.nodes import Node
from preview_runtime.swarm.service import Services


@dataclass
class SwarmSlot(Slot):
    service_id: str = ""
    network_id: str = ""


class SwarmPool(WarmPool[SwarmSlot]):
    def __init__(self, node: Node, config: SwarmConfig, services: Services) -> None:
        super().__init__(node.engine, config, node.deps)
        self.node = node
        self.services = services
        self.swarm = config

    async def _create(self, deps_key: str) -> SwarmSlot:
        name = f"{self.swarm.network}--pool-{secrets.token_hex(5)}"
        labels = {LABEL_POOL: "1", LABEL_POOL_DEPS: deps_key}
        launched = await self.services.launch(self.node, name, labels, deps_key, POOL_WAIT_S)
        return SwarmSlot(
            container_id=launched.container_id,
            name=launched.name,
            app_volume=launched.app_volume,
            deps_key=deps_key,
            nonce=launched.nonce,
            ip=launched.ip,
            deps_mounted=launched.deps_mounted,
            service_id=launched.service_id,
            network_id=launched.network_id,
        )

    async def _take(self, slot: SwarmSlot, spec: PreviewSpec) -> None:
        docker = await self.node.engine.client()
        try:
            if not (await docker.containers.container(slot.container_id).show())["State"].get("Running"):
                raise RunnerError("the pool service's task has exited")
        except DockerError as exc:
            raise RunnerError(f"the pool service's task is gone: {exc.message}") from exc
        await self.services.relabel(slot.service_id, {**preview_labels(self.swarm.network, spec), LABEL_CLAIM: "1"})

    async def remove(self, slot: SwarmSlot) -> None:
        await self.services.remove(self.node, slot.service_id, slot.container_id, slot.network_id, slot.app_volume)
