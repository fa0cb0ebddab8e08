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
from builder.errors import ForjaError


class ErrorResponse(JSONResponse):
    """JSON with non-ASCII characters escaped: an error may quote input holding a lone surrogate,
    which cannot be encoded as UTF-8 (Starlette's JSONResponse would fail on it with a 500)."""

    def render(self, content: object) -> bytes:
        return json.dumps(content, separators=(",", ":")).encode("ascii")


async def forja_error(_request: Request, exc: ForjaError) -> JSONResponse:
    return ErrorResponse(exc.body(), status_code=exc.status, headers=exc.headers() or None)


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
