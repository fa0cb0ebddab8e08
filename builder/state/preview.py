"""The Preview tab: starting the project (in a WebContainer or on the server) and following it until it runs."""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import AsyncGenerator, Awaitable, Callable
from functools import partial

import reflex as rx
from pydantic import BaseModel, ConfigDict, ValidationError

from builder.errors import ForjaError, PackagesRefused, PreviewRefused
from builder.services.preview_access import open_path
from builder.settings import settings
from builder.settings.server import REPO_ROOT
from builder.state.connected import page_connected
from builder.state.tab_memory import chosen_tabs, opening_tab
from builder.state.views import preview_words
from builder.state.workspace import Loaded, WorkspaceState
from preview_runtime.runner import PreviewInfo, PreviewState

# What the page asks the browser as a project opens: a phone's width, and whether it could boot a WebContainer.
OPENING_QUERY = (REPO_ROOT / "assets" / "workspace_opening.js").read_text(encoding="utf-8")


class BrowserFacts(BaseModel):
    """The browser's answer to OPENING_QUERY. Any client may send anything instead: what is not this reads as a desktop
    that cannot run a WebContainer."""

    model_config = ConfigDict(strict=True)

    phone: bool = False
    webcontainers: bool = False

    @classmethod
    def read(cls, sent: object) -> BrowserFacts:
        try:
            return cls.model_validate(sent)
        except ValidationError:
            return cls()


_SOURCE = re.compile(r"`(.*)` from (.+)", re.DOTALL)
# How often a page that follows its preview looks whether its socket is still there.
PAGE_CHECK_S = 5.0
WEBCONTAINER_REASON = "A front-end project: it runs in your browser (WebContainer), and nothing of it runs on the server."


async def while_connected(
    reports: AsyncGenerator[PreviewInfo, None], connected: Callable[[], Awaitable[bool]], check_s: float = PAGE_CHECK_S
) -> AsyncGenerator[PreviewInfo, None]:
    """The preview's reports for as long as the page's socket is there (`connected`, asked every `check_s`): a preview
    that answered is followed as long as it runs (its proxy may stop answering and come back), and a closed tab must
    not keep that going."""
    pending: asyncio.Task[PreviewInfo] | None = None
    try:
        while True:
            pending = pending or asyncio.ensure_future(anext(reports))
            done, _ = await asyncio.wait({pending}, timeout=check_s)
            if not done:
                if not await connected():
                    return
                continue
            try:
                info = pending.result()
            except StopAsyncIteration:
                return
            pending = None
            yield info
    finally:
        if pending is not None:
            # The read ends before this does: the caller closes `reports` next, and closing a generator that a task
            # is still running raises.
            pending.cancel()
            await asyncio.wait({pending})


def started_with(source: str) -> tuple[str, str]:
    """RunPlan.source ("`python main.py` from the run line in .replit") as the command and where it came from."""
    match = _SOURCE.fullmatch(source)
    return (match.group(1), match.group(2)) if match else ("", "")


