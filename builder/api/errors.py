"""How the API answers a refusal: every ForjaError with its status and its sentence, FastAPI's own 422 so that it
survives any input it quotes, and what Forja needs and cannot have now (the database or Redis away, a full disk) as a
503 or a 507 in words (builder/outages.py). The app registers them (builder.api); tests that serve one router register
forja_error."""

from __future__ import annotations

import json

from fastapi import Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from builder import outages
from builder.api.identity import ACTOR_KEY
from builder.errors import ForjaError
from builder.generation.who_connects import for_reader
from builder.services.access import Actor


class ErrorResponse(JSONResponse):
    """JSON with non-ASCII characters escaped: an error may quote input holding a lone surrogate,
    which cannot be encoded as UTF-8 (Starlette's JSONResponse would fail on it with a 500)."""

    def render(self, content: object) -> bytes:
        return json.dumps(content, separators=(",", ":")).encode("ascii")


async def forja_error(request: Request, exc: ForjaError) -> JSONResponse:
    body = exc.body()
    actor = request.scope.get(ACTOR_KEY)
    # "The person who runs this Forja can connect one": an admin is that person, told to do it themselves.
    if isinstance(actor, Actor) and actor.is_admin and isinstance(detail := body.get("detail"), str):
        body["detail"] = for_reader(detail, admin=True)
    return ErrorResponse(body, status_code=exc.status, headers=exc.headers() or None)


async def invalid_request(_request: Request, exc: RequestValidationError) -> JSONResponse:
    """FastAPI's own 422 answer, rendered so that it survives any input it quotes."""
    return ErrorResponse({"detail": jsonable_encoder(exc.errors())}, status_code=422)


async def unavailable(request: Request, exc: Exception) -> JSONResponse:
    """The database or Redis away, or the disk full: a 503 or 507 in words, one line in the log per outage. Any other
    error of these kinds is a bug: raised again, a 500 with its traceback in the log."""
    refusal = outages.refusal(exc)
    if refusal is None:
        raise exc
    return await forja_error(request, refusal)
