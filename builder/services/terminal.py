"""The Terminal tab's shells: one per open tab, inside the project's running preview (Runner.open_shell), with
Forja's limits around it: a cap per project, an output rate past which output is dropped, an idle timeout. Each
session is told in the project's log with who opened it. What the shell changed in the preview's working copy comes
back as the Code tab's unsaved drafts (files_from_terminal), for a person to look at and save as a version.

With several workers the preview runs on one of them, and a page may reach another: that one asks the preview's
worker to open the shell and relays it (builder/cluster/terminals.py). The preview's worker holds every shell of the
project, so its count is the project's.

Transport-free: builder/api/terminal.py carries keystrokes, sizes and output over a websocket.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from builder.cluster.terminals import TerminalRelay
from builder.errors import LimitReached
from builder.filetree import human_size, is_utf8_text
from builder.services.access import Actor
from builder.services.preview_hub import PreviewHub, project_key
from builder.settings import settings
from builder.store import ProjectStore
from preview_runtime import console_bridge, select_bridge
from preview_runtime.collect import is_skipped
from preview_runtime.lockfile_mirror import as_saved
from preview_runtime.logs import LogHub, LogLevel
from preview_runtime.runner import Shell

log = logging.getLogger(__name__)

MIN_SIZE, MAX_COLS, MAX_ROWS = 2, 500, 200


@dataclass(frozen=True)
class Resize:
    cols: int
    rows: int


# What the page sends: keystrokes (pasted text too) or its new size.
TerminalInput = bytes | Resize
Send = Callable[[bytes], Awaitable[None]]


def notice(text: str) -> bytes:
    """A line of Forja's own in the terminal, apart from the shell's output (dim, on a line of its own)."""
    return f"\r\n\x1b[2m[Forja] {text}\x1b[0m\r\n".encode()


def clamp_size(cols: int, rows: int) -> tuple[int, int]:
    return min(max(cols, MIN_SIZE), MAX_COLS), min(max(rows, MIN_SIZE), MAX_ROWS)


@dataclass
class OutputMeter:
    """Output per one-second window: what passes, and whether this window's excess was said already."""

    bytes_per_s: int
    window: float = 0.0
    sent: int = 0
    told: bool = False

    def admit(self, size: int, now: float) -> tuple[int, bool]:
        """How many of `size` bytes pass now, and whether to say (once a window) that the rest was dropped."""
        if now - self.window >= 1.0:
            self.window, self.sent, self.told = now, 0, False
        passing = max(0, min(size, self.bytes_per_s - self.sent))
        self.sent += passing
        tell = passing < size and not self.told
        self.told = self.told or tell
        return passing, tell


@dataclass
class Terminal:
    """One open terminal: its shell, who opened it and when."""

    project_id: str
    shell: Shell
    opened_by: str
    counted: bool = True  # a shell of this worker's preview; a relayed one counts on the preview's worker
    opened_at: float = field(default_factory=time.monotonic)
    last_activity: float = field(default_factory=time.monotonic)


@dataclass
class TerminalFiles:
    """What the shell changed in the preview's working copy, against the project's current version."""

    changed: dict[str, str] = field(default_factory=dict)  # text files changed or made, as drafts
    binary: list[str] = field(default_factory=list)  # changed or made, not text: not brought back
    deleted: list[str] = field(default_factory=list)  # in the version, gone from the working copy


