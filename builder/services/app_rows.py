"""The data of an app Forja serves: rows of its collections, each a JSON object stamped with the app user who made it,
read and written only as the rules of the app's published release (`.forja/data.json`) allow; in its preview (scope
preview, rows of their own), as the rules of the version the preview runs allow, read again after each save.

Deny by default: a collection the rules do not name, or an action they leave out, is refused to everyone; a release
without a rules file, or with one that cannot be read (published before rules were checked), allows nothing; in a
preview, rules that cannot be read refuse every request with the sentence that says why (422). A list is
filtered in its query (builder/app_backend/rules.py `read_filter`), so a filter can only narrow it: asking for another
user's rows (`owner=...`) never gives a row the viewer could not read one by one. A row the viewer may not read is
"not found", exactly like a row that does not exist, so an id tells nothing about someone else's data.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Awaitable, Callable
from typing import Any

from pydantic import BaseModel, Field

from builder.app_backend.identity import AppViewer
from builder.app_backend.rules import Action, DataRules, allows, read_filter
from builder.errors import Forbidden, InvalidInput, NotFound, NotSignedIn, RulesError, TooLarge
from builder.models import AppDataRow
from builder.services.app_data import Scope
from builder.services.publish_rules import version_rules
from builder.store import ProjectStore
from builder.store.app_rows import ListedRow

log = logging.getLogger(__name__)

MAX_ROW_BYTES = 64 * 1024  # a row's data as compact JSON
MAX_ROWS = 50_000  # per app and scope, all collections together
MAX_PAGE = 100
DEFAULT_PAGE = 50
MAX_FILTERS = 5
FIELD = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")
ROW_ID = re.compile(r"^[A-Za-z0-9_-]{1,32}$")
_CACHED_RELEASES = 1000

_VERBS: dict[Action, str] = {"read": "read", "create": "add", "update": "change", "delete": "delete"}
_WHO = {"owner": "the user who made a row and the app's admins", "admin": "the app's admins", "signed-in": "signed-in users"}


class RowOut(BaseModel):
    """A row as the app's scripts get it."""

    id: str
    owner: str | None = Field(description="The app user who made it; null when made by someone not signed in.")
    created_at: str
    updated_at: str
    data: dict[str, Any]


class RowPage(BaseModel):
    rows: list[RowOut]
    next_offset: int | None = Field(description="The `offset` of the next page; null on the last one.")


class ListQuery(BaseModel):
    """What a list asks for: `fields` to equal (top-level text values), `owner` (an app user's id), `mine`, a page."""

    fields: dict[str, str] = Field(default_factory=dict)
    owner: str | None = None
    mine: bool = False
    offset: int = 0
    limit: int = DEFAULT_PAGE


def row_out(row: AppDataRow | ListedRow) -> RowOut:
    # Not validated again: every field comes from the database, of the types the model says (a page of 100 rows
    # would spend more validating than reading).
    return RowOut.model_construct(
        id=row.id, owner=row.owner, created_at=row.created_at.isoformat(), updated_at=row.updated_at.isoformat(), data=row.data
    )


def checked_data(data: object) -> dict[str, Any]:
    """A row's data: a JSON object of at most MAX_ROW_BYTES; InvalidInput or TooLarge in words otherwise."""
    if not isinstance(data, dict):
        raise InvalidInput('A row is a JSON object, like {"title": "Haircut", "when": "2026-12-01T10:00"}.')
    try:
        size = len(json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode())
    except UnicodeEncodeError:  # JSON's \ud800-style escapes can name half a character, which no text can hold
        raise InvalidInput("A row's text must be whole characters: it holds half of one (a lone \\u escape).") from None
    if size > MAX_ROW_BYTES:
        raise TooLarge(f"A row holds at most {MAX_ROW_BYTES // 1024} KB of data; this one is {size // 1024} KB.")
    return data


def checked_query(query: ListQuery) -> ListQuery:
    """The list's query, or InvalidInput naming what cannot be asked."""
    if not 1 <= query.limit <= MAX_PAGE:
        raise InvalidInput(f"A page holds 1 to {MAX_PAGE} rows; ask for a `limit` in that range.")
    if not 0 <= query.offset <= MAX_ROWS:
        raise InvalidInput(f"`offset` is a count of rows from 0 to {MAX_ROWS:,}.")
    if len(query.fields) > MAX_FILTERS:
        raise InvalidInput(f"A list takes at most {MAX_FILTERS} fields to filter by.")
    for field in query.fields:
        if not FIELD.match(field):
            raise InvalidInput(f"{field[:40]!r} cannot name a field: use letters, digits and _, starting with a letter or _.")
    return query


def refusal(rules: DataRules, collection: str, action: Action, viewer: AppViewer) -> Forbidden | NotSignedIn:
    """Why `viewer` may not `action` rows of `collection`: no rule for it (403), or who may (401 when signing in could)."""
    verb = _VERBS[action]
    actions = rules.collections.get(collection)
    if actions is None:
        return Forbidden(f"This app's data rules name no collection '{collection}', so no one may use it.")
    who = actions.get(action)
    if who is None:
        return Forbidden(f"This app's data rules let no one {verb} rows of '{collection}'.")
    if viewer.user_id is None:
        return NotSignedIn(f"Sign in to {verb} rows of '{collection}'.")
    return Forbidden(f"Only {_WHO.get(who, 'the app admins')} may {verb} rows of '{collection}'.")


def _not_found(collection: str, row_id: str) -> NotFound:
    return NotFound(f"There is no row '{row_id[:40]}' in '{collection}'.")


