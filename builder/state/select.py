"""The Preview's Select mode: the toggle, the element picked in the frame, and text typed into it.

The frame's script reports by postMessage; assets/forja_preview.jsx checks the sender and hands the
JSON here. What it means (the chip, the model's note, the text edit) lives in
builder.generation.picked and builder.services.text_edits.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import PurePosixPath

import reflex as rx

from builder.errors import ForjaError
from builder.generation.picked import Picked, picked_from_message
from builder.schemas import CommitResult
from builder.services.access import Permission
from builder.services.element_text import shown
from builder.services.text_edits import TextChange
from builder.state.preview import PreviewPaneState
from builder.state.workspace import Loaded, WorkspaceState
from builder.text import shorten
from preview_runtime.check_script import is_check_path


class SelectState(WorkspaceState):
    selecting: rx.Field[bool] = rx.field(False)
    picked_label: rx.Field[str] = rx.field("")
    picked_title: rx.Field[str] = rx.field("")
    picked_place: rx.Field[str] = rx.field("")
    picked_leaf: rx.Field[bool] = rx.field(False)
    # What the frame is asked to make editable ("Edit text" on the chip); the counter makes each ask new.
    edit_request: rx.Field[str] = rx.field("")
    # The outcome of the last text typed into the preview: saved, or why not.
    select_notice: rx.Field[str] = rx.field("")
    select_failed: rx.Field[bool] = rx.field(False)
    _picked: Picked | None = None
    _edits: int = 0

    async def _show(self, loaded: Loaded) -> None:
        if loaded.switched:
            self.selecting = False
            self.clear_picked()
            self.select_notice = ""
            # A page opened afresh starts with Select off: its preview's copy drops places a closed page left on.
            await loaded.services.previews.set_select(loaded.project.id, False)

    def picked(self) -> Picked | None:
        return self._picked

    @rx.event
    async def toggle_select(self) -> None:
        services = (await self.allowed(Permission.edit)).services
        self.selecting = not self.selecting
        self.select_notice = ""
        await services.previews.set_select(self.project_id, self.selecting)

    @rx.event
    def pick(self, raw: str) -> None:
        picked = picked_from_message(raw)
        if picked is None or not self.selecting:
            return
        self._picked = picked
        self._show_picked(picked)
        self.picked_leaf = picked.leaf
        self.select_notice = ""

    @rx.event
    def clear_picked(self) -> None:
        self._picked = None
        self.picked_label = self.picked_title = self.picked_place = ""
        self.picked_leaf = False

    def _show_picked(self, picked: Picked) -> None:
        self.picked_label, self.picked_title, self.picked_place = picked.label(), picked.title(), picked.place

    @rx.event
    async def edit_picked_text(self) -> None:
        """The chip's "Edit text": the frame makes the picked element editable, as a double-click would."""
        if self._picked is None:
            return
        self._edits += 1
        if not self.selecting:
            self.selecting = True
            await (await self.allowed(Permission.edit)).services.previews.set_select(self.project_id, True)
        self.edit_request = json.dumps(
            {"n": self._edits, "src": self._picked.src, "path": self._picked.dom_path if not self._picked.src else ""}
        )

    @rx.event
    async def text_typed(self, raw: str):
        """Text typed into an element of the preview: saved as a version where its source says it is."""
        typed = picked_from_message(raw)
        if typed is None or not self.selecting:
            return
        try:
            data = json.loads(raw)
            change = TextChange(
                old=str(data.get("old", ""))[:2000],
                new=str(data.get("new", ""))[:2000],
                src=typed.src,
                dom_path=typed.dom_path,
                page=typed.page,
            )
        except (ValueError, AttributeError):
            return
        # The frame put the old words back at once; until the version is saved, this says where the new ones are.
        self.select_notice, self.select_failed = f"Saving \u201c{shorten(shown(change.new), 40)}\u201d\u2026", False
        yield
        yield await self._save_text(change)

    async def save_picked_text(self, new: str):
        """The follow-up box gave the picked element's new text (offline): saved like text typed into the preview."""
        picked = self._picked
        if picked is None:
            return None
        return await self._save_text(
            TextChange(old=picked.text, new=new, src=picked.src, dom_path=picked.dom_path, page=picked.page)
        )

    async def _save_text(self, change: TextChange):
        """Save `change`, say in the bar what happened, and load the frame again from what is saved: it never keeps
        words that are not in a version."""
        try:
            allowed = await self.allowed(Permission.edit)
            result = await allowed.services.text_edits.replace_text(self.project_id, change, allowed.actor.user_id)
        except ForjaError as exc:
            self.select_notice, self.select_failed = f"Not saved: {exc}", True
            return PreviewPaneState.reload_preview
        self.select_notice, self.select_failed = saved_notice(result, change), False
        if self._picked is not None and self._picked.text == change.old:
            self._picked = dataclasses.replace(self._picked, text=change.new)
            self._show_picked(self._picked)
        await self._refresh(self.project_id)
        # A preview without hot reload loads again on a new version by itself (PreviewPaneState._show).
        if (await self.get_state(PreviewPaneState)).preview_hot_reload:
            return PreviewPaneState.reload_preview
        return None


def saved_notice(result: CommitResult, change: TextChange) -> str:
    """What the bar says of a saved text edit: the version, the app's file and the checks that followed it, if any."""
    files = ", ".join(path for path in result.changed if not is_check_path(path))
    words = f"\u201c{shorten(shown(change.old), 40)}\u201d \u2192 \u201c{shorten(shown(change.new), 40)}\u201d"
    notice = f"Saved as version {result.version.number} in {files}: {words}."
    checks = [PurePosixPath(path).name for path in result.changed if is_check_path(path)]
    if len(checks) == 1:
        notice += f" The app's check {checks[0]} now expects the new words too."
    elif checks:
        notice += f" The app's checks {', '.join(checks)} now expect the new words too."
    return notice
