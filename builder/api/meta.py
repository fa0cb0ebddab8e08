"""The API about Forja itself: the health check orchestrators call, the machine report (doctor) and the API's docs."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Literal

import swagger_ui
from fastapi import APIRouter
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, Field
from redis.exceptions import RedisError
from sqlalchemy.exc import SQLAlchemyError

from builder.api.bodies import CheckedRoute
from builder.api.identity import CurrentActor
from builder.composition import get_services
from builder.draining import draining
from builder.errors import ForjaError
from builder.services.doctor import DoctorReport, MachineVerdict

log = logging.getLogger(__name__)

OPENAPI_URL = "/api/openapi.json"
DOCS_ASSETS_URL = "/api/docs-assets"

router = APIRouter(route_class=CheckedRoute)


def docs_assets() -> StaticFiles:
    """Swagger UI 5 (it reads OpenAPI 3.1) as shipped in the swagger-ui-py package, for the app to mount at
    DOCS_ASSETS_URL (a router cannot carry a mount)."""
    return StaticFiles(directory=Path(swagger_ui.__file__).parent / "static")


@router.get("/api/docs", include_in_schema=False)
async def docs() -> HTMLResponse:
    """Swagger UI served by Forja: FastAPI's default page loads it from a CDN."""
    return get_swagger_ui_html(
        openapi_url=OPENAPI_URL,
        title="Forja API",
        swagger_js_url=f"{DOCS_ASSETS_URL}/swagger-ui-bundle.js",
        swagger_css_url=f"{DOCS_ASSETS_URL}/swagger-ui.css",
        swagger_favicon_url="/favicon.ico",
    )


class Health(BaseModel):
    status: Literal["ok"]
    projects: int


class Unhealthy(BaseModel):
    status: Literal["down"]
    problems: list[str] = Field(description="What does not answer, in words (never an address or a password).")


@router.get("/health", tags=["meta"], response_model=Health, responses={503: {"model": Unhealthy}})
async def health() -> Health | JSONResponse:
    """Whether this worker can serve: its database answers a SELECT 1 and, with REDIS_URL, Redis a PING (503 if not).

    No sign-in: load balancers and orchestrators call it to decide whether to send traffic here or restart it. A worker
    that was asked to stop says so here while it drains (FORJA_DRAIN_SECONDS), with a 503.
    """
    if draining():
        problems = ["This worker is stopping: it finishes what it was asked and takes nothing new."]
        return JSONResponse(Unhealthy(status="down", problems=problems).model_dump(), status_code=503)
    try:
        services = await get_services()
    except (SQLAlchemyError, RedisError, OSError, ForjaError) as exc:
        # Forja could not start its services (the database or Redis was down when it tried): it tries again next call.
        log.warning("health: the services could not start: %s", exc)
        problems = [f"Forja could not start: its database or Redis does not answer ({type(exc).__name__})."]
        return JSONResponse(Unhealthy(status="down", problems=problems).model_dump(), status_code=503)
    if problems := await services.unanswered():
        return JSONResponse(Unhealthy(status="down", problems=problems).model_dump(), status_code=503)
    return Health(status="ok", projects=await services.projects.count())


@router.get("/api/doctor", tags=["meta"])
async def doctor(actor: CurrentActor) -> DoctorReport | MachineVerdict:
    """What this machine can run: each preview runner's readiness, which one `auto` picks and why, and Forja's dependencies.

    With accounts, only an admin gets this report; anyone else signed in gets `{usable, verdict}`, whether previews can
    run here in a sentence. It never holds an address or a key's value.
    """
    return await (await get_services()).doctor.report_for(actor)