class AppRowService:
    def __init__(self, store: ProjectStore, on_write: Callable[[], Awaitable[None]]) -> None:
        self._store = store
        self._on_write = on_write  # the change log's pruning (services/app_changes.py), which every write grows
        self._rules: dict[tuple[str, int], DataRules] = {}
        # A preview's rules by (project, version): a version never changes either; its sentence when it cannot be read.
        self._working: dict[tuple[str, int], DataRules | str] = {}

    async def rules(self, project_id: str, release: int) -> DataRules:
        """The rules of a release, read once: a release never changes. None of a release allows nothing."""
        key = (project_id, release)
        cached = self._rules.get(key)
        if cached is not None:
            return cached
        rules = DataRules()
        version = await self._store.release_version(project_id, release)
        if version is not None:
            try:
                rules = await version_rules(self._store, project_id, version) or DataRules()
            except RulesError as exc:
                log.warning(
                    "app %s release %s: its data rules cannot be read, so they allow nothing: %s", project_id, release, exc
                )
        if len(self._rules) >= _CACHED_RELEASES:
            self._rules.clear()
        self._rules[key] = rules
        return rules

    async def working_rules(self, project_id: str, version: int | None = None) -> DataRules:
        """The rules of the version a preview runs (None: the project's current one, so a save counts from the next
        request), read once per version; RulesError, with the sentence saying what to write, when they cannot be read."""
        number = version if version is not None else await self._store.latest_version(project_id)
        key = (project_id, number)
        found = self._working.get(key)
        if found is None:
            try:
                found = (await version_rules(self._store, project_id, number) if number else None) or DataRules()
            except RulesError as exc:
                found = exc.message
            if len(self._working) >= _CACHED_RELEASES:
                self._working.clear()
            self._working[key] = found
        if isinstance(found, str):
            raise RulesError(found)
        return found

    async def list(
        self, project_id: str, scope: Scope, rules: DataRules, collection: str, viewer: AppViewer, query: ListQuery
    ) -> RowPage:
        query = checked_query(query)
        reach = read_filter(rules, collection, viewer)
        if reach == "none":
            raise refusal(rules, collection, "read", viewer)
        if query.mine and viewer.user_id is None:
            raise NotSignedIn(f"Sign in to list your own rows of '{collection}'.")
        # Each owner a list is narrowed to; rows must be of all of them, so two different owners leave no row.
        owners = {viewer.user_id} if reach == "own" or query.mine else set()
        if query.owner is not None:
            owners.add(query.owner)
        if len(owners) > 1:
            return RowPage(rows=[], next_offset=None)
        owner = (next(iter(owners)),) if owners else None
        rows = await self._store.data_rows(project_id, scope, collection, owner, query.fields, query.offset, query.limit + 1)
        more = len(rows) > query.limit
        return RowPage(
            rows=[row_out(row) for row in rows[: query.limit]], next_offset=query.offset + query.limit if more else None
        )

    async def get(
        self, project_id: str, scope: Scope, rules: DataRules, collection: str, viewer: AppViewer, row_id: str
    ) -> RowOut:
        return row_out(await self._reachable(project_id, scope, rules, collection, viewer, row_id, "read"))

    async def create(
        self, project_id: str, scope: Scope, rules: DataRules, collection: str, viewer: AppViewer, data: object
    ) -> RowOut:
        if not allows(rules, collection, "create", viewer, None):
            raise refusal(rules, collection, "create", viewer)
        data = checked_data(data)
        if await self._store.data_row_count(project_id, scope) >= MAX_ROWS:
            raise TooLarge(f"This app holds {MAX_ROWS:,} rows, as many as it may; delete some before adding more.")
        row = await self._store.add_data_row(project_id, scope, collection, viewer.user_id, data)
        await self._on_write()
        return row_out(row)

    async def update(
        self,
        project_id: str,
        scope: Scope,
        rules: DataRules,
        collection: str,
        viewer: AppViewer,
        row_id: str,
        data: object,
        merge: bool,
    ) -> RowOut:
        """The row changed: with `merge`, the fields sent replace the row's and the others stay; else `data` is all of it."""
        row = await self._reachable(project_id, scope, rules, collection, viewer, row_id, "update")
        data = checked_data(data)
        changed = await self._store.set_data_row(row, checked_data({**row.data, **data}) if merge else data)
        if changed is None:  # deleted since it was read
            raise _not_found(collection, row_id)
        await self._on_write()
        return row_out(changed)

    async def delete(
        self, project_id: str, scope: Scope, rules: DataRules, collection: str, viewer: AppViewer, row_id: str
    ) -> None:
        await self._store.remove_data_row(await self._reachable(project_id, scope, rules, collection, viewer, row_id, "delete"))
        await self._on_write()

    async def _reachable(
        self, project_id: str, scope: Scope, rules: DataRules, collection: str, viewer: AppViewer, row_id: str, action: Action
    ) -> AppDataRow:
        """The row, if `viewer` may `action` it. Refused before looking when no row at all would do (not even one of the
        viewer's own), so a refusal says nothing of which rows exist; a row the viewer may not even read is not found."""
        if not allows(rules, collection, action, viewer, viewer.user_id):
            raise refusal(rules, collection, action, viewer)
        row = await self._store.data_row(project_id, scope, collection, row_id) if ROW_ID.match(row_id) else None
        if row is None:
            raise _not_found(collection, row_id)
        if allows(rules, collection, action, viewer, row.owner):
            return row
        if allows(rules, collection, "read", viewer, row.owner):
            raise refusal(rules, collection, action, viewer)
        raise _not_found(collection, row_id)
