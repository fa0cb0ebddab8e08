"""Which server runners this Forja makes, and with what settings: the local runner, the Docker runner and the swarm
runner, as FORJA_PREVIEW_RUNNER and the other preview settings ask; what files they get, and their errors in the
service layer's terms. The preview service (previews.py) runs them."""

from __future__ import annotations

import os
from collections.abc import Awaitable, Mapping
from pathlib import Path
from typing import Any, TypeVar

from builder.errors import PreviewError, PreviewRefused
from builder.settings import settings
from preview_runtime import console_bridge, select_bridge
from preview_runtime.annotate import annotate
from preview_runtime.local import LocalRunner
from preview_runtime.local.egress import EgressPolicy, registry_hosts
from preview_runtime.local.limits import Limits
from preview_runtime.local.upstream import UpstreamProxy
from preview_runtime.manager import SERVER_RUNNERS
from preview_runtime.page_scripts import add_to_pages
from preview_runtime.runner import MachineRefused, Runner, RunnerError


def offline_env() -> dict[str, str]:
    """What keeps installs in previews off the registries when FORJA_PREVIEW_OFFLINE is set."""
    return {"npm_config_offline": "true", "PIP_NO_INDEX": "1"} if settings.preview_offline else {}


def install_env() -> dict[str, str]:
    """Registry mirrors, an extra CA (corporate networks need them) and the seeds for installs by the local runner."""
    env: dict[str, str] = offline_env()
    if settings.pip_seed_wheels and settings.pip_seed_wheels.is_dir():
        env["PIP_FIND_LINKS"] = str(settings.pip_seed_wheels)
    if settings.npm_registry:
        env["npm_config_registry"] = settings.npm_registry
    if settings.pip_index_url:
        env["PIP_INDEX_URL"] = settings.pip_index_url
    if settings.preview_extra_ca:
        env["NODE_EXTRA_CA_CERTS"] = env["PIP_CERT"] = settings.preview_extra_ca
    return env


def docker_settings() -> dict[str, Any]:
    """The Docker runner's settings, which the swarm runner's containers get too."""
    return {
        "memory_bytes": settings.preview_memory_mb * 1024 * 1024,
        "nano_cpus": int(settings.preview_cpus * 1e9),
        "pids_limit": settings.preview_pids,
        "warm_pool": settings.preview_warm_pool,
        "extra_ca_path": settings.preview_extra_ca or None,
        "npm_registry": settings.npm_registry or None,
        "pip_index_url": settings.pip_index_url or None,
        "npm_seed": settings.npm_seed_cache,
        "wheel_seed": settings.pip_seed_wheels,
        "extra_env": offline_env(),
        "silent_s": settings.preview_silent_s,
    }


def docker_runner(image: str) -> Runner:
    from preview_runtime.docker import DockerConfig, DockerRunner

    return DockerRunner(
        DockerConfig(image=image, network=settings.preview_network, park_dir=settings.data_dir / "parked", **docker_settings())
    )


def node_engines() -> dict[str, str]:
    """FORJA_SWARM_NODE_ENGINES as hostname -> engine URL."""
    pairs = (entry.split("=", 1) for entry in settings.swarm_node_engines.split(",") if "=" in entry)
    return {name.strip(): url.strip() for name, url in pairs if name.strip() and url.strip()}


async def swarm_runner(image: str) -> tuple[Runner | None, str]:
    """The swarm runner when this Forja's engine is a swarm manager it can use; else None and why not."""
    from preview_runtime.swarm import SwarmConfig, SwarmRunner

    runner = SwarmRunner(
        SwarmConfig(
            image=image,
            # Its own name: the Docker runner's adoption must never take a swarm preview's container for one of its own.
            network=f"{settings.preview_network}-swarm",
            node_engines=node_engines(),
            egress_hosts=egress_hosts(),
            upstream_proxy=UpstreamProxy.from_env(os.environ),
            **docker_settings(),
        )
    )
    if problem := await runner.problem():
        await runner.close()
        return None, problem
    return runner, ""


def egress_hosts() -> list[str]:
    return [host.strip() for host in settings.preview_egress_hosts.split(",") if host.strip()]


def wanted_runners() -> tuple[str, ...]:
    """The server runners FORJA_PREVIEW_RUNNER allows, strongest first."""
    return SERVER_RUNNERS if settings.preview_runner == "auto" else (settings.preview_runner,)


def engine_runners() -> tuple[str, ...]:
    """The allowed runners that need Docker's engine and the preview image."""
    return tuple(name for name in wanted_runners() if name in ("swarm", "docker"))


def turned_off() -> dict[str, str]:
    """Why each runner the settings leave out is missing, for a person who asks for it by name."""
    wanted = settings.preview_runner
    return {
        name: f"the settings ask for the {wanted} runner (FORJA_PREVIEW_RUNNER={wanted})."
        for name in SERVER_RUNNERS
        if name not in wanted_runners()
    }


def local_work_dir() -> Path:
    return settings.data_dir / "previews"


def local_runner() -> Runner:
    return LocalRunner(
        local_work_dir(),
        ttl_seconds=settings.preview_ttl_s,
        env=install_env(),
        npm_seed=settings.npm_seed_cache,
        silent_s=settings.preview_silent_s,
        egress_hosts=egress_hosts(),
        # Forja's own HTTPS_PROXY & co. (a corporate proxy): previews' are replaced by the egress proxy, which chains.
        upstream_proxy=UpstreamProxy.from_env(os.environ),
        limits=local_limits(),
        allow_unsandboxed=settings.allow_unsandboxed,
    )


def local_egress_policy() -> EgressPolicy:
    """What the local runner's sandboxed previews may reach (their egress proxy's policy, as spawn.py makes it)."""
    return EgressPolicy(egress_hosts(), mirrors=registry_hosts(install_env()), upstream=UpstreamProxy.from_env(os.environ))


def local_limits() -> Limits:
    """The Docker runner's per-preview limits, applied to a local preview's cgroup; plus its disk."""
    return Limits(
        memory_bytes=settings.preview_memory_mb << 20,
        pids=settings.preview_pids,
        cpus=settings.preview_cpus,
        disk_bytes=settings.local_disk_mb << 20,
    )


T = TypeVar("T")


async def translated(call: Awaitable[T]) -> T:
    """preview_runtime knows nothing of builder: its RunnerError becomes a PreviewError here."""
    try:
        return await call
    except MachineRefused as exc:
        raise PreviewRefused(str(exc)) from None
    except RunnerError as exc:
        raise PreviewError(str(exc)) from None


def running_copy(files: Mapping[str, bytes], select: bool = True, places: bool = False) -> dict[str, bytes]:
    """What a runner gets: the files, with the console bridge in their HTML pages (see console_bridge) and, for
    the project's own preview, Select mode's script (see select_bridge); with `places` (while Select mode is on),
    its components marked with their source places too (see annotate). Share links run a version as written."""
    origins = settings.builder_origins
    # The console bridge first, so it hears errors from every script after it.
    scripts = [console_bridge.script(origins)]
    if select:
        files = annotate(files) if places else files
        scripts.append(select_bridge.script(origins))
    return add_to_pages(files, scripts)
