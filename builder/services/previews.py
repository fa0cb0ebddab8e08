"""Previews as Forja's service layer sees them: per project, recorded, fed with saved edits.

preview_runtime does the running; this module decides what to run (the project's current
version and its run plan), remembers it in the PreviewSession table, and pushes each save.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections import defaultdict
from collections.abc import AsyncGenerator, Awaitable, Callable, Mapping

from builder.cluster.previews import PreviewDirectory, app_answers
from builder.errors import PreviewError
from builder.schemas import CheckResult, VersionInfo
from builder.services.preview_records import PreviewRecords
from builder.services.preview_runners import (
    docker_runner,
    engine_runners,
    local_runner,
    local_work_dir,
    running_copy,
    swarm_runner,
    translated,
    turned_off,
    wanted_runners,
)
from builder.settings import settings
from builder.store import ProjectStore
from builder.webcontainer_boots import SOURCE as WEBCONTAINER
from builder.webcontainer_boots import BootTally, tally
from preview_runtime.annotate import annotate
from preview_runtime.checks import project_checks
from preview_runtime.docker.image import ImageState, ImageStatus, PreviewImage
from preview_runtime.local.homes import remove_homes
from preview_runtime.logs import LogHub, LogLevel
from preview_runtime.manager import PreviewManager
from preview_runtime.plan import (
    BrowserPlan,
    RunPlan,
    browser_plan_for,
    dependency_files,
    is_dependency_file,
    plan_for,
    plan_so_far,
)
from preview_runtime.proxy import PreviewProxy
from preview_runtime.runner import PreviewInfo, PreviewState, Runner, RunnerError

log = logging.getLogger(__name__)

# A preview that runs but whose address did not answer when its route was applied (its dev server
# answers / with an error, say) is asked again this often while someone follows it.
ANSWER_RETRY_S = 1.0

VERSION_PREVIEW_PREFIX = "v-"
"""Preview ids of fixed-version previews start with this, so a restarted Forja adopts them as such."""


def version_key(project_id: str, version: int) -> str:
    return f"{project_id}@{version}"


class PreviewService:
    def __init__(self, store: ProjectStore, logs: LogHub) -> None:
        self._store = store
        self._logs = logs
        self._manager: PreviewManager | None = None
        self._records = PreviewRecords(store.engine)
        self._lock = asyncio.Lock()
        self._by_project: dict[str, str] = {}
        # Previews of one fixed version (share links): f"{project_id}@{version}" -> preview id.
        self._by_version: dict[str, str] = {}
        self._version_locks: dict[str, asyncio.Lock] = {}
        self._project_locks: dict[str, asyncio.Lock] = {}
        self.image = PreviewImage(settings.preview_image, on_change=self._image_changed)
        # Set while a missing preview image is built at start; it ends once Docker runs previews (or cannot).
        self.docker_preparation: asyncio.Task[ImageStatus] | None = None
        # Preview id -> the queues of its followers (see follow).
        self._followers: dict[str, set[asyncio.Queue[PreviewInfo]]] = defaultdict(set)
        # Projects whose preview is in Select mode: their running copy carries source places (see set_select).
        self._selecting: set[str] = set()
        # Installs started by prepare, held so they are not garbage-collected while they run.
        self._preparing: set[asyncio.Task[None]] = set()
        # Asked before a new preview starts (not when a running one is reused); raises to refuse it. The services
        # set it to the quota check, which itself counts this service's running previews.
        self.admit: Callable[[str], Awaitable[None]] | None = None
        # With several workers: which one runs each share link's preview (one for all of them).
        self.directory: PreviewDirectory | None = None

    async def manager(self) -> PreviewManager:
        async with self._lock:
            if self._manager is None:
                proxy = PreviewProxy(
                    settings.data_dir / "proxy", settings.preview_port, settings.preview_domain, settings.preview_host
                )
                runners: dict[str, Runner] = {}
                unavailable = turned_off()
                if "local" in wanted_runners():
                    runners["local"] = local_runner()
                image = await self.image.check() if engine_runners() else None
                if image is not None and image.state == ImageState.ready:
                    await self._add_engine_runners(runners, unavailable, image.image)
                elif image is not None:
                    log.warning("previews do not run in Docker yet: %s", image.describe())
                    unavailable.update(dict.fromkeys(engine_runners(), image.describe()))
                manager = PreviewManager(
                    runners,
                    proxy,
                    self._logs,
                    park_after_s=settings.preview_park_after_s,
                    remove_after_s=settings.preview_remove_after_s,
                    ttl_s=settings.preview_ttl_s,
                    on_change=self._changed,
                )
                manager.unavailable.update(unavailable)
                await manager.start_background()
                for info in manager.running():
                    if info.preview_id.startswith(VERSION_PREVIEW_PREFIX):
                        key = version_key(info.project_id, info.version)
                        self._by_version[key] = info.preview_id
                        if self.directory is not None:
                            await self.directory.claim(key, info.preview_id, info.url)
                    else:
                        self._by_project[info.project_id] = info.preview_id
                # What each adopted preview holds: its runner knows the version it started with, not the saves since.
                for preview_id, version in (await self._records.versions_held(self._by_project.values())).items():
                    manager.holds(preview_id, version)
                self._manager = manager
                if self.directory is not None:
                    self.directory.keep(self._alive)
                if image is not None and image.state == ImageState.missing:
                    self.docker_preparation = asyncio.create_task(self._prepare_docker(), name="prepare-docker")
            return self._manager

    @staticmethod
    async def _add_engine_runners(runners: dict[str, Runner], unavailable: dict[str, str], image: str) -> None:
        """The runners on Docker's engine the settings allow, once the preview image is there: Docker, and the swarm
        when the engine is a swarm manager (else why not)."""
        if "docker" in engine_runners():
            runners["docker"] = docker_runner(image)
        if "swarm" in engine_runners():
            swarm, why = await swarm_runner(image)
            if swarm is not None:
                runners["swarm"] = swarm
            else:
                unavailable["swarm"] = why
                # Under `auto` an engine in no swarm is the usual case, not a fault.
                level = logging.WARNING if settings.preview_runner == "swarm" else logging.INFO
                log.log(level, "previews do not run on a swarm: %s", why)

    def _image_changed(self, status: ImageStatus) -> None:
        """Previews started while the image builds say how far it got (see choose_runner)."""
        if self._manager is not None and status.state != ImageState.ready:
            self._manager.unavailable.update(dict.fromkeys(engine_runners(), status.describe()))

    async def _prepare_docker(self) -> ImageStatus:
        """Build the missing image, then let later previews use Docker (or the swarm)."""
        status = await self.image.build()
        if status.state == ImageState.ready and self._manager is not None:
            runners: dict[str, Runner] = {}
            unavailable: dict[str, str] = {}
            await self._add_engine_runners(runners, unavailable, status.image)
            for runner in runners.values():
                await self._manager.add_runner(runner)
            self._manager.unavailable.update(unavailable)
            log.info("the preview image is ready; new previews may run with: %s", ", ".join(runners) or "none")
        return status

    async def start(
        self, project_id: str, runner: str = "auto", restart: bool = False, started_by: str | None = None
    ) -> PreviewInfo:
        """The project's current version, previewed; an already running preview of it is reused, a parked one woken.

        Concurrent callers (a generation's check and the page that shows it) wait for one start.
        `started_by`: the person who asked, if one did (for the record).
        """
        manager = await self.manager()
        async with self._project_locks.setdefault(project_id, asyncio.Lock()):
            project = await self._store.get_project(project_id)
            if not project.current_version:
                raise PreviewError("This project has no files yet; build or import something first.")
            if (current := await self.status(project_id)) is not None:
                if not restart and current.state == PreviewState.parked and current.version == project.current_version:
                    if (woken := await self._wake(project_id, current)) is not None:
                        return woken
                elif not restart and current.state not in (PreviewState.failed, PreviewState.stopped, PreviewState.parked):
                    return current
                await self.stop(project_id)
            if self.admit is not None:
                await self.admit(project_id)
            tree = await self._store.read_tree(project_id)
            try:
                plan = plan_for(tree)
            except ValueError as exc:
                raise PreviewError(str(exc)) from None
            preview_id = secrets.token_hex(6)
            info = await translated(
                manager.start(
                    preview_id,
                    project_id,
                    project.current_version,
                    running_copy(tree, places=project_id in self._selecting),
                    plan,
                    runner or settings.preview_runner,
                )
            )
            self._by_project[project_id] = preview_id
            await self._records.started(info, started_by)
            return info

    async def _wake(self, project_id: str, parked: PreviewInfo) -> PreviewInfo | None:
        """A parked preview, woken (it counts as running again: admitted as a start is); None when it could not wake
        (its runner removed it: its version starts afresh)."""
        if self.admit is not None:
            await self.admit(project_id)
        try:
            return await (await self.manager()).wake(parked.preview_id)
        except RunnerError:
            return None

    def prepare(self, project_id: str, tree: Mapping[str, bytes]) -> None:
        """Start installing the dependencies of a project still being written, so they are ready when it is; returns
        at once and never raises (a failure is a warning in the project's log: its preview installs them at start).

        `tree`: the files known so far (for a follow-up, the current version's tree with the streamed files over it).
        Only its dependency files are kept and installed; the rest only helps find the run plan. Nothing starts when
        that plan is not known yet, or when the project's running preview has the same dependency files.
        """
        needed, plan = dependency_files(tree), plan_so_far(tree)
        if plan is None or not plan.install.strip() or not needed:
            return
        task = asyncio.create_task(self._prepare(project_id, needed, plan), name=f"prepare-{project_id}")
        self._preparing.add(task)
        task.add_done_callback(self._preparing.discard)

    async def _prepare(self, project_id: str, dependencies: dict[str, bytes], plan: RunPlan) -> None:
        try:
            if await self._running_with(project_id, dependencies):
                return
            await (await self.manager()).prepare(project_id, dependencies, plan)
        except Exception as exc:  # never into the generation: its preview installs at start instead
            log.warning("installing ahead failed for %s", project_id, exc_info=True)
            self._logs.emit(project_id, f"Could not install the dependencies ahead of the preview: {exc}", LogLevel.warning)

    async def _running_with(self, project_id: str, dependencies: Mapping[str, bytes]) -> bool:
        """Whether the project's preview runs (or starts) with exactly these dependency files: nothing to install."""
        current = await self.status(project_id)
        if current is None or current.state in (PreviewState.failed, PreviewState.stopped):
            return False
        return dependency_files(await self._store.read_tree(project_id, current.version)) == dependencies

    async def browser_plan(self, project_id: str) -> BrowserPlan | None:
        """How the browser runs the current version in a WebContainer, or None when a server runner must.

        None as well when WebContainers are turned off (FORJA_WEBCONTAINERS=false), and while a server preview of
        the project runs (a generation's check started it): that one is shown rather than a second run.
        """
        if not settings.webcontainers:
            return None
        running = await self.status(project_id)
        if running is not None and running.state not in (PreviewState.failed, PreviewState.stopped):
            return None
        project = await self._store.get_project(project_id)
        if not project.current_version:
            return None
        return browser_plan_for(await self._store.read_tree(project_id))

    async def hot_reloads(self, project_id: str) -> bool:
        """Whether the project's dev server updates an open page by itself after a save (Vite's HMR...).

        A plain HTML page or a server without it shows a saved version only once the page reloads.
        """
        try:
            return plan_for(await self._store.read_tree(project_id)).hot_reload
        except ValueError:
            return False

    async def status(self, project_id: str) -> PreviewInfo | None:
        preview_id = self._by_project.get(project_id)
        if preview_id is None or self._manager is None:
            return None
        try:
            return await self._manager.status(preview_id)
        except RunnerError:
            self._by_project.pop(project_id, None)
            return None

    async def wait_ready(self, project_id: str) -> PreviewInfo:
        """Until the preview answers or fails; callers bound it with asyncio.timeout."""
        preview_id = self._by_project.get(project_id)
        if preview_id is None:
            raise PreviewError("No preview is running for this project.")
        return await translated((await self.manager()).wait_ready(preview_id))

    def _changed(self, info: PreviewInfo) -> None:
        for queue in self._followers.get(info.preview_id, ()):
            queue.put_nowait(info)

    async def follow(self, project_id: str) -> AsyncGenerator[PreviewInfo, None]:
        """The project's preview as it changes: its state now, then each new one, as the manager reports them.

        A running preview comes with an empty `url` until its address answers 200 through the proxy,
        then once more with it. Ends there, or with failed or stopped (a failure's `detail` says why);
        ends at once when no preview of the project is running.
        """
        preview_id = self._by_project.get(project_id)
        manager = self._manager
        if preview_id is None or manager is None:
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
            while True:
                answers = info.state == PreviewState.running and await manager.answers(preview_id)
                if (info.state, answers) != shown:
                    shown = (info.state, answers)
                    yield info if answers else info.model_copy(update={"url": ""})
                if answers or info.state in (PreviewState.failed, PreviewState.stopped):
                    return
                try:
                    async with asyncio.timeout(ANSWER_RETRY_S if info.state == PreviewState.running else None):
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

    async def run_checks(self, project_id: str, timeout_s: float) -> list[CheckResult]:
        """The current version's own checks (preview_runtime.checks), one after the other in the project's running
        preview, all within `timeout_s`: each may use what is left, and one with nothing left is skipped."""
        preview_id = self._by_project.get(project_id)
        if preview_id is None or self._manager is None:
            raise PreviewError("No preview is running for this project: start it, then run its checks.")
        tree = await self._store.read_tree(project_id)
        try:
            checks = project_checks(tree, plan_for(tree))
        except ValueError as exc:
            raise PreviewError(str(exc)) from None
        deadline = time.monotonic() + timeout_s
        results: list[CheckResult] = []
        for check in checks:
            left = deadline - time.monotonic()
            if left <= 0:
                results.append(CheckResult(name=check.name, command=check.command, passed=False, skipped=True))
                continue
            outcome = await translated(self._manager.run_command(preview_id, check.command, left))
            results.append(
                CheckResult(
                    name=check.name,
                    command=check.command,
                    passed=outcome.exit_code == 0,
                    timed_out=outcome.timed_out,
                    output_tail=outcome.output,
                    duration_s=outcome.duration_s,
                )
            )
        return results

    async def answers(self, project_id: str) -> bool:
        """Whether the preview's URL answers 200 through the proxy."""
        preview_id = self._by_project.get(project_id)
        return preview_id is not None and self._manager is not None and await self._manager.answers(preview_id)

    async def stop(self, project_id: str) -> bool:
        preview_id = self._by_project.pop(project_id, None)
        if preview_id is None or self._manager is None:
            return False
        await translated(self._manager.stop(preview_id))
        await self._records.stopped(preview_id)
        return True

    async def on_saved(self, project_id: str, version: VersionInfo, changed: dict[str, bytes], deleted: list[str]) -> None:
        """A saved edit (`version`) reaches the running preview without a restart; its dev server reloads.

        A change to the dependencies (package.json, a lockfile, requirements.txt) restarts the
        preview instead, so they are installed: pushed alone, the dev server would fail on the
        new imports, and "Fix this error" would send the model after a problem that is not in the code.
        """
        preview_id = self._by_project.get(project_id)
        if preview_id is None or self._manager is None:
            return
        if any(is_dependency_file(path) for path in [*changed, *deleted]):
            self._logs.emit(project_id, "The dependencies changed: restarting the preview to install them.")
            try:
                await self.start(project_id, restart=True)
            except PreviewError as exc:
                self._logs.emit(project_id, f"Could not restart the preview: {exc}", LogLevel.error)
            return
        try:
            await self._manager.push_files(
                preview_id, running_copy(changed, places=project_id in self._selecting), deleted, version.number
            )
        except RunnerError as exc:
            self._logs.emit(project_id, f"Could not update the running preview: {exc}")
            return
        await self._records.holds(preview_id, version.id)

    async def set_select(self, project_id: str, on: bool) -> None:
        """Select mode on or off: the running preview's components get (or lose) their source places.

        Only while it is on: the project's own checks (lint, tests with snapshots) and the verification run
        in the same copy, and must see the code as written. The dev server hot-reloads the components.
        """
        if on == (project_id in self._selecting):
            return
        if on:
            self._selecting.add(project_id)
        else:
            self._selecting.discard(project_id)
        preview_id = self._by_project.get(project_id)
        if preview_id is None or self._manager is None or await self.status(project_id) is None:
            return
        # Each save reached the running copy (on_saved), so it holds the current version.
        tree = await self._store.read_tree(project_id)
        marked = annotate(tree)
        changed = {path: marked[path] if on else data for path, data in tree.items() if marked[path] != data}
        if changed:
            try:
                await self._manager.push_files(preview_id, running_copy(changed, places=on), [])
            except RunnerError as exc:
                self._logs.emit(project_id, f"Could not update the running preview for Select mode: {exc}")

    # -- previews of one fixed version (share links) ----------------------------------------------
    #
    # Kept apart from the project's current preview: saved edits never reach them, and the
    # current preview's start/stop/restart leave them alone.

    async def start_version(self, project_id: str, version: int, runner: str = "auto", restart: bool = False) -> PreviewInfo:
        """The given version, previewed as it was saved; an already running preview of it is reused, a parked one woken.

        Concurrent callers for the same version wait for one start rather than starting several; with several
        workers, the preview another worker runs of it is the one (see builder/cluster/previews.py).
        """
        manager = await self.manager()
        key = version_key(project_id, version)
        lock = self._version_locks.setdefault(key, asyncio.Lock())
        async with lock:
            if (current := await self._local_version(key)) is not None:
                if not restart and current.state == PreviewState.parked:
                    if (woken := await self._wake(project_id, current)) is not None:
                        return woken
                elif not restart and current.state not in (PreviewState.failed, PreviewState.stopped):
                    return current
                await self.stop_version(project_id, version)
            elif (elsewhere := await self._elsewhere(project_id, version)) is not None:
                return elsewhere
            if self.admit is not None:
                await self.admit(project_id)
            tree = await self._store.read_tree(project_id, version)
            try:
                plan = plan_for(tree)
            except ValueError as exc:
                raise PreviewError(str(exc)) from None
            preview_id = VERSION_PREVIEW_PREFIX + secrets.token_hex(6)
            if self.directory is not None:
                held = await self.directory.claim(key, preview_id, manager.proxy.url_for(preview_id))
                if held is not None:  # another worker started it meanwhile
                    return held.info(project_id, version)
            try:
                info = await translated(
                    manager.start(
                        preview_id, project_id, version, running_copy(tree, select=False), plan, runner or settings.preview_runner
                    )
                )
            except BaseException:
                if self.directory is not None:
                    await self.directory.release(key)
                raise
            self._by_version[key] = preview_id
            await self._records.started(info)
            return info

    async def status_version(self, project_id: str, version: int) -> PreviewInfo | None:
        key = version_key(project_id, version)
        return await self._local_version(key) or await self._elsewhere(project_id, version)

    async def _local_version(self, key: str) -> PreviewInfo | None:
        preview_id = self._by_version.get(key)
        if preview_id is None or self._manager is None:
            return None
        try:
            return await self._manager.status(preview_id)
        except RunnerError:
            self._by_version.pop(key, None)
            return None

    async def _elsewhere(self, project_id: str, version: int) -> PreviewInfo | None:
        """The version's preview when another worker runs it."""
        if self.directory is None:
            return None
        held = await self.directory.lookup(version_key(project_id, version))
        return held.info(project_id, version) if held is not None else None

    async def _alive(self, preview_id: str) -> bool:
        """Whether this worker still runs the preview (parked counts: its address wakes it)."""
        return self._manager is not None and any(
            info.preview_id == preview_id and info.state not in (PreviewState.failed, PreviewState.stopped)
            for info in self._manager.running()
        )

    async def wait_ready_version(self, project_id: str, version: int) -> PreviewInfo:
        """Until the version's preview answers or fails; callers bound it with asyncio.timeout."""
        preview_id = self._by_version.get(version_key(project_id, version))
        if preview_id is None:
            raise PreviewError(f"No preview of version {version} is running.")
        return await translated((await self.manager()).wait_ready(preview_id))

    async def answers_version(self, project_id: str, version: int) -> bool:
        preview_id = self._by_version.get(version_key(project_id, version))
        if preview_id is not None:
            return self._manager is not None and await self._manager.answers(preview_id)
        elsewhere = await self._elsewhere(project_id, version)
        return elsewhere is not None and await app_answers(elsewhere.url)

    async def forget_projects(self, project_ids: list[str]) -> None:
        """What the local runner keeps per project (its home) goes with projects deleted for good."""
        await asyncio.to_thread(remove_homes, local_work_dir(), project_ids)

    async def stop_version(self, project_id: str, version: int) -> bool:
        key = version_key(project_id, version)
        preview_id = self._by_version.pop(key, None)
        if self.directory is not None:
            await self.directory.release(key)
        if preview_id is None or self._manager is None:
            return False
        await translated(self._manager.stop(preview_id))
        await self._records.stopped(preview_id)
        return True

    def version_previews(self, project_id: str) -> dict[int, str]:
        """Version number -> preview id of the project's running fixed-version previews."""
        prefix = f"{project_id}@"
        return {int(k.removeprefix(prefix)): v for k, v in self._by_version.items() if k.startswith(prefix)}

    def shared_versions(self) -> list[tuple[str, int]]:
        """(project id, version) of every running fixed-version preview, of all projects."""
        return [(key.rsplit("@", 1)[0], int(key.rsplit("@", 1)[1])) for key in self._by_version]

    async def close(self) -> None:
        await self.image.close()
        if self._manager is not None:
            await self._manager.close()

    def webcontainer_boots(self) -> BootTally:
        """The latest WebContainer boots browsers reported in the projects' logs (this server runs none itself)."""
        return tally(self._logs.lines_from(WEBCONTAINER))

    def running(self) -> list[PreviewInfo]:
        """Every preview this process runs (the project's current ones and share links' fixed versions)."""
        return self._manager.running() if self._manager is not None else []

    async def memory_bytes(self, preview_id: str) -> int | None:
        """The memory a running preview uses now (bytes); None when its runner cannot tell."""
        return await self._manager.memory_bytes(preview_id) if self._manager is not None else None

    async def stop_preview(self, preview_id: str) -> bool:
        """Stop one running preview, whichever it is (a project's, or a share link's fixed version); False if none
        runs with that id."""
        if self._manager is None or preview_id not in {info.preview_id for info in self._manager.running()}:
            return False
        for previews in (self._by_project, self._by_version):
            for key in [key for key, running in previews.items() if running == preview_id]:
                del previews[key]
                if self.directory is not None and previews is self._by_version:
                    await self.directory.release(key)
        await translated(self._manager.stop(preview_id))
        await self._records.stopped(preview_id)
        return True
