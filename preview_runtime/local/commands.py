"""A command run beside a local preview's dev server (a build, a linter): in its folder with the dev server's
environment, in the same sandbox when it has one (a new bubblewrap around the same folder), as a process group of its
own, all of it killed at its time limit."""

from __future__ import annotations

import asyncio
import contextlib
import time
from functools import partial

from preview_runtime.local.processes import kill_group
from preview_runtime.local.spawn import Spawner
from preview_runtime.local.supervise import LocalRun
from preview_runtime.runner import OUTPUT_TAIL_CHARS, CommandOutcome, RunnerError, output_tail


async def run_beside(spawner: Spawner, run: LocalRun, command: str, timeout_s: float) -> CommandOutcome:
    started = time.monotonic()
    try:
        process = await spawner.spawn(
            run.directory,
            command,
            run.env,
            partial(run.emit, source="forja"),
            "command",
            run.network,
            mounts=run.spec.plan.mounts,
            cpus=run.spec.plan.cpus,
        )
    except OSError as exc:
        raise RunnerError(f"Could not run the command in the preview: {exc}") from exc
    run.commands.add(process.pid)
    output = bytearray()
    reader = asyncio.create_task(_read_tail(process, output))
    timed_out = False
    try:
        await asyncio.wait_for(process.wait(), timeout=max(timeout_s, 0))
    except TimeoutError:
        timed_out = True
    finally:
        # At the time limit all of it; otherwise whatever it left running in the background.
        kill_group(process.pid)
        await process.wait()
        run.commands.discard(process.pid)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(reader, timeout=2)
    return CommandOutcome(
        exit_code=None if timed_out else process.returncode,
        output=output_tail(bytes(output)),
        timed_out=timed_out,
        duration_s=time.monotonic() - started,
    )


async def _read_tail(process: asyncio.subprocess.Process, into: bytearray) -> None:
    """The process's output until it ends, keeping only as much of its end as output_tail() uses."""
    assert process.stdout is not None
    while chunk := await process.stdout.read(1 << 16):
        into += chunk
        del into[: -4 * OUTPUT_TAIL_CHARS]
