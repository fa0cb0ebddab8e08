"""The swarm's nodes as the runner uses them: each with its engine and the Docker runner's per-engine parts.

A preview's files, commands, logs, dependency cache and warm pool all live on the node its task runs on, so each
node Forja can reach has its own: the engine's client, the containers' specification (the seeds its engine can
mount), the dependency caches (volumes of that node), the readiness watch, and a warm pool (swarm/pool.py, which
uses the node; the runner keeps each node's by its id). The runner places each preview on one of these nodes (a
placement constraint on its node id).
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass
from typing import Any

from aiodocker.exceptions import DockerError

from preview_runtime.docker.config import DockerConfig
from preview_runtime.docker.container import ContainerSpec
from preview_runtime.docker.deps_cache import DependencyCache
from preview_runtime.docker.engine import Engine
from preview_runtime.docker.readiness import Watch
from preview_runtime.runner import RunnerError
from preview_runtime.swarm.config import SwarmConfig

log = logging.getLogger(__name__)


@dataclass
class Node:
    id: str
    hostname: str
    engine: Engine
    containers: ContainerSpec
    deps: DependencyCache
    watch: Watch
    image_id: str = ""  # the preview image on this node (each node builds its own)
    running: int = 0  # this runner's previews on it, for placing the next one


async def swarm_role(engine: Engine) -> tuple[str, str]:
    """(this engine's node id, "") when it is a swarm manager; else ("", why not)."""
    docker = await engine.client()
    try:
        info = await docker.system.info()
    except DockerError as exc:
        return "", f"the Docker engine cannot be reached ({exc.message})"
    except OSError as exc:
        return "", f"the Docker engine cannot be reached ({exc})"
    swarm = info.get("Swarm") or {}
    if swarm.get("LocalNodeState") != "active":
        return "", "this Docker engine is not part of a swarm (docker swarm init, or join one as a manager)"
    if not swarm.get("ControlAvailable"):
        return "", "this Docker engine is a swarm worker; Forja must run on a manager node"
    return str(swarm.get("NodeID") or ""), ""


async def manager_problem() -> str:
    """Why the Docker engine of this environment (DOCKER_HOST, else the local socket) cannot host the swarm runner,
    or "" when it is a swarm manager."""
    engine = Engine(DockerConfig())
    try:
        return (await swarm_role(engine))[1]
    except RunnerError as exc:
        return str(exc)
    finally:
        await engine.close()


async def usable_nodes(engine: Engine, local_id: str, config: SwarmConfig) -> list[tuple[dict[str, Any], str]]:
    """The swarm's ready and active nodes that Forja can reach, each with its engine's URL ("" for Forja's own)."""
    docker = await engine.client()
    try:
        nodes = await docker.nodes.list()
    except DockerError as exc:
        raise RunnerError(f"Docker cannot list the swarm's nodes: {exc.message}") from exc
    usable = []
    for node in nodes:
        node_id = node.get("ID", "")
        hostname = ((node.get("Description") or {}).get("Hostname")) or ""
        if (node.get("Status") or {}).get("State") != "ready" or (node.get("Spec") or {}).get("Availability") != "active":
            continue
        if node_id == local_id:
            usable.append((node, ""))
        elif url := config.node_engines.get(node_id) or config.node_engines.get(hostname):
            usable.append((node, url))
    return usable


def node_engine(config: SwarmConfig, url: str) -> Engine:
    """A client of another node's engine (the settings name it by URL)."""
    return Engine(dataclasses.replace(config, docker_url=url))
