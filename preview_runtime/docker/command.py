"""A command run in a preview's container beside its dev server (a build, a linter), with a time limit.

It is a `docker exec` as the dev server's user, in /app, with the container's environment and the PATH the entry
script gives the dev server. Docker cannot kill what an exec started, so the exec runs under coreutils' `timeout`,
which puts the command in a process group of its own and signals the whole group: TERM at the limit, KILL
KILL_GRACE_S later.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence

from aiodocker.exceptions import DockerError

from preview_runtime.docker.engine import Engine
from preview_runtime.docker.layout import APP_DIR, APP_ENV, FORJA_HOME, KEPT_ENV, PREVIEW_UID
from preview_runtime.runner import OUTPUT_TAIL_CHARS, CommandOutcome, RunnerError, output_tail

KILL_GRACE_S = 2.0
# Past the limit and its grace, Forja stops waiting for an exec that still streams (its output is held open by a
# process that left the group): it is reported as timed out either way.
GIVE_UP_AFTER_S = 5.0
# entry.sh's PATH for the dev server: the project's venv and node_modules/.bin before the image's own (its Dockerfile).
DEV_PATH = f"{APP_DIR}/.venv/bin:{APP_DIR}/node_modules/.bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
# timeout's own exit codes: 124 after TERM ended the command, 137 when KILL took the group and timeout with it.
_TIMEOUT_CODES = (124, 137)


async def run_in_container(
    engine: Engine, container_id: str, command: str, timeout_s: float, wrap: Sequence[str] = ()
) -> CommandOutcome:
    """`wrap`: a command prefix for what runs in the container (the swarm runner's no-new-privileges)."""
    docker = await engine.client()
    # GNU timeout reads 0 as "no limit".
    limit = f"{max(timeout_s, 0.001):.3f}"
    # Its stderr into its stdout, in the container: Docker carries the two streams apart, and an error printed last
    # (a linter's verdict) could otherwise arrive before the end of the output and fall out of the tail.
    # The app's own variables, as its dev server has them (the bootstrap's app-env, when it has any).
    # Then Forja's variables that are no secret (where its data is), over them as in entry.sh's order.
    app_env, kept_env = f"{FORJA_HOME}/{APP_ENV}", f"{FORJA_HOME}/{KEPT_ENV}"
    script = f"exec 2>&1\nif [ -f {app_env} ]; then . {app_env}; fi\nif [ -f {kept_env} ]; then . {kept_env}; fi\n{command}"
    argv = [*wrap, "timeout", "--kill-after", f"{KILL_GRACE_S:g}", limit, "sh", "-c", script]
    output = bytearray()
    started = time.monotonic()
    gave_up = False
    try:
        run = await docker.containers.container(container_id).exec(
            argv, user=f"{PREVIEW_UID}:{PREVIEW_UID}", workdir=APP_DIR, environment=[f"PATH={DEV_PATH}"]
        )
        async with run.start(detach=False) as stream:
            try:
                async with asyncio.timeout(timeout_s + KILL_GRACE_S + GIVE_UP_AFTER_S):
                    while (message := await stream.read_out()) is not None:
                        output += message.data
                        del output[: -4 * OUTPUT_TAIL_CHARS]
            except TimeoutError:
                gave_up = True
        code = None if gave_up else (await run.inspect()).get("ExitCode")
    except DockerError as exc:
        raise RunnerError(f"Docker could not run the command in the preview: {exc.message}") from exc
    duration = time.monotonic() - started
    timed_out = gave_up or (code in _TIMEOUT_CODES and duration >= timeout_s)
    return CommandOutcome(
        exit_code=None if timed_out else code,
        output=output_tail(bytes(output)),
        timed_out=timed_out,
        duration_s=duration,
    )
