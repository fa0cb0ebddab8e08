"""A preview as a Swarm service: one replica on a chosen node, configured as the Docker runner's container is.

The task's container gets what DockerRunner's gets (the image, user, entry script, environment, /app volume,
dependency cache and seed mounts, read-only root, no capabilities, memory, CPU, process and file limits, capped
logs, IPv6 off), translated into a service's TaskTemplate. What Docker 20.10's service API cannot say, and what
stands in for it (DESIGN.md):

- no-new-privileges: the container's first process (before tini) and every command Forja runs in it start under
  `setpriv --no-new-privs` (WRAP), so no process of the preview gains privileges through a setuid program;
- tmpfs with an owner or without noexec: the scratch folders (/tmp, the home, the tool folders) are tmpfs-backed
  volumes made on the node like /app, mounted with the Docker runner's options;
- MemorySwap: a service's container may swap as much as its memory limit again where the node has swap on.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from aiodocker.exceptions import DockerError

from preview_runtime.docker.container import Scratch, entry_command, tmpfs_options
from preview_runtime.docker.engine import Engine, tmpfs_volume
from preview_runtime.docker.layout import APP_DIR, LABEL_MANAGED, LABEL_NETWORK, PREVIEW_UID, safe_name
from preview_runtime.local.network import EGRESS_PORT, proxy_env
from preview_runtime.plan import Mount
from preview_runtime.runner import RunnerError
from preview_runtime.swarm.config import SwarmConfig
from preview_runtime.swarm.edge import EDGE_ALIAS, Edge
from preview_runtime.swarm.networks import create_network, remove_network
from preview_runtime.swarm.nodes import Node

WRAP = ("setpriv", "--no-new-privs")
LABEL_APP_VOLUME = "forja.app_volume"  # on a preview's service and on every volume it made on its node
LABEL_NODE = "forja.node"
LABEL_PREVIEW_NETWORK = "forja.preview_network"
_ENDED = {"complete", "failed", "shutdown", "rejected", "orphaned", "remove"}


@dataclass
class Launched:
    """A preview's service whose task runs: where, and what it is made of."""

    service_id: str
    name: str
    network_id: str
    container_id: str
    ip: str
    app_volume: str
    nonce: str
    deps_mounted: bool


def service_name(config: SwarmConfig, preview_id: str) -> str:
    # A service's name is a DNS label on its network: at most 63 characters.
    return f"{config.network}-{safe_name(preview_id)}"[:63].rstrip("-.")


