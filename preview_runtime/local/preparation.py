"""A project's dependencies installed before its preview starts (LocalRunner.prepare), in a scratch folder of their own.

One per project at a time: a preparation for other dependency files cancels it. A preview started meanwhile with the
same dependency key waits for it (`finished`), then restores its node_modules from the dependency cache.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from pathlib import Path

from preview_runtime.local.network import SandboxNetwork
from preview_runtime.local.processes import end_group


@dataclass
class Preparation:
    # The dependency cache folder its node_modules go to: the one a preview of the same files restores from.
    cache: Path
    # The scratch folder it installs in, holding the dependency files only; removed before `finished` is set.
    directory: Path
    process: asyncio.subprocess.Process | None = None
    cancelled: bool = False
    finished: asyncio.Event = field(default_factory=asyncio.Event)
    network: SandboxNetwork | None = None  # its sandbox's way to the registries (network.py), closed with end_install

    @property
    def in_flight(self) -> bool:
        return not self.finished.is_set()

    async def cancel(self) -> None:
        """End its install (the whole process group) and wait until it is over and its scratch folder gone."""
        self.cancelled = True
        await self.end_install()
        await self.finished.wait()

    async def end_install(self) -> None:
        if self.process is not None and self.process.returncode is None:
            await end_group(self.process.pid, self.process)
        if self.network is not None:
            await self.network.close()
