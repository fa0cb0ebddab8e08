"""Previews as Forja's service layer sees them: what each one runs.

Two kinds, one per class, over the worker's PreviewHub (preview_hub.py), which does every operation on a preview by
its key wherever it runs:
- PreviewService: a project's own preview. It runs the current version and follows the project: saves reach it,
  Select mode marks its components, its checks run in it, its dependencies install ahead while a generation streams.
- VersionPreviewService: previews of one fixed version (share links). Saves never reach them, and the project's own
  preview's start, stop and restart leave them alone.
Both are one per key for all of Forja's workers: asked through a worker that does not run it, a worker answers from
the key's entry and asks the one that does.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncGenerator, Awaitable, Callable, Mapping
from functools import partial
from typing import Any

from builder import outages
from builder.app_backend.user_token import KEY_ENV, public_key
from builder.app_secrets import runner_env
from builder.errors import NotFound, PackagesRefused, PreviewError
from builder.schemas import CheckResult, VersionInfo
from builder.services.app_data import Scope
from builder.services.app_users import user_key
from builder.services.preview_access import private
from builder.services.preview_hub import (
    ENDED,
    VERSION_PREVIEW_PREFIX,
    PreviewHub,
    new_preview_id,
    project_key,
    version_key,
)
from builder.services.preview_runners import local_work_dir, running_copy, webcontainers_off
from builder.store import ProjectStore
from preview_runtime.annotate import annotate
from preview_runtime.checks import project_checks
from preview_runtime.detect import RunOverride
from preview_runtime.local.homes import remove_homes
from preview_runtime.logs import LogHub, LogLevel
from preview_runtime.plan import (
    BrowserPlan,
    RunPlan,
    browser_plan_for,
    dependency_files,
    is_dependency_file,
    plan_for,
    plan_so_far,
)
from preview_runtime.runner import PreviewInfo, PreviewState

log = logging.getLogger(__name__)

# Asked before a new preview of the project starts or a parked one wakes (not when a running one is reused); raises to
# refuse it. No other admission runs meanwhile, so two starts never both take the last place (see PreviewHub.launch).
Admit = Callable[[str], Awaitable[None]]

SELECT_ON = "Select mode on: the preview's components carry their source places while it lasts."
SELECT_OFF = "Select mode off: the preview's components are as written again."
PREVIEW_BEHIND = "Saved version {version}, but the running preview could not be updated: {why}. It gets this version once it can."


def plan_of(tree: Mapping[str, bytes], override: RunOverride) -> RunPlan:
    """The run plan under the project's run settings; a PreviewError (409, its sentence) when nothing is runnable."""
    try:
        return plan_for(tree, override)
    except ValueError as exc:
        raise PreviewError(str(exc)) from None


# A server app's preview data (builder/services/app_data.py AppDataService.with_data): its plan with /data and its
# database added; a front end's plan as it was.
WithData = Callable[[str, RunPlan], Awaitable[RunPlan]]


async def plan_with_env(
    store: ProjectStore, logs: LogHub, project_id: str, tree: Mapping[str, bytes], with_data: WithData | None = None
) -> RunPlan:
    """The run plan, with the app's own variables for its processes (and their values hidden from its log), the public
    key its server checks its preview users' tokens with (FORJA_USER_KEY, the preview's own: a token of the published
    app never verifies with it, nor the reverse), and with `with_data` its preview data (a /data folder and a database)."""
    plan = plan_of(tree, await store.run_override(project_id))
    key = public_key(user_key(project_id, Scope.preview))
    plan = plan.model_copy(update={"env": await runner_env(store, logs, project_id), "kept_env": {**plan.kept_env, KEY_ENV: key}})
    return await with_data(project_id, plan) if with_data is not None else plan


