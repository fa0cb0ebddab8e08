"""The warm pool: previews' containers made and started ahead, each for one dependency cache key (see DESIGN.md).

WarmPool keeps the pool in line with the most recent starts; how a slot is made, claimed and removed is its
subclass's: DockerPool's slots are containers, the swarm runner's are services.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from abc import ABC, abstractmethod
from collections import Counter
from collections.abc import Coroutine
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from aiodocker.exceptions import DockerError

from preview_runtime.docker.config import DockerConfig
from preview_runtime.docker.container import POOL_WAIT_S, ContainerSpec
from preview_runtime.docker.deps_cache import DependencyCache
from preview_runtime.docker.engine import Engine
from preview_runtime.docker.layout import (
    LABEL_CLAIM,
    LABEL_MANAGED,
    LABEL_NETWORK,
    LABEL_POOL,
    LABEL_POOL_DEPS,
    claim_name,
    preview_labels,
    preview_names,
)
from preview_runtime.docker.preview import DockerPreview
from preview_runtime.runner import PreviewSpec, RunnerError


@dataclass
class Slot:
    """A pool container: created, started, waiting for a bootstrap; made for one cache key ("" = none)."""

    container_id: str
    name: str
    app_volume: str
    deps_key: str
    nonce: str
    ip: str = ""
    deps_mounted: bool = False  # the cache is mounted as node_modules (made once the cache was complete)


S = TypeVar("S", bound=Slot)


class WarmPool(ABC, Generic[S]):
    def __init__(self, engine: Engine, config: DockerConfig, deps: DependencyCache) -> None:
        self.engine = engine
        self.config = config
        self.deps = deps
        self.slots: list[S] = []  # started and waiting, oldest first
        self._keys: list[str] = []  # cache keys of the most recent starts, newest first
        self._task: asyncio.Task[None] | None = None
        self._dirty = False
        self._background: set[asyncio.Task[None]] = set()
        self.problem = ""  # why the pool could not be filled, if it could not

    @abstractmethod
    async def _create(self, deps_key: str) -> S:
        """A new slot for this cache key, started; RunnerError when it cannot be made (nothing is left behind)."""

    @abstractmethod
    async def _take(self, slot: S, spec: PreviewSpec) -> None:
        """Make the slot `spec`'s preview; RunnerError when the slot is no longer usable."""

    @abstractmethod
    async def remove(self, slot: S) -> None: ...

    async def filled(self) -> None:
        """Until the pool is full (or could not be filled)."""
        self.kick()
        while self._task is not None and not self._task.done():
            await asyncio.shield(self._task)

    async def claim(self, deps_key: str, spec: PreviewSpec) -> S | None:
        """Take a running slot made for this cache key for `spec`'s preview."""
        # Slots with the cache mounted first: the others copy it into their memory.
        while (
            slot := next((s for s in sorted(self.slots, key=lambda s: not s.deps_mounted) if s.deps_key == deps_key), None)
        ) is not None:
            self.slots.remove(slot)
            try:
                await self._take(slot, spec)
            except RunnerError:
                self._spawn(self.remove(slot))
                continue
            return slot
        return None

    def has(self, deps_key: str) -> bool:
        """Whether a slot made for this cache key is waiting."""
        return any(slot.deps_key == deps_key for slot in self.slots)

    def used(self, deps_key: str, p: DockerPreview) -> None:
        """A start used this cache key: the pool follows the most recent keys; refill once the start has settled."""
        if deps_key in self._keys:
            self._keys.remove(deps_key)
        self._keys.insert(0, deps_key)
        del self._keys[self.config.warm_pool :]
        self._spawn(self._refill_when_settled(p))

    async def _refill_when_settled(self, p: DockerPreview) -> None:
        # Making and starting a slot takes the engine and a CPU for a moment: not while a start is under way.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(p.settled.wait(), timeout=5)
        self.kick()

    def kick(self) -> None:
        """Bring the pool in line with the recent keys and the complete caches, in the background."""
        if not self.config.warm_pool:
            return
        self._dirty = True
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._fill(), name="forja-preview-pool")

    async def _fill(self) -> None:
        while self._dirty:
            self._dirty = False
            keys = self._keys or [""]
            wanted = Counter(keys[i % len(keys)] for i in range(self.config.warm_pool))
            kept: Counter[str] = Counter()
            outdated: list[S] = []  # made before their cache was complete: they copy it; replaced, then removed
            for slot in list(self.slots):
                if slot not in self.slots:  # claimed meanwhile
                    continue
                if not slot.deps_mounted and slot.deps_key in self.deps.complete_caches:
                    outdated.append(slot)
                elif kept[slot.deps_key] < wanted[slot.deps_key]:
                    kept[slot.deps_key] += 1
                else:  # made for a key no recent start used
                    self.slots.remove(slot)
                    await self.remove(slot)
            for key in keys:
                while kept[key] < wanted[key]:
                    try:
                        slot = await self._create(key)
                    except RunnerError as exc:
                        self.problem = str(exc)
                        return  # tried again on the next start
                    self.problem = ""
                    self.slots.append(slot)
                    kept[key] += 1
            for slot in outdated:
                if slot in self.slots:
                    self.slots.remove(slot)
                    await self.remove(slot)

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(coro)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def close(self) -> None:
        """Stop filling and remove the slots nobody claimed."""
        pending = [*self._background, *([self._task] if self._task else [])]
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.wait(pending, timeout=30)
        self._task = None
        self._keys.clear()
        if self.engine.connected:
            for slot in self.slots:
                await self.remove(slot)
        self.slots.clear()


