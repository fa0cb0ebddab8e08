"""Which server runners this Forja makes, and with what settings: the local runner, the Docker runner and the swarm
runner, as FORJA_PREVIEW_RUNNER and the other preview settings ask (WorkerRunners: the engine's once the preview image
is there); what files they get, and their errors in the service layer's terms. The preview hub (preview_hub.py) runs
them."""

from __future__ import annotations

import asyncio
import logging
import os
import ssl
from collections.abc import Awaitable, Mapping
from pathlib import Path
from typing import Any, TypeVar

import httpx

from builder.errors import PreviewError, PreviewRefused
from builder.settings import settings
from preview_runtime import console_bridge, select_bridge
from preview_runtime.annotate import annotate
from preview_runtime.corepack import is_cache, registry_url
from preview_runtime.docker.image import ImageState, ImageStatus, PreviewImage
from preview_runtime.listening import Deadlines
from preview_runtime.local import LocalRunner
from preview_runtime.local.egress import EgressPolicy, registry_hosts
from preview_runtime.local.limits import Limits
from preview_runtime.local.registry_certs import CertificateAuthority
from preview_runtime.local.registry_reading import PackageCheck
from preview_runtime.local.registry_relay import Reading
from preview_runtime.local.upstream import UpstreamProxy
from preview_runtime.manager import PreviewManager
from preview_runtime.page_scripts import add_to_pages
from preview_runtime.runner import MachineRefused, Runner, RunnerError
from preview_runtime.runner_choice import SERVER_RUNNERS

log = logging.getLogger(__name__)

CA_FOLDER = "registry-ca"  # in the data folder: the authority sandboxes trust for their registries (registry_certs.py)


def offline_env() -> dict[str, str]:
    """What keeps installs in previews off the registries when FORJA_PREVIEW_OFFLINE is set."""
    return {"npm_config_offline": "true", "PIP_NO_INDEX": "1"} if settings.preview_offline else {}


def install_env() -> dict[str, str]:
    """Registry mirrors, an extra CA (corporate networks need them) and the seeds for installs by the local runner."""
    env: dict[str, str] = offline_env()
    if settings.pip_seed_wheels and settings.pip_seed_wheels.is_dir():
        env["PIP_FIND_LINKS"] = str(settings.pip_seed_wheels)
    if is_cache(settings.corepack_cache):
        env["COREPACK_HOME"] = str(settings.corepack_cache)
    if settings.npm_registry:
        env["npm_config_registry"] = settings.npm_registry
        env["COREPACK_NPM_REGISTRY"] = registry_url(settings.npm_registry)
    if settings.corepack_integrity_keys:
        env["COREPACK_INTEGRITY_KEYS"] = settings.corepack_integrity_keys
    if settings.pip_index_url:
        env["PIP_INDEX_URL"] = settings.pip_index_url
    if settings.preview_extra_ca:
        env["NODE_EXTRA_CA_CERTS"] = env["PIP_CERT"] = settings.preview_extra_ca
    return env


def docker_settings() -> dict[str, Any]:
    """The Docker runner's settings, which the swarm runner's containers get too."""
    return {
        "memory_bytes": settings.preview_memory_mb * 1024 * 1024,
        "app_size_bytes": settings.preview_app_mb * 1024 * 1024,
        "home_size_bytes": settings.preview_home_mb * 1024 * 1024,
        "tmp_size_bytes": settings.preview_tmp_mb * 1024 * 1024,
        "nano_cpus": int(settings.preview_cpus * 1e9),
        "pids_limit": settings.preview_pids,
        "warm_pool": settings.preview_warm_pool,
        "extra_ca_path": settings.preview_extra_ca or None,
        "npm_registry": settings.npm_registry or None,
        "corepack_integrity_keys": settings.corepack_integrity_keys or None,
        "pip_index_url": settings.pip_index_url or None,
        "npm_seed": settings.npm_seed_cache,
        "wheel_seed": settings.pip_seed_wheels,
        "corepack_seed": settings.corepack_cache,
        "extra_env": offline_env(),
        "silent_s": settings.preview_silent_s,
        "deadlines": deadlines(),
        "egress_hosts": egress_hosts(),
        # Forja's own HTTPS_PROXY & co. (a corporate proxy), through which the egress proxy goes out.
        "upstream_proxy": UpstreamProxy.from_env(os.environ),
    }


