"""The Docker runner's settings as one object; Forja builds it from its own settings."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

from preview_runtime.listening import Deadlines
from preview_runtime.local.egress import DEFAULT_EGRESS_HOSTS
from preview_runtime.local.registry_relay import Reading
from preview_runtime.local.upstream import UpstreamProxy


def nano_cpus(cpus: float | None) -> int | None:
    """A plan's own CPU limit (RunPlan.cpus) as Docker's NanoCPUs; None: the config's."""
    return int(cpus * 1e9) if cpus else None


@dataclass(frozen=True, kw_only=True)
class DockerConfig:
    image: str = "forja-preview:latest"
    network: str = "forja-previews"
    docker_url: str | None = None  # None: the engine the environment names (DOCKER_HOST), else the local socket
    memory_bytes: int = 2 << 30
    nano_cpus: int = 1_000_000_000
    pids_limit: int = 256
    # Each a size-limited tmpfs (see container.SIZE_SETTINGS): a Next.js app's node_modules alone is 0.5-1 GB, and npm's
    # download cache in the home a few hundred MB while it installs.
    app_size_bytes: int = 2 << 30
    tmp_size_bytes: int = 512 << 20
    home_size_bytes: int = 1 << 30
    nofile_limit: int | None = None  # None: the daemon's own limit (raising it above the daemon's hard limit fails)
    log_max_size: str = "10m"
    log_max_file: int = 3
    extra_ca_path: str | os.PathLike[str] | None = None
    npm_registry: str | None = None
    # COREPACK_INTEGRITY_KEYS ("0", or a JSON of keys): not in extra_env, whose names with KEY never reach previews.
    corepack_integrity_keys: str | None = None
    pip_index_url: str | None = None
    npm_seed: str | os.PathLike[str] | None = None  # an npm cache on the engine's machine (scripts/prefetch_starters.py)
    wheel_seed: str | os.PathLike[str] | None = None  # a folder of wheels on the engine's machine
    corepack_seed: str | os.PathLike[str] | None = None  # a corepack cache on the engine's machine (preview_runtime/corepack.py)
    # Wins over the runner's own variables, except that a credential-looking name never gets in.
    extra_env: Mapping[str, str] = field(default_factory=dict)
    # Through Forja's egress proxy (egress.py) installs reach only these hosts (and the registry mirrors set above).
    egress_hosts: Sequence[str] = DEFAULT_EGRESS_HOSTS
    upstream_proxy: UpstreamProxy | None = None  # Forja's own proxy, through which the egress proxy goes out
    # How the egress proxy reads the registries' traffic (registry_relay.py), its authority trusted by every preview's
    # installs. None: the swarm's proxy tunnels them unread, and the Docker runner's containers go straight out.
    reading: Reading | None = None
    manage_firewall: bool = True  # False: an administrator installs DockerRunner.firewall_commands() instead
    dns_servers: Sequence[str] | None = None  # None: the host's nameservers (resolv.conf)
    deps_cache: bool = True
    deps_cache_scope: Literal["project", "global"] = "project"
    deps_cache_max_bytes: int = 2 << 30
    deps_save_timeout_s: float = 120
    warm_pool: int = 0
    # Where parked previews keep their /app (parking.py), on Forja's machine; None: previews are not parked but stopped.
    park_dir: str | os.PathLike[str] | None = None
    ready_path: str = "/"
    silent_s: float = 90  # a dev server that prints nothing and listens on no port this long is ended as stuck
    deadlines: Deadlines = field(default_factory=Deadlines)  # the install's, and the dev server's first answer's

    def __post_init__(self) -> None:
        if self.deps_cache_scope not in ("project", "global"):
            raise ValueError('deps_cache_scope must be "project" or "global"')
        if self.warm_pool < 0:
            raise ValueError("warm_pool must be 0 or more")
