"""The Publish dialog: build a version for production at the app's own address, rename it, roll back, take it down."""

from __future__ import annotations

import dataclasses
from datetime import datetime

import reflex as rx

from builder.errors import ForjaError, InvalidInput, PublishBlocked, PublishFailed
from builder.filetree import human_size
from builder.publish.answers import AppInfo, ReleaseInfo
from builder.publish.app_names import name_from
from builder.review.answers import FindingInfo, ReviewInfo
from builder.review.shown import FindingRow, finding_row, fix_request, worst_first
from builder.services.access import Permission
from builder.services.publish_rules import RulesReview
from builder.state.app_domain import AppDomainState
from builder.state.logs import LogsState
from builder.state.workspace import WorkspaceState
from builder.wording import plural


@dataclasses.dataclass
class ReleaseRow:
    number: int
    version: int
    state: str
    live: bool
    when: str
    detail: str
    can_go_live: bool
    # Newer than the live release (it was rolled back from): going live again is a step forward, not back.
    newer: bool


def _row(release: ReleaseInfo, live: int) -> ReleaseRow:
    if release.state == "failed":
        detail = release.error
    elif release.kind == "server":  # no files of its own: a server in a sandbox, asleep while nobody visits
        detail = f"{release.framework} server, built and started in {release.build_s:.1f} s; sleeps when idle, wakes at a visit"
    else:
        detail = f"{plural(release.files, 'file')}, {human_size(release.size_bytes)}, built in {release.build_s:.1f} s"
    when = datetime.fromisoformat(release.created_at).strftime("%d %b, %H:%M")
    can_go_live = release.state == "ready" and not release.live
    return ReleaseRow(
        release.number, release.version, release.state, release.live, when, detail, can_go_live, release.number > live
    )


