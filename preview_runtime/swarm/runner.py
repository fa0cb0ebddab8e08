"""SwarmRunner: each preview a Docker Swarm service on a network of its own, reached through the edge (DESIGN.md)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Mapping
from typing import Any

from aiodocker.exceptions import DockerError

from preview_runtime.common import human_size
from preview_runtime.docker.collect import collect_archive
from preview_runtime.docker.command import run_in_container
from preview_runtime.docker.config import nano_cpus
from preview_runtime.docker.container import FRESH_WAIT_S, ContainerSpec, first_upload
from preview_runtime.docker.deps_cache import DependencyCache
from preview_runtime.docker.egress import egress_policy
from preview_runtime.docker.engine import Engine
from preview_runtime.docker.files import write_files
from preview_runtime.docker.layout import APP_DIR, LABEL_MANAGED, LABEL_NETWORK, LABEL_POOL, deps_volume_name, preview_labels
from preview_runtime.docker.preview import DockerPreview
from preview_runtime.docker.readiness import Watch
from preview_runtime.docker.shell import open_container_shell
from preview_runtime.local.egress import EgressProxy
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
from preview_runtime.swarm.config import SwarmConfig
from preview_runtime.swarm.edge import Edge
from preview_runtime.swarm.networks import remove_network
from preview_runtime.swarm.nodes import Node, node_engine, swarm_role, usable_nodes
from preview_runtime.swarm.pool import SwarmPool, SwarmSlot
from preview_runtime.swarm.preview import SwarmPreview
from preview_runtime.swarm.service import (
    LABEL_APP_VOLUME,
    LABEL_NODE,
    LABEL_PREVIEW_NETWORK,
    WRAP,
    Launched,
    Services,
    remove_volumes,
    service_name,
    task_address,
)

log = logging.getLogger(__name__)


class SwarmUnusable(RunnerError):
    """This Forja's engine cannot run swarm previews at all (it is no swarm manager...)."""

    def __init__(self, why: str) -> None:
        super().__init__(f"The swarm runner cannot be used: {why}.")
        self.why = why


