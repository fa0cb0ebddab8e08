"""A project's dependencies installed before its preview starts (LocalRunner.prepare), in a scratch folder of their own.

One per project at a time: a preparation for other dependency files cancels it. A preview started meanwhile with the
same dependency key waits for it (`finished`), then restores its node_modules from the dependency cache.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

from preview_runtime.local.network import SandboxNetwork
from preview_runtime.local.processes import end_group, kill_group
from preview_runtime.local.spawn import Spawner
from preview_runtime.local.supervise import output_lines
from preview_runtime.logs import LogLevel
from preview_runtime.runner import LogSink


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


async def install_ahead(
    spawner: Spawner,
    preparation: Preparation,
    install: str,
    script: str,
    env: dict[str, str],
    log: LogSink,
    save: Callable[[], Awaitable[None]] | None,
) -> None:
    """Run `install` (as `script`, see environment.in_venv) in the preparation's folder (its dependency files written there), in a preview's
    sandbox and environment `env`; then `save` its node_modules into the dependency cache, when they are its result."""

    def say(text: str, level: LogLevel) -> None:
        log("", text, level, "forja")

    if preparation.cancelled:
        return
    say(f"Installing the dependencies while the rest of the project is written: {install}", LogLevel.info)
    try:
        preparation.network = await spawner.network(env, partial(say, level=LogLevel.warning))
        process = preparation.process = await spawner.spawn(
            preparation.directory, script, env, say, "install", preparation.network
        )
    except OSError as exc:
        say(f"Could not install the dependencies ahead of the preview: {exc}", LogLevel.warning)
        return
    if preparation.cancelled:  # cancelled while it was being spawned
        return
    assert process.stdout is not None
    reading = asyncio.create_task(_tell_output(process.stdout, log))
    code = await process.wait()
    kill_group(process.pid)  # whatever the install left running in the background would hold its output open
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(reading, timeout=2)
    if preparation.cancelled:
        say("Stopped installing those dependencies: other dependency files replace them.", LogLevel.info)
    elif code != 0:
        say(f"Installing ahead failed (exit code {code}): the preview installs them when it starts.", LogLevel.warning)
    elif save is not None:
        await save()
    else:
        say("Dependencies installed ahead: the preview's own install finds them in the cache.", LogLevel.info)


async def _tell_output(stream: asyncio.StreamReader, log: LogSink) -> None:
    async for text, level in output_lines(stream):
        log("", text, level, "install")
