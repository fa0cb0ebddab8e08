"""Forja's HTTP API, mounted in front of the Reflex app (the same origin and port).

One module per resource, each an APIRouter; routes are thin: each parses its input and calls the service layer, and
one handler answers every ForjaError with its status and its sentence (errors.py). The ASGI guards every request
passes before the API or the page are in guards.py: API_GUARDS, and `guarded(app)` to wrap an app in them.
"""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from redis.exceptions import RedisError
from sqlalchemy.exc import SQLAlchemyError
from starlette.routing import Route

from builder.api import (
    account,
    admin,
    admin_mcp,
    admin_models,
    agent,
    app_data,
    app_data_panel,
    app_env,
    app_people,
    asking,
    attachments,
    auth,
    collab,
    files,
    generations,
    git,
    git_remote,
    git_tokens,
    history,
    logs,
    mcp,
    members,
    meta,
    metrics,
    plans,
    presence,
    preview_access,
    previews,
    projects,
    publish,
    reviews,
    shares,
    terminal,
    text_edits,
    verifications,
)
from builder.api.errors import forja_error, invalid_request, unavailable
from builder.api.guards import API_GUARDS, guarded
from builder.errors import ForjaError

__all__ = ["API_GUARDS", "api", "guarded"]

api = FastAPI(
    title="Forja",
    summary="Prompt-to-app builder: projects, versions and files.",
    version="0.1.0",
    docs_url=None,
    redoc_url=None,
    openapi_url=meta.OPENAPI_URL,
)
api.exception_handler(ForjaError)(forja_error)
api.exception_handler(RequestValidationError)(invalid_request)
for kind in (SQLAlchemyError, RedisError, OSError):
    api.exception_handler(kind)(unavailable)
for module in (
    account,
    admin,
    admin_mcp,
    admin_models,
    agent,
    app_data,
    app_data_panel,
    app_env,
    app_people,
    asking,
    attachments,
    auth,
    collab,
    generations,
    git,
    git_remote,
    git_tokens,
    history,
    members,
    metrics,
    plans,
    presence,
    publish,
    reviews,
    shares,
    terminal,
    text_edits,
    verifications,
):
    api.include_router(module.router)
api.mount(meta.DOCS_ASSETS_URL, meta.docs_assets(), name="docs-assets")
for module in (meta, projects, files, previews, preview_access, logs):
    api.include_router(module.router)
# Forja's tools for other agents (MCP over streamable HTTP); its transport runs with Forja (builder/builder.py). POST
# only: stateless, it has no session to stream to (GET) or end (DELETE), and a GET stream would only hold a worker.
api.router.routes.append(Route(mcp.PATH, endpoint=mcp.endpoint, methods=["POST"]))
