"""Workspace page state (`/p/<id>`): conversation, file tree, editor, logs and preview.

Thin on purpose: every change goes through builder.services; this class only holds what the
page shows and turns service errors into sentences.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from datetime import datetime

import reflex as rx

from builder.errors import FileTreeError, ForjaError, NotFound, PreviewError
from builder.filetree import human_size, is_binary_path
from builder.generation.engine import GenerationEvent
from builder.generation.providers import PROVIDER_LABELS, available_providers
from builder.languages import language_for
from builder.models import Author
from builder.schemas import GenerationInfo, VersionInfo
from builder.services import get_services
from builder.settings import settings
from builder.wording import plural
from preview_runtime.logs import LogLine

log = logging.getLogger(__name__)

AUTHOR_LABELS = {Author.user: "You", Author.ai: "Forja AI", Author.template: "Starter", Author.import_: "Import"}
GENERATION_BATCH_SECONDS = 0.05
PREVIEW_WORDS = {
    "starting": "Starting the preview...",
    "installing": "Installing dependencies...",
    "running": "Starting the dev server...",
}
WEBCONTAINER_REASON = "A front-end project: it runs in your browser (WebContainer), and nothing of it runs on the server."
# A page left open keeps following its log for at most this long without reloading.
LOG_FOLLOW_SECONDS = 6 * 3600


@dataclasses.dataclass
class TreeRow:
    path: str
    name: str
    depth: int
    is_dir: bool
    expanded: bool


@dataclasses.dataclass
class ChatEntry:
    kind: str  # "prompt", "version" or "error"
    author: str
    message: str
    time: str
    detail: str


@dataclasses.dataclass
class ProviderOption:
    value: str
    label: str


@dataclasses.dataclass
class LogRow:
    seq: int
    time: str
    level: str
    source: str
    text: str


def log_row(line: LogLine) -> LogRow:
    return LogRow(seq=line.seq, time=line.time.strftime("%H:%M:%S"), level=line.level.value, source=line.source, text=line.text)


def tree_rows(paths: list[str], collapsed: set[str]) -> list[TreeRow]:
    """Flatten paths into visible rows: folders first, then files, hiding collapsed folders."""
    nested: dict = {}
    for path in paths:
        node = nested
        for part in path.split("/")[:-1]:
            node = node.setdefault(part + "/", {})
        node[path.rsplit("/", 1)[-1]] = path

    rows: list[TreeRow] = []

    def walk(node: dict, prefix: str, depth: int) -> None:
        for key in sorted(node, key=lambda k: (not k.endswith("/"), k.lower())):
            if key.endswith("/"):
                folder = prefix + key[:-1]
                rows.append(TreeRow(folder, key[:-1], depth, True, folder not in collapsed))
                if folder not in collapsed:
                    walk(node[key], folder + "/", depth + 1)
            else:
                rows.append(TreeRow(node[key], key, depth, False, False))

    walk(nested, "", 0)
    return rows


class WorkspaceState(rx.State):
    project_id: str = ""
    project_name: str = ""
    stack: str = ""
    current_version: int = 0
    not_found: str = ""

    generating: bool = False
    progress: str = ""
    followup: str = ""
    provider: str = "offline"
    provider_options: list[ProviderOption] = []
    editor_revision: int = 0
    preview_url: str = ""
    preview_state: str = ""
    preview_runner: str = ""
    # Why that runner runs it: shown under the toolbar, so a person knows what sandbox the app is in.
    preview_runner_reason: str = ""
    preview_message: str = ""
    preview_reloads: int = 0
    # "webcontainer" while the browser runs the project, "server" for Forja's runners.
    preview_mode: str = ""
    # Bumped by each start, so the browser starts its WebContainer again on "Try again".
    preview_run: int = 0
    browser_install: list[str] = []
    browser_dev: list[str] = []
    browser_port: int = 0
    webcontainer_boot_timeout_ms: int = int(settings.webcontainer_boot_timeout_s * 1000)
    webcontainer_client_id: str = settings.webcontainer_client_id
    _streamed: dict[str, str] = {}
    _preview_token: int = 0
    # Set once WebContainers could not start for this page; later starts go straight to the server.
    _browser_refused: bool = False
    _generation_token: int = 0

    tab: str = "code"
    chat: list[ChatEntry] = []

    paths: list[str] = []
    collapsed: list[str] = []
    selected_path: str = ""
    editor_value: str = ""
    editor_language: str = "plaintext"
    binary_note: str = ""
    drafts: dict[str, str] = {}
    saving: bool = False
    notice: str = ""
    error: str = ""

    logs: list[LogRow] = []
    _follow_token: int = 0

    @rx.var
    def rows(self) -> list[TreeRow]:
        return tree_rows(self.paths, set(self.collapsed))

    @rx.var
    def unsaved_count(self) -> int:
        return len(self.drafts)

    @rx.var
    def logs_text(self) -> str:
        return "\n".join(f"{r.time} [{r.level}] {r.source}: {r.text}" for r in self.logs)

    @rx.var
    def offline_follow_up(self) -> bool:
        """Offline starters cannot change an existing app, so the follow-up box says so instead."""
        return self.provider == "offline" and self.current_version > 0

    @rx.event
    async def load(self):
        project_id = self.router.page.params.get("project_id", "")
        if project_id != self.project_id:
            self.drafts = {}
            self.selected_path = ""
            self.collapsed = []
            self.error = ""
            self.notice = ""
            self.followup = ""
            self._streamed = {}
            self.preview_url = ""
            self.preview_state = ""
            self.preview_message = ""
            self.preview_mode = ""
            self.preview_runner = self.preview_runner_reason = ""
        if not await self._refresh(project_id):
            return
        yield WorkspaceState.follow_logs
        if (await get_services()).generations.running(project_id):
            self.generating = True
            yield WorkspaceState.follow_generation

    async def _refresh(self, project_id: str) -> bool:
        """Reload everything the page shows from the services; False if the project is gone."""
        services = await get_services()
        try:
            project = await services.projects.get(project_id)
            generations = await services.generations.records(project_id)
        except NotFound as exc:
            self.not_found = str(exc)
            return False
        self.not_found = ""
        self.project_id = project.id
        self.project_name = project.name
        self.stack = ", ".join(project.stack)
        if (project.current_version or 0) != self.current_version:
            self.editor_revision += 1
        self.current_version = project.current_version or 0
        available = available_providers()
        self.provider_options = [ProviderOption(name, PROVIDER_LABELS[name]) for name in available]
        chosen = project.provider if project.provider in available else settings.default_provider
        self.provider = chosen if chosen in available else "offline"
        self.chat = chat_entries(project.versions, generations)
        self.paths = (
            [f.path for f in await services.projects.files(project.id)] if project.current_version else sorted(self._streamed)
        )
        self.logs = [log_row(line) for line in services.logs.history(project.id)]
        if self.selected_path not in self.paths and self.paths:
            await self._open(default_file(self.paths))
        elif self.selected_path and self.selected_path not in self.drafts and not is_binary_path(self.selected_path):
            self.editor_value = (await services.projects.read_file(project.id, self.selected_path)).decode("utf-8")
        return True

    @rx.event
    async def set_provider(self, provider: str) -> None:
        if provider not in available_providers():
            self.error = f"{PROVIDER_LABELS.get(provider, provider)} is not set up on this Forja; see the README's settings."
            return
        self.provider = provider
        await (await get_services()).projects.set_provider(self.project_id, provider)

    @rx.event
    def set_followup(self, text: str) -> None:
        self.followup = text

    @rx.event
    async def send_followup(self):
        """Ask for a change (or, on an empty project, the first build) in words."""
        prompt = self.followup.strip()
        if not prompt or self.generating:
            return
        try:
            await (await get_services()).generations.start(self.project_id, prompt, self.provider)
        except ForjaError as exc:
            self.error = str(exc)
            return
        self.followup = ""
        self.error = ""
        self.notice = ""
        self.generating = True
        self.progress = "Generating..."
        self.chat = [*self.chat, ChatEntry("prompt", "You", prompt, "now", "")]
        yield WorkspaceState.follow_generation

    @rx.event
    async def fix_error(self, text: str):
        """The Logs tab's fix-this-error button: the error goes to the model as a follow-up."""
        self.followup = f"Fix this error:\n\n{text.strip()[:4000]}"
        self.tab = "code"
        async for update in self.send_followup():
            yield update

    @rx.event
    async def fix_preview_error(self):
        """A failed preview: its error lines go to the model as a follow-up."""
        errors = [row.text for row in self.logs if row.level == "error" and row.source != "generate"][-8:]
        async for update in self.fix_error("\n".join(errors) or self.preview_message):
            yield update
        self.preview_state = ""

    @rx.event(background=True)
    async def follow_generation(self):
        """Show a running generation: files join the tree as they complete, in batched updates."""
        async with self:
            self._generation_token += 1
            token, project_id = self._generation_token, self.project_id
        hub = (await get_services()).generations
        queue: asyncio.Queue[GenerationEvent | None] = asyncio.Queue()

        async def pump() -> None:
            async for event in hub.follow(project_id):
                queue.put_nowait(event)
            queue.put_nowait(None)

        pumping = asyncio.create_task(pump())
        try:
            finished = False
            while not finished:
                batch = [await queue.get()]
                # Files often complete in bursts: one state update per burst, not per file.
                await asyncio.sleep(GENERATION_BATCH_SECONDS)
                while not queue.empty():
                    batch.append(queue.get_nowait())
                finished = any(event is None or event.type in ("done", "error") for event in batch)
                async with self:
                    if self._generation_token != token or self.project_id != project_id:
                        return
                    self._apply_generation_events([e for e in batch if e is not None])
            async with self:
                if self._generation_token != token or self.project_id != project_id:
                    return
                self.generating = False
                self.progress = ""
                await self._refresh(project_id)
                moved = await self._preview_moved()
            if moved:
                yield WorkspaceState.start_preview
        finally:
            pumping.cancel()

    async def _preview_moved(self) -> bool:
        """Whether the server preview the page shows is gone or on a new address (a save changed its dependencies)."""
        if self.preview_mode != "server" or not self.preview_url:
            return False
        info = await (await get_services()).previews.status(self.project_id)
        return info is None or info.url != self.preview_url

    def _apply_generation_events(self, events: list[GenerationEvent]) -> None:
        added = []
        for event in events:
            if event.type == "file_done" and event.path is not None:
                self._streamed[event.path] = event.content or ""
                added.append(event.path)
                self.progress = f"Generating... {event.files_done} files \u00b7 {event.path}"
            elif event.type == "file_started" and event.path is not None:
                self.progress = f"Generating... {event.files_done} files \u00b7 writing {event.path}"
            elif event.type == "status":
                self.progress = event.message
            elif event.type == "error":
                self.error = event.message
            elif event.type == "done":
                self.notice = f"Saved as version {event.version}."
        if added:
            self.paths = sorted(set(self.paths) | set(added))

    @rx.event
    def set_tab(self, tab: str):
        self.tab = tab
        if tab == "preview" and self.current_version > 0 and self.preview_state in ("", "failed", "stopped"):
            return WorkspaceState.start_preview

    @rx.event
    def reload_preview(self) -> None:
        self.preview_reloads += 1

    @rx.event(background=True)
    async def start_preview(self):
        """Run the project: in this browser (WebContainer) when it is front-end only, else on the server.

        The browser path ends in webcontainer_ready, webcontainer_failed or webcontainer_fallback; the
        server path is followed here until the preview runs or fails.
        """
        async with self:
            self._preview_token += 1
            self.preview_run += 1
            token, project_id, browser_allowed = self._preview_token, self.project_id, not self._browser_refused
            self.preview_url = ""
            self.preview_state = "starting"
            self.preview_message = "Starting the preview..."
        previews = (await get_services()).previews
        try:
            browser_plan = await previews.browser_plan(project_id) if browser_allowed else None
        except NotFound as exc:
            async with self:
                self.preview_state, self.preview_message = "failed", str(exc)
            return
        async with self:
            if self._preview_token != token:
                return
            if browser_plan is not None:
                self.preview_mode = self.preview_runner = "webcontainer"
                self.preview_runner_reason = WEBCONTAINER_REASON
                self.browser_install, self.browser_dev, self.browser_port = (
                    browser_plan.install,
                    browser_plan.dev,
                    browser_plan.port,
                )
                self.preview_message = "Starting the project in your browser (WebContainer)..."
                return
            self.preview_mode = "server"
        try:
            info = await previews.start(project_id)
        except (PreviewError, NotFound) as exc:
            async with self:
                self.preview_state, self.preview_message = "failed", str(exc)
            return
        while True:
            async with self:
                if self._preview_token != token or self.project_id != project_id:
                    return
                self.preview_runner = info.runner
                self.preview_runner_reason = info.runner_reason
                self.preview_state = info.state.value
                self.preview_message = (
                    PREVIEW_WORDS.get(info.state.value, "")
                    if info.state.value != "failed"
                    else (f"The preview failed: {info.detail or 'see the Logs tab'}.")
                )
                if info.state.value == "running" and await previews.answers(project_id):
                    self.preview_url = info.url
                    self.preview_message = ""
                    return
                if info.state.value in ("failed", "stopped"):
                    return
            await asyncio.sleep(0.5)
            info = await previews.status(project_id) or info

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
        return WorkspaceState.start_preview

    @rx.event
    async def run_on_server(self):
        """The person does not want to wait for the WebContainer: the server runner starts now."""
        (await get_services()).logs.emit(
            self.project_id, "Running the preview on the server instead of in this browser.", source="webcontainer"
        )
        return WorkspaceState.webcontainer_fallback("chosen in the page")

    @rx.event
    def toggle_folder(self, path: str) -> None:
        self.collapsed = [p for p in self.collapsed if p != path] if path in self.collapsed else [*self.collapsed, path]

    @rx.event
    async def open_file(self, path: str) -> None:
        await self._open(path)

    async def _open(self, path: str) -> None:
        """Select a file; an unsaved draft wins over the stored content so nothing is lost."""
        self.error = ""
        if is_binary_path(path):
            size = next((f.size for f in await (await get_services()).projects.files(self.project_id) if f.path == path), 0)
            self.binary_note = f"{path} is a binary file ({human_size(size)}); it cannot be edited here."
            self.editor_value = ""
        else:
            self.binary_note = ""
            if path in self.drafts:
                self.editor_value = self.drafts[path]
            elif self.current_version == 0 or (self.generating and path in self._streamed):
                self.editor_value = self._streamed.get(path, "")
            else:
                data = await (await get_services()).projects.read_file(self.project_id, path)
                self.editor_value = data.decode("utf-8")
        # Set together with the value: the editor keys its model on the path.
        self.selected_path = path
        self.editor_language = language_for(path)

    @rx.event
    def edit(self, path: str, text: str) -> None:
        self.drafts = {**self.drafts, path: text}
        self.notice = ""

    @rx.event
    async def save_from_editor(self, path: str, text: str):
        """Ctrl/Cmd+S: the editor hands over its latest text, which may be newer than the last draft."""
        self.drafts = {**self.drafts, path: text}
        async for update in self._save():
            yield update

    @rx.event
    async def save(self):
        async for update in self._save():
            yield update

    async def _save(self):
        if not self.drafts or self.saving:
            if not self.drafts:
                self.notice = "No unsaved changes."
            return
        self.saving = True
        self.error = ""
        yield
        drafts = dict(self.drafts)
        try:
            result = await (await get_services()).projects.save(self.project_id, dict(drafts), author=Author.user)
        except (FileTreeError, NotFound) as exc:
            self.error = f"Not saved: {exc}"
            return
        except Exception:
            log.exception("save failed for project %s", self.project_id)
            self.error = "Not saved because of an internal error. Your changes are still in the editor; try Save again."
            return
        finally:
            self.saving = False
        # Keep drafts typed while the save was running.
        self.drafts = {p: t for p, t in self.drafts.items() if drafts.get(p) != t}
        self.current_version = result.version.number
        self.notice = (
            f"Saved as version {result.version.number}." if result.changed else "Nothing changed since the last version."
        )
        if result.changed:
            await self._refresh(self.project_id)
            # A failed preview gets another try with the person's fix, as a dev server would.
            if self.preview_state == "failed" or await self._preview_moved():
                yield WorkspaceState.start_preview

    @rx.event(background=True)
    async def follow_logs(self):
        """Stream new log lines to the page until it leaves this project or another follower starts."""
        async with self:
            self._follow_token += 1
            token, project_id = self._follow_token, self.project_id
            since = self.logs[-1].seq if self.logs else 0
        hub = (await get_services()).logs
        stream = hub.follow(project_id, since)
        try:
            async with asyncio.timeout(LOG_FOLLOW_SECONDS):
                async for line in stream:
                    async with self:
                        if self._follow_token != token or self.project_id != project_id:
                            return
                        # A refresh may already have loaded this line from the history.
                        if not self.logs or line.seq > self.logs[-1].seq:
                            self.logs = [*self.logs[-1999:], log_row(line)]
        except TimeoutError:
            return
        finally:
            await stream.aclose()


