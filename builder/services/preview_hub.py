"""This worker's previews: its runners and their manager, and each preview by its key, wherever it runs.

A key names what a preview shows: a project's own preview (`project_key`) or one fixed version of a project
(`version_key`, share links). Every operation on a key is written once here: when this worker runs the key's preview
it acts on it, else it answers from the registry's entry (builder/cluster/previews.py) and asks the worker that runs
it. The project's previews and the shared versions' (previews.py) decide what to run.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections import defaultdict
from collections.abc import AsyncGenerator, Awaitable, Callable
from functools import partial
from typing import Any

from builder import outages
from builder.cluster.previews import Handler, PreviewEntry, PreviewRegistry, app_answers
from builder.data_folder import command_lock, previews_held
from builder.errors import ForjaError, PreviewError
from builder.monitoring.families import PREVIEW_RESTARTS
from builder.publish.addresses import APP_PREVIEW, apps_suffix, forja_upstream, key_of_app
from builder.schemas import VersionInfo
from builder.services.install_gate import InstallGate
from builder.services.preview_access import VERSION_PREVIEW_PREFIX, PreviewAccess
from builder.services.preview_records import PreviewRecords
from builder.services.preview_runners import WorkerRunners, translated
from builder.settings import settings
from builder.store import ProjectStore
from preview_runtime.apps_edge import AppsEdge
from preview_runtime.docker.image import ImageStatus, PreviewImage
from preview_runtime.folder_lock import FolderHeld
from preview_runtime.logs import LogHub, LogLevel
from preview_runtime.manager import PreviewManager
from preview_runtime.plan import RunPlan
from preview_runtime.proxy import PreviewProxy
from preview_runtime.runner import CommandOutcome, PreviewInfo, PreviewState, RunnerError, Shell

log = logging.getLogger(__name__)

# A preview that runs but whose address did not answer when its route was applied (its dev server answers / with an
# error, say) is asked again this often while someone follows it; so is another worker's preview's entry.
ANSWER_RETRY_S = 1.0
REMOTE_POLL_S = 0.25
# Another worker's preview that answered is followed by its entry this often (its proxy may stop answering).
ANSWERED_POLL_S = 1.0
# How long another worker may take to do what it is asked (a start returns before its install; a stop is quick).
CALL_TIMEOUT_S = 30.0

ENDED = (PreviewState.failed, PreviewState.stopped)
# The states a preview that answered is followed in (see follow): running, and back from reconnecting or not answering.
FOLLOWED = (PreviewState.running, PreviewState.reconnecting, PreviewState.not_answering)

# Raises to refuse a preview its start or its wake (a quota, a pool).
Admit = Callable[[], Awaitable[None]]


def project_key(project_id: str) -> str:
    return f"project:{project_id}"


def version_key(project_id: str, version: int) -> str:
    return f"version:{project_id}@{version}"


def key_of(info: PreviewInfo) -> str:
    """The key of a preview this worker took back after a restart."""
    if (app := key_of_app(info.project_id, info.preview_id)) is not None:  # a published server app's release
        return app
    if info.preview_id.startswith(VERSION_PREVIEW_PREFIX):
        return version_key(info.project_id, info.version)
    return project_key(info.project_id)


def kind_of(key: str) -> str:
    """What a key names: "project" or "version"."""
    return key.split(":", 1)[0]


class PreviewHub:
    def __init__(
        self, store: ProjectStore, logs: LogHub, registry: PreviewRegistry, access: PreviewAccess, gate: InstallGate
    ) -> None:
        self._store = store
        self.install_gate = gate  # every sandbox that installs starts here (launch): its packages are asked about first
        self._logs = logs
        self.logs = logs
        self.registry = registry
        self._access = access
        self._manager: PreviewManager | None = None
        self._records = PreviewRecords(store.engine)
        self._lock = asyncio.Lock()
        self._key_locks: dict[str, asyncio.Lock] = {}
        # key -> the id of the preview this worker runs for it
        self._local: dict[str, str] = {}
        # Preview id -> the queues of its followers (see follow).
        self._followers: dict[str, set[asyncio.Queue[PreviewInfo]]] = defaultdict(set)
        # What other workers may ask of this one (see handle); stop is the host's own, the rest the previews'.
        self._handlers: dict[str, Handler] = {"stop": self._stop_asked, "memory": self._memory_asked}
        # Each state change reaches the registry in order, from one writer.
        self._updates: asyncio.Queue[tuple[str, PreviewInfo]] = asyncio.Queue()
        self._writer: asyncio.Task[None] | None = None
        self.runners = WorkerRunners(gate.verdict)
        # Keys admitted (see launch and wake) whose preview does not count yet where the admissions look: as starting.
        self._admitted: dict[str, PreviewInfo] = {}
        # What admits the wake of a parked preview whose address was asked for, by kind of key (project id -> refusal).
        self._wake_admissions: dict[str, Callable[[str], Awaitable[None]]] = {}
        # Parked previews whose address was asked for and that could not wake: said once in their project's log.
        self._kept_parked: set[str] = set()

    @property
    def image(self) -> PreviewImage:
        """The preview image the engine's runners need (built in the background when missing)."""
        return self.runners.image

    @property
    def docker_preparation(self) -> asyncio.Task[ImageStatus] | None:
        return self.runners.preparation

    def handle(self, operation: str, handler: Handler) -> None:
        """Do `operation` when another worker asks it of this one (for a preview this one runs)."""
        self._handlers[operation] = handler

    def admit_address_wakes(self, kind: str, admit: Callable[[str], Awaitable[None]]) -> None:
        """A parked preview of this kind of key ("version") wakes at its address only once `admit` (its project id) lets
        it, as its start would; others wake at once."""
        self._wake_admissions[kind] = admit

    @property
    def started_manager(self) -> PreviewManager | None:
        """This worker's preview manager if it runs yet (manager() starts it)."""
        return self._manager

    async def manager(self) -> PreviewManager:
        """This worker's preview manager, started on first use; PreviewError (its sentence) when it cannot start, such as
        a preview port another program holds."""
        async with self._lock:
            if self._manager is None:
                self._manager = await translated(self._start_manager())
            return self._manager

    async def _start_manager(self) -> PreviewManager:
        try:
            return await self._started_manager()
        except FolderHeld as exc:
            raise PreviewError(previews_held(exc.holder)) from None

    async def _started_manager(self) -> PreviewManager:
        proxy = PreviewProxy(
            settings.data_dir / "proxy",
            settings.preview_port,
            settings.preview_domain,
            settings.preview_host,
            gate=await self._access.gate(),
            apps=AppsEdge(apps_suffix(), forja_upstream(), acme_email=settings.acme_email, https_port=settings.apps_https_port),
            # Its Traefik starts (first thing start_background does: before any preview is taken back) only while this
            # process holds the data folder; a server holds it already, and takes it again here.
            owner=command_lock(),
        )
        runners, unavailable = await self.runners.ready()
        manager = PreviewManager(
            runners,
            proxy,
            self._logs,
            park_after_s=settings.preview_park_after_s,
            remove_after_s=settings.preview_remove_after_s,
            ttl_s=settings.preview_ttl_s,
            on_change=self._changed,
            on_wake_request=self._woken_by_address,
            visits_count=lambda preview_id: preview_id.startswith(APP_PREVIEW),  # published server apps
            npm_registry=settings.npm_registry or None,
        )
        manager.unavailable.update(unavailable)
        await manager.start_background()
        self._writer = asyncio.create_task(self._write_updates(), name="preview-entries-writer")
        # Taken back after a restart, with the version each holds (its runner knows the one it started with, its
        # record each save pushed into it since).
        held = await self._records.versions_held(info.preview_id for info in manager.running())
        for preview_id, version in held.items():
            manager.holds(preview_id, version)
        for info in manager.running():
            key = key_of(info)
            self._local[key] = info.preview_id
            await self.registry.claim(key, info)
        self.registry.serve(self._handlers, self._current)
        self.runners.follow(manager)
        return manager

    # -- one key, wherever its preview runs --------------------------------------------------------

    def lock(self, key: str) -> asyncio.Lock:
        """Held while the key's preview is started, woken or stopped on this worker: concurrent callers wait for one."""
        return self._key_locks.setdefault(key, asyncio.Lock())

    def runs_here(self, key: str) -> bool:
        return key in self._local

    async def local(self, key: str) -> PreviewInfo | None:
        """The key's preview when this worker runs it."""
        preview_id = self._local.get(key)
        if preview_id is None or self._manager is None:
            return None
        try:
            return await self._manager.status(preview_id)
        except RunnerError:
            self._local.pop(key, None)
            return None

    async def elsewhere(self, key: str) -> PreviewEntry | None:
        """The key's entry when another worker runs its preview."""
        return None if key in self._local else await self.registry.lookup(key)

    async def status(self, key: str) -> PreviewInfo | None:
        if (info := await self.local(key)) is not None:
            return info
        entry = await self.elsewhere(key)
        return entry.info if entry is not None else None

    async def call(self, entry: PreviewEntry, operation: str, arguments: dict[str, Any]) -> Any:
        """Ask the worker that runs `entry`'s preview to do `operation`."""
        return await self.registry.call(entry.worker, operation, arguments, CALL_TIMEOUT_S)

    async def launch(
        self,
        key: str,
        preview_id: str,
        project_id: str,
        version: int,
        files: dict[str, bytes],
        plan: RunPlan,
        runner: str,
        started_by: str | None = None,
        admit: Admit | None = None,
    ) -> PreviewInfo:
        """A new preview of the key on this worker (the caller holds its lock, and none runs here); the one another
        worker started meanwhile, if one did. `admit` is asked first, and no other admission runs until the new
        preview counts where they look. PackagesRefused, before anything starts, when the project asks for a package
        that should not be installed."""
        if plan.install.strip():
            try:
                await self.install_gate.check(files)
            except PreviewError as refused:
                self._logs.emit(project_id, refused.message, LogLevel.error, "forja")
                raise
        manager = await self.manager()
        starting = PreviewInfo(
            preview_id=preview_id,
            project_id=project_id,
            version=version,
            runner=runner,
            state=PreviewState.starting,
            url=manager.proxy.url_for(preview_id),
        )
        async with self.registry.admission() if admit is not None else contextlib.nullcontext():
            if admit is not None:
                await admit()
            if (held := await self.registry.claim(key, starting)) is not None:
                return held.info
            self._admitted[key] = starting
        try:
            info = await translated(
                manager.start(preview_id, project_id, version, files, plan, runner or settings.preview_runner)
            )
            self._local[key] = preview_id
        except BaseException:
            await self.registry.release(key)
            raise
        finally:
            self._admitted.pop(key, None)
        await self.registry.update(key, info)
        await self._records.started(info, started_by)
        return info

    async def wake(self, key: str, admit: Admit | None = None) -> PreviewInfo | None:
        """This worker's parked preview of the key, woken; None when it could not wake (its runner removed it). `admit`
        is asked first (not for a preview awake already), and no other admission runs until the preview counts as
        starting."""
        preview_id = self._local.get(key)
        if preview_id is None:
            return None
        manager = await self.manager()
        try:
            if admit is not None and (info := await self.local(key)) is not None and info.state == PreviewState.parked:
                async with self.registry.admission():
                    await admit()
                    self._admitted[key] = info.model_copy(update={"state": PreviewState.starting})
                    await self.registry.update(key, self._admitted[key])
            return await manager.wake(preview_id)
        except RunnerError:
            self._local.pop(key, None)
            await self.registry.release(key)
            return None
        finally:
            self._admitted.pop(key, None)

    async def _woken_by_address(self, preview_id: str) -> None:
        """A request reached a parked preview's waking page: it wakes, once admitted as its kind's wakes are."""
        key = next((key for key, running in self._local.items() if running == preview_id), None)
        if key is None:
            return
        admit = self._wake_admissions.get(kind_of(key))
        info = await self.local(key)
        if info is None:
            return
        try:
            await self.wake(key, partial(admit, info.project_id) if admit is not None else None)
            self._kept_parked.discard(preview_id)
        except ForjaError as exc:  # the waking page keeps asking, so it wakes once there is room
            if preview_id not in self._kept_parked:
                self._kept_parked.add(preview_id)
                self._logs.emit(info.project_id, f"A visit to a parked preview's address did not wake it yet: {exc}")

    async def wait_ready(self, key: str) -> PreviewInfo:
        """Until the key's preview answers or fails, wherever it runs; callers bound it with asyncio.timeout."""
        if (preview_id := self._local.get(key)) is not None:
            return await translated((await self.manager()).wait_ready(preview_id))
        while True:
            entry = await self.elsewhere(key)
            if entry is None:
                raise PreviewError("No preview is running for this project.")
            if entry.info.state in ENDED or (entry.info.state == PreviewState.running and await self._answers(entry.info)):
                return entry.info
            if entry.info.state == PreviewState.parked:
                await self._answers(entry.info)  # its address wakes it, on its own worker
            await asyncio.sleep(REMOTE_POLL_S)

    async def wait_installed(self, key: str) -> PreviewInfo:
        """Until this worker's preview of the key has its dependencies installed, so its commands can run
        (run_command), or fails or stops; callers bound it with asyncio.timeout. A preview another worker runs: until
        it answers (wait_ready)."""
        if (preview_id := self._local.get(key)) is not None:
            return await translated((await self.manager()).wait_installed(preview_id))
        return await self.wait_ready(key)

    async def answers(self, key: str) -> bool:
        """Whether the key's preview serves its app at its address (asking wakes a parked one of another worker)."""
        if (preview_id := self._local.get(key)) is not None:
            return self._manager is not None and await self._manager.answers(preview_id)
        entry = await self.elsewhere(key)
        return entry is not None and await self._answers(entry.info)

    async def _answers(self, info: PreviewInfo) -> bool:
        """Whether another worker's preview serves its app at its address (see app_answers)."""
        return await app_answers(info.url, await self._access.own_cookie(info))

    async def stop(self, key: str) -> bool:
        """Stop the key's preview, on whichever worker runs it; False when none does."""
        if key in self._local:
            async with self.lock(key):
                return await self.stop_here(key)
        entry = await self.elsewhere(key)
        if entry is None:
            return False
        return bool(await self.call(entry, "stop", {"key": key}))

    async def _stop_asked(self, arguments: dict[str, Any]) -> bool:
        return await self.stop(str(arguments["key"]))

    async def replace_here(self, key: str, current: PreviewInfo) -> None:
        """Stop this worker's preview of the key, `current`, to start another in its place (the caller holds the key's
        lock); one that had not ended counts as a restart (/metrics)."""
        if current.state not in ENDED:
            PREVIEW_RESTARTS.inc()
        await self.stop_here(key)

    async def stop_here(self, key: str) -> bool:
        """Stop this worker's preview of the key (the caller holds the key's lock)."""
        preview_id = self._local.pop(key, None)
        await self.registry.release(key)
        if preview_id is None or self._manager is None:
            return False
        await translated(self._manager.stop(preview_id))
        await self._records.stopped(preview_id)
        return True

    async def push_files(
        self, key: str, changed: dict[str, bytes], deleted: list[str], version: VersionInfo | None = None, *, own: bool = False
    ) -> None:
        """Saved files into this worker's preview of the key (its dev server reloads); with `version`, the version it
        holds from now on (its record too: a restarted Forja takes it back as that); `own`: Forja's own change, whose
        reloads stay out of the log."""
        preview_id = self._local.get(key)
        if preview_id is None or self._manager is None:
            return
        number = version.number if version is not None else None
        await translated(self._manager.push_files(preview_id, changed, deleted, number, own=own))
        if version is not None:
            await self._records.holds(preview_id, version.id)

    def expect_request(self, key: str, method: str, target: str) -> None:
        """Forja is about to send this request to this worker's preview of the key (see PreviewManager.expect_request)."""
        preview_id = self._local.get(key)
        if preview_id is not None and self._manager is not None:
            self._manager.expect_request(preview_id, method, target)

    async def run_command(self, key: str, command: str, timeout_s: float) -> CommandOutcome:
        """One shell line in this worker's preview of the key (see Runner.run_command)."""
        preview_id = self._local.get(key)
        if preview_id is None or self._manager is None:
            raise PreviewError("No preview is running for this project: start it, then run its checks.")
        return await translated(self._manager.run_command(preview_id, command, timeout_s))

    async def open_shell(self, key: str, cols: int, rows: int) -> Shell:
        """An interactive shell in this worker's preview of the key (see Runner.open_shell)."""
        preview_id = self._local.get(key)
        if preview_id is None or self._manager is None:
            raise PreviewError("No preview is running for this project: start it, then open the terminal.")
        return await translated(self._manager.open_shell(preview_id, cols, rows))

    def touch(self, key: str) -> None:
        """This worker's preview of the key is in use now (an open terminal's keystrokes): it is not parked as idle."""
        preview_id = self._local.get(key)
        if preview_id is not None and self._manager is not None:
            self._manager.touch(preview_id)

    async def collect(self, key: str, folder: str, limit_bytes: int) -> dict[str, bytes]:
        """The files under `folder` of this worker's preview of the key (see Runner.collect)."""
        preview_id = self._local.get(key)
        if preview_id is None or self._manager is None:
            raise PreviewError("No preview is running for this project.")
        return await translated(self._manager.collect(preview_id, folder, limit_bytes))

    async def follow(self, key: str) -> AsyncGenerator[PreviewInfo, None]:
        """The key's preview from now on, wherever it runs: its state each time it changes, and once more when its
        address answers (a running preview's `url` is empty until then), until it fails or stops. Once it answered it
        is followed for as long as it runs: a preview whose proxy stopped answering comes as reconnecting (no `url`), one
        whose app stopped answering as not_answering, then as running with its `url` again; any other change ends it. Ends at once when no preview of the key runs."""
        if key in self._local:
            async for info in self._follow_here(self._local[key]):
                yield info
            return
        shown: tuple[PreviewState, bool] | None = None
        answered = False
        while (entry := await self.elsewhere(key)) is not None:
            info = entry.info
            if answered and info.state not in FOLLOWED:
                return
            # Once it answered, its worker's entry says when its proxy stops and answers again: no request needed.
            answers = info.state == PreviewState.running and (answered or await self._answers(info))
            if (info.state, answers) != shown:
                shown = (info.state, answers)
                yield info if answers else info.model_copy(update={"url": ""})
            answered = answered or answers
            if info.state in ENDED:
                return
            await asyncio.sleep(ANSWERED_POLL_S if answered else REMOTE_POLL_S)

    async def _follow_here(self, preview_id: str) -> AsyncGenerator[PreviewInfo, None]:
        manager = self._manager
        if manager is None:
            return
        queue: asyncio.Queue[PreviewInfo] = asyncio.Queue()
        # Listening before asking for the state: no change can fall between the two.
        self._followers[preview_id].add(queue)
        try:
            try:
                info = await manager.status(preview_id)
            except RunnerError:
                return
            shown: tuple[PreviewState, bool] | None = None
            answered = False
            while True:
                if answered and info.state not in FOLLOWED:
                    return
                # Shown answering, and still running (a save's news): not asked again, or a dev server restarting for
                # a save would take the page's frame away for a moment.
                kept = shown == (PreviewState.running, True) and info.state == PreviewState.running
                answers = info.state == PreviewState.running and (kept or await manager.answers(preview_id))
                if (info.state, answers) != shown:
                    shown = (info.state, answers)
                    yield info if answers else info.model_copy(update={"url": ""})
                answered = answered or answers
                if info.state in ENDED:
                    return
                try:
                    async with asyncio.timeout(None if answers or info.state not in FOLLOWED else ANSWER_RETRY_S):
                        info = await queue.get()
                except TimeoutError:
                    try:
                        info = await manager.status(preview_id)
                    except RunnerError:
                        info = info.model_copy(update={"state": PreviewState.stopped})
        finally:
            self._followers[preview_id].discard(queue)
            if not self._followers[preview_id]:
                del self._followers[preview_id]

    # -- every preview ---------------------------------------------------------------------------

    def running(self) -> list[PreviewInfo]:
        """Every preview this worker runs (projects' own and shared versions)."""
        return self._manager.running() if self._manager is not None else []

    def mine(self) -> list[PreviewEntry]:
        """This worker's previews, an admitted one as starting until it is (its /metrics counts these)."""
        here = {info.preview_id: info for info in self.running()}
        here |= {info.preview_id: info for info in self._admitted.values()}
        return [PreviewEntry(worker=self.registry.worker, info=info) for info in here.values()]

    async def everywhere(self) -> list[PreviewEntry]:
        """Every preview of every worker: this one's (mine), then the others' from their entries."""
        return self.mine() + list((await self.registry.elsewhere()).values())

    async def find(self, preview_id: str) -> PreviewEntry | None:
        """The preview with this id, wherever it runs."""
        return next((entry for entry in await self.everywhere() if entry.info.preview_id == preview_id), None)

    def here(self, prefix: str) -> dict[str, str]:
        """Key -> preview id of this worker's previews whose keys start with `prefix`."""
        return {key: preview_id for key, preview_id in self._local.items() if key.startswith(prefix)}

    async def keys_everywhere(self, prefix: str) -> list[str]:
        """The keys of every worker's previews that start with `prefix`."""
        return [*self.here(prefix), *(key for key in await self.registry.elsewhere() if key.startswith(prefix))]

    async def memory_bytes(self, entry: PreviewEntry) -> int | None:
        """The memory a preview uses now (bytes), asked of the worker that runs it; None when its runner cannot tell
        (or its worker does not answer)."""
        if entry.worker != self.registry.worker:
            try:
                return await self.registry.call(entry.worker, "memory", {"preview_id": entry.info.preview_id}, timeout_s=3)
            except PreviewError:
                return None
        return await self._manager.memory_bytes(entry.info.preview_id) if self._manager is not None else None

    async def _memory_asked(self, arguments: dict[str, Any]) -> int | None:
        return await self._manager.memory_bytes(str(arguments["preview_id"])) if self._manager is not None else None

    async def stop_preview(self, preview_id: str) -> bool:
        """Stop one preview, whichever it is and wherever it runs; False if none runs with that id."""
        for key, running in list(self._local.items()):
            if running == preview_id:
                return await self.stop(key)
        for key, entry in (await self.registry.elsewhere()).items():
            if entry.info.preview_id == preview_id:
                return await self.stop(key)
        if self._manager is None or preview_id not in {info.preview_id for info in self._manager.running()}:
            return False
        await translated(self._manager.stop(preview_id))
        await self._records.stopped(preview_id)
        return True

    async def close(self) -> None:
        await self.install_gate.close()
        await self.registry.close()
        if self._writer is not None:
            self._writer.cancel()
        await self.runners.close()
        if self._manager is not None:
            await self._manager.close()

    # -- state changes ---------------------------------------------------------------------------

    def _changed(self, info: PreviewInfo) -> None:
        for queue in self._followers.get(info.preview_id, ()):
            queue.put_nowait(info)
        for key, preview_id in self._local.items():
            if preview_id == info.preview_id:
                self._updates.put_nowait((key, info))

    async def _write_updates(self) -> None:
        while True:
            key, info = await self._updates.get()
            try:
                await self.registry.update(key, info)
            except Exception as exc:  # Redis away for a moment: the entry is renewed with the state then at the next beat
                if not outages.noted(exc):
                    log.warning("could not tell the other workers about the preview of %s", key, exc_info=True)

    async def _current(self, preview_id: str) -> PreviewInfo | None:
        """The state of this worker's preview now (a failed one too, with why); None once it is stopped or removed. A
        preview its runner is still starting (launch) is not known to the manager yet, but alive: as admitted."""
        if self._manager is not None:
            with contextlib.suppress(RunnerError):
                return await self._manager.peek(preview_id)
        return next((info for info in self._admitted.values() if info.preview_id == preview_id), None)


def new_preview_id(prefix: str = "") -> str:
    return prefix + secrets.token_hex(6)