class PreviewService:
    """A project's own preview: its current version, kept up to date with its saves."""

    def __init__(
        self, store: ProjectStore, logs: LogHub, hub: PreviewHub, admit: Admit, with_data: WithData | None = None
    ) -> None:
        self._store = store
        self._logs = logs
        self._hub = hub
        self._admit = admit
        self._with_data = with_data
        # Installs started by prepare, held so they are not garbage-collected while they run.
        self._preparing: set[asyncio.Task[None]] = set()
        # One push into a running preview at a time: each starts from the version the one before it left.
        self._pushing: dict[str, asyncio.Lock] = {}
        hub.handle("project.start", self._start_asked)
        hub.handle("project.saved", self._saved_asked)
        hub.handle("project.select", self._select_asked)
        hub.handle("project.checks", self._checks_asked)

    async def start(
        self, project_id: str, runner: str = "auto", restart: bool = False, started_by: str | None = None
    ) -> PreviewInfo:
        """The project's current version, previewed; an already running preview of it is reused, a parked one woken.

        Concurrent callers (a generation's check and the page that shows it) wait for one start; through any worker,
        the worker that runs the project's preview is the one that starts, wakes or restarts it.
        `started_by`: the person who asked, if one did (for the record).
        """
        key = project_key(project_id)
        if (entry := await self._hub.elsewhere(key)) is not None:
            asked = {"project_id": project_id, "runner": runner, "restart": restart, "started_by": started_by}
            return PreviewInfo.model_validate(await self._hub.call(entry, "project.start", asked))
        async with self._hub.lock(key):
            project = await self._store.get_project(project_id)
            if not project.current_version:
                raise PreviewError("This project has no files yet; build or import something first.")
            if (current := await self._hub.local(key)) is not None:
                if not restart and current.state == PreviewState.parked and current.version == project.current_version:
                    if (woken := await self._hub.wake(key, partial(self._admit, project_id))) is not None:
                        return woken
                elif not restart and current.state not in (*ENDED, PreviewState.parked):
                    return current
                await self._hub.replace_here(key, current)
            tree = await self._store.read_tree(project_id)
            places = await self._hub.registry.selecting(project_id)
            return await self._hub.launch(
                key,
                new_preview_id(),
                project_id,
                project.current_version,
                running_copy(tree, places=places),
                await self._plan_with_env(project_id, tree),
                runner,
                started_by,
                admit=partial(self._admit, project_id),
            )

    async def _plan_with_env(self, project_id: str, tree: Mapping[str, bytes]) -> RunPlan:
        return await plan_with_env(self._store, self._logs, project_id, tree, self._with_data)

    async def _start_asked(self, arguments: dict[str, Any]) -> dict[str, Any]:
        info = await self.start(arguments["project_id"], arguments["runner"], arguments["restart"], arguments["started_by"])
        return info.model_dump(mode="json")

    async def status(self, project_id: str) -> PreviewInfo | None:
        return await self._hub.status(project_key(project_id))

    async def restart_running(self, project_id: str, started_by: str | None = None) -> None:
        """Start the project's preview again if it runs (or starts), so it takes what changed around it (its app's
        data); an ended one stays ended."""
        running = await self.status(project_id)
        if running is not None and running.state not in ENDED:
            await self.start(project_id, restart=True, started_by=started_by)

    async def find(self, preview_id: str) -> PreviewInfo | None:
        """A project's preview by its id (its address's first label), wherever it runs; None for any other id (a share
        link's preview's too)."""
        if not private(preview_id):
            return None
        entry = await self._hub.find(preview_id.lower())
        return entry.info if entry is not None else None

    async def wait_ready(self, project_id: str) -> PreviewInfo:
        """Until the preview answers or fails; callers bound it with asyncio.timeout."""
        return await self._hub.wait_ready(project_key(project_id))

    async def answers(self, project_id: str) -> bool:
        """Whether the preview's URL answers 200 through the proxy."""
        return await self._hub.answers(project_key(project_id))

    async def stop(self, project_id: str) -> bool:
        return await self._hub.stop(project_key(project_id))

    def follow(self, project_id: str) -> AsyncGenerator[PreviewInfo, None]:
        """The project's preview as it changes: its state now, then each new one.

        A running preview comes with an empty `url` until its address answers through the proxy, then once more with
        it; from then on it comes again only when its proxy stops answering (reconnecting, no `url`) and answers again
        (running, its `url`), and the follow ends at any other change. Ends with failed or stopped (a failure's
        `detail` says why); ends at once when no preview of the project is running.
        """
        return self._hub.follow(project_key(project_id))

    def prepare(self, project_id: str, tree: Mapping[str, bytes]) -> None:
        """Start installing the dependencies of a project still being written, so they are ready when it is; returns
        at once and never raises (a failure is a warning in the project's log: its preview installs them at start).

        `tree`: the files known so far (for a follow-up, the current version's tree with the streamed files over it).
        Only its dependency files are kept and installed; the rest only helps find the run plan. Nothing starts when
        that plan is not known yet, or when the project's running preview has the same dependency files.
        """
        if not (needed := dependency_files(tree)):
            return
        task = asyncio.create_task(self._prepare(project_id, tree, needed), name=f"prepare-{project_id}")
        self._preparing.add(task)
        task.add_done_callback(self._preparing.discard)

    async def _prepare(self, project_id: str, tree: Mapping[str, bytes], dependencies: dict[str, bytes]) -> None:
        try:
            plan = plan_so_far(tree, await self._store.run_override(project_id))
            if plan is None or not plan.install.strip() or await self._running_with(project_id, dependencies):
                return
            await self._hub.install_gate.check(dependencies)
            await (await self._hub.manager()).prepare(project_id, dependencies, plan)
        except PackagesRefused:
            return  # its preview's start refuses them, in the log and on the page
        except Exception as exc:  # never into the generation: its preview installs at start instead
            log.warning("installing ahead failed for %s", project_id, exc_info=True)
            self._logs.emit(project_id, f"Could not install the dependencies ahead of the preview: {exc}", LogLevel.warning)

    async def _running_with(self, project_id: str, dependencies: Mapping[str, bytes]) -> bool:
        """Whether the project's preview runs (or starts) with exactly these dependency files: nothing to install."""
        current = await self.status(project_id)
        if current is None or current.state in ENDED:
            return False
        return dependency_files(await self._store.read_tree(project_id, current.version)) == dependencies

    async def browser_plan(self, project_id: str) -> BrowserPlan | None:
        """How the browser runs the current version in a WebContainer, or None when a server runner must.

        None as well when the settings rule WebContainers out (turned off, or a server runner asked for by name), and
        while a server preview of the project runs (a generation's check started it): that one is shown rather than a
        second run. PackagesRefused (said in the project's log too) when its manifests ask for a package the install
        gate refuses, as a server runner's start would be: the browser's install is not read by Forja, so its
        manifests are asked about before it gets them.
        """
        if webcontainers_off():
            return None
        running = await self.status(project_id)
        if running is not None and running.state not in ENDED:
            return None
        project = await self._store.get_project(project_id)
        # A person's run settings are a shell line or a folder: the server runners run those.
        if not project.current_version or await self._store.run_override(project_id) != RunOverride():
            return None
        tree = await self._store.read_tree(project_id)
        if (plan := browser_plan_for(tree)) is not None and plan.install:
            try:
                await self._hub.install_gate.check(tree)
            except PackagesRefused as refused:
                self._logs.emit(project_id, refused.message, LogLevel.error, "forja")
                raise
        return plan

    async def hot_reloads(self, project_id: str) -> bool:
        """Whether the project's dev server updates an open page by itself after a save (Vite's HMR...).

        A plain HTML page or a server without it shows a saved version only once the page reloads.
        """
        try:
            return plan_for(await self._store.read_tree(project_id), await self._store.run_override(project_id)).hot_reload
        except ValueError:
            return False

    def expect_request(self, project_id: str, method: str, target: str) -> None:
        """Forja itself is about to send this request to the project's preview (its checking browser): its access line
        stays out of the log. Only where this worker runs the preview: one of another worker's is not told (its line
        shows), which a check meets only when another worker started the preview meanwhile."""
        self._hub.expect_request(project_key(project_id), method, target)

    async def run_checks(self, project_id: str, timeout_s: float) -> list[CheckResult]:
        """The current version's own checks (preview_runtime.checks), one after the other in the project's running
        preview, all within `timeout_s`: each may use what is left, and one with nothing left is skipped."""
        key = project_key(project_id)
        if (entry := await self._hub.elsewhere(key)) is not None:
            results = await self._hub.call(entry, "project.checks", {"project_id": project_id, "timeout_s": timeout_s})
            return [CheckResult.model_validate(result) for result in results]
        if not self._hub.runs_here(key):
            raise PreviewError("No preview is running for this project: start it, then run its checks.")
        tree = await self._store.read_tree(project_id)
        deadline = time.monotonic() + timeout_s
        results: list[CheckResult] = []
        for check in project_checks(tree, plan_of(tree, await self._store.run_override(project_id))):
            left = deadline - time.monotonic()
            if left <= 0:
                results.append(CheckResult(name=check.name, command=check.command, passed=False, skipped=True))
                continue
            outcome = await self._hub.run_command(key, check.command, left)
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

    async def _checks_asked(self, arguments: dict[str, Any]) -> list[dict[str, Any]]:
        results = await self.run_checks(arguments["project_id"], float(arguments["timeout_s"]))
        return [result.model_dump(mode="json") for result in results]

    async def on_saved(self, project_id: str, version: VersionInfo, changed: dict[str, bytes], deleted: list[str]) -> None:
        """A saved edit (`version`) reaches the running preview without a restart (through the worker that runs it); its
        dev server reloads, and the preview holds that version from then on.

        A change to the dependencies (package.json, a lockfile, requirements.txt) restarts the
        preview instead, so they are installed: pushed alone, the dev server would fail on the
        new imports, and "Fix this error" would send the model after a problem that is not in the code.

        The save is kept whatever happens here: with Redis away (the worker that runs the preview cannot be told) or no
        room left on the disk for the preview's files, the project's log says so, and the worker that runs the preview
        brings it up to date once it can (`catch_up`).
        """
        try:
            await self._tell_saved(project_id, version, changed, deleted)
        except Exception as exc:
            if not outages.noted(exc):
                raise
            self._logs.emit(project_id, PREVIEW_BEHIND.format(version=version.number, why=outages.said(exc)))

    async def _tell_saved(self, project_id: str, version: VersionInfo, changed: dict[str, bytes], deleted: list[str]) -> None:
        key = project_key(project_id)
        if (entry := await self._hub.elsewhere(key)) is not None:
            asked = {
                "project_id": project_id,
                "version": version.model_dump(mode="json"),
                "changed": sorted(changed),
                "deleted": deleted,
            }
            try:
                await self._hub.call(entry, "project.saved", asked)
            except PreviewError as exc:
                self._logs.emit(project_id, f"Could not update the running preview: {exc}")
            return
        if self._hub.runs_here(key):
            async with self._pushing.setdefault(key, asyncio.Lock()):
                await self._bring_up(project_id, version, changed, deleted)

    async def _bring_up(
        self, project_id: str, version: VersionInfo, changed: dict[str, bytes] | None, deleted: list[str]
    ) -> None:
        """This worker's running preview brought to `version`: with `changed` and `deleted` when it holds the version
        before it, else with what changed since the version it holds, read from the store."""
        key = project_key(project_id)
        if (info := await self._hub.local(key)) is None or info.version >= version.number:
            return
        if changed is None or info.version != version.parent_number:
            changed, deleted = await self._changes(project_id, info.version, version.number)
        if any(is_dependency_file(path) for path in [*changed, *deleted]):
            self._logs.emit(project_id, "The dependencies changed: restarting the preview to install them.")
            try:
                await self.start(project_id, restart=True)
            except PreviewError as exc:
                self._logs.emit(project_id, f"Could not restart the preview: {exc}", LogLevel.error)
            return
        places = await self._hub.registry.selecting(project_id)
        try:
            await self._hub.push_files(key, running_copy(changed, places=places), deleted, version)
        except PreviewError as exc:
            self._logs.emit(project_id, f"Could not update the running preview: {exc}")

    async def _changes(self, project_id: str, held: int, number: int) -> tuple[dict[str, bytes], list[str]]:
        """The files version `number` writes and deletes over version `held`."""
        before = (await self._store.version_manifest(project_id, held))[1]
        after = (await self._store.version_manifest(project_id, number))[1]
        paths = [path for path, digest in after.items() if before.get(path) != digest]
        blobs = await self._store.read_blobs({after[path] for path in paths})
        return {path: blobs[after[path]] for path in paths}, sorted(before.keys() - after.keys())

    async def catch_up(self) -> None:
        """This worker's running project previews that hold an older version than their project's current one (a save
        made through another worker while Redis was away, which could not tell this one) get what changed since.
        Run by each worker's sweep."""
        for key in self._hub.here(project_key("")):
            info = await self._hub.local(key)
            if info is None or info.state != PreviewState.running:
                continue
            try:
                version = (await self._store.version_manifest(info.project_id))[0]
            except NotFound:  # removed meanwhile
                continue
            if info.version < version.number:
                log.info(
                    "the preview of %s holds version %d of %d: bringing it up", info.project_id, info.version, version.number
                )
                async with self._pushing.setdefault(key, asyncio.Lock()):
                    await self._bring_up(info.project_id, version, None, [])

    async def _saved_asked(self, arguments: dict[str, Any]) -> None:
        """Another worker saved: the changed files are read here from the store."""
        project_id, version = arguments["project_id"], VersionInfo.model_validate(arguments["version"])
        tree = await self._store.read_tree(project_id, version.number)
        changed = {path: tree[path] for path in arguments["changed"] if path in tree}
        await self.on_saved(project_id, version, changed, list(arguments["deleted"]))

    async def set_select(self, project_id: str, on: bool) -> None:
        """Select mode on or off: the running preview's components get (or lose) their source places.

        Only while it is on: the project's own checks (lint, tests with snapshots) and the verification run
        in the same copy, and must see the code as written. The dev server hot-reloads the components.
        """
        if on == await self._hub.registry.selecting(project_id):
            return
        await self._hub.registry.set_selecting(project_id, on)
        key = project_key(project_id)
        if (entry := await self._hub.elsewhere(key)) is not None:
            try:
                await self._hub.call(entry, "project.select", {"project_id": project_id, "on": on})
            except PreviewError as exc:
                self._logs.emit(project_id, f"Could not update the running preview for Select mode: {exc}")
            return
        await self._mark_places(project_id, on)

    async def _select_asked(self, arguments: dict[str, Any]) -> None:
        await self._mark_places(arguments["project_id"], bool(arguments["on"]))

    async def _mark_places(self, project_id: str, on: bool) -> None:
        key = project_key(project_id)
        if await self._hub.local(key) is None:
            return
        # Each save reached the running copy (on_saved), so it holds the current version.
        tree = await self._store.read_tree(project_id)
        marked = annotate(tree)
        changed = {path: marked[path] if on else data for path, data in tree.items() if marked[path] != data}
        if changed:
            # Forja's own push: the dev server's reloads of it stay out of the log (echoes.py), this sentence says it.
            self._logs.emit(project_id, SELECT_ON if on else SELECT_OFF)
            try:
                await self._hub.push_files(key, running_copy(changed, places=on), [], own=True)
            except PreviewError as exc:
                self._logs.emit(project_id, f"Could not update the running preview for Select mode: {exc}")

    async def forget_projects(self, project_ids: list[str]) -> None:
        """What the local runner keeps per project (its home) goes with projects deleted for good."""
        await asyncio.to_thread(remove_homes, local_work_dir(), project_ids)