def _when(moment: datetime) -> str:
    return moment.strftime("%d %b, %H:%M")


def chat_entries(versions: list[VersionInfo], generations: list[GenerationInfo]) -> list[ChatEntry]:
    """The conversation: each prompt, then what came of it (a version or an error), in time order."""
    timed: list[tuple[datetime, int, ChatEntry]] = []
    for g in generations:
        timed.append((g.created_at, 0, ChatEntry("prompt", "You", g.prompt, _when(g.created_at), "")))
        if g.outcome == "failed":
            timed.append((g.created_at, 1, ChatEntry("error", "Forja", g.error, _when(g.created_at), "Nothing was changed.")))
    for v in versions:
        detail = f"version {v.number} \u00b7 {plural(v.files_changed, 'file')} changed"
        made_by = next((g for g in generations if g.version == v.number), None)
        if made_by and made_by.provider != "offline":
            detail += f" \u00b7 {made_by.input_tokens + made_by.output_tokens:,} tokens"
            detail += f" \u00b7 about ${made_by.cost_usd:.3f}" if made_by.cost_usd is not None else " \u00b7 cost unknown"
        timed.append(
            (
                v.created_at,
                2,
                ChatEntry("version", AUTHOR_LABELS[v.author], v.message or "(no message)", _when(v.created_at), detail),
            )
        )
    return [entry for *_, entry in sorted(timed, key=lambda t: (t[0], t[1]))]


def default_file(paths: list[str]) -> str:
    """The file a person most likely wants to see first."""
    for name in (
        "src/App.jsx",
        "src/App.tsx",
        "src/App.vue",
        "src/App.svelte",
        "index.html",
        "app.py",
        "main.py",
        "server.js",
        "README.md",
    ):
        if name in paths:
            return name
    return next((p for p in paths if not is_binary_path(p)), paths[0])
