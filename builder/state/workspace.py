"""Workspace page state (`/p/<id>`): conversation, file tree, editor, logs and preview.

Thin on purpose: every change goes through builder.services; this class only holds what the
page shows and turns service errors into sentences.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging

import reflex as rx

from builder.filetree import FileTreeError, human_size, is_binary_path
from builder.languages import language_for
from builder.models import Author
from builder.services import get_services
from builder.store import NotFound
from preview_runtime.logs import LogLine

log = logging.getLogger(__name__)

AUTHOR_LABELS = {Author.user: "You", Author.ai: "Forja AI", Author.template: "Starter", Author.import_: "Import"}
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
    number: int
    author: str
    message: str
    time: str
    changes: str


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

    @rx.event
    async def load(self):
        project_id = self.router.page.params.get("project_id", "")
        services = await get_services()
        try:
            project = await services.store.get_project(project_id)
        except NotFound as exc:
            self.not_found = str(exc)
            return
        if project_id != self.project_id:
            self.drafts = {}
            self.selected_path = ""
            self.collapsed = []
            self.error = ""
            self.notice = ""
        self.not_found = ""
        self.project_id = project.id
        self.project_name = project.name
        self.stack = ", ".join(project.stack)
        self.current_version = project.current_version or 0
        self.chat = [
            ChatEntry(
                number=v.number,
                author=AUTHOR_LABELS[v.author],
                message=v.message or "(no message)",
                time=v.created_at.strftime("%d %b, %H:%M"),
                changes=f"{v.files_changed} file changed" if v.files_changed == 1 else f"{v.files_changed} files changed",
            )
            for v in project.versions
        ]
        self.paths = [f.path for f in await services.store.list_files(project.id)]
        self.logs = [log_row(line) for line in services.logs.history(project.id)]
        if self.selected_path not in self.paths and self.paths:
            await self._open(default_file(self.paths))
        yield WorkspaceState.follow_logs

    @rx.event
    def set_tab(self, tab: str) -> None:
        self.tab = tab

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
            size = next((f.size for f in await (await get_services()).store.list_files(self.project_id) if f.path == path), 0)
            self.binary_note = f"{path} is a binary file ({human_size(size)}); it cannot be edited here."
            self.editor_value = ""
        else:
            self.binary_note = ""
            if path in self.drafts:
                self.editor_value = self.drafts[path]
            else:
                data = await (await get_services()).store.read_file(self.project_id, path)
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
            result = await (await get_services()).save(self.project_id, dict(drafts), author=Author.user)
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
            yield WorkspaceState.load

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
                        self.logs = [*self.logs[-1999:], log_row(line)]
        except TimeoutError:
            return
        finally:
            await stream.aclose()


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
