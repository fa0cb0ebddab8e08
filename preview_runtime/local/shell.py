"""An interactive shell beside a local preview's dev server: spawned as run_command's commands are (commands.py: the
preview's folder and environment, a new bubblewrap around the same folder, its network rules, a cgroup of its own with
the preview's limits), on a pseudo-terminal whose leader side Forja holds."""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import pty
import struct
import termios
from functools import partial

from preview_runtime.local.processes import kill_group
from preview_runtime.local.spawn import Spawner
from preview_runtime.local.supervise import LocalRun
from preview_runtime.runner import RunnerError, Shell

# setsid -c makes the pty the shell's controlling terminal again inside bubblewrap's new session (job control, and
# SIGWINCH on resize); what a process there could push into it (TIOCSTI) is read by that same sandboxed shell.
# -w: bubblewrap ends the sandbox when its first process exits, so setsid waits for the shell.
SHELL_SCRIPT = (
    "if command -v bash >/dev/null; then set -- bash -i; else set -- sh -i; fi\n"
    'if command -v setsid >/dev/null; then exec setsid -w -c "$@"; fi\nexec "$@"\n'
)
READ_BYTES = 1 << 16


def set_size(fd: int, cols: int, rows: int) -> None:
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))


class PtyShell(Shell):
    def __init__(self, process: asyncio.subprocess.Process, leader: int, run: LocalRun) -> None:
        self._process = process
        self._fd = leader
        self._run = run
        self._closed = False

    async def read(self) -> bytes:
        if self._closed:
            return b""
        loop = asyncio.get_running_loop()
        ready: asyncio.Future[None] = loop.create_future()
        loop.add_reader(self._fd, lambda: ready.done() or ready.set_result(None))
        try:
            await ready
        finally:
            loop.remove_reader(self._fd)
        try:
            return os.read(self._fd, READ_BYTES)
        except OSError:  # EIO: every holder of the follower side is gone, the shell ended
            return b""

    async def write(self, data: bytes) -> None:
        view = memoryview(data)
        while view and not self._closed:
            try:
                written = os.write(self._fd, view)
            except BlockingIOError:
                await asyncio.sleep(0.01)  # the shell reads slower than someone pastes
                continue
            except OSError as exc:
                raise RunnerError("The terminal has ended.") from exc
            view = view[written:]

    async def resize(self, cols: int, rows: int) -> None:
        if not self._closed:
            with contextlib.suppress(OSError):
                set_size(self._fd, cols, rows)

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        kill_group(self._process.pid)  # bubblewrap and, with its pid namespace, everything in it
        await self._process.wait()
        self._run.commands.discard(self._process.pid)
        os.close(self._fd)


async def open_pty_shell(spawner: Spawner, run: LocalRun, cols: int, rows: int) -> PtyShell:
    leader, follower = pty.openpty()
    try:
        set_size(follower, cols, rows)
        os.set_blocking(leader, False)
        # The prompt names the folder as the Docker runner's is named (/app), and where the shell is under it: the
        # preview's path on this machine says nothing to the person.
        prompt = "app${PWD#" + str(run.directory) + "} \\$ "
        env = {**run.env, "TERM": "xterm-256color", "PS1": prompt}
        try:
            process = await spawner.spawn(
                run.directory,
                SHELL_SCRIPT,
                env,
                partial(run.emit, source="forja"),
                "command",
                run.network,
                mounts=run.spec.plan.mounts,
                terminal=follower,
                cpus=run.spec.plan.cpus,
            )
        except OSError as exc:
            raise RunnerError(f"Could not open a terminal in the preview: {exc}") from exc
    except BaseException:
        os.close(leader)
        raise
    finally:
        os.close(follower)  # the shell holds it now: once it ends, reading the leader side says so
    run.commands.add(process.pid)
    return PtyShell(process, leader, run)
