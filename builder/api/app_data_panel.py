"""HTTP routes for a project's app data as its owner sees it (the workspace's Data panel): collections, rows page by
page, a row changed or deleted, a collection as CSV. `scope` is `live` (the published app, the default) or `preview`.

Only the project's owner and the admins of this Forja may; the service checks (builder/services/app_data_panel.py),
so a person with no role in the project gets the same 404 as for a made-up id, its editors and viewers a 403.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Response
from pydantic import Field

from builder.api.bodies import CheckedRoute
from builder.api.identity import CurrentActor
from builder.composition import get_services
from builder.schemas import RequestBody
from builder.services.app_data import Scope
from builder.services.app_data_panel import CollectionInfo
from builder.services.app_rows import DEFAULT_PAGE, RowOut, RowPage

router = APIRouter(route_class=CheckedRoute, tags=["app data"])
BASE = "/api/projects/{project_id}/app-data"
ScopeQuery = Query(Scope.live, description="live (the published app's data) or preview (its preview's).")


class RowData(RequestBody):
    # Any JSON here: the service says in words what a row may be (builder/services/app_rows.py `checked_data`).
    data: Any = Field(description="The row's whole data: a JSON object of at most 64 KB.")


@router.get(BASE)
async def list_app_collections(project_id: str, actor: CurrentActor, scope: Scope = ScopeQuery) -> list[CollectionInfo]:
    """Each collection of the app's data that holds rows, by name, with how many."""
    return await (await get_services()).app_data_panel.collections(actor, project_id, scope)


@router.get(BASE + "/{collection}")
async def list_app_rows(
    project_id: str, collection: str, actor: CurrentActor, offset: int = 0, limit: int = DEFAULT_PAGE, scope: Scope = ScopeQuery
) -> RowPage:
    """A page of the collection's rows (at most 100), newest first, whoever made them."""
    return await (await get_services()).app_data_panel.rows(actor, project_id, collection, offset, limit, scope)


@router.get(BASE + "/{collection}/csv")
async def export_app_rows(project_id: str, collection: str, actor: CurrentActor, scope: Scope = ScopeQuery) -> Response:
    """Every row of the collection as CSV: id, owner, created_at, updated_at, then a column for each field."""
    text = await (await get_services()).app_data_panel.csv(actor, project_id, collection, scope)
    headers = {"content-disposition": f'attachment; filename="{collection[:63]}.csv"', "cache-control": "no-store"}
    return Response(text.encode(), media_type="text/csv; charset=utf-8", headers=headers)


@router.put(BASE + "/{collection}/{row_id}")
async def change_app_row(
    project_id: str, collection: str, row_id: str, body: RowData, actor: CurrentActor, scope: Scope = ScopeQuery
) -> RowOut:
    """Replace the row's data with the object sent."""
    return await (await get_services()).app_data_panel.change(actor, project_id, collection, row_id, body.data, scope)


@router.delete(BASE + "/{collection}/{row_id}", status_code=204)
async def delete_app_row(
    project_id: str, collection: str, row_id: str, actor: CurrentActor, scope: Scope = ScopeQuery
) -> Response:
    """Delete the row for good."""
    await (await get_services()).app_data_panel.delete(actor, project_id, collection, row_id, scope)
    return Response(status_code=204)
