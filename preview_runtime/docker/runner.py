"""DockerRunner: one hardened container per preview, on an isolated bridge network (see DESIGN.md)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from aiodocker.exceptions import DockerError

from preview_runtime.common import human_size
from preview_runtime.corepack import missing_manager
from preview_runtime.docker import firewall
from preview_runtime.docker.collect import collect_archive
from preview_runtime.docker.command import run_in_container
from preview_runtime.docker.config import DockerConfig, nano_cpus
from preview_runtime.docker.container import FRESH_WAIT_S, ContainerSpec, first_upload
from preview_runtime.docker.deps_cache import DependencyCache
from preview_runtime.docker.egress import GatewayEgress
from preview_runtime.docker.engine import Engine
from preview_runtime.docker.files import write_files
from preview_runtime.docker.layout import (
    APP_DIR,
    LABEL_CLAIM,
    LABEL_MANAGED,
    LABEL_NETWORK,
    LABEL_POOL,
    claim_name,
    preview_labels,
    preview_names,
)
from preview_runtime.docker.parking import app_env_marker, park_file, ready_archive, save_app
from preview_runtime.docker.pool import DockerPool, Slot
from preview_runtime.docker.preview import DockerPreview
from preview_runtime.docker.readiness import Watch
from preview_runtime.docker.shell import open_container_shell
from preview_runtime.logs import LogLevel
from preview_runtime.runner import (
    CommandOutcome,
    LogSink,
    PreviewInfo,
    PreviewSpec,
    PreviewState,
    Runner,
    RunnerError,
    Shell,
    ignore_output,
)

log = logging.getLogger(__name__)


class DockerRunner(Runner):
    """Runs each preview in its own hardened container."""

    name = "docker"

    def __init__(self, config: DockerConfig | None = None, *, default_log_sink: LogSink | None = None) -> None:
        self.config = config = config or DockerConfig()
        self.default_log_sink = default_log_sink or ignore_output
        self.engine = Engine(config)
        self.containers = ContainerSpec(config)
        self.deps = DependencyCache(self.engine, config)
        self.pool = DockerPool(self.engine, config, self.containers, self.deps)
        self.watch = Watch(self.engine, config, self._save_deps)
        self._previews: dict[str, DockerPreview] = {}
        # Reads the installs' registry traffic when the config says how (egress.py); else they go straight out.
        self.egress = GatewayEgress(config, self._previews.values) if config.reading else None
        self.egress_gateway = ""  # where it listens, the one address and port of the host previews may open
        self._setup_lock = asyncio.Lock()
        self._ready = False
        self._image_id = ""
        self.bridge = ""
        self.gateway = ""
        self.subnet = ""

    # -- setup and firewall ---------------------------------------------------------------

    async def _ensure_ready(self) -> None:
        async with self._setup_lock:
            if self._ready:
                if self.config.manage_firewall:
                    await firewall.check_jumps(self.bridge)
                return
            self._image_id = await self.engine.image_id()
            await self._check_seeds()
            await self._ensure_network()
            if self.egress is not None:
                self.egress_gateway = await self.egress.open(self.gateway, self.subnet, self.containers)
            if self.config.manage_firewall:
                await self.install_firewall()
            self._ready = True

    async def _check_seeds(self) -> None:
        self.containers.seed_dirs = self.containers.seeds()
        if not self.containers.seed_dirs:
            return
        if (problem := await self.engine.mount_problem(self.containers.seed_mounts())) is not None:
            log.warning(
                "installs in previews start without the seeded packages: the Docker engine cannot mount them (%s)", problem
            )
            self.containers.seed_dirs = {}

    async def _ensure_network(self) -> None:
        network = await self.engine.ensure_network()
        self.bridge, self.gateway, self.subnet = network.bridge, network.gateway, network.subnet

    async def firewall_commands(self) -> list[list[str]]:
        """The iptables commands install_firewall() runs to fill the chains (for manage_firewall=False setups): the
        egress proxy's port among them once the runner is ready, and listens there."""
        if not self.bridge:
            await self._ensure_network()
        return await firewall.commands(self.bridge, self.config.dns_servers, self.egress_gateway)

    async def install_firewall(self) -> None:
        """Install (or refresh) the isolation rules for this runner's bridge; idempotent."""
        await firewall.install(self.bridge, self.config.dns_servers, self.egress_gateway)

    async def remove_firewall(self) -> None:
        """Remove this runner's rules (tests and uninstall); containers lose their isolation."""
        if not self.bridge:
            self.bridge = await self.engine.existing_bridge()
            if not self.bridge:
                return
        await firewall.remove(self.bridge)

    # -- start ----------------------------------------------------------------------------

    def deps_key(self, spec: PreviewSpec) -> str:
        """The dependency cache key of a preview ("" when its dependencies are not cached)."""
        return self.deps.key(spec, self._image_id)

    async def start(self, spec: PreviewSpec, log: LogSink) -> PreviewInfo:
        await self._ensure_ready()
        # The seed on the Docker host is checked here: it is where Forja runs (ContainerSpec.seeds reads it too).
        corepack = {"COREPACK_HOME": home} if (home := self.containers.seed_dirs.get("corepack")) else {}
        if problem := missing_manager(spec.plan.install, {**self.config.extra_env, **corepack}):
            raise RunnerError(problem)
        docker = await self.engine.client()
        network = self.config.network
        name, app_volume = preview_names(network, spec.preview_id)
        if spec.preview_id in self._previews:
            await self.stop(spec.preview_id)
        await self._remove_untracked(spec.preview_id)
        deps_key = self.deps_key(spec)
        upload = first_upload(spec, deps_key, self.containers.trusted_ca())
        deps_volume = await self.deps.ensure_volume(deps_key) if deps_key else ""
        labels = preview_labels(network, spec)
        claim_volume = ""
        slot: Slot | None = None
        # A pool container was made before anyone knew its mounts and limits: an app with data, or a preview with a CPU
        # limit of its own (a publish's build), gets a container of its own.
        own = bool(spec.plan.mounts) or spec.plan.cpus is not None
        if self.config.warm_pool and not own and (slot := await self.pool.claim(deps_key, spec)) is not None:
            claim_volume = claim_name(network, spec.preview_id)
        if slot is not None:
            container_id, nonce, ip, app_volume = slot.container_id, slot.nonce, slot.ip, slot.app_volume
        else:
            await self.engine.create_app_volume(app_volume, labels)
            nonce = secrets.token_hex(6)
            cache = await self.deps.complete(deps_key)
            config = self.containers.container_config(
                self.containers.env(nonce, FRESH_WAIT_S, cache is not None),
                labels,
                self.containers.mounts(app_volume, deps_volume, cache, spec.plan.mounts),
                nano_cpus(spec.plan.cpus),
            )
            try:
                container_id = (await docker.containers.create(config, name=name)).id
            except DockerError as exc:
                await self.engine.remove_volume(app_volume)
                raise RunnerError(f"Docker could not create the preview container: {exc.message}") from exc
            ip = ""
        container = docker.containers.container(container_id)
        p = DockerPreview(
            preview_id=spec.preview_id,
            project_id=spec.project_id,
            version=spec.version,
            container_id=container_id,
            port=spec.plan.port,
            install=spec.plan.install,
            dev=spec.plan.dev,
            side_ports=list(spec.plan.side_ports),
            page_expected=not spec.plan.has_server,
            home_page=spec.plan.home_page,
            log=log,
            ip=ip,
            app_volume=app_volume,
            deps_volume=deps_volume,
            deps_key=deps_key,
            nonce=nonce,
            claim_volume=claim_volume,
        )
        self._previews[spec.preview_id] = p
        try:
            if slot is None:
                await container.start()
                info = await container.show()
                p.ip = info["NetworkSettings"]["Networks"][network]["IPAddress"]
            await container.put_archive(APP_DIR, upload)
        except (DockerError, KeyError) as exc:
            self._previews.pop(spec.preview_id, None)
            await self.engine.remove_container(container_id)
            await self.engine.remove_volume(app_volume)
            await self.engine.remove_volume(claim_volume)
            message = exc.message if isinstance(exc, DockerError) else f"no address on {network}"
            raise RunnerError(f"Docker could not start the preview: {message}") from exc
        p.started_at = p.phase_at = time.monotonic()
        pooled = " from the warm pool" if slot is not None else ""
        p.emit(f"Preview container started{pooled} ({self._limits_text(spec.plan.cpus)}).", LogLevel.info, "forja")
        p.spawn(self.watch.follow(p))
        p.spawn(self.watch.wait_ready(p))
        if self.config.warm_pool:
            self.pool.used(deps_key, p)
        return p.info(self.name)

    def _limits_text(self, cpus: float | None = None) -> str:
        c = self.config
        return f"memory {human_size(c.memory_bytes, iec=True)}, {cpus or c.nano_cpus / 1e9:g} CPU, {c.pids_limit} processes"

    async def _save_deps(self, p: DockerPreview, dirs: list[str]) -> None:
        if await self.deps.save(p, dirs):
            self.pool.kick()  # pool containers made for this key while it was filled are made again, with it mounted

    async def prune_dependency_caches(self) -> list[str]:
        """Remove this runner's dependency cache volumes that no container uses; returns their names."""
        return await self.deps.prune()

    # -- warm pool ------------------------------------------------------------------------

    @property
    def pool_containers(self) -> list[str]:
        """Ids of the pool containers that are started and waiting to be claimed."""
        return [slot.container_id for slot in self.pool.slots]

    async def warm_up(self) -> list[str]:
        """Fill the warm pool now and wait until it is full; returns pool_containers."""
        await self._ensure_ready()
        await self.pool.filled()
        return self.pool_containers

    # -- the rest of the Runner interface -------------------------------------------------

    def _preview(self, preview_id: str) -> DockerPreview:
        p = self._previews.get(preview_id)
        if p is None:
            raise RunnerError(f"There is no Docker preview {preview_id}.")
        return p

    async def status(self, preview_id: str) -> PreviewInfo:
        return self._preview(preview_id).info(self.name)

    async def push_files(self, preview_id: str, changed: Mapping[str, bytes], deleted: list[str]) -> None:
        await write_files(self.engine, self._preview(preview_id).container_id, changed, deleted)

    async def run_command(self, preview_id: str, command: str, timeout_s: float) -> CommandOutcome:
        p = self._preview(preview_id)
        if p.state != PreviewState.running:
            raise RunnerError(f"The preview is not running (it is {p.state.value}): commands run only in a running preview.")
        return await run_in_container(self.engine, p.container_id, command, timeout_s)

    async def open_shell(self, preview_id: str, cols: int, rows: int) -> Shell:
        p = self._preview(preview_id)
        if p.state != PreviewState.running:
            raise RunnerError(f"The preview is not running (it is {p.state.value}): a terminal opens in a running preview.")
        return await open_container_shell(self.engine, p.container_id, cols, rows)

    async def collect(self, preview_id: str, folder: str, limit_bytes: int) -> dict[str, bytes]:
        p = self._preview(preview_id)
        if p.state != PreviewState.running:
            raise RunnerError(f"The preview is not running (it is {p.state.value}): its files are read while it runs.")
        return await collect_archive(self.engine, p.container_id, folder, limit_bytes)

    # -- parking ----------------------------------------------------------------------------

    def _park_file(self, preview_id: str) -> Path | None:
        park_dir = self.config.park_dir
        return park_file(Path(park_dir), self.config.network, preview_id) if park_dir else None

    async def park(self, preview_id: str) -> PreviewInfo:
        """Keep /app on Forja's disk (parking.py), then stop the container; it and its volumes stay for the wake."""
        p = self._preview(preview_id)
        if p.state != PreviewState.running:
            raise RunnerError(f"Only a running preview can be parked (it is {p.state.value}).")
        target = self._park_file(preview_id)
        if target is None:
            raise RunnerError("this Forja keeps no parked Docker previews (no park folder is set)")
        if p.save_task is not None and not p.save_task.done():
            # The first install's copy into the cache is what lets the wake leave node_modules out: let it finish.
            await asyncio.wait([p.save_task], timeout=self.config.deps_save_timeout_s)
        # With the cache complete, the dependencies come back from it (mounted or restored); else they are kept.
        keep = await self.deps.complete(p.deps_key) is None
        p.app_env = await save_app(
            self.engine, p.container_id, target, keep, self.config.app_size_bytes, self.containers.trusted_ca()
        )
        p.stopping = True
        await p.cancel_tasks()
        docker = await self.engine.client()
        try:
            await docker.containers.container(p.container_id).stop(t=2)
        except DockerError as exc:
            target.unlink(missing_ok=True)
            app_env_marker(target).unlink(missing_ok=True)
            raise RunnerError(f"Docker could not stop the container: {exc.message}") from exc
        p.state, p.ip = PreviewState.parked, ""
        p.settled.set()
        return p.info(self.name)

    async def wake(self, preview_id: str, log: LogSink) -> PreviewInfo:
        """Start the container again and give it back its /app and bootstrap: entry.sh goes on as after a start."""
        p = self._previews.get(preview_id)
        target = self._park_file(preview_id)
        if p is None or p.state != PreviewState.parked or target is None:
            raise RunnerError("That preview is not parked here.")
        if not target.is_file():
            await self.stop(preview_id)
            raise RunnerError("its files are gone")
        await self._ensure_ready()
        docker = await self.engine.client()
        container = docker.containers.container(p.container_id)
        p.woken(log)
        since = int(time.time())
        try:
            await container.start()
            p.ip = (await container.show())["NetworkSettings"]["Networks"][self.config.network]["IPAddress"]
            upload = await asyncio.to_thread(open, target, "rb")
            with upload:
                await container.put_archive(APP_DIR, upload)
            await container.put_archive(APP_DIR, ready_archive(p.app_env))
        except (DockerError, KeyError, OSError) as exc:
            await self.stop(preview_id)
            message = exc.message if isinstance(exc, DockerError) else str(exc) or f"no address on {self.config.network}"
            raise RunnerError(f"Docker could not start it again: {message}") from exc
        target.unlink(missing_ok=True)
        app_env_marker(target).unlink(missing_ok=True)
        p.emit(f"Preview container started again, its files back in place ({self._limits_text()}).", LogLevel.info, "forja")
        p.spawn(self.watch.follow(p, since=since))
        p.spawn(self.watch.wait_ready(p))
        return p.info(self.name)

    async def stop(self, preview_id: str) -> None:
        if (target := self._park_file(preview_id)) is not None:
            target.unlink(missing_ok=True)
            app_env_marker(target).unlink(missing_ok=True)
        p = self._previews.pop(preview_id, None)
        if p is None:
            await self._remove_untracked(preview_id)
            return
        await p.halt(self.config.deps_save_timeout_s)
        await self.engine.remove_container(p.container_id)
        await self.engine.remove_volume(p.app_volume)
        await self.engine.remove_volume(p.claim_volume)

    async def _remove_untracked(self, preview_id: str) -> None:
        """A preview this runner does not track (another process's, or from before a restart): container, volumes, record."""
        name, app_volume = preview_names(self.config.network, preview_id)
        record = claim_name(self.config.network, preview_id)
        docker = await self.engine.client()
        claimed_app_volume = ""
        try:
            claimed_app_volume = ((await docker._query_json(f"volumes/{record}")).get("Labels") or {}).get("forja.app_volume", "")
        except DockerError:
            record = ""
        await self.engine.remove_container(name)
        await self.engine.remove_volume(app_volume)
        await self.engine.remove_volume(claimed_app_volume)
        await self.engine.remove_volume(record)
        if (target := self._park_file(preview_id)) is not None:
            target.unlink(missing_ok=True)
            app_env_marker(target).unlink(missing_ok=True)

    async def adopt(self, log: LogSink | None = None) -> list[PreviewInfo]:
        """Previews of this runner's network still alive after a restart; exited ones are removed.

        Pool containers nobody claimed are removed (the pool is filled again); claimed ones are
        previews like the others, whose identity is in their claim record rather than their labels.
        """
        docker = await self.engine.client()
        await self._ensure_ready()
        network = self.config.network
        adopted: list[PreviewInfo] = []
        records: dict[str, dict[str, Any]] = {}
        claims = await docker.volumes.list(filters={"label": [f"{LABEL_CLAIM}=1", f"{LABEL_NETWORK}={network}"]})
        for volume in claims.get("Volumes") or []:
            records[(volume.get("Labels") or {}).get("forja.container", "")] = volume
        tracked_pool = {slot.container_id for slot in self.pool.slots}
        filters = json.dumps({"label": [f"{LABEL_MANAGED}=1", f"{LABEL_NETWORK}={network}"]})
        for summary in await docker.containers.list(all=True, filters=filters):
            cid = summary.id
            if cid in tracked_pool:
                continue
            try:
                info = await docker.containers.container(cid).show()
            except DockerError:
                continue
            labels = info["Config"].get("Labels") or {}
            app_volume = next((m.get("Name", "") for m in info.get("Mounts") or [] if m.get("Destination") == APP_DIR), "")
            claim_volume = ""
            if labels.get(LABEL_POOL) == "1":
                record = records.pop(cid, None)
                if record is not None:
                    claim_volume = record["Name"]
                    labels = record.get("Labels") or {}
            preview_id = labels.get("forja.preview_id", "")
            running = bool(info["State"].get("Running"))
            target = self._park_file(preview_id) if preview_id else None
            # One parked with variables of its own cannot wake without them, and only the Forja that parked it held them.
            parked = not running and target is not None and target.is_file() and not app_env_marker(target).exists()
            if not (running or parked) or not preview_id:
                await self.engine.remove_container(cid)
                await self.engine.remove_volume(app_volume)
                await self.engine.remove_volume(claim_volume)
                if target is not None:
                    target.unlink(missing_ok=True)
                    app_env_marker(target).unlink(missing_ok=True)
                continue
            if preview_id in self._previews:
                adopted.append(self._previews[preview_id].info(self.name))
                continue
            endpoint = (info["NetworkSettings"].get("Networks") or {}).get(network) or {}
            env = dict(e.split("=", 1) for e in info["Config"].get("Env") or [] if "=" in e)
            p = DockerPreview(
                preview_id=preview_id,
                project_id=labels.get("forja.project_id", ""),
                version=int(labels.get("forja.version", "0") or 0),
                container_id=cid,
                port=int(labels.get("forja.port", "0") or 0),
                log=log or self.default_log_sink,
                ip=endpoint.get("IPAddress", "") if running else "",
                app_volume=app_volume or preview_names(network, preview_id)[1],
                nonce=env.get("FORJA_NONCE", ""),
                claim_volume=claim_volume,
                state=PreviewState.running if running else PreviewState.parked,
                source="dev-server",
            )
            self._previews[preview_id] = p
            if running:
                p.spawn(self.watch.follow(p, since=int(time.time())))
            adopted.append(p.info(self.name))
        # Claim records whose container is gone, with the /app volume they name.
        for cid, record in records.items():
            if not any(p.container_id == cid for p in self._previews.values()):
                await self.engine.remove_volume((record.get("Labels") or {}).get("forja.app_volume", ""))
                await self.engine.remove_volume(record["Name"])
        # Holders left behind by a crash in the middle of caching dependencies.
        holders = json.dumps({"label": ["forja.deps_holder=1", f"{LABEL_NETWORK}={network}"]})
        for summary in await docker.containers.list(all=True, filters=holders):
            await self.engine.remove_container(summary.id)
        # /app volumes of pool containers that were never made (a crash between the volume and its container).
        tracked_volumes = {slot.app_volume for slot in self.pool.slots}
        leftovers = await docker.volumes.list(filters={"label": [f"{LABEL_POOL}=1", f"{LABEL_NETWORK}={network}"]})
        for volume in leftovers.get("Volumes") or []:
            if volume["Name"] not in tracked_volumes and not any(p.app_volume == volume["Name"] for p in self._previews.values()):
                with contextlib.suppress(DockerError):  # in use: a pool container being made right now
                    await (await docker.volumes.get(volume["Name"])).delete()
        self.pool.kick()
        return adopted

    async def stats(self, preview_id: str) -> dict[str, int]:
        """Memory use (bytes), its limit, the process count and CPU time used (ns) of a running preview."""
        return await self.engine.stats(self._preview(preview_id).container_id, self.config.memory_bytes)

    async def memory_bytes(self, preview_id: str) -> int | None:
        """What its container uses now; 0 when it is parked (stopped)."""
        if (p := self._previews.get(preview_id)) is not None and p.state == PreviewState.parked:
            return 0
        try:
            return (await self.stats(preview_id))["memory_bytes"]
        except RunnerError:
            return None

    async def close(self) -> None:
        """Forget the previews (they keep running; adopt() takes them back), remove the pool, close connections."""
        for p in self._previews.values():
            p.stopping = True
            await p.cancel_tasks()
        self._previews.clear()
        await self.pool.close()
        await self.watch.close()
        if self.egress is not None:
            await self.egress.close()
        await self.engine.close()
        self._ready = False
