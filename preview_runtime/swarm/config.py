"""The swarm runner's settings: the Docker runner's (limits, image, caches, pool) and what only a swarm needs."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from preview_runtime.docker.config import DockerConfig


@dataclass(frozen=True, kw_only=True)
class SwarmConfig(DockerConfig):
    """`network` names everything the runner makes (services, networks, volumes, its edge container), as the Docker
    runner's network does; keep it apart from the Docker runner's. The Docker runner's firewall settings
    (manage_firewall, dns_servers) do not apply: a swarm preview's network has no way out to firewall (DESIGN.md)."""

    network: str = "forja-swarm"
    # Engines of the swarm's other nodes, by node hostname or id (tcp://host:2376, TLS from DOCKER_CERT_PATH as the
    # docker CLI reads it). Previews run only on Forja's own node and on these: each preview's files, commands and
    # logs go through the engine of the node it runs on.
    node_engines: Mapping[str, str] = field(default_factory=dict)
    start_timeout_s: float = 60  # a task that is not running this long after its service was made has failed
    stop_grace_s: float = 2  # a stopped task's processes get this long after SIGTERM