class DockerPool(WarmPool[Slot]):
    """Slots are containers; a claim renames one after its preview and writes its claim record (a volume no container
    mounts, see layout.claim_name)."""

    def __init__(self, engine: Engine, config: DockerConfig, containers: ContainerSpec, deps: DependencyCache) -> None:
        super().__init__(engine, config, deps)
        self.containers = containers

    async def _take(self, slot: Slot, spec: PreviewSpec) -> None:
        docker = await self.engine.client()
        network = self.config.network
        name, record = preview_names(network, spec.preview_id)[0], claim_name(network, spec.preview_id)
        container = docker.containers.container(slot.container_id)
        try:
            info = await container.show()
            if not info["State"].get("Running"):
                raise RunnerError("the pool container has exited")
            slot.ip = info["NetworkSettings"]["Networks"][network]["IPAddress"] or slot.ip
            labels = {
                **preview_labels(network, spec),
                LABEL_CLAIM: "1",
                "forja.container": slot.container_id,
                "forja.app_volume": slot.app_volume,
            }
            await docker.volumes.create({"Name": record, "Labels": labels})
            await container.rename(name)
        except (DockerError, RunnerError, KeyError) as exc:
            await self.engine.remove_volume(record)
            raise RunnerError(f"the pool container cannot be claimed: {exc}") from exc

    async def _create(self, deps_key: str) -> Slot:
        docker = await self.engine.client()
        network = self.config.network
        token = secrets.token_hex(5)
        name = f"{network}.pool-{token}"
        app_volume = f"{network}.pool-app-{token}"
        labels = {LABEL_MANAGED: "1", LABEL_NETWORK: network, LABEL_POOL: "1", LABEL_POOL_DEPS: deps_key}
        nonce = secrets.token_hex(6)
        cache = await self.deps.complete(deps_key)
        try:
            deps_volume = await self.deps.ensure_volume(deps_key) if deps_key else ""
            await self.engine.create_app_volume(app_volume, labels)
            config = self.containers.container_config(
                self.containers.env(nonce, POOL_WAIT_S, cache is not None),
                labels,
                self.containers.mounts(app_volume, deps_volume, cache),
            )
            container = await docker.containers.create(config, name=name)
            await container.start()
            info = await container.show()
            ip = info["NetworkSettings"]["Networks"][network]["IPAddress"]
        except BaseException as exc:  # cancelled (close) included: leave nothing half made
            await self.engine.remove_container(name)
            await self.engine.remove_volume(app_volume)
            if isinstance(exc, DockerError):
                raise RunnerError(f"Docker could not start a pool container: {exc.message}") from exc
            if isinstance(exc, KeyError):
                raise RunnerError(f"A pool container got no address on {network}") from exc
            raise
        return Slot(container.id, name, app_volume, deps_key, nonce, ip, deps_mounted=cache is not None)

    async def remove(self, slot: Slot) -> None:
        await self.engine.remove_container(slot.container_id)
        await self.engine.remove_volume(slot.app_volume)