class VersionPreviewService:
    """Previews of one fixed version of a project, as it was saved (share links)."""

    def __init__(self, store: ProjectStore, hub: PreviewHub, admit: Admit, with_data: WithData | None = None) -> None:
        self._store = store
        self._hub = hub
        self._admit = admit
        self._with_data = with_data  # a share link's preview keeps its data with the project's preview
        hub.handle("version.start", self._start_asked)
        # Anyone may ask for a shared version's address: its wake there is admitted as its start is.
        hub.admit_address_wakes("version", admit)

    async def start(self, project_id: str, version: int, runner: str = "auto", restart: bool = False) -> PreviewInfo:
        """The given version, previewed as it was saved; an already running preview of it is reused, a parked one woken.

        Concurrent callers for the same version wait for one start rather than starting several; through any worker,
        the worker that runs the version's preview is the one that starts, wakes or restarts it.
        """
        key = version_key(project_id, version)
        if (entry := await self._hub.elsewhere(key)) is not None:
            if not restart and entry.info.state not in ENDED:
                return entry.info  # its address wakes it when parked, on its own worker
            asked = {"project_id": project_id, "version": version, "runner": runner, "restart": restart}
            return PreviewInfo.model_validate(await self._hub.call(entry, "version.start", asked))
        async with self._hub.lock(key):
            if (current := await self._hub.local(key)) is not None:
                if not restart and current.state == PreviewState.parked:
                    if (woken := await self._hub.wake(key, partial(self._admit, project_id))) is not None:
                        return woken
                elif not restart and current.state not in ENDED:
                    return current
                await self._hub.replace_here(key, current)
            tree = await self._store.read_tree(project_id, version)
            return await self._hub.launch(
                key,
                new_preview_id(VERSION_PREVIEW_PREFIX),
                project_id,
                version,
                running_copy(tree, select=False),
                await plan_with_env(self._store, self._hub.logs, project_id, tree, self._with_data),
                runner,
                admit=partial(self._admit, project_id),
            )

    async def _start_asked(self, arguments: dict[str, Any]) -> dict[str, Any]:
        info = await self.start(arguments["project_id"], int(arguments["version"]), arguments["runner"], arguments["restart"])
        return info.model_dump(mode="json")

    async def status(self, project_id: str, version: int) -> PreviewInfo | None:
        return await self._hub.status(version_key(project_id, version))

    async def wait_ready(self, project_id: str, version: int) -> PreviewInfo:
        """Until the version's preview answers or fails; callers bound it with asyncio.timeout."""
        return await self._hub.wait_ready(version_key(project_id, version))

    async def answers(self, project_id: str, version: int) -> bool:
        return await self._hub.answers(version_key(project_id, version))

    async def stop(self, project_id: str, version: int) -> bool:
        return await self._hub.stop(version_key(project_id, version))

    def running_here(self, project_id: str | None = None) -> list[tuple[str, int]]:
        """(project id, version) of this worker's fixed-version previews, of one project or all."""
        return _versions(list(self._hub.here(_versions_prefix(project_id))))

    def ids_here(self, project_id: str) -> dict[int, str]:
        """Version number -> preview id of the project's fixed-version previews this worker runs."""
        here = self._hub.here(_versions_prefix(project_id))
        return {version: here[version_key(project, version)] for project, version in _versions(list(here))}

    async def running_everywhere(self, project_id: str) -> list[tuple[str, int]]:
        """(project id, version) of the project's fixed-version previews, on every worker."""
        return _versions(await self._hub.keys_everywhere(_versions_prefix(project_id)))


def _versions_prefix(project_id: str | None) -> str:
    return version_key(project_id, 0).removesuffix("0") if project_id is not None else "version:"


def _versions(keys: list[str]) -> list[tuple[str, int]]:
    pairs = (key.removeprefix("version:").rsplit("@", 1) for key in keys)
    return [(project, int(number)) for project, number in pairs]
