"""The Code tab: the file tree, the open file, unsaved drafts and Save."""

from __future__ import annotations

import base64
import logging
import secrets
from collections.abc import AsyncIterator
from pathlib import PurePosixPath

import reflex as rx

from builder.errors import ForjaError
from builder.filetree import encode_like, human_size, is_utf8_text, text_of
from builder.languages import language_for
from builder.services.access import Permission
from builder.state.preview import PreviewPaneState
from builder.state.views import TreeRow, default_file, image_type, tree_rows
from builder.state.workspace import Loaded, WorkspaceState

log = logging.getLogger(__name__)

MAX_SHOWN_IMAGE_BYTES = 4 * 1024 * 1024


class EditorState(WorkspaceState):
    paths: rx.Field[list[str]] = rx.field(default_factory=list)
    collapsed: rx.Field[list[str]] = rx.field(default_factory=list)
    selected_path: rx.Field[str] = rx.field("")
    editor_value: rx.Field[str] = rx.field("")
    editor_language: rx.Field[str] = rx.field("plaintext")
    # Bumped when another version becomes current, so the editor drops its models for the old one.
    editor_revision: rx.Field[int] = rx.field(0)
    # "path:line:...": the editor shows that line of that file; a new value each time, so the same place opens again.
    reveal: rx.Field[str] = rx.field("")
    # A file of bytes is not opened in the editor: it is described, shown when it is a picture, and downloadable.
    binary_note: rx.Field[str] = rx.field("")
    image_src: rx.Field[str] = rx.field("")
    drafts: rx.Field[dict[str, str]] = rx.field(default_factory=dict)
    saving: rx.Field[bool] = rx.field(False)
    notice: rx.Field[str] = rx.field("")
    # The Terminal tab's "Bring files to Code": running, and what it found when that was nothing to edit.
    bringing: rx.Field[bool] = rx.field(False)
    terminal_note: rx.Field[str] = rx.field("")
    # Files a running generation has completed, shown before its version is saved.
    _streamed: dict[str, str] = {}
    # The bytes of open text files in another encoding than UTF-8 (UTF-16 with its mark...), saved back in it.
    _originals: dict[str, bytes] = {}

    @rx.var
    def rows(self) -> list[TreeRow]:
        return tree_rows(self.paths, set(self.collapsed))

    @rx.var
    def unsaved_count(self) -> int:
        return len(self.drafts)

    async def _show(self, loaded: Loaded) -> None:
        if loaded.switched:
            self.drafts = {}
            self.selected_path = ""
            self.collapsed = []
            self.notice = ""
            self._streamed = {}
            self._originals = {}
        if loaded.new_version:
            self.editor_revision += 1
        project = loaded.project
        projects = loaded.services.projects
        files = await projects.files(project.id) if project.current_version else []
        self.paths = [f.path for f in files] if project.current_version else sorted(self._streamed)
        if self.selected_path not in self.paths and self.paths:
            await self._open(default_file(self.paths, {f.path for f in files if f.binary}))
        elif self.selected_path and self.selected_path not in self.drafts:
            await self._open(self.selected_path)

    def _add_streamed(self, files: dict[str, str]) -> None:
        """Files a running generation completed join the tree at once."""
        self._streamed = {**self._streamed, **files}
        self.paths = sorted(set(self.paths) | set(files))

    @rx.event
    def toggle_folder(self, path: str) -> None:
        self.collapsed = [p for p in self.collapsed if p != path] if path in self.collapsed else [*self.collapsed, path]

    @rx.event
    async def open_file(self, path: str) -> None:
        self.error = ""
        await self._open(path)
        await self._place_changed()

    @rx.event
    async def open_at(self, path: str, line: int) -> None:
        """An answer's place: the Code tab, on the file, its line selected in view."""
        if path not in self.paths:
            self.error = f"{path} is not in the project any more."
            return
        self.error = ""
        self._switch_to("code")
        await self._open(path)
        self.reveal = f"{path}:{line}:{self.editor_revision}:{secrets.token_hex(4)}"
        await self._place_changed()

    async def _open(self, path: str) -> None:
        """Select a file; an unsaved draft wins over the stored content so nothing is lost. The page's error stays:
        a refresh re-opens the selected file just after a generation said why it failed."""
        self.binary_note = self.image_src = ""
        if path in self.drafts:
            self.editor_value = self.drafts[path]
        elif self.current_version == 0 or (self.generating and path in self._streamed):
            self.editor_value = self._streamed.get(path, "")
        else:
            data = await (await self.allowed()).services.projects.read_file(self.project_id, path)
            text = text_of(data)
            if text is None:
                self._show_bytes(path, data)
            originals = {p: d for p, d in self._originals.items() if p != path}
            self._originals = originals if text is None or is_utf8_text(data) else {**originals, path: data}
            self.editor_value = text or ""
        # Set together with the value: the editor keys its model on the path.
        self.selected_path = path
        self.editor_language = language_for(path)

    def _show_bytes(self, path: str, data: bytes) -> None:
        kind = image_type(data)
        # A picture too big for a data: address in the page is still described and downloadable.
        if kind is not None and len(data) <= MAX_SHOWN_IMAGE_BYTES:
            self.image_src = f"data:{kind};base64,{base64.b64encode(data).decode('ascii')}"
        what = "picture" if kind else "binary file"
        self.binary_note = f"{PurePosixPath(path).name}: {what}, {human_size(len(data))}"

    @rx.event
    async def download(self):
        """The open file as it is stored, byte for byte."""
        path = self.selected_path
        data = await (await self.allowed()).services.projects.read_file(self.project_id, path)
        return rx.download(data=data, filename=PurePosixPath(path).name)

    @rx.event
    def edit(self, path: str, text: str) -> None:
        # A viewer's editor changes only as others type in the shared file: nothing of theirs is unsaved.
        if not self.can_edit:
            return
        self.drafts = {**self.drafts, path: text}
        self.notice = ""

    @rx.event
    async def bring_from_terminal(self):
        """The files a terminal's shell changed in the running preview become unsaved drafts (new ones join the tree);
        the Code tab opens on the first, for the person to look at and save as a version."""
        self.bringing, self.terminal_note = True, ""
        yield
        try:
            allowed = await self.allowed(Permission.edit)
            found = await allowed.services.terminals.files_from_terminal(self.project_id)
        except ForjaError as exc:
            self.terminal_note = str(exc)
            return
        finally:
            self.bringing = False
        left_out = [*(f"{p} (not text)" for p in found.binary), *(f"{p} (deleted)" for p in found.deleted)]
        kept = f" Left out: {', '.join(left_out)}." if left_out else ""
        if not found.changed:
            self.terminal_note = f"No file differs from version {self.current_version}.{kept}"
            return
        self.drafts = {**self.drafts, **found.changed}
        self.paths = sorted(set(self.paths) | set(found.changed))
        count = len(found.changed)
        self.notice = f"{count} file{'s' if count != 1 else ''} from the terminal, unsaved: Save makes a version.{kept}"
        self._switch_to("code")
        await self._open(next(iter(found.changed)))

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

    @rx.var
    def collab_room(self) -> str:
        """Where the open files' co-editing rooms are (the editor joins the one of the open file)."""
        # While a generation streams its files the editor shows them, not the working copy.
        shared = self.project_id and self.current_version and not self.generating
        return f"/api/projects/{self.project_id}/collab" if shared else ""

    async def _save(self) -> AsyncIterator[rx.event.EventCallback[()] | None]:
        """One version of the working copy: the shared rooms (everyone's typing) and this page's other drafts."""
        if self.saving:
            return
        self.saving = True
        self.error = ""
        yield
        drafts = dict(self.drafts)
        try:
            allowed = await self.allowed(Permission.edit)
            writes = {p: encode_like(p, self._originals.get(p), t) for p, t in drafts.items()}
            result = await allowed.services.collab.save(self.project_id, allowed.actor, writes)
        except ForjaError as exc:
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
        self.notice = (
            f"Saved as version {result.version.number}." if result.changed else "Nothing changed since the last version."
        )
        if result.changed:
            # Seen as a new version by every part: the Preview reloads a page that has no hot reload.
            await self._refresh(self.project_id)
            preview = await self.get_state(PreviewPaneState)
            # A failed preview gets another try with the person's fix, as a dev server would.
            if preview.preview_state == "failed" or await preview._moved():
                yield PreviewPaneState.start_preview
