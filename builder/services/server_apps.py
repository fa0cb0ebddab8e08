"""Published server apps: each release runs in a preview sandbox of its own, keyed `app:<project>@<release>`.

The sandbox runs the release's RunPlan (release_run_plan, the one place it is made): the project's install, then a
line that builds once and starts the production server. The build leaves a marker in the sandbox's folder, so a wake
(the folder kept) runs only the start, while a sandbox started afresh (after a restart of Forja whose runner dropped
the folder) builds again. The app's address reaches the live release's sandbox straight through Traefik (the proxy's
host aliases): its upstream while it runs, the waking page while parked. With no sandbox at all (a restart, a release
rolled back to after its sandbox went), the address falls to Forja's edge, which starts it (`ensure`) and answers the
waking page meanwhile.

With several workers, a sandbox runs on one of them, its key held in the previews' registry (builder/cluster/previews.py)
as every preview's is, so two workers never start two. The others send the app's hosts on to that worker's proxy
(`sync`: Traefik to Traefik, Host kept), where its own routes answer them, wake it included. A publish, rollback,
rename or unpublish on any worker routes there first, then tells every other worker to route the app again, and parks
or stops sandboxes on the worker that runs them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Mapping
from typing import Any

import httpx

from builder import outages
from builder.app_backend.user_token import KEY_ENV, public_key
from builder.app_secrets import runner_env
from builder.cluster.previews import WorkerGone, proxy_address
from builder.errors import ForjaError, PreviewError, PublishFailed
from builder.publish.addresses import APP_KEY, app_host, app_key, app_preview_id
from builder.services.app_data import Scope
from builder.services.app_users import user_key
from builder.services.preview_hub import PreviewHub
from builder.services.previews import WithData, plan_of
from builder.settings import settings
from builder.store import ProjectStore
from preview_runtime.detect import RunOverride
from preview_runtime.direct_http import direct_client
from preview_runtime.logs import LogHub, LogLevel
from preview_runtime.pages import QUIET
from preview_runtime.plan import RunPlan
from preview_runtime.preview_headers import app_answered
from preview_runtime.production import NotPublishable, ProductionPlan, production_plan
from preview_runtime.runner import PreviewState

log = logging.getLogger(__name__)

STATE_DIR = ".forja-publish"
MARKER = f"{STATE_DIR}/built"
BUILD_LOG = "build.log"
ROUTED_WAIT_S = 10.0
PARK = "app-park"  # operations between workers (builder/cluster/previews.py)
SYNC = "app-sync"
RETRY_AFTER_S = 60.0  # a release that failed to start for a visit is tried again after this (its build is not free)


def once_then_start(plan: ProductionPlan) -> str:
    """The sandbox's line: the build, once (its output in STATE_DIR/build.log, its last lines said when it fails), then
    the production start."""
    if not plan.build:
        return plan.start
    built = f"[ -f {MARKER} ] || {{ ( {plan.build} ) > {STATE_DIR}/{BUILD_LOG} 2>&1 && touch {MARKER}; }}"
    failed = f"{{ tail -n 20 {STATE_DIR}/{BUILD_LOG}; exit 1; }}"
    return f"mkdir -p {STATE_DIR} && {{ {built} || {failed}; }} && {plan.start}"


def release_run_plan(tree: Mapping[str, bytes], override: RunOverride, plan: ProductionPlan, env: dict[str, str]) -> RunPlan:
    """The one place a published server app's RunPlan is made (its data folder and database are wired in here)."""
    return plan_of(tree, override).model_copy(
        update={
            "env": env,
            "dev": once_then_start(plan),
            "side_ports": [],
            "hot_reload": False,
            "home_page": False,  # its production server's, which may be an API's
            "has_server": True,
            "framework": plan.framework,
            "notes": [],
            "source": "",
        }
    )


def telling_line(log: str) -> str:
    """The line that says why a build failed: the last one naming an error (with the next when it ends in a colon, as
    `Error: next/font: error:` does), else the last line."""
    lines = [line.strip() for line in log.splitlines() if line.strip()]
    for index in range(len(lines) - 1, -1, -1):
        if "error" in lines[index].lower():
            follows = lines[index + 1] if lines[index].endswith(":") and index + 1 < len(lines) else ""
            return f"{lines[index]} {follows}".strip()
    return lines[-1] if lines else ""


# How a build's log says it failed fetching Google Fonts (next/font/google): the sandbox's egress proxy lets only the
# package registries through (FORJA_PREVIEW_EGRESS_HOSTS).
_GOOGLE_FONTS = ("fonts.googleapis.com", "from Google Fonts")