class SwarmRunner(Runner):
    """Runs each preview as a hardened one-replica service of the swarm whose manager Forja runs on."""

    name = "swarm"

    def __init__(self, config: SwarmConfig | None = None, *, default_log_sink: LogSink | None = None) -> None:
        self.config = config = config or SwarmConfig()
        self.default_log_sink = default_log_sink or ignore_output
        self.engine = Engine(config)  # Forja's own node's, a manager's: the swarm's services and networks
        self.edge = Edge(self.engine, config, self._egress)
        self.services = Services(self.engine, config, self.edge)
        self.policy = egress_policy(config)
        # Installs from an address no preview of this process has (another Forja process's preview, a pool slot).
        self._unattributed = EgressProxy(self.policy, lambda text: log.info("swarm preview egress: %s", text))
        self.nodes: dict[str, Node] = {}
        self.pools: dict[str, SwarmPool] = {}  # each node's warm pool, by the node's id
        self.local_node = ""
        self._previews: dict[str, SwarmPreview] = {}
        self._setup_lock = asyncio.Lock()
        self._ready = False

    # -- setup ----------------------------------------------------------------------------

    async def problem(self) -> str:
        """Why this runner cannot run previews here, as a sentence, or "" when it can (it gets ready meanwhile)."""
        try:
            await self._ensure_ready()
        except SwarmUnusable as exc:
            return f"{exc.why[:1].upper()}{exc.why[1:]}."
        except RunnerError as exc:
            return str(exc)
        return ""

    async def _ensure_ready(self) -> None:
        async with self._setup_lock:
            if self._ready:
                return
            self.local_node, why = await swarm_role(self.engine)
            if not self.local_node:
                raise SwarmUnusable(why)
            await self._find_nodes()
            await self.edge.ensure(self.nodes[self.local_node].image_id)
            self._ready = True

    async def _find_nodes(self) -> None:
        """The nodes previews may run on, each with its engine's parts; Forja's own node always among them."""
        for info, url in await usable_nodes(self.engine, self.local_node, self.config):
            node_id = info["ID"]
            if node_id in self.nodes:
                continue
            engine = self.engine if not url else node_engine(self.config, url)
            hostname = (info.get("Description") or {}).get("Hostname") or node_id
            containers = ContainerSpec(self.config, self.policy.reading.authority.pem() if self.policy.reading else b"")
            deps = DependencyCache(engine, self.config)
            watch = Watch(engine, self.config, self._save_deps, transport=self.edge.transport(), wrap=WRAP)
            node = Node(node_id, hostname, engine, containers, deps, watch)
            try:
                node.image_id = await engine.image_id()
            except RunnerError as exc:
                if node_id == self.local_node:
                    raise
                log.warning("swarm previews do not run on node %s: %s", hostname, exc)
                await engine.close()
                continue
            containers.seed_dirs = containers.seeds()
            if containers.seed_dirs and (problem := await engine.mount_problem(containers.seed_mounts())):
                log.warning("installs in previews on node %s start without the seeded packages (%s)", hostname, problem)
                containers.seed_dirs = {}
            self.pools[node_id] = SwarmPool(node, self.config, self.services)
            self.nodes[node_id] = node
        if self.local_node not in self.nodes:
            raise SwarmUnusable("Forja's own node is not ready and active in the swarm")

    def _place(self, spec: PreviewSpec) -> tuple[Node, str]:
        """The node for a preview and its dependency cache key there: a node with a pool slot made for that key, else
        one whose cache for it is complete, else the one running fewest previews."""
        keys = {node.id: node.deps.key(spec, node.image_id) for node in self.nodes.values()}
        if spec.plan.mounts:  # its data folders are on Forja's host: it runs on Forja's node
            return self.nodes[self.local_node], keys[self.local_node]
        nodes = sorted(self.nodes.values(), key=lambda node: (node.running, node.id != self.local_node))
        pooled = [n for n in nodes if self.config.warm_pool and self.pools[n.id].has(keys[n.id])]
        cached = [n for n in nodes if keys[n.id] and keys[n.id] in n.deps.complete_caches]
        node = (pooled or cached or nodes)[0]
        return node, keys[node.id]

    # -- start ----------------------------------------------------------------------------

    async def start(self, spec: PreviewSpec, log: LogSink) -> PreviewInfo:
        await self._ensure_ready()
        if spec.preview_id in self._previews:
            await self.stop(spec.preview_id)
        await self._remove_untracked(spec.preview_id)
        node, deps_key = self._place(spec)
        upload = first_upload(spec, deps_key, node.containers.trusted_ca())
        labels = preview_labels(self.config.network, spec)
        placed: SwarmSlot | Launched | None = None
        # A slot was made before anyone knew its mounts and limits (a publish's build has a CPU limit of its own).
        if self.config.warm_pool and not spec.plan.mounts and spec.plan.cpus is None:
            placed = await self.pools[node.id].claim(deps_key, spec)
        if placed is None:
            name = service_name(self.config, spec.preview_id)
            placed = await self.services.launch(
                node, name, labels, deps_key, FRESH_WAIT_S, spec.plan.mounts, nano_cpus(spec.plan.cpus)
            )
        service_id, network_id, container_id = placed.service_id, placed.network_id, placed.container_id
        ip, app_volume, nonce = placed.ip, placed.app_volume, placed.nonce
        p = SwarmPreview(
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
            deps_volume=deps_volume_name(deps_key) if deps_key else "",
            deps_key=deps_key,
            nonce=nonce,
            node_id=node.id,
            service_id=service_id,
            network_id=network_id,
        )
        self._track(p)
        try:
            p.relay = await self.edge.relay(lambda: (p.ip, p.port))
            docker = await node.engine.client()
            await docker.containers.container(container_id).put_archive(APP_DIR, upload)
        except (DockerError, OSError) as exc:
            await self._forget(p)
            await self.services.remove(node, service_id, container_id, network_id, app_volume)
            message = exc.message if isinstance(exc, DockerError) else str(exc)
            raise RunnerError(f"Docker could not start the preview: {message}") from exc
        p.started_at = p.phase_at = time.monotonic()
        pooled = " from the warm pool" if isinstance(placed, SwarmSlot) else ""
        p.emit(
            f"Preview service started{pooled} on node {node.hostname} ({self._limits_text(spec.plan.cpus)}).",
            LogLevel.info,
            "forja",
        )
        p.spawn(node.watch.follow(p))
        p.spawn(node.watch.wait_ready(p))
        if self.config.warm_pool:
            self.pools[node.id].used(deps_key, p)
        return p.info(self.name)

    def _limits_text(self, cpus: float | None = None) -> str:
        c = self.config
        return f"memory {human_size(c.memory_bytes, iec=True)}, {cpus or c.nano_cpus / 1e9:g} CPU, {c.pids_limit} processes"

    def _track(self, p: SwarmPreview) -> None:
        p.egress = EgressProxy(self.policy, lambda text: p.emit(text, LogLevel.warning, "forja"))
        self._previews[p.preview_id] = p
        self.nodes[p.node_id].running += 1

    async def _forget(self, p: SwarmPreview) -> None:
        if self._previews.get(p.preview_id) is p:
            del self._previews[p.preview_id]
            self.nodes[p.node_id].running -= 1
        await p.close_relay()

    async def _save_deps(self, p: DockerPreview, dirs: list[str]) -> None:
        node = self.nodes.get(p.node_id) if isinstance(p, SwarmPreview) else None
        if node is not None and await node.deps.save(p, dirs):
            self.pools[node.id].kick()  # pool services made for this key while it was filled are made again, with it mounted

    async def _egress(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """A preview's install goes out: through its own egress proxy (its refusals are said in its log)."""
        peer = (writer.get_extra_info("peername") or ("",))[0]
        owner = next((p for p in self._previews.values() if p.ip == peer and p.egress is not None), None)
        await (owner.egress if owner is not None and owner.egress is not None else self._unattributed).handle(reader, writer)

    # -- the rest of the Runner interface -------------------------------------------------

    def _preview(self, preview_id: str) -> SwarmPreview:
        p = self._previews.get(preview_id)
        if p is None:
            raise RunnerError(f"There is no swarm preview {preview_id}.")
        return p

    async def status(self, preview_id: str) -> PreviewInfo:
        return self._preview(preview_id).info(self.name)

    async def push_files(self, preview_id: str, changed: Mapping[str, bytes], deleted: list[str]) -> None:
        p = self._preview(preview_id)
        await write_files(self.nodes[p.node_id].engine, p.container_id, changed, deleted, wrap=WRAP)

    async def run_command(self, preview_id: str, command: str, timeout_s: float) -> CommandOutcome:
        p = self._preview(preview_id)
        if p.state != PreviewState.running:
            raise RunnerError(f"The preview is not running (it is {p.state.value}): commands run only in a running preview.")
        return await run_in_container(self.nodes[p.node_id].engine, p.container_id, command, timeout_s, wrap=WRAP)

    async def open_shell(self, preview_id: str, cols: int, rows: int) -> Shell:
        """In the task's container on its node, through that node's engine, as a command runs there."""
        p = self._preview(preview_id)
        if p.state != PreviewState.running:
            raise RunnerError(f"The preview is not running (it is {p.state.value}): a terminal opens in a running preview.")
        return await open_container_shell(self.nodes[p.node_id].engine, p.container_id, cols, rows, wrap=WRAP)

    async def collect(self, preview_id: str, folder: str, limit_bytes: int) -> dict[str, bytes]:
        """From the container on its node, through that node's engine, as the Docker runner reads its own."""
        p = self._preview(preview_id)
        if p.state != PreviewState.running:
            raise RunnerError(f"The preview is not running (it is {p.state.value}): its files are read while it runs.")
        return await collect_archive(self.nodes[p.node_id].engine, p.container_id, folder, limit_bytes)

    async def stop(self, preview_id: str) -> None:
        p = self._previews.get(preview_id)
        if p is None:
            await self._remove_untracked(preview_id)
            return
        await p.halt(self.config.deps_save_timeout_s)
        await self._forget(p)
        await self.services.remove(self.nodes[p.node_id], p.service_id, p.container_id, p.network_id, p.app_volume)

    async def _services(self, *labels: str) -> list[Mapping[str, Any]]:
        docker = await self.engine.client()
        filters = {"label": [f"{LABEL_MANAGED}=1", f"{LABEL_NETWORK}={self.config.network}", *labels]}
        return list(await docker.services.list(filters=filters))

    async def _remove_service(self, service: Mapping[str, Any]) -> None:
        """A service this runner does not track (another process's, or from before a restart), with all it made."""
        labels = service["Spec"].get("Labels") or {}
        node = self.nodes.get(labels.get(LABEL_NODE, ""))
        docker = await self.engine.client()
        container_id = ""
        with contextlib.suppress(DockerError):
            for task in await docker.tasks.list(filters={"service": service["ID"]}):
                container_id = ((task.get("Status") or {}).get("ContainerStatus") or {}).get("ContainerID", "") or container_id
        if node is None:  # on a node Forja cannot reach: the swarm removes its task, the node keeps its volumes
            with contextlib.suppress(DockerError):
                await docker._query_json(f"services/{service['ID']}", method="DELETE")
            await remove_network(self.engine, labels.get(LABEL_PREVIEW_NETWORK, ""))
            return
        await self.services.remove(
            node, service["ID"], container_id, labels.get(LABEL_PREVIEW_NETWORK, ""), labels.get(LABEL_APP_VOLUME, "")
        )

    async def _remove_untracked(self, preview_id: str) -> None:
        for service in await self._services(f"forja.preview_id={preview_id}"):
            await self._remove_service(service)

    async def adopt(self, log: LogSink | None = None) -> list[PreviewInfo]:
        """Previews of this runner still running after a restart; the rest of what it made is removed.

        Pool services nobody claimed are removed (the pools are filled again); claimed ones are previews like the
        others, whose identity is in their service's labels.
        """
        await self._ensure_ready()
        docker = await self.engine.client()
        adopted: list[PreviewInfo] = []
        pool_services = {slot.service_id for pool in self.pools.values() for slot in pool.slots}
        for service in await self._services():
            labels = service["Spec"].get("Labels") or {}
            preview_id = labels.get("forja.preview_id", "")
            if service["ID"] in pool_services:
                continue
            if preview_id in self._previews:
                adopted.append(self._previews[preview_id].info(self.name))
                continue
            node = self.nodes.get(labels.get(LABEL_NODE, ""))
            task = await self._running(service["ID"]) if node is not None and preview_id else None
            if node is None or task is None or (labels.get(LABEL_POOL) == "1" and labels.get("forja.claim") != "1"):
                await self._remove_service(service)
                continue
            container_id = task["Status"]["ContainerStatus"]["ContainerID"]
            network_id = labels.get(LABEL_PREVIEW_NETWORK, "")
            try:
                info = await (await node.engine.client()).containers.container(container_id).show()
                ip = task_address(task, network_id)
            except (DockerError, RunnerError):
                await self._remove_service(service)
                continue
            # The swarm reports a task's end a moment after its container's: a container that exited is an ended
            # preview, whatever the task still says.
            if not (info.get("State") or {}).get("Running"):
                await self._remove_service(service)
                continue
            env = dict(e.split("=", 1) for e in info["Config"].get("Env") or [] if "=" in e)
            p = SwarmPreview(
                preview_id=preview_id,
                project_id=labels.get("forja.project_id", ""),
                version=int(labels.get("forja.version", "0") or 0),
                container_id=container_id,
                port=int(labels.get("forja.port", "0") or 0),
                log=log or self.default_log_sink,
                ip=ip,
                app_volume=labels.get(LABEL_APP_VOLUME, ""),
                nonce=env.get("FORJA_NONCE", ""),
                state=PreviewState.running,
                source="dev-server",
                node_id=node.id,
                service_id=service["ID"],
                network_id=network_id,
            )
            self._track(p)
            p.relay = await self.edge.relay(lambda p=p: (p.ip, p.port))
            p.spawn(node.watch.follow(p, since=int(time.time())))
            adopted.append(p.info(self.name))
        # Networks left by a crash between making a network and its service.
        in_use = {p.network_id for p in self._previews.values()} | {
            slot.network_id for pool in self.pools.values() for slot in pool.slots
        }
        networks = await docker.networks.list(
            filters={"label": [f"{LABEL_NETWORK}={self.config.network}", f"{LABEL_PREVIEW_NETWORK}=1"]}
        )
        for network in networks:
            if network["Id"] not in in_use:
                await self.edge.detach(network["Id"])
                await remove_network(self.engine, network["Id"])
        for node in self.nodes.values():
            await self._remove_leftovers(node)
            self.pools[node.id].kick()
        return adopted

    async def _running(self, service_id: str) -> Mapping[str, Any] | None:
        docker = await self.engine.client()
        with contextlib.suppress(DockerError):
            for task in await docker.tasks.list(filters={"service": service_id, "desired-state": "running"}):
                status = task.get("Status") or {}
                if status.get("State") == "running" and (status.get("ContainerStatus") or {}).get("ContainerID"):
                    return task
        return None

    async def _remove_leftovers(self, node: Node) -> None:
        """Volumes of services that are gone, and holders left by a crash while caching dependencies, on a node."""
        docker = await node.engine.client()
        kept = {p.app_volume for p in self._previews.values()}
        kept |= {slot.app_volume for slot in self.pools[node.id].slots}
        listing = await docker.volumes.list(filters={"label": [f"{LABEL_NETWORK}={self.config.network}"]})
        for app_volume in {(v.get("Labels") or {}).get(LABEL_APP_VOLUME, "") for v in listing.get("Volumes") or []}:
            if app_volume and app_volume not in kept:
                await remove_volumes(node.engine, app_volume)
        holders = {"label": ["forja.deps_holder=1", f"{LABEL_NETWORK}={self.config.network}"]}
        for summary in await docker.containers.list(all=True, filters=holders):
            await node.engine.remove_container(summary.id)

    async def stats(self, preview_id: str) -> dict[str, int]:
        """Memory use (bytes), its limit, the process count and CPU time used (ns) of a running preview."""
        p = self._preview(preview_id)
        return await self.nodes[p.node_id].engine.stats(p.container_id, self.config.memory_bytes)

    async def memory_bytes(self, preview_id: str) -> int | None:
        try:
            return (await self.stats(preview_id))["memory_bytes"]
        except RunnerError:
            return None

    async def prune_dependency_caches(self) -> list[str]:
        """Remove this runner's dependency cache volumes that no container uses, on every node; their names."""
        removed: list[str] = []
        for node in self.nodes.values():
            removed += await node.deps.prune()
        return removed

    async def warm_up(self) -> list[str]:
        """Fill the warm pools now and wait until they are full; returns the pool services' ids."""
        await self._ensure_ready()
        for pool in self.pools.values():
            await pool.filled()
        return [slot.service_id for pool in self.pools.values() for slot in pool.slots]

    async def close(self) -> None:
        """Forget the previews (they keep running; adopt() takes them back), remove the pools, close connections."""
        for p in list(self._previews.values()):
            p.stopping = True
            await p.cancel_tasks()
            await p.close_relay()
        self._previews.clear()
        for pool in self.pools.values():
            await pool.close()
        self.pools.clear()
        for node in self.nodes.values():
            await node.watch.close()
            if node.engine is not self.engine:
                await node.engine.close()
        self.nodes.clear()
        await self.edge.close()
        await self.engine.close()
        self._ready = False
