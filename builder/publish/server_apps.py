"""Published server apps: each release runs in a preview sandbox of its own, keyed `app:<project>@<release>`.

The sandbox runs the release's RunPlan (release_run_plan, the one place it is made): the project's install, then a
line that builds once and starts the production server. The build leaves a marker in the sandbox's folder, so a wake
(the folder kept) runs only the start, while a sandbox started afresh (after a restart of Forja whose runner dropped
the folder) builds again. The app's address reaches the live release's sandbox straight through Traefik (the proxy's
host aliases): its upstream while it runs, the waking page while parked. With no sandbox at all (a restart, a release
rolled back to after its sandbox went), the address falls to Forja's edge, which starts it (`ensure`) and answers the
waking page meanwhile.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Mapping

import httpx

from builder.app_secrets import runner_env
from builder.errors import ForjaError, PreviewError, PublishFailed
from builder.publish.addresses import APP_KEY, app_host, app_key, app_name_of, app_preview_id
from builder.services.preview_hub import PreviewHub
from builder.services.previews import WithData, plan_of
from builder.settings import settings
from builder.store import ProjectStore
from preview_runtime.detect import RunOverride
from preview_runtime.logs import LogHub, LogLevel
from preview_runtime.pages import QUIET
from preview_runtime.plan import RunPlan
from preview_runtime.production import NotPublishable, ProductionPlan, production_plan
from preview_runtime.proxy import app_answered
from preview_runtime.runner import PreviewState

log = logging.getLogger(__name__)

STATE_DIR = ".forja-publish"
MARKER = f"{STATE_DIR}/built"
BUILD_LOG = "build.log"
ROUTED_WAIT_S = 10.0
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
        """The release's RunPlan with all of the app's variables (a server reads them all) and its published data."""
        if override is None:
            override = await self._store.run_override(project_id)
        env = await runner_env(self._store, self._logs, project_id)
        run = release_run_plan(tree, override, plan, env)
        return await self._with_data(project_id, run) if self._with_data is not None else run

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

    async def route(self, project_id: str, number: int, hosts: list[str], wait: bool = False) -> bool:
        """Send the app's hosts to the release's sandbox (running: its upstream; parked: the waking page); False when
        this worker has no sandbox for it. `wait`: until Traefik sends the first host there."""
        info = await self._hub.local(app_key(project_id, number))
        if info is None:
            return False
        proxy = (await self._hub.manager()).proxy
        await proxy.alias(info.preview_id, hosts)
        if wait and info.state == PreviewState.running:
            await self._wait_served(proxy.internal_url(), hosts[0])
        return True

    async def _wait_served(self, url: str, host: str) -> None:
        """Until the app answers at its host (Traefik applied the route); bounded, as the route may still come later."""
        deadline = time.monotonic() + ROUTED_WAIT_S
        async with httpx.AsyncClient(timeout=2, trust_env=False) as client:
            while time.monotonic() < deadline:
                with contextlib.suppress(httpx.HTTPError):
                    if app_answered(await client.get(url, headers={"Host": host, QUIET: "1"})):
                        return
                await asyncio.sleep(0.05)

    async def reroute(self, domains: Mapping[str, str]) -> None:
        """Custom domains changed (domain -> app name): each routed sandbox answers at exactly its app's hosts now."""
        if (manager := self._hub.started_manager) is None:
            return
        aliases = manager.proxy.aliases()
        for preview_id in self._hub.here(APP_KEY).values():
            names = [app_name_of(host) for host, target in aliases.items() if target == preview_id.lower()]
            name = next((n for n in names if n is not None), None)
            if name is not None:
                await manager.proxy.alias(preview_id, hosts_of(name, domains))

    async def unroute(self, project_id: str) -> None:
        """None of the project's sandboxes answers for its hosts any more (they fall to Forja's edge)."""
        if (manager := self._hub.started_manager) is not None:
            for preview_id in self._hub.here(f"{APP_KEY}{project_id}@").values():
                await manager.proxy.alias(preview_id, [])

    async def park(self, project_id: str, number: int) -> bool:
        """Park the release's sandbox (kept for a rollback); False when it does not run here."""
        info = await self._hub.local(app_key(project_id, number))
        if info is None or info.state != PreviewState.running:
            return False
        return await (await self._hub.manager()).park(info.preview_id, "another release went live")

    async def stop(self, project_id: str, numbers: list[int] | None = None) -> None:
        """Stop the project's release sandboxes (these numbers, or all), and their hosts' routes."""
        prefix = f"{APP_KEY}{project_id}@"
        manager = self._hub.started_manager
        for key, preview_id in self._hub.here(prefix).items():
            if numbers is None or int(key.removeprefix(prefix)) in numbers:
                if manager is not None:
                    await manager.proxy.alias(preview_id, [])
                await self._hub.stop(key)

    async def restart_live(self, project_id: str) -> None:
        """Stop the live release's sandbox: the next visit starts it with its data as mounted now (read-only over its
        quota, or emptied by a reset). Older releases' sandboxes stay parked for a rollback."""
        app = await self._store.published_app(project_id)
        if app is None or app.live_release_id is None:
            return
        live = [release.number for release, _ in await self._store.releases(project_id) if release.id == app.live_release_id]
        await self.stop(project_id, live)

    async def visit(self, project_id: str, number: int, hosts: list[str]) -> None:
        """A request for the release reached Forja's edge (its sandbox is not routed): start or wake it, once."""
        for release, version in await self._store.releases(project_id) if project_id else []:
            if release.number == number:
                self.ensure(project_id, number, version, hosts)
                return

    def ensure(self, project_id: str, number: int, version: int, hosts: list[str]) -> None:
        """A request reached Forja's edge for a server release whose sandbox is not routed: start (or wake) it once,
        in the background; the caller answers the waking page meanwhile."""
        key = app_key(project_id, number)
        if key in self._ensuring or self.unavailable(project_id, number):
            return
        task = asyncio.create_task(self._ensure(project_id, number, version, hosts), name=f"ensure-{key}")
        self._ensuring[key] = task
        task.add_done_callback(lambda _: self._ensuring.pop(key, None))

    def unavailable(self, project_id: str, number: int) -> bool:
        """Whether the release failed to start for a visit within RETRY_AFTER_S (its address says it is unavailable)."""
        failed = self._failed_at.get(app_key(project_id, number))
        return failed is not None and time.monotonic() - failed < RETRY_AFTER_S

    async def _ensure(self, project_id: str, number: int, version: int, hosts: list[str]) -> None:
        key = app_key(project_id, number)
        try:
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
                    if await self._hub.local(key) is None:
                        await self._hub.launch(key, app_preview_id(number), project_id, version, tree, run, "auto")
            await self.route(project_id, number, hosts)
            if (info := await self._hub.local(key)) is not None and info.state == PreviewState.parked:
                await self._hub.wake(key)
        except (ForjaError, NotPublishable) as exc:
            self._logs.emit(project_id, f"Release {number} could not start for a visit: {exc}", LogLevel.error, "publish")
        except Exception:
            log.exception("starting release %s of %s failed", number, project_id)


def hosts_of(name: str, domains: Mapping[str, str]) -> list[str]:
    """The app's own host first, then its custom domains."""
    return [app_host(name), *sorted(domain for domain, app in domains.items() if app == name)]