class PublishState(rx.State):
    open_dialog: bool = False
    name: str = ""
    url: str = ""
    app_state: str = ""  # live, unpublished, none, or "" (never published)
    releases: rx.Field[list[ReleaseRow]] = rx.field(default_factory=list)
    building: bool = False
    error: str = ""
    # The error is a build's: Fix this can send it to the model.
    build_failed: bool = False
    notice: str = ""
    # The current version's data rules in words, read as the dialog opens: what they let people do, or why they
    # cannot be read (it is then not published).
    rules_risks: rx.Field[list[str]] = rx.field(default_factory=list)
    rules_error: str = ""
    # A publish the review stopped: its findings, worst first, and what each one's Fix this asks the model.
    findings: rx.Field[list[FindingRow]] = rx.field(default_factory=list)
    _fixes: list[str] = []
    # Publish anyway (its owner only): whether the reason field shows, the reason, and why it was refused.
    override_open: bool = False
    override_reason: str = ""
    override_error: str = ""

    @rx.event
    async def set_open(self, value: bool) -> None:
        self.open_dialog = value
        if value:
            self.error = self.notice = ""
            self._stopped([])
            await self._load()

    @rx.event
    def set_name(self, value: str) -> None:
        self.name = value

    async def _load(self) -> None:
        workspace = await self.get_state(WorkspaceState)
        services = (await workspace.allowed()).services
        publishing = services.publishing
        app = await publishing.app(workspace.project_id)
        self._show(app, workspace.project_name)
        releases = await publishing.releases(workspace.project_id)
        live = next((r.number for r in releases if r.live), 0)
        self.releases = [_row(r, live) for r in releases]
        version = workspace.current_version  # the one Publish builds
        review = await publishing.rules_review(workspace.project_id, version) if version else RulesReview()
        self.rules_risks, self.rules_error = review.risks, review.error
        await (await self.get_state(AppDomainState)).load(services, workspace.project_id)

    def _show(self, app: AppInfo | None, project_name: str) -> None:
        self.url = app.url if app is not None else ""
        self.app_state = app.state if app is not None else ""
        self.name = app.name if app is not None else name_from(project_name)

    @rx.event
    def set_override_open(self, value: bool) -> None:
        self.override_open, self.override_error = value, ""

    @rx.event
    def set_override_reason(self, value: str) -> None:
        self.override_reason = value

    def _stopped(self, findings: list[FindingInfo]) -> None:
        """Show a stopped publish's findings (none: nothing stopped it), with Publish anyway closed."""
        ordered = worst_first(findings)
        self.findings = [finding_row(info) for info in ordered]
        self._fixes = [fix_request(info.finding) for info in ordered]
        self.override_open, self.override_reason, self.override_error = False, "", ""

    @rx.event(background=True)
    async def publish(self):
        """Build the current version and make it live; the build's output goes to the Logs tab as it runs."""
        await self._publish(anyway=False)

    @rx.event(background=True)
    async def publish_anyway(self):
        """Its owner publishes despite the review's critical findings, saying why (kept with the release)."""
        await self._publish(anyway=True)

    async def _publish(self, *, anyway: bool) -> None:
        async with self:
            if self.building:
                return
            reason = self.override_reason if anyway else None
            workspace = await self.get_state(WorkspaceState)
            project_id, version, name = workspace.project_id, workspace.current_version, self.name.strip()
            try:
                allowed = await workspace.allowed(Permission.edit if reason is None else Permission.own)
            except ForjaError as exc:
                self.error = exc.message
                return
            self.building, self.notice, self.override_error = True, "", ""
            if reason is None:  # a publish anew: what stopped the last one goes
                self.error, self.build_failed = "", False
                self._stopped([])
        try:
            result = await allowed.services.publishing.publish(project_id, version, name or None, allowed.actor.user_id, reason)
        except ForjaError as exc:
            async with self:
                if reason is not None and isinstance(exc, InvalidInput):  # said next to the reason; the findings stay
                    self.building, self.override_error = False, exc.message
                    return
                self.building, self.error, self.build_failed = False, exc.message, isinstance(exc, PublishFailed)
                self._stopped(ReviewInfo.model_validate(exc.review).findings if isinstance(exc, PublishBlocked) else [])
                await self._load()
            return
        async with self:
            self.building, self.error, self.build_failed = False, "", False
            self._stopped([])
            self.notice = f"Version {result.release.version} is live as release {result.release.number}."
            await self._load()

    @rx.event
    async def rollback(self, number: int) -> None:
        workspace = await self.get_state(WorkspaceState)
        try:
            publishing = (await workspace.allowed(Permission.edit)).services.publishing
            app = await publishing.rollback(workspace.project_id, number)
        except ForjaError as exc:
            self.error = exc.message
            return
        self.error, self.notice = "", f"Release {number} is live again (version {app.live_version})."
        await self._load()

    @rx.event
    async def unpublish(self) -> None:
        workspace = await self.get_state(WorkspaceState)
        try:
            publishing = (await workspace.allowed(Permission.edit)).services.publishing
            await publishing.unpublish(workspace.project_id)
        except ForjaError as exc:
            self.error = exc.message
            return
        self.error, self.notice = "", "The app is taken down: its address says it was unpublished."
        await self._load()

    @rx.event
    async def rename(self) -> None:
        workspace = await self.get_state(WorkspaceState)
        try:
            publishing = (await workspace.allowed(Permission.own)).services.publishing
            app = await publishing.rename(workspace.project_id, self.name)
        except ForjaError as exc:
            self.error = exc.message
            return
        self.error, self.notice = "", f"The app's address is now {app.url}."
        await self._load()

    @rx.event
    async def fix_build(self):
        """A failed build: why it failed goes to the model as a follow-up; publish again once it is fixed."""
        logs = await self.get_state(LogsState)
        self.open_dialog = False
        return await logs._fix(f"The production build failed when publishing the app: {self.error}")

    @rx.event
    async def fix_finding(self, index: int):
        """A finding of the review that stopped the publish: its fix goes to the model as a change request."""
        if not 0 <= index < len(self._fixes):  # a click on a list a later publish replaced
            return None
        logs = await self.get_state(LogsState)
        self.open_dialog = False
        return await logs._ask(self._fixes[index])
