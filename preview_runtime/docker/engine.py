"""The Docker engine as the runner uses it: one client, the previews' network, volumes and removals."""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from dataclasses import dataclass
from typing import Any

import aiodocker
from aiodocker.exceptions import DockerError

from preview_runtime.docker.config import DockerConfig
from preview_runtime.docker.layout import LABEL_MANAGED, LABEL_NETWORK, PREVIEW_UID
from preview_runtime.runner import RunnerError


@dataclass(frozen=True)
class Network:
    """The previews' bridge network: its interface on the host (firewall rules hang on it) and addresses."""

    bridge: str
    gateway: str
    subnet: str


def _bridge_of(info: dict[str, Any]) -> str:
    return (info.get("Options") or {}).get("com.docker.network.bridge.name") or f"br-{info['Id'][:12]}"


def tmpfs_volume(options: str) -> dict[str, str]:
    """The local volume driver's options for a volume that is a tmpfs mounted with `options`."""
    return {"type": "tmpfs", "device": "tmpfs", "o": options}


class Engine:
    def __init__(self, config: DockerConfig) -> None:
        self.config = config
        self._docker: aiodocker.Docker | None = None

    @property
    def connected(self) -> bool:
        return self._docker is not None

    async def client(self) -> aiodocker.Docker:
        if self._docker is None:
            try:
                self._docker = aiodocker.Docker(url=self.config.docker_url) if self.config.docker_url else aiodocker.Docker()
            except (ValueError, OSError) as exc:
                raise RunnerError(f"Docker cannot be reached: {exc}") from exc
        return self._docker

    async def close(self) -> None:
        if self._docker is not None:
            await self._docker.close()
            self._docker = None

    async def image_id(self) -> str:
        docker = await self.client()
        try:
            image = await docker.images.inspect(self.config.image)
        except DockerError as exc:
            if exc.status == 404:
                raise RunnerError(
                    f"The preview image {self.config.image} is not installed: build it with "
                    "preview_runtime/images/build_offline.sh (or docker build preview_runtime/images)."
                ) from exc
            raise RunnerError(f"Docker cannot be reached: {exc.message}") from exc
        return image["Id"]

    async def mount_problem(self, mounts: list[dict[str, Any]]) -> str | None:
        """Why the engine cannot bind these host folders, or None: a container created but never started tells.

        They are folders on Forja's machine; an engine that sees another file system (a remote engine,
        Forja in a container of its own) would fail every preview that mounts them.
        """
        docker = await self.client()
        config = {
            "Image": self.config.image,
            "Cmd": ["true"],
            "NetworkDisabled": True,
            "Labels": {LABEL_NETWORK: self.config.network},
            "HostConfig": {"NetworkMode": "none", "Mounts": mounts},
        }
        try:
            probe = await docker.containers.create(config, name=f"forja-seed-probe-{secrets.token_hex(4)}")
        except DockerError as exc:
            return exc.message
        with contextlib.suppress(DockerError):
            await probe.delete(force=True)
        return None

    async def ensure_network(self) -> Network:
        """The previews' network, created as a bridge with inter-container traffic off when it is missing."""
        docker = await self.client()
        network = self.config.network
        try:
            info = await (await docker.networks.get(network)).show()
        except DockerError as exc:
            if exc.status != 404:
                raise RunnerError(f"Docker cannot be reached: {exc.message}") from exc
            try:
                await docker.networks.create(
                    {
                        "Name": network,
                        "Driver": "bridge",
                        "CheckDuplicate": True,
                        "Internal": False,
                        "EnableIPv6": False,
                        "Options": {
                            "com.docker.network.bridge.enable_icc": "false",
                            "com.docker.network.bridge.enable_ip_masquerade": "true",
                        },
                        "Labels": {LABEL_MANAGED: "1"},
                    }
                )
            except DockerError as create_exc:
                if create_exc.status != 409:  # created concurrently by another runner
                    raise RunnerError(f"Forja could not create the Docker network {network}: {create_exc.message}") from None
            info = await (await docker.networks.get(network)).show()
        options = info.get("Options") or {}
        if info.get("Driver") != "bridge" or options.get("com.docker.network.bridge.enable_icc") != "false":
            raise RunnerError(
                f"The Docker network {network} exists but is not a bridge with inter-container traffic off; "
                "remove it (docker network rm) and Forja will create it properly."
            )
        configs = (info.get("IPAM") or {}).get("Config") or [{}]
        return Network(_bridge_of(info), configs[0].get("Gateway", ""), configs[0].get("Subnet", ""))

    async def existing_bridge(self) -> str:
        """The bridge of the previews' network when it exists, else ""; creates nothing."""
        docker = await self.client()
        try:
            info = await (await docker.networks.get(self.config.network)).show()
        except DockerError:
            return ""
        return _bridge_of(info)

    def app_volume_options(self) -> dict[str, str]:
        """The local driver's options of an /app volume: tmpfs, size-limited, owned by the preview user."""
        return tmpfs_volume(f"size={self.config.app_size_bytes},uid={PREVIEW_UID},gid={PREVIEW_UID},mode=0755,nosuid,nodev")

    async def create_app_volume(self, name: str, labels: dict[str, str]) -> None:
        """A tmpfs-backed volume for /app (a volume, not --tmpfs: see DESIGN.md)."""
        docker = await self.client()
        try:
            await docker.volumes.create(
                {
                    "Name": name,
                    "Driver": "local",
                    "DriverOpts": self.app_volume_options(),
                    "Labels": labels,
                }
            )
        except DockerError as exc:
            raise RunnerError(f"Docker could not create the preview's /app volume: {exc.message}") from exc

    async def remove_container(self, ref: str) -> None:
        docker = await self.client()
        with contextlib.suppress(DockerError):
            await docker.containers.container(ref).delete(force=True, v=True)

    async def stats(self, container_id: str, memory_limit: int) -> dict[str, int]:
        """Memory use (bytes, page cache left out), its limit, the process count and CPU time used (ns) of a running
        container; `memory_limit` when the engine reports none."""
        docker = await self.client()
        try:
            data = await docker._query_json(f"containers/{container_id}/stats", params={"stream": "0", "one-shot": "1"})
        except DockerError as exc:
            raise RunnerError(f"Docker could not report on the preview: {exc.message}") from exc
        memory = data.get("memory_stats") or {}
        usage = int(memory.get("usage") or 0)
        cache = int(
            (memory.get("stats") or {}).get("total_inactive_file") or (memory.get("stats") or {}).get("inactive_file") or 0
        )
        return {
            "memory_bytes": max(usage - cache, 0),
            "memory_limit_bytes": int(memory.get("limit") or memory_limit),
            "pids": int((data.get("pids_stats") or {}).get("current") or 0),
            "cpu_ns": int(((data.get("cpu_stats") or {}).get("cpu_usage") or {}).get("total_usage") or 0),
        }

    async def remove_volume(self, name: str) -> None:
        if not name:
            return
        docker = await self.client()
        for attempt in range(10):
            try:
                await (await docker.volumes.get(name)).delete()
                return
            except DockerError as exc:
                if exc.status == 404:
                    return
                if attempt == 9:
                    return
                await asyncio.sleep(0.2)  # the container is still going away
