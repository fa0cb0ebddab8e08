"""Publish: a version built for production and served at an address of its own, as a release that can be rolled back.

A publish reads the project's production form (preview_runtime.production), runs its build in a preview sandbox of
the version (the runner's limits, FORJA_PUBLISH_BUILD_TIMEOUT_S), takes the built files out and writes them with their
compressed forms under the data folder (publish/release_files.py). The app's address then serves them straight from
disk (publish/edge.py), with no process per app. A server app's release runs in a sandbox of its own instead
(server_apps.py), which the address reaches through Traefik. A failed build leaves the address on what it served.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
import time
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path

from builder import outages
from builder.app_backend.rules import risks
from builder.errors import DiskFull, ForjaError, InvalidInput, NotFound, PublishBlocked, PublishFailed
from builder.models import Release
from builder.monitoring.families import BUILDS_FINISHED, BUILDS_STARTED
from builder.publish.addresses import app_name_of, app_url, host_name, pinned_of
from builder.publish.answers import AppInfo, PublishResult, ReleaseInfo, app_info
from builder.publish.app_names import check_name, name_from
from builder.publish.edge import Target
from builder.publish.release_files import ReleaseManifest, releases_root, write_release
from builder.review.answers import ReviewInfo
from builder.services.preview_hub import PreviewHub
from builder.services.previews import Admit, WithData
from builder.services.publish_rules import RulesReview, review, version_rules
from builder.services.release_builds import ReleaseBuilds
from builder.services.reviews import check_reason
from builder.services.server_apps import ServerApps
from builder.settings import settings
from builder.store import ProjectStore, stored_number
from preview_runtime.logs import LogHub, LogLevel
from preview_runtime.production import NotPublishable, ProductionPlan, production_plan

log = logging.getLogger(__name__)

BUSY = "This project is already being published; wait for that publish to finish."
INTERRUPTED = "The Forja worker building this release stopped before it finished; publish again."
NO_ROOM = (
    "There is no room left on Forja's disk for this release's files, so it was not published. Ask the person who runs "
    "Forja to free some space, then publish again."
)
RESOLVE_TTL_S = 0.5  # an address follows a publish, rollback or unpublish of another worker within this (a rollback is live everywhere in under a second)


def publish_key(project_id: str) -> str:
    """What a worker holds while it publishes the project (PreviewRegistry.working): one publish at a time, on every
    worker."""
    return f"publish:{project_id}"


ReviewRelease = Callable[[Release, str], Awaitable[ReviewInfo]]
# Starts a server release's doors check beside its sandbox; returns what drops it (ReviewService.ahead).
ReviewAhead = Callable[[str, int, Mapping[str, bytes]], Callable[[], Awaitable[None]]]


class PublishService:
    def __init__(
        self,
        store: ProjectStore,
        hub: PreviewHub,
        logs: LogHub,
        admit: Admit | None = None,
        with_data: WithData | None = None,
        review: ReviewRelease | None = None,
        review_ahead: ReviewAhead | None = None,
    ) -> None:
        self._store = store
        self._review = review  # what a built release serves, reviewed before it goes live (ReviewService.gate)
        self._review_ahead = review_ahead
        self._admit = admit  # the owner's quotas, checked before a build (QuotaExceeded)
        self._hub = hub
        self._logs = logs
        self._locks: dict[str, asyncio.Lock] = {}
        self._targets: dict[str, tuple[float, Target | None]] = {}
        self.servers = ServerApps(store, hub, logs, with_data)
        self.builds = ReleaseBuilds(store, hub, logs)

    async def settled(self) -> None:
        """Until the build sandboxes stopping behind their publishes have stopped."""
        await self.builds.settled()

    @property
    def domains(self) -> dict[str, str]:
        """Custom domains -> the names of the apps they serve (AppDomains keeps it current)."""
        return self.servers.domains

    @domains.setter
    def domains(self, domains: dict[str, str]) -> None:
        self.servers.domains = domains

    def folder(self, project_id: str, release_id: int) -> Path:
        return releases_root() / project_id / str(release_id)

    # -- the app -------------------------------------------------------------------------------------

    async def app(self, project_id: str) -> AppInfo | None:
        """The project's app, or None when it was never published."""
        await self._store.get_project(project_id)
        return (await self.apps([project_id])).get(project_id)

    async def apps(self, project_ids: list[str]) -> dict[str, AppInfo]:
        """The apps of these projects (those never published are left out), in one query for any number of them."""
        return {row.project_id: app_info(row) for row in await self._store.app_rows(project_ids)}

    async def rename(self, project_id: str, name: str) -> AppInfo:
        """Give the app another name: its address moves, and the old one answers nothing."""
        label = check_name(name)
        app = await self._store.published_app(project_id)
        if app is None:
            raise NotFound("This project is not published yet: publish it first, then rename it.")
        await self._store.name_app(project_id, label)
        self._forget(app.name)
        await self.servers.changed(project_id)  # a server app's sandbox answers at the new name, on every worker
        info = await self.app(project_id)
        assert info is not None
        return info

    # -- publishing ----------------------------------------------------------------------------------

    async def publish(
        self,
        project_id: str,
        version: int | None = None,
        name: str | None = None,
        user_id: str | None = None,
        override_reason: str | None = None,
    ) -> PublishResult:
        """Build the version (default: the current one), review what it serves, and serve it at the app's address;
        PublishFailed, with the previous release still live, when the build fails, PublishBlocked when the review finds
        critical problems not confirmed and no `override_reason` (the owner's, checked by the caller) says why it goes
        live all the same. RulesError, before any release or build, when its data rules cannot be read; the result
        lists the risks of those it has."""
        reason = check_reason(override_reason) if override_reason is not None else ""
        project = await self._store.get_project(project_id)
        number = version if version is not None else project.current_version
        if number is None:
            raise NotFound("This project has no files yet: there is nothing to publish.")
        if not stored_number(number):
            raise NotFound(f"Project {project_id} has no version {number}.")
        rules = await version_rules(self._store, project_id, number)
        lock = self._locks.setdefault(project_id, asyncio.Lock())
        if lock.locked():
            raise PublishFailed(BUSY)
        async with lock, self._hub.registry.working(publish_key(project_id)) as ours:
            if not ours:  # another worker publishes it
                raise PublishFailed(BUSY)
            if self._admit is not None:
                await self._admit(project_id)
            app = await self._store.published_app(project_id)
            label = check_name(name) if name else app.name if app is not None else await self._free_name(project.name, project_id)
            if app is None or app.name != label:
                await self._store.name_app(project_id, label)
                if app is not None:
                    self._forget(app.name)
            release = await self._store.new_release(project_id, number, user_id)
            previous = await self._live_number(project_id)
            await self._build(release, number)
            review = await self._gate(release, reason)
            await self._store.set_live(project_id, release.id)
            self._forget(label)
            await self._went_live(project_id, release.number, previous)
            self._logs.emit(
                project_id,
                f"Published version {number} as release {release.number} at {app_url(label)}.",
                LogLevel.info,
                "publish",
            )
            await self._prune_releases(project_id, release.id)
        info = await self.app(project_id)
        assert info is not None
        releases = await self._releases(project_id)
        return PublishResult(
            app=info,
            release=next(r for r in releases if r.number == release.number),
            risks=risks(rules) if rules is not None else [],
            review=review,
        )

    async def _gate(self, release: Release, reason: str) -> ReviewInfo | None:
        """The review of what the built release serves (ReviewService.gate): PublishBlocked stops a server release's
        sandbox, which started with the build, as the release does not go live."""
        if self._review is None:
            return None
        try:
            return await self._review(release, reason)
        except PublishBlocked:
            if release.kind == "server":
                await self.servers.stop(release.project_id, [release.number])
            raise

    async def rules_review(self, project_id: str, version: int | None = None) -> RulesReview:
        """What the version's (default: the current one's) data rules tell its owner before they publish it: the
        sentence of each risky rule, or why the rules cannot be read (a publish of it is then refused)."""
        return await review(self._store, project_id, version)

    async def _free_name(self, project_name: str, project_id: str) -> str:
        base = name_from(project_name)
        for attempt in range(1, 100):
            label = base if attempt == 1 else f"{base[:58]}-{attempt}"
            if not await self._store.name_taken(label, project_id):
                return label
        return f"{base[:50]}-{project_id}"

    async def _build(self, release: Release, version: int) -> None:
        """Build the release's files into its folder; on failure, record why and raise PublishFailed."""
        started = time.monotonic()
        BUILDS_STARTED.inc()
        project_id = release.project_id
        try:
            tree = await self._store.read_tree(project_id, version)
            override = await self._store.run_override(project_id)
            try:
                plan = production_plan(tree, override)
            except NotPublishable as exc:
                raise PublishFailed(str(exc)) from None
            release.framework, release.spa, release.kind = plan.framework, plan.spa, plan.kind
            self._logs.emit(
                project_id,
                f"Publishing version {version} ({plan.framework}): {plan.build or 'no build step'}"
                + (f", then `{plan.start}`." if plan.start else "."),
                LogLevel.info,
                "publish",
            )
            assert release.id is not None
            folder = self.folder(project_id, release.id)
            if plan.kind == "server":  # its files stay in its sandbox: the folder only marks it kept (see _prune)
                manifest = await self._server_release(release, version, tree, plan, folder)
            elif plan.build:
                manifest = await self.builds.build(release, version, tree, plan, override, folder)
            else:
                prefix = f"{plan.output.strip('/')}/" if plan.output.strip("/") else ""
                files = {path.removeprefix(prefix): data for path, data in tree.items() if path.startswith(prefix)}
                manifest = await asyncio.to_thread(write_release, folder, files)
        except (ForjaError, OSError) as exc:
            full = isinstance(exc, OSError)
            if full and not outages.noted(exc):  # only a full disk is the publish's to tell; anything else is a bug
                raise
            message = NO_ROOM if full else exc.message
            release.state, release.error = "failed", message
            release.build_s = time.monotonic() - started
            with outages.ridden_out():  # the database on that full disk too: the release is marked at the next start
                await self._store.finish_release(release)
            self._logs.emit(
                project_id, f"Publish failed: {message} The app's address still serves what it served.", LogLevel.error, "publish"
            )
            failed = PublishFailed(message, release.number)
            if full:
                failed.status = DiskFull.status
            BUILDS_FINISHED.labels("failed").inc()
            raise failed from None
        release.state, release.files, release.size_bytes = "ready", manifest.file_count, manifest.bytes
        release.build_s = time.monotonic() - started
        await self._store.finish_release(release)
        BUILDS_FINISHED.labels("ready").inc()

    async def _server_release(
        self, release: Release, version: int, tree: dict[str, bytes], plan: ProductionPlan, folder: Path
    ) -> ReleaseManifest:
        """Start the release's sandbox, its review's doors check beside it (two installs at once, not one after the
        other); the check is dropped when the release fails before its gate."""
        drop = self._review_ahead(release.project_id, version, tree) if self._review_ahead is not None else None
        try:
            release.log, failed = await self.servers.start(release.project_id, release.number, version, tree, plan)
            if failed:
                raise PublishFailed(failed)
            # Nothing to serve from disk (a share link pinning the release finds no page).
            return await asyncio.to_thread(write_release, folder, {})
        except BaseException:
            if drop is not None:
                await drop()
            raise

    async def _live_number(self, project_id: str) -> int | None:
        info = await self.app(project_id)
        return info.live_release if info is not None else None

    async def _went_live(self, project_id: str, number: int, previous: int | None) -> None:
        """Send the address to a server release's sandbox on every worker, and park the one that served before (kept
        for a rollback), wherever they run. With none (a static release, or a server release whose sandbox is gone),
        the address falls to the edge, which serves the files or starts the sandbox."""
        await self.servers.changed(project_id, wait=True)
        if previous is not None and previous != number:
            await self.servers.park(project_id, previous)

    async def _prune_releases(self, project_id: str, live_id: int | None) -> None:
        """_prune, then stop the sandboxes of the server releases it removed."""
        await asyncio.to_thread(self._prune, project_id, live_id)
        gone = [
            release.number
            for release, _ in await self._store.releases(project_id)
            if release.kind == "server" and release.id is not None and not self.folder(project_id, release.id).is_dir()
        ]
        if gone:
            await self.servers.stop(project_id, gone)

    def _prune(self, project_id: str, live_id: int | None) -> None:
        """Keep the files of the newest FORJA_RELEASES_KEPT releases (and the live one); older ones go."""
        folder = releases_root() / project_id
        entries = list(folder.iterdir()) if folder.is_dir() else []
        kept = sorted((int(p.name) for p in entries if p.name.isdigit()), reverse=True)
        for release_id in kept[settings.releases_kept :]:
            if release_id != live_id:
                shutil.rmtree(folder / str(release_id), ignore_errors=True)
        # What a write cut short by a crash left (write_release writes into a hidden folder, then renames it).
        for leftover in (p for p in entries if p.name.startswith(".") and ".partial-" in p.name):
            shutil.rmtree(leftover, ignore_errors=True)

    # -- releases ------------------------------------------------------------------------------------

    async def releases(self, project_id: str) -> list[ReleaseInfo]:
        await self._store.get_project(project_id)
        return await self._releases(project_id)

    async def _releases(self, project_id: str) -> list[ReleaseInfo]:
        app = await self._store.published_app(project_id)
        live_id = app.live_release_id if app is not None and app.unpublished_at is None else None
        infos = []
        for release, version in await self._store.releases(project_id):
            assert release.id is not None
            state = release.state
            if state == "ready" and not self.folder(project_id, release.id).is_dir():
                state = "pruned"
            infos.append(
                ReleaseInfo(
                    number=release.number,
                    version=version,
                    state=state,
                    live=release.id == live_id,
                    framework=release.framework,
                    kind=release.kind,
                    files=release.files,
                    size_bytes=release.size_bytes,
                    build_s=round(release.build_s, 2),
                    error=release.error,
                    created_at=release.created_at.isoformat(),
                    user_id=release.user_id,
                    override_reason=release.override_reason,
                )
            )
        return infos

    async def rollback(self, project_id: str, number: int) -> AppInfo:
        """Serve an earlier release again, as it was built (no rebuild)."""
        await self._store.get_project(project_id)
        release = await self._store.release(project_id, number) if stored_number(number) else None
        if release is None or release.id is None:
            raise NotFound(f"Project {project_id} has no release {number}.")
        if release.state != "ready" or not self.folder(project_id, release.id).is_dir():
            why = {"failed": "failed to build", "blocked": "was stopped by the review before it went live"}
            raise InvalidInput(
                f"Release {number} cannot go live: it {why.get(release.state, 'was pruned (its files are gone)')}. "
                "Publish its version again instead."
            )
        previous = await self._live_number(project_id)
        await self._store.set_live(project_id, release.id)
        app = await self._store.published_app(project_id)
        assert app is not None
        self._forget(app.name)
        # A server release's parked sandbox wakes at the first visit; with none, the edge starts it.
        await self._went_live(project_id, number, previous)
        self._logs.emit(project_id, f"Release {number} is live again.", LogLevel.info, "publish")
        info = await self.app(project_id)
        assert info is not None
        return info

    async def unpublish(self, project_id: str) -> AppInfo:
        """Take the app down: its address answers 410 until the next publish; its releases are kept."""
        await self._store.get_project(project_id)
        await self._store.set_live(project_id, None, unpublished=True)
        app = await self._store.published_app(project_id)
        assert app is not None
        self._forget(app.name)
        await self.servers.stop(project_id)  # on every worker: its address falls to the edge, which answers 410
        self._logs.emit(project_id, "Unpublished: the app's address answers that it was taken down.", LogLevel.info, "publish")
        info = await self.app(project_id)
        assert info is not None
        return info

    async def interrupt_abandoned(self) -> None:
        """Releases still building that no worker builds any more (its Forja stopped or died: its publish's lease is
        gone) are marked failed; the app's address serves what it served. Run at start, and with several workers by the
        leader's sweep."""
        for release in await self._store.running_builds():
            if not await self._hub.registry.worked_on(publish_key(release.project_id)):
                release.state, release.error = "failed", INTERRUPTED
                await self._store.finish_release(release)
                log.warning(
                    "release %s of %s was left building by a Forja that stopped: marked failed",
                    release.number,
                    release.project_id,
                )

    # -- the edge ------------------------------------------------------------------------------------

    async def target(self, host: str) -> Target | None:
        """What an app's Host serves, its own address or a custom domain (cached for RESOLVE_TTL_S); None for no app of
        that name."""
        name = app_name_of(host) or self.domains.get(host_name(host))
        if name is None:
            return None
        cached = self._targets.get(name)
        if cached is not None and time.monotonic() - cached[0] < RESOLVE_TTL_S:
            return cached[1]
        pinned = pinned_of(name)
        target = await (self._pinned_target(*pinned) if pinned is not None else self._live_target(name))
        self._targets[name] = (time.monotonic(), target)
        return target

    async def _live_target(self, name: str) -> Target | None:
        live = await self._store.live_app(name)
        if live is None or (live.release_id is None and not live.unpublished):
            target = None  # no app of that name, or its first publish has not succeeded yet
        elif live.unpublished or live.release_id is None:
            target = Target(folder=releases_root(), spa=False, state="gone")
        else:
            folder = self.folder(live.project_id, live.release_id)
            state = "server" if live.kind == "server" else "live"
            target = Target(folder=folder, spa=live.spa, state=state, project_id=live.project_id, release=live.number or 0)
        return target

    async def start_server(self, host: str, target: Target) -> None:
        """A request for a server app reached the edge: its sandbox is not routed, so start or wake it (once)."""
        if app_name_of(host) is not None or host_name(host) in self.domains:
            await self.servers.visit(target.project_id, target.release)

    async def _pinned_target(self, name: str, number: int) -> Target | None:
        """A release's own host (`<name>--r<N>`): served while a working share link pins it, gone (410) once its files
        were pruned or the app was taken down, nothing at all (404) when no working link gives it out."""
        pinned = await self._store.pinned_release(name, number)
        if pinned is None:
            return None
        folder = self.folder(pinned.project_id, pinned.release_id)
        if pinned.unpublished:
            return Target(folder=releases_root(), spa=False, state="gone")
        if not pinned.ready or not folder.is_dir():
            return Target(folder=releases_root(), spa=False, state="pruned")
        return Target(folder=folder, spa=pinned.spa, state="live")

    def release_kept(self, project_id: str, release: Release) -> bool:
        """Whether a release's built files are still there to serve (built, and not pruned)."""
        return release.state == "ready" and release.id is not None and self.folder(project_id, release.id).is_dir()

    def forget_pinned(self) -> None:
        """Drop what this worker keeps of releases' own hosts (a share link was turned off); others follow within
        RESOLVE_TTL_S."""
        self._targets = {name: kept for name, kept in self._targets.items() if pinned_of(name) is None}

    def serves(self, host: str) -> bool:
        """Whether the Host names a published app: its own address, or a custom domain."""
        return app_name_of(host) is not None or host_name(host) in self.domains

    def _forget(self, name: str) -> None:
        """Drop what is kept of the app's address and of its releases' own hosts (taken down with it)."""
        self._targets = {
            label: kept for label, kept in self._targets.items() if label != name and (pinned_of(label) or ("",))[0] != name
        }