class Services:
    """Makes and removes preview services; the manager's engine holds the swarm's state, a node's engine its files."""

    def __init__(self, engine: Engine, config: SwarmConfig, edge: Edge) -> None:
        self.engine = engine
        self.config = config
        self.edge = edge

    async def launch(
        self,
        node: Node,
        name: str,
        labels: dict[str, str],
        deps_key: str,
        wait_s: int,
        data: Sequence[Mount] = (),
        nano_cpus: int | None = None,
    ) -> Launched:
        """A service for one preview (or a pool slot) on `node`, its task started and waiting for its files; the app's
        `data` folders bound in (they are on Forja's host: `node` must be Forja's own); `nano_cpus`: its CPU limit in
        place of the config's (RunPlan.cpus)."""
        token = secrets.token_hex(5)
        network_name = f"{self.config.network}--n-{token}"  # "--": no preview's own name has it (safe_name)
        app_volume = f"{self.config.network}.app-{token}"
        nonce = secrets.token_hex(6)
        deps_volume = await node.deps.ensure_volume(deps_key) if deps_key else ""
        cache = await node.deps.complete(deps_key)
        mounts = node.containers.mounts(app_volume, deps_volume, cache, data)
        env = node.containers.env(nonce, wait_s, cache is not None)
        env += [f"{k}={v}" for k, v in proxy_env(f"http://{EDGE_ALIAS}:{EGRESS_PORT}").items()]
        network_id = service_id = container_id = ""
        try:
            network_id = await create_network(
                self.engine, network_name, {LABEL_NETWORK: self.config.network, LABEL_PREVIEW_NETWORK: "1"}
            )
            await self.edge.attach(network_id)
            spec = {
                "Name": name,
                "Labels": {
                    **labels,
                    LABEL_MANAGED: "1",
                    LABEL_NETWORK: self.config.network,
                    LABEL_NODE: node.id,
                    LABEL_APP_VOLUME: app_volume,
                    LABEL_PREVIEW_NETWORK: network_id,
                },
                "TaskTemplate": self._task_template(node, env, mounts, app_volume, network_id, nano_cpus),
                "Mode": {"Replicated": {"Replicas": 1}},
                # DNS round robin: no virtual IP, so no load balancer endpoint on the preview's network.
                "EndpointSpec": {"Mode": "dnsrr"},
            }
            docker = await self.engine.client()
            service_id = (await docker._query_json("services/create", method="POST", data=spec))["ID"]
            container_id, ip = await self._running_task(service_id, network_id)
        except BaseException as exc:  # cancelled included: leave nothing half made
            await self.remove(node, service_id, container_id, network_id, app_volume)
            if isinstance(exc, DockerError):
                raise RunnerError(f"Docker could not start the preview's service: {exc.message}") from exc
            raise
        return Launched(service_id, name, network_id, container_id, ip, app_volume, nonce, cache is not None)

    def _task_template(
        self,
        node: Node,
        env: list[str],
        mounts: list[dict[str, Any]],
        app_volume: str,
        network_id: str,
        nano_cpus: int | None = None,
    ) -> dict[str, Any]:
        c = self.config
        volume_labels = {LABEL_NETWORK: c.network, LABEL_APP_VOLUME: app_volume}
        service_mounts = []
        for mount in mounts:
            if mount["Target"] == APP_DIR:
                driver = {"Name": "local", "Options": node.engine.app_volume_options()}
                mount = {**mount, "VolumeOptions": {"DriverConfig": driver, "Labels": volume_labels}}
            service_mounts.append(mount)
        for scratch in node.containers.scratch(mounts):
            service_mounts.append(_scratch_mount(scratch, app_volume, volume_labels))
        return {
            "ContainerSpec": {
                "Image": node.image_id,  # by id: the node never tries to pull it from a registry
                # Before tini: every process of the container descends from it, tini included.
                "Command": [*WRAP, *entry_command()],
                "Env": env,
                "User": f"{PREVIEW_UID}:{PREVIEW_UID}",
                "Dir": APP_DIR,
                "Hostname": "preview",
                "Labels": {LABEL_NETWORK: c.network},
                "ReadOnly": True,
                "Mounts": service_mounts,
                "CapabilityDrop": ["ALL"],
                "Sysctls": {"net.ipv6.conf.all.disable_ipv6": "1"},
                "Ulimits": [{"Name": "nofile", "Soft": c.nofile_limit, "Hard": c.nofile_limit}] if c.nofile_limit else [],
                "StopGracePeriod": int(c.stop_grace_s * 1e9),
            },
            "Resources": {"Limits": {"MemoryBytes": c.memory_bytes, "NanoCPUs": nano_cpus or c.nano_cpus, "Pids": c.pids_limit}},
            "RestartPolicy": {"Condition": "none"},
            "Placement": {"Constraints": [f"node.id=={node.id}"]},
            "Networks": [{"Target": network_id}],
            "LogDriver": {"Name": "json-file", "Options": {"max-size": c.log_max_size, "max-file": str(c.log_max_file)}},
        }

    async def _running_task(self, service_id: str, network_id: str) -> tuple[str, str]:
        """(container id, address on its network) once the service's task runs; RunnerError if it ends or never runs."""
        docker = await self.engine.client()
        async with asyncio.timeout(self.config.start_timeout_s):
            while True:
                for task in await docker.tasks.list(filters={"service": service_id}):
                    status = task.get("Status") or {}
                    state = status.get("State", "")
                    if state in _ENDED:
                        why = status.get("Err") or status.get("Message") or state
                        raise RunnerError(f"The swarm could not run the preview: {why}")
                    container_id = (status.get("ContainerStatus") or {}).get("ContainerID", "")
                    if state == "running" and container_id:
                        return container_id, task_address(task, network_id)
                await asyncio.sleep(0.1)

    async def relabel(self, service_id: str, labels: dict[str, str]) -> None:
        """Set labels of a service: only the service's own, so its task goes on running untouched."""
        docker = await self.engine.client()
        try:
            service = await docker._query_json(f"services/{service_id}")
            spec = service["Spec"]
            spec["Labels"] = {**(spec.get("Labels") or {}), **labels}
            await docker._query_json(
                f"services/{service_id}/update", method="POST", data=spec, params={"version": service["Version"]["Index"]}
            )
        except (DockerError, KeyError) as exc:
            raise RunnerError(f"Docker could not claim the service: {exc}") from exc

    async def remove(self, node: Node, service_id: str, container_id: str, network_id: str, app_volume: str) -> None:
        """The service, its container, the edge's place on its network, the network and the volumes on its node."""
        docker = await self.engine.client()
        if service_id:
            with contextlib.suppress(DockerError):
                await docker._query_json(f"services/{service_id}", method="DELETE")
        if container_id:
            # Sooner than waiting for the node's agent to stop and remove it; the volumes are free once it is gone.
            await node.engine.remove_container(container_id)
        if network_id:
            await self.edge.detach(network_id)
            await remove_network(self.engine, network_id)
        if app_volume:
            await remove_volumes(node.engine, app_volume)


def _scratch_mount(scratch: Scratch, app_volume: str, labels: dict[str, str]) -> dict[str, Any]:
    """A scratch tmpfs as a volume of the node: a service's own tmpfs mounts cannot be owned by the preview user and
    are always noexec on 20.10."""
    name = f"{app_volume}-{safe_name(scratch.target.strip('/').replace('/', '-'))}"
    options = tmpfs_volume(tmpfs_options(scratch).removeprefix("rw,"))
    return {
        "Type": "volume",
        "Source": name,
        "Target": scratch.target,
        # Empty, as a tmpfs is: not filled with what the image has at that path.
        "VolumeOptions": {"NoCopy": True, "DriverConfig": {"Name": "local", "Options": options}, "Labels": labels},
    }


def task_address(task: Mapping[str, Any], network_id: str) -> str:
    for attachment in task.get("NetworksAttachments") or []:
        if (attachment.get("Network") or {}).get("ID") == network_id:
            for address in attachment.get("Addresses") or []:
                return address.split("/", 1)[0]
    raise RunnerError("The preview's task has no address on its network.")


async def remove_volumes(engine: Engine, app_volume: str) -> None:
    """Every volume a preview's service made on its node (they carry its /app volume's name)."""
    docker = await engine.client()
    with contextlib.suppress(DockerError):
        listing = await docker.volumes.list(filters={"label": [f"{LABEL_APP_VOLUME}={app_volume}"]})
        for volume in listing.get("Volumes") or []:
            await engine.remove_volume(volume["Name"])
