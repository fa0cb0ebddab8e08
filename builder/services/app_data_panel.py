"""An app's data as its owner sees it in the workspace (the Data panel, /api/projects/{id}/app-data/...): the
collections, their rows page by page, a row's data changed or the row deleted, a collection as CSV.

Only the project's owner and the admins of this Forja (builder/services/access.py `require_owner_or_admin`): a person
with no role in the project gets the same 404 as for a project that does not exist, its editors and viewers a 403.
The app's rules do not apply here: the owner sees and changes every row. A change is written like the app's own, so
the app's change streams hear it.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from pydantic import BaseModel

from builder.app_backend.csv_export import to_csv
from builder.errors import NotFound
from builder.models import AppDataRow
from builder.services.access import AccessService, Actor
from builder.services.app_data import Scope
from builder.services.app_rows import MAX_ROWS, ROW_ID, ListQuery, RowOut, RowPage, checked_data, checked_query, row_out
from builder.store import ProjectStore

log = logging.getLogger(__name__)

_CSV_PAGE = 1000


class CollectionInfo(BaseModel):
    name: str
    rows: int


class AppDataPanel:
    def __init__(self, store: ProjectStore, access: AccessService, on_write: Callable[[], Awaitable[None]]) -> None:
        self._store = store
        self._access = access
        self._on_write = on_write  # the change log's pruning, as the app's own writes do

    async def collections(self, actor: Actor, project_id: str, scope: Scope = Scope.live) -> list[CollectionInfo]:
        """Each collection that holds rows, by name, with how many."""
        await self._access.require_owner_or_admin(actor, project_id)
        return [CollectionInfo(name=name, rows=count) for name, count in await self._store.data_collections(project_id, scope)]

    async def rows(
        self, actor: Actor, project_id: str, collection: str, offset: int, limit: int, scope: Scope = Scope.live
    ) -> RowPage:
        """A page of the collection's rows, newest first, whoever made them."""
        await self._access.require_owner_or_admin(actor, project_id)
        query = checked_query(ListQuery(offset=offset, limit=limit))
        rows = await self._store.data_rows(project_id, scope, collection, None, {}, query.offset, query.limit + 1)
        more = len(rows) > query.limit
        return RowPage(rows=[row_out(row) for row in rows[: query.limit]], next_offset=offset + limit if more else None)

    async def change(
        self, actor: Actor, project_id: str, collection: str, row_id: str, data: object, scope: Scope = Scope.live
    ) -> RowOut:
        """The row with `data` as its whole data (a JSON object of at most 64 KB)."""
        row = await self._row(actor, project_id, collection, row_id, scope)
        changed = await self._store.set_data_row(row, checked_data(data))
        if changed is None:
            raise _gone(collection, row_id)
        await self._on_write()
        log.info("app %s (%s): row %s of %s changed by %s", project_id, scope, row_id, collection, actor.user_id)
        return row_out(changed)

    async def delete(self, actor: Actor, project_id: str, collection: str, row_id: str, scope: Scope = Scope.live) -> None:
        await self._store.remove_data_row(await self._row(actor, project_id, collection, row_id, scope))
        await self._on_write()
        log.info("app %s (%s): row %s of %s deleted by %s", project_id, scope, row_id, collection, actor.user_id)

    async def csv(self, actor: Actor, project_id: str, collection: str, scope: Scope = Scope.live) -> str:
        """Every row of the collection, newest first, as CSV (at most MAX_ROWS: all an app may hold)."""
        await self._access.require_owner_or_admin(actor, project_id)
        rows: list[RowOut] = []
        while len(rows) < MAX_ROWS:
            page = await self._store.data_rows(project_id, scope, collection, None, {}, len(rows), _CSV_PAGE)
            rows += [row_out(row) for row in page]
            if len(page) < _CSV_PAGE:
                break
        return to_csv([((row.id, row.owner or "", row.created_at, row.updated_at), row.data) for row in rows])

    async def _row(self, actor: Actor, project_id: str, collection: str, row_id: str, scope: Scope) -> AppDataRow:
        await self._access.require_owner_or_admin(actor, project_id)
        row = await self._store.data_row(project_id, scope, collection, row_id) if ROW_ID.match(row_id) else None
        if row is None:
            raise _gone(collection, row_id)
        return row


def _gone(collection: str, row_id: str) -> NotFound:
    return NotFound(f"There is no row '{row_id[:40]}' in '{collection[:63]}'; it may have been deleted meanwhile.")
