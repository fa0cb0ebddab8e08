"""The Data dialog: what the project's published app, or its preview, keeps in its collections; its owner reads the rows
page by page, changes a row's data and deletes rows. Thin: the service checks who may
(builder/services/app_data_panel.py) and does it."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from datetime import datetime

import reflex as rx

from builder.errors import ForjaError, InvalidInput
from builder.services.app_data import Scope
from builder.services.app_rows import RowOut
from builder.state.account import when
from builder.state.workspace import WorkspaceState

PAGE = 50


@dataclasses.dataclass
class CollectionRow:
    name: str
    rows: int


@dataclasses.dataclass
class DataRow:
    id: str
    who: str  # the app user who made it, by email where the app still has them
    made: str
    text: str  # the data on one line, for the list
    pretty: str  # the data as the edit box starts


def data_row(row: RowOut, emails: Mapping[str, str]) -> DataRow:
    if row.owner is None:
        who = "someone not signed in"
    else:
        who = emails.get(row.owner, "someone no longer signed up")
    return DataRow(
        row.id,
        who,
        when(datetime.fromisoformat(row.created_at)),
        json.dumps(row.data, ensure_ascii=False, separators=(", ", ": ")),
        json.dumps(row.data, ensure_ascii=False, indent=2),
    )


def parsed(text: str) -> object:
    """The edit box's JSON, or InvalidInput saying where it is not JSON (the service says what a row may be)."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidInput(
            f"This is not valid JSON: {exc.msg.lower()} at line {exc.lineno}, column {exc.colno}. Nothing is saved yet; "
            "fix it and save again."
        ) from exc


class AppDataState(rx.State):
    open_dialog: bool = False
    # Whose data the dialog shows: the published app's ("live") or the preview's ("preview").
    scope: str = Scope.live.value
    collections: rx.Field[list[CollectionRow]] = rx.field(default_factory=list)
    collection: str = ""  # the collection open, "" for the list of them
    rows: rx.Field[list[DataRow]] = rx.field(default_factory=list)
    next_offset: int = -1  # -1 on the last page
    editing: str = ""  # the row whose data is in the edit box
    draft: str = ""
    draft_error: str = ""
    error: str = ""
    notice: str = ""

    @rx.event
    async def set_open(self, value: bool) -> None:
        self.open_dialog = value
        self.collection = ""
        self._quiet()
        if value:
            await self._load_collections()

    @rx.event
    async def set_scope(self, value: str | list[str]) -> None:
        self.scope = Scope.preview.value if value == Scope.preview.value else Scope.live.value
        self.collection = ""
        self._quiet()
        await self._load_collections()

    @rx.event
    async def open_collection(self, name: str) -> None:
        self.collection, self.rows, self.next_offset = name, [], 0
        self._quiet()
        await self._load_rows()

    @rx.event
    async def back(self) -> None:
        self.collection = ""
        self._quiet()
        await self._load_collections()

    @rx.event
    async def more(self) -> None:
        await self._load_rows()

    @rx.event
    def edit(self, row_id: str) -> None:
        self._quiet()
        row = next((row for row in self.rows if row.id == row_id), None)
        self.editing, self.draft = (row.id, row.pretty) if row is not None else ("", "")

    @rx.event
    def set_draft(self, value: str) -> None:
        self.draft = value

    @rx.event
    def cancel_edit(self) -> None:
        self.editing = self.draft = self.draft_error = ""

    @rx.event
    async def save(self) -> None:
        workspace = await self.get_state(WorkspaceState)
        try:
            data = parsed(self.draft)
            allowed = await workspace.allowed()
            changed = await allowed.services.app_data_panel.change(
                allowed.actor, workspace.project_id, self.collection, self.editing, data, Scope(self.scope)
            )
        except ForjaError as exc:
            self.draft_error = exc.message  # the text stays in the box, to be fixed
            return
        old = next(row for row in self.rows if row.id == changed.id)
        new = data_row(changed, {})
        self.rows = [dataclasses.replace(new, who=old.who) if row.id == changed.id else row for row in self.rows]
        self.editing = self.draft = self.draft_error = ""
        self.notice = "Saved."

    @rx.event
    async def delete(self, row_id: str) -> None:
        workspace = await self.get_state(WorkspaceState)
        try:
            allowed = await workspace.allowed()
            await allowed.services.app_data_panel.delete(
                allowed.actor, workspace.project_id, self.collection, row_id, Scope(self.scope)
            )
        except ForjaError as exc:
            self.error, self.notice = exc.message, ""
            return
        self.rows = [row for row in self.rows if row.id != row_id]
        if self.next_offset > 0:
            self.next_offset -= 1  # the rows after it moved up by one
        self._quiet()
        self.notice = "The row is deleted."

    def _quiet(self) -> None:
        self.editing = self.draft = self.draft_error = self.error = self.notice = ""

    async def _load_collections(self) -> None:
        workspace = await self.get_state(WorkspaceState)
        try:
            allowed = await workspace.allowed()
            found = await allowed.services.app_data_panel.collections(allowed.actor, workspace.project_id, Scope(self.scope))
            self.collections = [CollectionRow(info.name, info.rows) for info in found]
        except ForjaError as exc:
            self.collections, self.error = [], exc.message

    async def _load_rows(self) -> None:
        if self.next_offset < 0:
            return
        workspace = await self.get_state(WorkspaceState)
        scope = Scope(self.scope)
        try:
            allowed = await workspace.allowed()
            page = await allowed.services.app_data_panel.rows(
                allowed.actor, workspace.project_id, self.collection, self.next_offset, PAGE, scope
            )
            people = await allowed.services.app_users.people(allowed.actor, workspace.project_id, scope)
        except ForjaError as exc:
            self.error = exc.message
            return
        emails = {person.id: person.email for person in people}
        self.rows = [*self.rows, *(data_row(row, emails) for row in page.rows)]
        self.next_offset = page.next_offset if page.next_offset is not None else -1
