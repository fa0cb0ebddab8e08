"""The models an admin connects (builder/services/model_connections.py): list, add, make the default, remove, test.

Every route needs an admin (401 without a sign-in or token, 403 for anyone else). A key goes in once and never comes
back out: the answers say only whether one is set.
"""

from __future__ import annotations

from fastapi import APIRouter, Response

from builder.api.bodies import CheckedRoute
from builder.api.identity import Admin
from builder.api.params import RowId
from builder.composition import get_services
from builder.services.model_connections import ModelConnectionInfo, NewModelConnection, TestResult

router = APIRouter(prefix="/api/admin/models", tags=["admin"], route_class=CheckedRoute)


@router.get("")
async def list_models(admin: Admin) -> list[ModelConnectionInfo]:
    """The connected models, the default one marked; a key only as `key_set`."""
    return await (await get_services()).models.list(admin)


@router.post("", status_code=201)
async def add_model(body: NewModelConnection, admin: Admin) -> ModelConnectionInfo:
    """Connect a model: used at once, by every worker, unless the environment's settings set that provider."""
    return await (await get_services()).models.add(admin, body)


@router.post("/{connection_id}/default")
async def make_default(connection_id: RowId, admin: Admin) -> list[ModelConnectionInfo]:
    """Make this the model of projects that have not picked one."""
    return await (await get_services()).models.make_default(admin, connection_id)


@router.post("/{connection_id}/test")
async def test_model(connection_id: RowId, admin: Admin) -> TestResult:
    """One request for one token: how long the answer took, or what went wrong, in words (never the key)."""
    return await (await get_services()).models.test(admin, connection_id)


@router.delete("/{connection_id}", status_code=204)
async def remove_model(connection_id: RowId, admin: Admin) -> Response:
    """Remove a connected model and its key; the newest one left becomes the default if this one was."""
    await (await get_services()).models.remove(admin, connection_id)
    return Response(status_code=204)
