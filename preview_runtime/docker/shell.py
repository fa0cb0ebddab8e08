"""An interactive shell in a preview's container: a `docker exec` with a TTY, as the dev server's user, in /app, with
its environment (as command.py runs a command beside it), inside the container's own limits and network rules.

Docker does not end what an exec started when its stream closes, so the shell first says its process id on its
terminal's first line (read and kept out of the output here); closing sends every process of its session SIGHUP, as
a terminal that goes away would, from a second exec in the same container (hang_up.sh), then SIGKILL to what is left.
"""

from __future__ import annotations

import contextlib
import logging
import re
from collections.abc import Sequence
from importlib import resources

from aiodocker.exceptions import DockerError
from aiodocker.execs import Exec
from aiodocker.stream import Stream

from preview_runtime.docker.command import DEV_PATH
from preview_runtime.docker.engine import Engine
from preview_runtime.docker.layout import APP_DIR, APP_ENV, FORJA_HOME, KEPT_ENV, PREVIEW_UID
from preview_runtime.runner import RunnerError, Shell

log = logging.getLogger(__name__)

_PID_LINE = re.compile(rb"forja-shell (\d+)\r?\n")
KILL_GRACE_S = 1.0
_HANG_UP = resources.files("preview_runtime.docker").joinpath("hang_up.sh").read_text(encoding="utf-8")


def shell_script() -> str:
    """The shell's bootstrap: the app's variables as its dev server has them, its pid said, then bash (or sh)."""
    app_env, kept_env = f"{FORJA_HOME}/{APP_ENV}", f"{FORJA_HOME}/{KEPT_ENV}"
    return (
        f"if [ -f {app_env} ]; then . {app_env}; fi\nif [ -f {kept_env} ]; then . {kept_env}; fi\n"
        'stty -echo; echo "forja-shell $$"; stty echo\n'
        "if command -v bash >/dev/null; then exec bash -i; fi\nexec sh -i\n"
    )


def take_pid_line(head: bytes) -> tuple[int, bytes, bytes]:
    """The terminal's output so far, before the shell said its pid: the pid once said (else 0), what to show, and what
    to hold back. Typed input echoes before the shell turns echo off, in chunks that may end inside the pid line, so
    only whole lines are shown until the pid line is complete."""
    if (found := _PID_LINE.search(head)) is not None:
        return int(found.group(1)), head[: found.start()] + head[found.end() :], b""
    cut = head.rfind(b"\n") + 1
    return 0, head[:cut], head[cut:]


class ContainerShell(Shell):
    def __init__(self, engine: Engine, container_id: str, run: Exec, stream: Stream, wrap: Sequence[str]) -> None:
        self._engine = engine
        self._container_id = container_id
        self._exec = run
        self._stream = stream
        self._wrap = list(wrap)
        self._pid = 0
        self._head = b""  # output before the pid line has been seen
        self._closed = False

    async def read(self) -> bytes:
        while True:
            message = await self._stream.read_out()
            if message is None:  # the shell ended: what was held back is shown, then the end
                data, self._head = self._head, b""
                return data
            if self._pid:
                return message.data
            pid, shown, self._head = take_pid_line(self._head + message.data)
            self._pid = pid
            if shown:
                return shown

    async def write(self, data: bytes) -> None:
        if self._closed:
            return
        try:
            await self._stream.write_in(data)
        except (RuntimeError, ConnectionError) as exc:
            raise RunnerError("The terminal has ended.") from exc

    async def resize(self, cols: int, rows: int) -> None:
        with contextlib.suppress(DockerError):  # it ended meanwhile
            await self._exec.resize(h=rows, w=cols)

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        with contextlib.suppress(DockerError, RuntimeError, ConnectionError):
            if self._pid:
                await self._hang_up()
        await self._stream.close()

    async def _hang_up(self) -> None:
        docker = await self._engine.client()
        run = await docker.containers.container(self._container_id).exec(
            [*self._wrap, "sh", "-c", _HANG_UP, "hang_up", str(self._pid), f"{KILL_GRACE_S:g}"],
            user=f"{PREVIEW_UID}:{PREVIEW_UID}",
        )
        await run.start(detach=True)


async def open_container_shell(
    engine: Engine, container_id: str, cols: int, rows: int, wrap: Sequence[str] = ()
) -> ContainerShell:
    """`wrap`: a command prefix for what runs in the container (the swarm runner's no-new-privileges)."""
    docker = await engine.client()
    try:
        run = await docker.containers.container(container_id).exec(
            [*wrap, "sh", "-c", shell_script()],
            stdin=True,
            tty=True,
            user=f"{PREVIEW_UID}:{PREVIEW_UID}",
            workdir=APP_DIR,
            environment=[f"PATH={DEV_PATH}", "TERM=xterm-256color"],
        )
        stream = run.start(detach=False)
        await stream.__aenter__()
    except DockerError as exc:
        raise RunnerError(f"Docker could not open a terminal in the preview: {exc.message}") from exc
    shell = ContainerShell(engine, container_id, run, stream, wrap)
    # The TTY exists once the exec started: sized now, before the shell's first prompt is drawn.
    await shell.resize(cols, rows)
    return shell