def network_hint(log: str) -> str:
    """A sentence on what to do when the build failed fetching a font the sandbox keeps it from, else ""."""
    if not any(mark in log for mark in _GOOGLE_FONTS):
        return ""
    return (
        " The build downloads Google Fonts, which the sandbox does not reach: self-host the font (next/font/local), "
        "or have the operator add fonts.googleapis.com,fonts.gstatic.com to FORJA_PREVIEW_EGRESS_HOSTS."
    )


class _Failed(PublishFailed):
    def __init__(self, message: str, log: str = "") -> None:
        super().__init__(message)
        self.log = log


class ServerApps:
    """The release sandboxes of published server apps, on this worker."""

    def __init__(self, store: ProjectStore, hub: PreviewHub, logs: LogHub, with_data: WithData | None = None) -> None:
        self._store = store
        self._with_data = with_data  # the published app's data (its /data folder and database, scope "live")
        self._hub = hub
        self._logs = logs
        self._ensuring: dict[str, asyncio.Task[None]] = {}
        self._failed_at: dict[str, float] = {}  # key -> when its start for a visit failed
        # Custom domains -> the names of the apps they serve (AppDomains keeps it current).
        self.domains: dict[str, str] = {}
        # What another worker asks of this one: park a release it runs; route an app again (told to every worker).
        hub.handle(PARK, self._park_asked)
        hub.handle(SYNC, self._sync_asked)

    async def start(
        self, project_id: str, number: int, version: int, tree: Mapping[str, bytes], plan: ProductionPlan
    ) -> tuple[str, str]:
        """Run the release in its sandbox until it answers: (the build's log, redacted; "" or why it failed, in one
        sentence, its sandbox then stopped)."""
        try:
            return await self._start(project_id, number, version, tree, plan), ""
        except _Failed as failed:
            return failed.log, failed.message
        except PublishFailed as failed:
            return "", failed.message

    async def _start(self, project_id: str, number: int, version: int, tree: Mapping[str, bytes], plan: ProductionPlan) -> str:
        key = app_key(project_id, number)
        run = await self._run_plan(project_id, tree, plan)
        try:
            async with asyncio.timeout(settings.publish_build_timeout_s):
                async with self._hub.lock(key):
                    if await self._hub.local(key) is not None:  # a release number is never reused; a leftover goes
                        await self._hub.stop_here(key)
                    await self._hub.launch(key, app_preview_id(number), project_id, version, dict(tree), run, "auto")
                info = await self._hub.wait_ready(key)
        except TimeoutError:
            await self._hub.stop(key)
            raise PublishFailed(
                f"The build and start took longer than {settings.publish_build_timeout_s} s and were stopped."
            ) from None
        except PreviewError as exc:
            await self._hub.stop(key)
            raise PublishFailed(exc.message) from None
        build_log = await self._build_log(key, project_id) if plan.build else ""
        if info.state != PreviewState.running:
            built = await self._built(key)
            await self._hub.stop(key)
            if plan.build and not built:
                last = telling_line(build_log)
                raise _Failed(
                    f"`{plan.build}` failed" + (f": {last[:300]}" if last else ".") + network_hint(build_log), build_log
                )
            why = self._logs.redacted(project_id, info.detail or info.state.value)
            raise _Failed(
                f"The app did not start with `{plan.start}`: {why.splitlines()[0] if why else ''}.", f"{build_log}\n{why}"
            )
        return build_log

    async def _run_plan(
        self, project_id: str, tree: Mapping[str, bytes], plan: ProductionPlan, override: RunOverride | None = None
    ) -> RunPlan:
        """The release's RunPlan with all of the app's variables (a server reads them all), its published data, and the
        public key it checks its users' tokens with (FORJA_USER_KEY: no secret, so kept to wake the app after a restart
        of Forja, as where its data is)."""
        if override is None:
            override = await self._store.run_override(project_id)
        env = await runner_env(self._store, self._logs, project_id)
        run = release_run_plan(tree, override, plan, env)
        run = await self._with_data(project_id, run) if self._with_data is not None else run
        key = public_key(user_key(project_id, Scope.live))
        return run.model_copy(update={"kept_env": {**run.kept_env, KEY_ENV: key}})

    async def _build_log(self, key: str, project_id: str) -> str:
        """The build's output from the sandbox's folder, redacted, and said in the Logs tab."""
        try:
            files = await self._hub.collect(key, STATE_DIR, 4 * 1024 * 1024)
        except ForjaError:
            return ""
        text = self._logs.redacted(project_id, files.get(BUILD_LOG, b"").decode("utf-8", "replace"))
        for line in text.splitlines()[-200:]:
            if line.strip():
                self._logs.emit(project_id, line, None, "publish")
        return text[-20_000:]

    async def _built(self, key: str) -> bool:
        try:
            return "built" in await self._hub.collect(key, STATE_DIR, 4 * 1024 * 1024)
        except ForjaError:
            return False

    # -- the address ---------------------------------------------------------------------------------

    async def _live(self, project_id: str) -> tuple[str, list[str]]:
        """The key of the app's live server release and the app's hosts; ("", []) when what is live is no server
        release (nothing, a static one, unpublished)."""
        app = await self._store.published_app(project_id)
        live = await self._store.live_app(app.name) if app is not None else None
        if app is None or live is None or live.unpublished or live.kind != "server" or live.number is None:
            return "", []
        return app_key(project_id, live.number), hosts_of(app.name, self.domains)

    async def sync(self, project_id: str) -> tuple[str, list[str]]:
        """This worker's routes for the app's hosts, from what is live now and where its sandbox runs: to the live
        server release's sandbox when it runs here (its upstream; parked: the waking page), on to the proxy of the
        worker that runs it when another does, nowhere otherwise (they fall to Forja's edge, which serves the files,
        answers 410, or starts the sandbox). What `_live` said."""
        manager = self._hub.started_manager
        if manager is None:
            return "", []
        live_key, hosts = await self._live(project_id)
        for key, preview_id in self._hub.here(f"{APP_KEY}{project_id}@").items():
            await manager.proxy.alias(preview_id, hosts if key == live_key else [])
        entry = await self._hub.elsewhere(live_key) if live_key else None
        if entry is not None and entry.info.url:
            await manager.proxy.forward(project_id, hosts, proxy_address(entry.info.url))
        else:
            await manager.proxy.forward(project_id, [])
        return live_key, hosts

    async def _sync_asked(self, arguments: dict[str, Any]) -> None:
        await self.sync(str(arguments["project_id"]))

    async def changed(self, project_id: str, wait: bool = False) -> None:
        """What the app's address serves changed (a publish, rollback, rename, unpublish, a sandbox stopped): this
        worker's routes follow, then every other worker's. `wait`: until this worker's Traefik sends the address to
        the live release's sandbox, when it runs here (Traefik applied the route)."""
        live_key, hosts = await self.sync(project_id)
        try:
            await self._hub.registry.tell_others(SYNC, {"project_id": project_id})
        except Exception as exc:  # Redis away for a moment: each worker's sweep routes its apps again at its next round
            if not outages.noted(exc):
                log.warning("could not tell the other workers that the app of %s changed", project_id, exc_info=True)
        if wait and live_key and (info := await self._hub.local(live_key)) is not None and info.state == PreviewState.running:
            manager = await self._hub.manager()
            await self._wait_served(manager.proxy.internal_url(), hosts[0])

    async def _wait_served(self, url: str, host: str) -> None:
        """Until the app answers at its host (Traefik applied the route); bounded, as the route may still come later."""
        deadline = time.monotonic() + ROUTED_WAIT_S
        async with direct_client(2) as client:
            while time.monotonic() < deadline:
                with contextlib.suppress(httpx.HTTPError):
                    if app_answered(await client.get(url, headers={"Host": host, QUIET: "1"})):
                        return
                await asyncio.sleep(0.05)

    async def reroute(self, domains: Mapping[str, str]) -> None:
        """The apps' custom domains as they are now (domain -> app name), and every app this worker routes synced
        again: run at each sweep, it also mends a route no news came for (the worker that ran a sandbox died)."""
        self.domains = dict(domains)
        if (manager := self._hub.started_manager) is None:
            return
        routed = {key.removeprefix(APP_KEY).rsplit("@", 1)[0] for key in self._hub.here(APP_KEY)}
        for project_id in sorted(routed | set(manager.proxy.forward_owners())):
            try:
                await self.sync(project_id)
            except Exception as exc:  # the database or Redis away for a moment: the next sweep tries again
                if not outages.noted(exc):
                    log.warning("could not route the app of %s again", project_id, exc_info=True)

    async def park(self, project_id: str, number: int) -> None:
        """Park the release's sandbox, on whichever worker runs it (kept for a rollback); the address leaves it first."""
        key = app_key(project_id, number)
        if self._hub.runs_here(key):
            await self._park_here(project_id, number)
        elif (entry := await self._hub.elsewhere(key)) is not None:
            with contextlib.suppress(WorkerGone):  # its worker is gone, and the sandbox with it
                await self._hub.call(entry, PARK, {"project_id": project_id, "number": number})

    async def _park_asked(self, arguments: dict[str, Any]) -> bool:
        return await self._park_here(str(arguments["project_id"]), int(arguments["number"]))

    async def _park_here(self, project_id: str, number: int) -> bool:
        # This worker's routes first, whatever order the other worker's news arrive in: the address must not wake it.
        live_key, _ = await self.sync(project_id)
        key = app_key(project_id, number)
        info = await self._hub.local(key)
        if info is None or info.state != PreviewState.running or key == live_key:
            return False
        return await (await self._hub.manager()).park(info.preview_id, "another release went live")

    async def stop(self, project_id: str, numbers: list[int] | None = None) -> None:
        """Stop the project's release sandboxes (these numbers, or all), on whichever worker runs each; every worker's
        routes follow."""
        prefix = f"{APP_KEY}{project_id}@"
        for key in await self._hub.keys_everywhere(prefix):
            if numbers is None or int(key.removeprefix(prefix)) in numbers:
                with contextlib.suppress(WorkerGone):  # its worker is gone, and the sandbox with it
                    await self._hub.stop(key)
        await self.changed(project_id)

    async def restart_live(self, project_id: str) -> None:
        """Stop the live release's sandbox: the next visit starts it with its data as mounted now (read-only over its
        quota, or emptied by a reset). Older releases' sandboxes stay parked for a rollback."""
        app = await self._store.published_app(project_id)
        if app is None or app.live_release_id is None:
            return
        live = [release.number for release, _ in await self._store.releases(project_id) if release.id == app.live_release_id]
        await self.stop(project_id, live)

    async def visit(self, project_id: str, number: int) -> None:
        """A request for the release reached Forja's edge (no route here sends it to its sandbox): start or wake it,
        once for all the workers."""
        for release, version in await self._store.releases(project_id) if project_id else []:
            if release.number == number:
                self.ensure(project_id, number, version)
                return

    def ensure(self, project_id: str, number: int, version: int) -> None:
        """A request reached Forja's edge for a server release whose sandbox is not routed here: route it to the worker
        that runs it, or start (or wake) it here once, in the background; the caller answers the waking page
        meanwhile."""
        key = app_key(project_id, number)
        if key in self._ensuring or self.unavailable(project_id, number):
            return
        task = asyncio.create_task(self._ensure(project_id, number, version), name=f"ensure-{key}")
        self._ensuring[key] = task
        task.add_done_callback(lambda _: self._ensuring.pop(key, None))

    def unavailable(self, project_id: str, number: int) -> bool:
        """Whether the release failed to start for a visit within RETRY_AFTER_S (its address says it is unavailable)."""
        failed = self._failed_at.get(app_key(project_id, number))
        return failed is not None and time.monotonic() - failed < RETRY_AFTER_S

    async def _ensure(self, project_id: str, number: int, version: int) -> None:
        key = app_key(project_id, number)
        try:
            if await self._hub.elsewhere(key) is not None:  # another worker runs it: the address goes on there
                await self.sync(project_id)
                return
            info = await self._hub.local(key)
            if info is not None and info.state in (PreviewState.failed, PreviewState.stopped):
                self._failed_at[key] = time.monotonic()
                self._logs.emit(
                    project_id, f"Release {number} did not start: {info.detail or info.state.value}", LogLevel.error, "publish"
                )
                async with self._hub.lock(key):
                    await self._hub.stop_here(key)
                return
            self._failed_at.pop(key, None)
            if info is None:
                tree = await self._store.read_tree(project_id, version)
                override = await self._store.run_override(project_id)
                plan = production_plan(tree, override)
                self._logs.emit(project_id, f"Starting release {number} for a visit to its address.", LogLevel.info, "publish")
                run = await self._run_plan(project_id, tree, plan, override)
                async with self._hub.lock(key):
                    if await self._hub.local(key) is None:  # the registry's claim: another worker may have won it
                        await self._hub.launch(key, app_preview_id(number), project_id, version, tree, run, "auto")
            await self.sync(project_id)
            if (info := await self._hub.local(key)) is not None and info.state == PreviewState.parked:
                await self._hub.wake(key)
        except (ForjaError, NotPublishable) as exc:
            self._logs.emit(project_id, f"Release {number} could not start for a visit: {exc}", LogLevel.error, "publish")
        except Exception:
            log.exception("starting release %s of %s failed", number, project_id)


def hosts_of(name: str, domains: Mapping[str, str]) -> list[str]:
    """The app's own host first, then its custom domains."""
    return [app_host(name), *sorted(domain for domain, app in domains.items() if app == name)]