class TerminalService:
    def __init__(self, store: ProjectStore, hub: PreviewHub, logs: LogHub, relay: TerminalRelay | None = None) -> None:
        self._store = store
        self._hub = hub
        self._logs = logs
        self._relay = relay
        self._open: Counter[str] = Counter()  # project id -> the shells in this worker's preview of it
        self._hosted: set[asyncio.Task[None]] = set()  # shells relayed to other workers' pages
        hub.handle("terminal.open", self._host)
        hub.handle("terminal.files", self._files_asked)

    async def open(self, project_id: str, actor: Actor, cols: int, rows: int) -> Terminal:
        """A shell in the project's running preview, on whichever worker runs it, told in its log."""
        if settings.terminals_per_project == 0:
            raise LimitReached("Terminals are turned off on this Forja (FORJA_TERMINALS_PER_PROJECT=0).")
        cols, rows = clamp_size(cols, rows)
        who = actor.name or actor.email or "someone"
        if (entry := await self._hub.elsewhere(project_key(project_id))) is not None and self._relay is not None:
            session = secrets.token_hex(16)
            shell = await self._relay.connect(session)
            try:
                arguments = {"project_id": project_id, "session": session, "cols": cols, "rows": rows}
                await self._hub.call(entry, "terminal.open", arguments)
            except BaseException:
                await shell.close()
                raise
            terminal = Terminal(project_id, shell, who, counted=False)
        else:
            terminal = Terminal(project_id, await self._open_here(project_id, cols, rows), who)
        self._logs.emit(project_id, f"Terminal opened by {who}.", LogLevel.info, "forja")
        return terminal

    async def _open_here(self, project_id: str, cols: int, rows: int) -> Shell:
        """A shell in this worker's preview of the project, counted against the project's cap."""
        if self._open[project_id] >= settings.terminals_per_project:
            raise LimitReached(
                f"This project has {self._open[project_id]} terminals open, the most at once "
                f"(FORJA_TERMINALS_PER_PROJECT={settings.terminals_per_project}): close one first."
            )
        self._open[project_id] += 1
        try:
            return await self._hub.open_shell(project_key(project_id), cols, rows)
        except BaseException:
            self._release(project_id)
            raise

    async def _host(self, arguments: dict[str, Any]) -> None:
        """Another worker's page asks for a shell in this worker's preview: open it and carry it until it ends."""
        assert self._relay is not None, "only workers on one Redis relay terminals"
        project_id, session = str(arguments["project_id"]), str(arguments["session"])
        shell = await self._open_here(project_id, int(arguments["cols"]), int(arguments["rows"]))
        try:
            key = project_key(project_id)
            carry = await self._relay.host(session, shell, settings.terminal_idle_s, lambda: self._hub.touch(key))
        except BaseException:
            await shell.close()
            self._release(project_id)
            raise

        async def carried() -> None:
            try:
                await carry()
            finally:
                self._release(project_id)

        task = asyncio.create_task(carried(), name=f"terminal-{session[:8]}")
        self._hosted.add(task)
        task.add_done_callback(self._hosted.discard)

    def _release(self, project_id: str) -> None:
        self._open[project_id] -= 1
        if self._open[project_id] <= 0:
            del self._open[project_id]

    def open_count(self, project_id: str) -> int:
        return self._open[project_id]

    async def serve(self, terminal: Terminal, incoming: AsyncIterator[TerminalInput], send: Send) -> str:
        """Carry the page's input into the shell and its output back until one of them ends or it is idle for
        FORJA_TERMINAL_IDLE_S; then end the shell and tell the log. Returns why it ended, in words."""
        tasks = {
            asyncio.create_task(self._output(terminal, send)),
            asyncio.create_task(self._input(terminal, incoming)),
            asyncio.create_task(self._idle(terminal)),
        }
        try:
            done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
            why = next(iter(done)).result()
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await terminal.shell.close()
            if terminal.counted:
                self._release(terminal.project_id)
            seconds = round(time.monotonic() - terminal.opened_at)
            self._logs.emit(
                terminal.project_id,
                f"Terminal of {terminal.opened_by} closed after {seconds} s.",
                LogLevel.info,
                "forja",
            )
        if why != "closed":
            with contextlib.suppress(Exception):  # the page may be gone already
                await send(notice(why))
        return why

    async def _output(self, terminal: Terminal, send: Send) -> str:
        meter = OutputMeter(settings.terminal_output_bytes_per_s)
        while data := await terminal.shell.read():
            terminal.last_activity = now = time.monotonic()
            passing, tell = meter.admit(len(data), now)
            if passing:
                await send(data[:passing])
            if tell:
                limit = human_size(settings.terminal_output_bytes_per_s)
                await send(notice(f"Output past {limit} a second is dropped (FORJA_TERMINAL_OUTPUT_BYTES_PER_S)."))
        return "The shell ended."

    async def _input(self, terminal: Terminal, incoming: AsyncIterator[TerminalInput]) -> str:
        key = project_key(terminal.project_id)
        async for item in incoming:
            terminal.last_activity = time.monotonic()
            self._hub.touch(key)  # someone works in the preview: not parked as unused
            if isinstance(item, Resize):
                await terminal.shell.resize(*clamp_size(item.cols, item.rows))
            else:
                await terminal.shell.write(item)
        return "closed"

    @staticmethod
    async def _idle(terminal: Terminal) -> str:
        limit = settings.terminal_idle_s
        while (left := terminal.last_activity + limit - time.monotonic()) > 0:  # noqa: ASYNC110 (a deadline that activity moves)
            await asyncio.sleep(left)
        return f"Closed after {limit} s without a keystroke or output (FORJA_TERMINAL_IDLE_S)."

    async def files_from_terminal(self, project_id: str) -> TerminalFiles:
        """The files of the running preview's working copy that differ from the current version (Forja's scripts in
        its pages taken out again), read by the worker that runs it. Installed dependencies and .git are not read
        (preview_runtime/collect.py)."""
        if (entry := await self._hub.elsewhere(project_key(project_id))) is not None:
            return TerminalFiles(**await self._hub.call(entry, "terminal.files", {"project_id": project_id}))
        return await self._files_here(project_id)

    async def _files_asked(self, arguments: dict[str, Any]) -> dict[str, Any]:
        return asdict(await self._files_here(str(arguments["project_id"])))

    async def _files_here(self, project_id: str) -> TerminalFiles:
        working = await self._hub.collect(project_key(project_id), "", settings.max_upload_bytes)
        tree = await self._store.read_tree(project_id)
        return compare(tree, {path: as_written(path, data, tree.get(path)) for path, data in working.items()})


def as_written(path: str, data: bytes, saved: bytes | None) -> bytes:
    """A file of the running copy as the project wrote it: without Forja's scripts in its pages, and a yarn.lock
    without the mirror's address the preview got it with (preview_runtime/lockfile_mirror.py)."""
    return as_saved(path, without_scripts(path, data), saved, settings.npm_registry or None)


def without_scripts(path: str, data: bytes) -> bytes:
    """A page of the running copy without the scripts Forja put in it (builder/services/preview_runners.running_copy)."""
    if not path.lower().endswith((".html", ".htm")):
        return data
    origins = settings.builder_origins
    for script in (console_bridge.script(origins), select_bridge.script(origins)):
        data = data.replace(script.tag, b"", 1)
    return data


def compare(tree: Mapping[str, bytes], working: Mapping[str, bytes]) -> TerminalFiles:
    found = TerminalFiles()
    for path, data in sorted(working.items()):
        if tree.get(path) == data:
            continue
        if is_utf8_text(data):
            found.changed[path] = data.decode("utf-8")
        else:
            found.binary.append(path)
    found.deleted = sorted(path for path in tree if path not in working and not is_skipped(path))
    return found
