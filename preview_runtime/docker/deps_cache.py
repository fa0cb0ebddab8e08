"""Dependency caches: installed node_modules and .venv kept in read-only volumes, keyed by what decides them."""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import tempfile
import time
from dataclasses import dataclass
from typing import IO

import aiohttp
from aiodocker.exceptions import DockerError

from preview_runtime.common import human_size
from preview_runtime.docker.config import DockerConfig
from preview_runtime.docker.engine import Engine
from preview_runtime.docker.layout import (
    APP_DIR,
    CACHED_DIRS,
    DEPS_DIR,
    LABEL_NETWORK,
    TOOL_DIRS,
    deps_marker_name,
    deps_volume_name,
    tar_files,
)
from preview_runtime.docker.preview import DockerPreview
from preview_runtime.logs import LogLevel
from preview_runtime.plan import dependency_key
from preview_runtime.runner import PreviewSpec, RunnerError

_CHUNK = 1 << 20


@dataclass(frozen=True)
class CompleteCache:
    """A dependency cache that is complete: where its volume lies on the Docker host and what it holds."""

    host_path: str
    dirs: tuple[str, ...]


class DependencyCache:
    def __init__(self, engine: Engine, config: DockerConfig) -> None:
        self.engine = engine
        self.config = config
        self.complete_caches: dict[str, CompleteCache] = {}  # known complete, by key
        self._locks: dict[str, asyncio.Lock] = {}

    def key(self, spec: PreviewSpec, image_id: str) -> str:
        """The cache key of a preview's dependencies; "" when they are not cached."""
        plan = spec.plan
        if not (self.config.deps_cache and plan.install and plan.lockfile_hash_inputs):
            return ""
        scope = self.config.deps_cache_scope
        project = spec.project_id if scope == "project" else ""
        return dependency_key(plan, spec.files, [scope, project, image_id])

    async def ensure_volume(self, deps_key: str) -> str:
        docker = await self.engine.client()
        name = deps_volume_name(deps_key)
        with contextlib.suppress(DockerError):  # exists already: the same volume is returned
            await docker.volumes.create(
                {"Name": name, "Labels": {"forja.deps": "1", "forja.deps_key": deps_key, LABEL_NETWORK: self.config.network}}
            )
        return name

    async def complete(self, deps_key: str) -> CompleteCache | None:
        """The cache of `deps_key` when it is complete and lies in a local volume on the Docker host; else None.

        Completeness is recorded as a small marker volume, written after the cache itself, so a
        restarted Forja knows it without looking inside.
        """
        if not deps_key:
            return None
        if (known := self.complete_caches.get(deps_key)) is not None:
            return known
        docker = await self.engine.client()
        try:
            marker = await docker._query_json(f"volumes/{deps_marker_name(deps_key)}")
            volume = await docker._query_json(f"volumes/{deps_volume_name(deps_key)}")
        except DockerError:
            return None
        host_path = volume.get("Mountpoint") or ""
        dirs = tuple(d for d in ((marker.get("Labels") or {}).get("forja.deps_dirs") or "").split() if d in CACHED_DIRS)
        if volume.get("Driver") != "local" or not host_path.startswith("/") or not dirs:
            return None
        self.complete_caches[deps_key] = cache = CompleteCache(host_path, dirs)
        return cache

    async def save(self, p: DockerPreview, dirs: list[str]) -> bool:
        """Copy freshly installed dependencies into the cache (once the preview answers); True once it is complete."""
        try:
            async with self._locks.setdefault(p.deps_key, asyncio.Lock()):
                started = time.monotonic()
                saved = await self._copy_to_volume(p, dirs)
                if saved:
                    took = time.monotonic() - started
                    p.emit(
                        f"Dependencies cached for the next start ({human_size(saved, iec=True)}, {took:.1f} s).",
                        LogLevel.info,
                        "forja",
                    )
            return await self.complete(p.deps_key) is not None
        except Exception as exc:  # the cache is an optimisation: never fail the preview for it
            if not p.stopping:
                p.emit(f"Forja could not cache the dependencies: {exc}", LogLevel.warning, "forja")
            return False

    async def _copy_to_volume(self, p: DockerPreview, dirs: list[str]) -> int:
        docker = await self.engine.client()
        holder = await docker.containers.create(
            {
                "Image": self.config.image,
                "Cmd": ["true"],
                "Labels": {"forja.deps_holder": "1", LABEL_NETWORK: self.config.network},
                "NetworkDisabled": True,
                "HostConfig": {
                    "NetworkMode": "none",
                    "Mounts": [{"Type": "volume", "Source": p.deps_volume, "Target": DEPS_DIR}],
                },
            },
            name=f"forja-deps-holder-{secrets.token_hex(4)}",
        )
        total = 0
        try:
            try:
                await holder.get_archive(f"{DEPS_DIR}/.forja-complete")
                return 0  # another preview filled it meanwhile
            except DockerError:
                pass
            for d in dirs:
                with tempfile.TemporaryFile() as spool:
                    limit = self.config.deps_cache_max_bytes - total
                    total += await self._read_archive(p.container_id, f"{APP_DIR}/{d}", spool, limit)
                    spool.seek(0)
                    await holder.put_archive(DEPS_DIR, spool)
            # Mount points for the tool folders' tmpfs: the cache is mounted read-only, so they must exist in it.
            tool_dirs = [f"node_modules/{d}" for d in TOOL_DIRS] if "node_modules" in dirs else []
            await holder.put_archive(DEPS_DIR, tar_files({".forja-complete": p.deps_key.encode()}, dirs=tool_dirs))
            await docker.volumes.create(
                {
                    "Name": deps_marker_name(p.deps_key),
                    "Labels": {
                        "forja.deps_marker": "1",
                        "forja.deps_key": p.deps_key,
                        "forja.deps_dirs": " ".join(dirs),
                        LABEL_NETWORK: self.config.network,
                    },
                }
            )
        finally:
            with contextlib.suppress(DockerError):
                await holder.delete(force=True)
        return total

    async def _read_archive(self, container_id: str, path: str, spool: IO[bytes], limit: int) -> int:
        """Write get_archive(path) of a container into spool; returns its size. RunnerError past `limit` bytes.

        Docker holds the container's lock until the archive is read to the end or the connection
        closes (see DESIGN.md): whatever ends this early, the connection is closed here, never left
        open with unread data. aiodocker's _query() hands the response over without closing it on
        an exception, and aiohttp stops reading a socket whose buffer nobody drains.
        """
        docker = await self.engine.client()
        size = 0
        async with docker._query(
            f"containers/{container_id}/archive",
            method="GET",
            params={"path": path},
            timeout=aiohttp.ClientTimeout(total=None, sock_connect=30, sock_read=120),
        ) as response:
            try:
                async for chunk in response.content.iter_chunked(_CHUNK):
                    size += len(chunk)
                    if size > limit:
                        raise RunnerError(
                            f"the dependencies are larger than {human_size(self.config.deps_cache_max_bytes, iec=True)}"
                        )
                    spool.write(chunk)
            except BaseException:
                response.close()  # drops the connection: dockerd's copy stops and the container's lock is released
                raise
            response.release()
        return size

    async def prune(self) -> list[str]:
        """Remove this runner's dependency cache volumes that no container uses; returns their names."""
        docker = await self.engine.client()
        removed = []
        listing = await docker.volumes.list(filters={"label": ["forja.deps=1", f"{LABEL_NETWORK}={self.config.network}"]})
        for vol in listing.get("Volumes") or []:
            with contextlib.suppress(DockerError):  # in use: kept
                await (await docker.volumes.get(vol["Name"])).delete()
                removed.append(vol["Name"])
                deps_key = (vol.get("Labels") or {}).get("forja.deps_key", "")
                self.complete_caches.pop(deps_key, None)
                await self.engine.remove_volume(deps_marker_name(deps_key))
        return removed
