"""An external coding agent's run in a project's sandbox (LocalRunner.run_engine).

The agent works on a copy of the project's files in a folder of its own, in the same sandbox and limits as the
project's commands, with the project's HOME (where it keeps its sessions); never without the sandbox. Its binary is
bound read-only at INSIDE_PROGRAM; its only way out is the sandbox's egress proxy, which reaches nothing but Forja's
model relay on the host (no registry: OpenCode's own attempt to reach npm's at startup is refused, and it works on). The folder is read back once it ends (as Runner.collect reads one: no link followed, installed
dependencies left out) and removed.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import shlex
import shutil
import time
from collections.abc import Callable, Mapping
from pathlib import Path

from preview_runtime.local.collect import collect_folder
from preview_runtime.local.files import write_files
from preview_runtime.local.processes import end_group
from preview_runtime.local.spawn import Spawner
from preview_runtime.local.supervise import output_lines
from preview_runtime.plan import Mount
from preview_runtime.runner import EngineJob, EngineOutcome, RunnerError

ENGINES_DIR = ".engines"  # under the work folder: one folder per run
INSIDE_PROGRAM = "/opt/forja-engine"
READ_BACK_LIMIT = 256 * 1024 * 1024  # the files read back after the run, together


async def run_engine(
    spawner: Spawner,
    work_dir: Path,
    env: Mapping[str, str],
    files: Mapping[str, bytes],
    job: EngineJob,
    say: Callable[[str], None],
) -> EngineOutcome:
    """`job` on a copy of `files` in a sandbox with environment `env` (the project's, HOME included); each line of its
    output to `say`."""
    if await spawner.bubblewrap() is None:
        # Without the sandbox's network the relay's name leads nowhere, and the agent would have this machine's.
        raise RunnerError("The coding agent runs only inside a sandbox, and this machine has none: pick Forja as the engine.")
    program = Path(job.program)
    folder = work_dir / ENGINES_DIR / f"run-{secrets.token_hex(6)}"
    folder.mkdir(parents=True)
    started = time.monotonic()
    network = None
    try:
        await asyncio.to_thread(write_files, folder, files)
        run_env = {**env, **job.env}
        network = await spawner.network(run_env, say, relays={job.relay_host: job.relay_port})
        mounts = [Mount(source=str(program.parent), target=INSIDE_PROGRAM, read_only=True)]
        process = await spawner.spawn(
            folder,
            shlex.join([f"{INSIDE_PROGRAM}/{program.name}", *job.args]),
            run_env,
            lambda text, _level: say(text),
            "engine",
            network,
            mounts=mounts,
        )
        assert process.stdout is not None
        reading = asyncio.create_task(_tell(process.stdout, say))
        code: int | None = None
        try:
            code = await asyncio.wait_for(process.wait(), timeout=job.timeout_s)
        except TimeoutError:
            say(f"The coding agent was stopped at its time limit ({job.timeout_s:.0f} s).")
        finally:
            await end_group(process.pid, process)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(reading, timeout=2)
        left = await asyncio.to_thread(collect_folder, folder, "", READ_BACK_LIMIT)
        return EngineOutcome(exit_code=code, files=left, duration_s=time.monotonic() - started)
    except OSError as exc:
        raise RunnerError(f"Could not run the coding agent: {exc}") from exc
    finally:
        if network is not None:
            await network.close()
        await asyncio.to_thread(shutil.rmtree, folder, True)


async def _tell(stream: asyncio.StreamReader, say: Callable[[str], None]) -> None:
    async for text, _level in output_lines(stream):
        say(text)