def deadlines() -> Deadlines:
    return Deadlines(install_s=settings.preview_install_timeout_s, answer_s=settings.preview_answer_timeout_s)


def docker_runner(image: str, reading: Reading | None = None) -> Runner:
    """The Docker runner; with `reading`, its containers' package managers go through an egress proxy that reads the
    registries' traffic as the local runner's does."""
    from preview_runtime.docker.config import DockerConfig
    from preview_runtime.docker.runner import DockerRunner

    park_dir = settings.data_dir / "parked"
    return DockerRunner(
        DockerConfig(image=image, network=settings.preview_network, park_dir=park_dir, reading=reading, **docker_settings())
    )


def node_engines() -> dict[str, str]:
    """FORJA_SWARM_NODE_ENGINES as hostname -> engine URL."""
    pairs = (entry.split("=", 1) for entry in settings.swarm_node_engines.split(",") if "=" in entry)
    return {name.strip(): url.strip() for name, url in pairs if name.strip() and url.strip()}


async def swarm_runner(image: str, reading: Reading | None = None) -> tuple[Runner | None, str]:
    """The swarm runner when this Forja's engine is a swarm manager it can use; else None and why not. With `reading`,
    its egress proxy reads the previews' registry traffic as the local runner's does."""
    from preview_runtime.swarm import SwarmConfig, SwarmRunner

    runner = SwarmRunner(
        SwarmConfig(
            image=image,
            # Its own name: the Docker runner's adoption must never take a swarm preview's container for one of its own.
            network=f"{settings.preview_network}-swarm",
            node_engines=node_engines(),
            reading=reading,
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
        name: f"this Forja is set to run previews with the {wanted} runner only."
        for name in SERVER_RUNNERS
        if name not in wanted_runners()
    }


def webcontainers_off() -> str:
    """Why the settings rule WebContainers out, or "" where a front-end project may run in the person's browser first.

    Only `auto` leaves the choice to Forja: a server runner asked for by name is the one every preview gets, so no
    browser tries a WebContainer (and waits, and falls back) before it."""
    if not settings.webcontainers:
        return "Turned off in the settings (FORJA_WEBCONTAINERS=false)."
    if settings.preview_runner != "auto":
        return f"Not used: the settings ask for the {settings.preview_runner} runner (FORJA_PREVIEW_RUNNER={settings.preview_runner})."
    return ""


def local_work_dir() -> Path:
    return settings.data_dir / "previews"


def install_reading(check: PackageCheck) -> Reading:
    """How the runners' egress proxies read the registries' traffic: each package an install asks for
    is asked of `check` (the install gate), with certificates from the authority kept in the data folder, and the
    registries verified as Forja's own requests verify them (with the extra CA a corporate proxy needs)."""
    upstream = httpx.create_ssl_context()
    if settings.preview_extra_ca:
        try:
            upstream.load_verify_locations(settings.preview_extra_ca)
        except (OSError, ssl.SSLError) as exc:
            log.warning("the extra CA %s could not be read for the registries: %s", settings.preview_extra_ca, exc)
    return Reading(check, CertificateAuthority.in_folder(settings.data_dir / CA_FOLDER), upstream)


def local_runner(reading: Reading | None = None) -> Runner:
    return LocalRunner(
        local_work_dir(),
        ttl_seconds=settings.preview_ttl_s,
        env=install_env(),
        npm_seed=settings.npm_seed_cache,
        silent_s=settings.preview_silent_s,
        deadlines=deadlines(),
        egress_hosts=egress_hosts(),
        # Forja's own HTTPS_PROXY & co. (a corporate proxy): previews' are replaced by the egress proxy, which chains.
        upstream_proxy=UpstreamProxy.from_env(os.environ),
        limits=local_limits(),
        allow_unsandboxed=settings.allow_unsandboxed,
        reading=reading,
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


class WorkerRunners:
    """This worker's runners: the local runner, and the engine's (Docker, the swarm) once the preview image is there;
    a missing image is built in the background, and the engine's runners join the manager when it is ready."""

    def __init__(self, check: PackageCheck | None = None) -> None:
        self._check = check  # the install gate, asked about each package the local runner's installs fetch
        self.image = PreviewImage(settings.preview_image, on_change=self._image_changed)
        # Set while a missing preview image is built at start; it ends once Docker runs previews (or cannot).
        self.preparation: asyncio.Task[ImageStatus] | None = None
        self._manager: PreviewManager | None = None
        self._missing = False

    async def ready(self) -> tuple[dict[str, Runner], dict[str, str]]:
        """The runners that can run previews now, and why each runner the settings allow but cannot is missing."""
        runners: dict[str, Runner] = {}
        unavailable = turned_off()
        if "local" in wanted_runners():
            runners["local"] = local_runner(install_reading(self._check) if self._check else None)
        image = await self.image.check() if engine_runners() else None
        if image is not None and image.state == ImageState.ready:
            await _add_engine_runners(runners, unavailable, image.image, self._check)
        elif image is not None:
            log.warning("previews do not run in Docker yet: %s", image.describe())
            unavailable.update(dict.fromkeys(engine_runners(), image.describe()))
        self._missing = image is not None and image.state == ImageState.missing
        return runners, unavailable

    def follow(self, manager: PreviewManager) -> None:
        """The manager that runs previews: told how far the image's build got, and given the engine's runners once it is
        built (the build starts now when the image was missing)."""
        self._manager = manager
        if self._missing:
            self.preparation = asyncio.create_task(self._prepare_docker(), name="prepare-docker")

    def _image_changed(self, status: ImageStatus) -> None:
        """Previews started while the image builds say how far it got (see choose_runner)."""
        if self._manager is not None and status.state != ImageState.ready:
            self._manager.unavailable.update(dict.fromkeys(engine_runners(), status.describe()))

    async def _prepare_docker(self) -> ImageStatus:
        """Build the missing image, then let later previews use Docker (or the swarm)."""
        status = await self.image.build()
        if status.state == ImageState.ready and self._manager is not None:
            runners: dict[str, Runner] = {}
            unavailable: dict[str, str] = {}
            await _add_engine_runners(runners, unavailable, status.image, self._check)
            for runner in runners.values():
                await self._manager.add_runner(runner)
            self._manager.unavailable.update(unavailable)
            log.info("the preview image is ready; new previews may run with: %s", ", ".join(runners) or "none")
        return status

    async def close(self) -> None:
        await self.image.close()


async def _add_engine_runners(
    runners: dict[str, Runner], unavailable: dict[str, str], image: str, check: PackageCheck | None
) -> None:
    """The runners on Docker's engine the settings allow, once the preview image is there: Docker, and the swarm when
    the engine is a swarm manager (else why not), their egress proxies asking `check` about each package installs fetch."""
    reading = install_reading(check) if check else None
    if "docker" in engine_runners():
        runners["docker"] = docker_runner(image, reading)
    if "swarm" in engine_runners():
        swarm, why = await swarm_runner(image, reading)
        if swarm is not None:
            runners["swarm"] = swarm
        else:
            unavailable["swarm"] = why
            # Under `auto` an engine in no swarm is the usual case, not a fault.
            level = logging.WARNING if settings.preview_runner == "swarm" else logging.INFO
            log.log(level, "previews do not run on a swarm: %s", why)
