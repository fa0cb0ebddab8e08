"""HTTP routes for a project's own variables (its Environment): names for anyone on the project, set and unset for
its editors. No route ever answers a value, or any part of one."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path
from pydantic import Field

from builder.api.bodies import CheckedRoute
from builder.api.identity import Editor, Viewer
from builder.app_secrets import MAX_NAME, MAX_VALUE_BYTES
from builder.composition import get_services
from builder.schemas import RequestBody
from builder.services.app_env import EnvVarInfo

router = APIRouter(route_class=CheckedRoute, tags=["environment"])

VarName = Annotated[str, Path(max_length=MAX_NAME, description="The variable's name, like STRIPE_KEY.")]


class EnvValue(RequestBody):
    value: str = Field(
        max_length=MAX_VALUE_BYTES,
        description="The value (at most 8 KB), encrypted at rest and given only to the app's own processes.",
        examples=["sk_test_4eC39HqLyjWDarjtT1zdp7dc"],
    )


@router.get("/api/projects/{project_id}/env")
async def list_env(project_id: str, _: Viewer) -> list[EnvVarInfo]:
    """The app's variables by name, with whether each is public (built into the page); never their values."""
    return await (await get_services()).app_env.names(project_id)


@router.put("/api/projects/{project_id}/env/{name}")
async def set_env(project_id: str, name: VarName, actor: Editor, body: EnvValue) -> list[EnvVarInfo]:
    """Add or replace a variable; a running preview restarts with it. Answers the names, never a value.

    A name Forja sets itself, or one that changes how programs load code (LD_PRELOAD, NODE_OPTIONS, PYTHONPATH...), is
    refused with a 422 saying why.
    """
    return await (await get_services()).app_env.set(project_id, name, body.value, actor.user_id)


@router.delete("/api/projects/{project_id}/env/{name}")
async def unset_env(project_id: str, name: VarName, actor: Editor) -> list[EnvVarInfo]:
    """Remove a variable; a running preview restarts without it."""
    return await (await get_services()).app_env.unset(project_id, name, actor.user_id)