class PreviewPaneState(WorkspaceState):
    preview_url: rx.Field[str] = rx.field("")
    # Forja's page that opens a server preview for this person (a private preview answers only browsers sent there);
    # the frame loads it, which ends at preview_url. Empty for a WebContainer.
    preview_open: rx.Field[str] = rx.field("")
    preview_state: rx.Field[str] = rx.field("")
    preview_runner: rx.Field[str] = rx.field("")
    # Why that runner runs it: in the toolbar's "How this preview runs" box, so a person can learn what sandbox the app is in.
    preview_runner_reason: rx.Field[str] = rx.field("")
    # The start command and where it came from ("python main.py", "the run line in .replit"), when the project said.
    preview_command: rx.Field[str] = rx.field("")
    preview_command_from: rx.Field[str] = rx.field("")
    preview_message: rx.Field[str] = rx.field("")
    # The failure is this machine's (no sandbox to run in): no change to the app, by a model or a person, helps.
    preview_refused: rx.Field[bool] = rx.field(False)

    @rx.var
    def preview_where(self) -> str:
        """Where the app runs, as the toolbar says it: a runner's name is the admin's word (it is in the "i")."""
        if not self.preview_runner:
            return ""
        return "In your browser" if self.preview_runner == "webcontainer" else "On the server"

    # The project asks for a package that should not be installed: its files need a change, not this machine.
    packages_refused: rx.Field[bool] = rx.field(False)
    # The server runs the preview as the person's own user with no sandbox (FORJA_ALLOW_UNSANDBOXED): a banner says so.
    preview_unsandboxed: rx.Field[bool] = rx.field(False)
    preview_reloads: rx.Field[int] = rx.field(0)
    # The dev server updates the page itself after a save; without it (plain HTML...) a new version reloads the frame.
    preview_hot_reload: rx.Field[bool] = rx.field(False)
    # "webcontainer" while the browser runs the project, "server" for Forja's runners.
    preview_mode: rx.Field[str] = rx.field("")
    # Bumped by each start, so the browser starts its WebContainer again on "Try again".
    preview_run: rx.Field[int] = rx.field(0)
    browser_install: rx.Field[list[str]] = rx.field(default_factory=list)
    browser_dev: rx.Field[list[str]] = rx.field(default_factory=list)
    browser_port: rx.Field[int] = rx.field(0)
    # Set from the settings when a WebContainer starts, not as defaults: a default is compiled into the page, so a
    # changed setting would make Forja build its page again (a minute) at its next start.
    webcontainer_boot_timeout_ms: rx.Field[int] = rx.field(0)
    webcontainer_client_id: rx.Field[str] = rx.field("")
    _preview_token: int = 0
    # Set once WebContainers could not start for this page; later starts go straight to the server.
    _browser_refused: bool = False

    @rx.var
    def preview_coming(self) -> bool:
        """The preview is on its way: a project with files starts it as it opens, so the Terminal waits for it rather
        than saying none runs."""
        return self.current_version > 0 and self.preview_state in ("", "starting", "installing")

    async def _show(self, loaded: Loaded) -> None:
        if loaded.switched:
            self.preview_url = self.preview_open = ""
            self.preview_state = ""
            self.preview_message = ""
            self.preview_mode = ""
            self.preview_runner = self.preview_runner_reason = ""
            self.preview_command = self.preview_command_from = ""
            self.preview_unsandboxed = False
        elif loaded.new_version and self.preview_mode == "server" and self.preview_url and not self.preview_hot_reload:
            # The new files are already in the running preview (saving pushes them there before it returns).
            self.preview_reloads += 1
        elif loaded.new_version and self.preview_mode == "webcontainer":
            await self._still_installable(loaded)

    async def _still_installable(self, loaded: Loaded) -> None:
        """A saved version reaches the browser's WebContainer, which installs again when its manifests changed: they
        are asked about first, and a refused one stops the browser's preview (no install) with the sentence."""
        try:
            await loaded.services.previews.browser_plan(loaded.project.id)
        except PackagesRefused as exc:
            self.preview_mode = ""  # the page's WebContainer stops, and the new version is not written into it
            self.preview_url = self.preview_open = ""
            self.preview_state, self.preview_message = "failed", str(exc)
            self.packages_refused = True

    async def _moved(self) -> bool:
        """Whether the server preview the page shows is gone or on a new address (a save changed its dependencies)."""
        if self.preview_mode != "server" or not self.preview_url:
            return False
        info = await (await self.allowed()).services.previews.status(self.project_id)
        return info is None or info.url != self.preview_url

    async def _on_open(self) -> rx.event.EventSpec:
        return rx.call_script(OPENING_QUERY, callback=PreviewPaneState.opened)

    @rx.event
    async def opened(self, browser: object):
        """The browser answered OPENING_QUERY: the page shows the tab the person last chose in this project, else the
        app, and a project with files starts its preview whatever the tab (the Terminal's shell runs in it)."""
        if self.project_id != self._page_project():
            return None  # the page moved on to another project meanwhile: that one's own answer decides
        facts = BrowserFacts.read(browser)
        if not facts.webcontainers:
            # Not isolated, or a boot already failed in this tab: no WebContainer is tried, not even to fall back.
            self._browser_refused = True
        self.tab = opening_tab(
            chosen_tabs(self.chosen_tabs).get(self.project_id),
            phone=facts.phone,
            has_files=self.current_version > 0,
            can_edit=self.can_edit,
        )
        await self._place_changed()
        return PreviewPaneState.open

    @rx.event
    def open(self):
        """The Preview tab was opened: a project with files starts unless it runs or is on its way."""
        if self.project_id != self._page_project():
            return None  # clicked before the page's project loaded: this state still holds the last one's
        if self.current_version > 0 and self.preview_state in ("", "failed", "stopped", "parked"):
            return PreviewPaneState.start_preview

    @rx.event
    def reload_preview(self) -> None:
        self.preview_reloads += 1

    def _still_asked(self, token: int, project_id: str) -> bool:
        """Whether a start (its token and project) is still what this pane shows: not replaced by a later start, and
        the page not moved to another project meanwhile."""
        return self._preview_token == token and self.project_id == project_id

    @rx.event(background=True)
    async def start_preview(self):
        """Run the project: in this browser (WebContainer) when it is front-end only, else on the server.

        The browser path ends in webcontainer_ready, webcontainer_failed or webcontainer_fallback; the
        server path follows the preview service's reports until the preview answers or fails.
        """
        async with self:
            self._preview_token += 1
            self.preview_run += 1
            token, project_id, browser_allowed = self._preview_token, self.project_id, not self._browser_refused
            self.preview_url = self.preview_open = ""
            self.preview_command = self.preview_command_from = ""
            self.preview_state = "starting"
            self.preview_refused = self.packages_refused = False
            self.preview_message = "Starting the preview..."
        try:
            allowed = await self.allowed()
            previews = allowed.services.previews
            browser_plan = await previews.browser_plan(project_id) if browser_allowed else None
            hot_reload = await previews.hot_reloads(project_id)
        except ForjaError as exc:
            async with self:
                if self._still_asked(token, project_id):
                    self.preview_state, self.preview_message = "failed", str(exc)
                    self.packages_refused = isinstance(exc, PackagesRefused)  # the browser's install was not let run
            return
        async with self:
            if not self._still_asked(token, project_id):
                return
            self.preview_hot_reload = hot_reload
            if browser_plan is not None:
                self.preview_mode = self.preview_runner = "webcontainer"
                self.preview_runner_reason = WEBCONTAINER_REASON
                self.browser_install, self.browser_dev, self.browser_port = (
                    browser_plan.install,
                    browser_plan.dev,
                    browser_plan.port,
                )
                self.webcontainer_boot_timeout_ms = int(settings.webcontainer_boot_timeout_s * 1000)
                self.webcontainer_client_id = settings.webcontainer_client_id
                self.preview_message = "Starting the project in your browser (WebContainer)..."
                return
            self.preview_mode = "server"
        try:
            before = await previews.status(project_id)
            waking = before is not None and before.state == PreviewState.parked
            await previews.start(project_id, started_by=allowed.actor.user_id)
        except ForjaError as exc:
            async with self:
                if self._still_asked(token, project_id):
                    self.preview_state, self.preview_message = "failed", str(exc)
                    self.preview_refused = isinstance(exc, PreviewRefused)
                    self.packages_refused = isinstance(exc, PackagesRefused)
            return
        async with contextlib.aclosing(previews.follow(project_id)) as reports:
            async for info in while_connected(reports, partial(page_connected, self.router.session.client_token)):
                async with self:
                    if not self._still_asked(token, project_id):
                        return
                    self.preview_runner = info.runner
                    self.preview_runner_reason = info.runner_reason
                    self.preview_command, self.preview_command_from = started_with(info.source)
                    self.preview_unsandboxed = not info.sandboxed
                    self.preview_state = info.state.value
                    self.preview_url = info.url
                    self.preview_open = open_path(info.preview_id) if info.url else ""
                    self.preview_message = preview_words(info, waking)

    @rx.event
    def webcontainer_ready(self, url: str) -> None:
        if self.preview_mode == "webcontainer":
            self.preview_url, self.preview_state, self.preview_message = url, "running", ""

    @rx.event
    def webcontainer_failed(self, reason: str) -> None:
        """The project itself failed in the browser (install or dev server): the server would fail alike."""
        if self.preview_mode == "webcontainer":
            self.preview_url, self.preview_state, self.preview_message = "", "failed", reason

    @rx.event
    def webcontainer_fallback(self, reason: str):
        """WebContainers cannot run in this browser: the server runner takes over, and the Logs say why."""
        self._browser_refused = True
        self.preview_mode = "server"
        return PreviewPaneState.start_preview

    @rx.event
    async def run_on_server(self):
        """The person does not want to wait for the WebContainer: the server runner starts now."""
        (await self.allowed()).services.logs.emit(
            self.project_id, "Running the preview on the server instead of in this browser.", source="webcontainer"
        )
        return PreviewPaneState.webcontainer_fallback("chosen in the page")
