"""Following a preview container: its output and markers into the log, when it answers, and why it exited."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import time
from collections.abc import Callable, Coroutine, Sequence
from importlib import resources
from typing import Any

import aiohttp
import httpx
from aiodocker.exceptions import DockerError

from preview_runtime.common import exit_meaning, human_size
from preview_runtime.direct_http import direct_client
from preview_runtime.docker.config import DockerConfig
from preview_runtime.docker.container import NO_SPACE, no_space_sentence, scratch_named
from preview_runtime.docker.engine import Engine
from preview_runtime.docker.layout import CACHED_DIRS, PREVIEW_UID
from preview_runtime.docker.preview import DockerPreview
from preview_runtime.listening import (
    ELSEWHERE_AFTER_S,
    HOME_NOT_FOUND,
    HomePage,
    Listener,
    answer_overdue,
    answer_status,
    answer_wait,
    answering,
    elsewhere_message,
    error_answer,
    install_overdue,
    not_answering_hint,
    parse_table,
    stuck_message,
)
from preview_runtime.logs import LogLevel
from preview_runtime.native import no_compiler
from preview_runtime.runner import PreviewState

MAX_LINE = 4000
LOOK_EVERY_S = 1.0  # while $PORT is silent in the dev phase: how often to read the container's listening sockets
HINT_AFTER_S = 60
DOCKER_DNS = "127.0.0.11"
FORWARD_PORTS = (39999, 39998)  # the relay's port (forward.js); the second when the dev server holds the first
# aiodocker's status for a request that reached no engine (connection refused, socket gone).
NO_ENGINE = 900
ENGINE_LOOK_AFTER_S = 2.0  # after a container ended: whether its engine is still there
ENGINE_STOPPED = "Docker's engine stopped, and this preview with it: start the preview again once the engine is back."
ENGINE_AWAY = (
    "Docker's engine does not answer, so Forja cannot reach this preview any more: start it again once the engine is back."
)


@functools.cache
def forward_script() -> str:
    return resources.files("preview_runtime.docker").joinpath("forward.js").read_text(encoding="utf-8")


_WAITING = (PreviewState.starting, PreviewState.installing)

# Called once the install wrote these cacheable folders; runs as the preview's save task.
OnInstalled = Callable[[DockerPreview, list[str]], Coroutine[Any, Any, None]]


def _ms(words: list[str], fallback: float) -> float:
    """Seconds from a marker's millisecond count (measured in the container), else the runner's own timing."""
    try:
        return int(words[0]) / 1000
    except (IndexError, ValueError):
        return fallback


class Watch:
    """`transport` reaches the containers' addresses when Forja's own network cannot (the swarm runner's overlay
    networks); `wrap` prefixes every command it runs in a container."""

    def __init__(
        self,
        engine: Engine,
        config: DockerConfig,
        on_installed: OnInstalled,
        transport: httpx.AsyncBaseTransport | None = None,
        wrap: Sequence[str] = (),
    ) -> None:
        self.engine = engine
        self.config = config
        self.on_installed = on_installed
        self.transport = transport
        self.wrap = list(wrap)
        self._http: httpx.AsyncClient | None = None

    async def close(self) -> None:
        if self._http is not None:
            await self._http.aclose()
            self._http = None

    async def follow(self, p: DockerPreview, since: int = 0) -> None:
        """The container's output into the log until it exits; then the exit in plain words."""
        docker = await self.engine.client()
        container = docker.containers.container(p.container_id)
        marker = f"[forja:{p.nonce}] " if p.nonce else None
        buffer = ""
        while True:
            try:
                async for chunk in container.log(stdout=True, stderr=True, follow=True, since=since):
                    buffer += chunk
                    *lines, buffer = buffer.split("\n")
                    for line in lines:
                        self._line(p, line.rstrip("\r"), marker)
                if buffer:
                    self._line(p, buffer.rstrip("\r"), marker)
                    buffer = ""
            except (TimeoutError, DockerError, OSError, aiohttp.ClientError):  # the stream broke (an engine killed: cut short)
                pass
            if p.stopping:
                return
            try:
                state = (await container.show())["State"]
            except DockerError as exc:
                if exc.status == NO_ENGINE:  # it went away (killed) before it said how this ended
                    self._engine_gone(p, ENGINE_AWAY)
                return
            if not state.get("Running"):
                break
            since = int(time.time())  # the stream broke while the container still runs: follow again
            await asyncio.sleep(0.2)
        await self._exited(p)
        if p.state == PreviewState.failed and not p.gave_up and not await self._engine_answers():
            self._engine_gone(p, ENGINE_STOPPED)  # it stopped its containers as it went: that is why this one ended

    async def _engine_answers(self) -> bool:
        """Whether the engine still answers, a moment after a container ended (a stopping engine ends them all)."""
        await asyncio.sleep(ENGINE_LOOK_AFTER_S)
        try:
            async with asyncio.timeout(3):
                await (await self.engine.client()).version()
        except (DockerError, OSError, TimeoutError):
            return False
        return True

    @staticmethod
    def _engine_gone(p: DockerPreview, why: str) -> None:
        p.ended = True
        p.state = PreviewState.failed
        p.detail = f"{why} {p.detail}" if p.detail else why
        p.settled.set()
        p.emit(why, LogLevel.error, "forja")

    def _line(self, p: DockerPreview, line: str, marker: str | None) -> None:
        if marker and line.startswith(marker):
            self._on_marker(p, line[len(marker) :].split())
            return
        if len(line) > MAX_LINE:
            line = line[:MAX_LINE] + " …"
        p.last_output = time.monotonic()
        p.tail.append(line)
        if NO_SPACE.search(line):
            p.no_space = True
        if p.no_space and not p.full:  # npm names the path it could not write on a line after its ENOSPC
            p.full = scratch_named(line)
        if p.source == "install":
            p.native.read(line)
        p.emit(line, None)

    def _on_marker(self, p: DockerPreview, words: list[str]) -> None:
        if not words:
            return
        kind, now = words[0], time.monotonic()
        if kind == "installing":
            p.set_state(PreviewState.installing)
            p.phase_at = now
            p.emit("Installing dependencies…", LogLevel.info, "forja")
        elif kind == "deps-kept":
            p.emit("Dependencies kept from before it was parked: no install needed.", LogLevel.info, "forja")
        elif kind == "deps-mounted":
            p.emit("Dependencies come from the cache, mounted read-only: no install needed.", LogLevel.info, "forja")
        elif kind == "deps-restoring":
            p.set_state(PreviewState.installing)
            p.phase_at = now
        elif kind == "deps-restored":
            took = _ms(words[1:], now - p.phase_at)
            p.emit(f"Dependencies restored from the cache in {took:.1f} s (no install needed).", LogLevel.info, "forja")
        elif kind == "deps-installed":
            took = _ms(words[1:], now - p.phase_at)
            p.emit(f"Dependencies installed in {took:.1f} s.", LogLevel.info, "forja")
            dirs = [w for w in words[2:] if w in CACHED_DIRS]
            if p.deps_key and dirs:
                p.save_task = p.spawn(self._save_when_settled(p, dirs))
        elif kind == "install-failed":
            code = words[1] if len(words) > 1 else "?"
            p.detail = f"The install failed: exit code {code}."
            if package := p.native.failed:
                p.detail = f"{p.detail} {no_compiler(package)}"
                p.emit(no_compiler(package), LogLevel.error, "forja")
        elif kind == "restore-failed":
            p.detail = "The cached dependencies could not be copied into the preview."
        elif kind == "no-files":
            p.detail = "The project files never arrived in the preview container."
        elif kind == "dev":
            p.source = "dev-server"
            p.phase_at = now
            if p.state == PreviewState.starting:
                p.set_state(PreviewState.installing)

    async def _save_when_settled(self, p: DockerPreview, dirs: list[str]) -> None:
        """The copy into the cache streams the dependencies through Forja and competes with the dev server's start
        for two cores: it waits until the preview answers, fails or stops (a stop waits for it). A container whose run
        ended (its dev server exited, or Forja killed it as stuck) has nothing left to copy: /app is a tmpfs that went
        with it (the copy failed on "Could not find the file /app/.venv", a warning that hid why the preview failed);
        the next start installs again."""
        await p.settled.wait()
        if not p.ended:
            await self.on_installed(p, dirs)

    async def wait_ready(self, p: DockerPreview) -> None:
        """Running once the dev server answers on the container's address (any status: an app whose page fails runs):
        on $PORT, or where it listens instead."""
        if self._http is None:
            self._http = direct_client(httpx.Timeout(2.0, connect=0.5), self.transport)
        client = self._http
        looked = 0.0
        hinted = named = False
        status: int | None = None
        home = HomePage(p.home_page)
        while not p.stopping and p.state in _WAITING:
            # A refused connection to the container's address costs next to nothing: try often.
            if p.ip and home.answered(
                status := await answer_status(client, p.upstream + self.config.ready_path), time.monotonic()
            ):
                break
            now = time.monotonic()
            deadlines = self.config.deadlines
            if p.source != "dev-server" and p.state == PreviewState.installing and now - p.phase_at > deadlines.install_s:
                await self._give_up(p, install_overdue(p.install, now - p.phase_at, p.tail))
                return
            if p.source != "dev-server" or now - p.phase_at < LOOK_EVERY_S or now - looked < LOOK_EVERY_S:
                await asyncio.sleep(0.05)
                continue
            looked = now
            listening = await self._listeners(p)
            late = now - p.phase_at > answer_wait(p.page_expected)
            chosen = await answering(client, listening, p.ip, p.port, any_answer=late, side_ports=p.side_ports)
            mine = [item for item in listening if item.port not in p.side_ports]
            relay: Listener | None = None
            if (
                chosen is None
                and not named
                and mine
                and all(item.port != p.port for item in mine)
                and now - p.phase_at > ELSEWHERE_AFTER_S
            ):
                named = True
                p.emit(elsewhere_message(p.port, mine), LogLevel.info, "forja")
            if chosen is None and mine and all(item.loopback_only for item in mine) and not p.relayed:
                # The dev server on the asked port at once; another port only once it is late (it may be an API that
                # started before the dev server).
                asked = [item for item in mine if item.port == p.port]
                if asked or late:
                    chosen = relay = await self._relay(p, client, asked or mine)
            if chosen is not None:
                if chosen is not relay:  # a relay has said where the dev server listens itself
                    p.emit(
                        f"The dev server listens on port {chosen.port}, not on $PORT ({p.port}): the preview goes there.",
                        LogLevel.info,
                        "forja",
                    )
                p.port = chosen.port
                break
            if not listening and now - max(p.last_output, p.phase_at) > self.config.silent_s:
                await self._give_up(p, stuck_message(self.config.silent_s))
                return
            if now - p.phase_at > deadlines.answer_s:
                await self._give_up(p, answer_overdue(p.dev, now - p.phase_at, p.port, mine, p.tail))
                return
            if not hinted and now - p.phase_at > HINT_AFTER_S:
                hinted = True
                p.emit(_hint(p.port, listening), LogLevel.warning, "forja")
        if p.state in _WAITING and not p.stopping:
            if status is None:  # found on another port: its page not asked yet
                status = await answer_status(client, p.upstream + self.config.ready_path)
            if home.missing(status):
                await self._give_up(p, HOME_NOT_FOUND)
                return
            p.state = PreviewState.running
            p.settled.set()
            p.source = "dev-server"
            took = time.monotonic() - p.started_at
            p.emit(f"The dev server answers on port {p.port} ({took:.1f} s after start).", LogLevel.info, "forja")
            if status is not None and (said := error_answer(status, p.port)):
                p.emit(*said, "forja")

    async def _listeners(self, p: DockerPreview) -> list[Listener]:
        """The listening sockets in the container's network namespace: all of them are the preview's."""
        docker = await self.engine.client()
        try:
            run = await docker.containers.container(p.container_id).exec(
                [*self.wrap, "cat", "/proc/net/tcp", "/proc/net/tcp6"], user=f"{PREVIEW_UID}:{PREVIEW_UID}"
            )
            output = b""
            async with run.start(detach=False) as stream:
                while (message := await stream.read_out()) is not None:
                    output += message.data
        except DockerError:
            return []
        # Docker's embedded DNS server listens in every container of a user-defined network, on 127.0.0.11.
        return [item for item in parse_table(output.decode("ascii", "replace")) if item.host != DOCKER_DNS]

    async def _relay(self, p: DockerPreview, client: httpx.AsyncClient, listening: list[Listener]) -> Listener | None:
        """A dev server on the container's loopback only: relay a port on every interface to it (forward.js)."""
        p.relayed = True
        target = listening[0]
        port = next(port for port in FORWARD_PORTS if port != target.port)
        env = [f"FORJA_TARGET_PORT={target.port}", f"FORJA_TARGET_HOST={target.host}", f"FORJA_FORWARD_PORT={port}"]
        docker = await self.engine.client()
        try:
            run = await docker.containers.container(p.container_id).exec(
                [*self.wrap, "node", "-e", forward_script()], user=f"{PREVIEW_UID}:{PREVIEW_UID}", environment=env
            )
            await run.start(detach=True)
        except DockerError:
            return None
        relay = Listener("0.0.0.0", port)
        for _ in range(50):
            if await answer_status(client, f"http://{relay.address(p.ip)}/") is not None:
                p.emit(
                    f"The dev server listens only on {target.address('127.0.0.1')} inside its container, which the preview "
                    f"cannot reach: Forja relays port {port} to it.",
                    LogLevel.info,
                    "forja",
                )
                return relay
            await asyncio.sleep(0.1)
        return None

    async def _give_up(self, p: DockerPreview, why: str) -> None:
        p.gave_up = p.ended = True
        p.state = PreviewState.failed
        p.detail = why
        p.settled.set()
        p.emit(why, LogLevel.error, "forja")
        docker = await self.engine.client()
        with contextlib.suppress(DockerError):
            await docker.containers.container(p.container_id).kill()

    async def _exited(self, p: DockerPreview) -> None:
        p.ended = True
        p.settled.set()
        if p.stopping or p.gave_up:
            return
        docker = await self.engine.client()
        try:
            info = await docker.containers.container(p.container_id).show()
        except DockerError as exc:
            if exc.status == NO_ENGINE:
                self._engine_gone(p, ENGINE_AWAY)
            return
        if p.stopping:
            return
        state = info["State"]
        code = int(state.get("ExitCode") or 0)
        if state.get("OOMKilled"):
            limit = int((info.get("HostConfig") or {}).get("Memory") or self.config.memory_bytes)
            meaning = (
                f"out of memory: it needed more than the {human_size(limit, iec=True)} a preview may use, FORJA_PREVIEW_MEMORY_MB"
            )
        else:
            meaning = exit_meaning(code)
        text = f"The preview stopped: exit code {code}" + (f" ({meaning})" if meaning else "") + "."
        if code == 0:
            p.state = PreviewState.stopped
            text = "The preview stopped: the dev server exited (exit code 0)."
        else:
            p.state = PreviewState.failed
        if p.no_space:
            full = no_space_sentence(p.full, self.config)
            p.emit(full, LogLevel.error, "forja")
            p.detail = f"{full} {p.detail}" if p.detail else full
        p.detail = f"{p.detail} {text}" if p.detail else text
        if p.tail:  # the detail ends the wait: it says at once what the process said last
            p.detail += " Last lines:\n" + "\n".join(p.tail)
        p.emit(text, LogLevel.error if code else LogLevel.warning, "forja")


def _hint(port: int, listening: list[Listener]) -> str:
    inside = [item for item in listening if item.loopback_only]
    if inside and len(inside) == len(listening):
        ports = ", ".join(str(item.port) for item in inside)
        return (
            f"The dev server listens only on the container's own loopback (port {ports}), which the preview cannot reach: "
            "it should listen on $HOST (0.0.0.0) or on every interface."
        )
    return not_answering_hint(port, listening)
