"""JSON bodies checked at the door: the right content type (415), a structure Forja's requests can have (depth and
number of values), numbers a store can keep, and one parse.

Every API route is a CheckedRoute (each router is made with `route_class=CheckedRoute`). Its size was checked before
(guards.limited_bodies: FORJA_MAX_JSON_BYTES). Before parsing, the body's structure is measured on its bytes, strings
left out, so that a body nested 100,000 deep or holding a million tiny values is refused in words before Python builds
anything from it (a generic parse of `[{},{},...]` costs 20 times its size); then it is parsed once, strictly (no NaN or
Infinity, no number of more than 100 digits), and FastAPI and the routes read that parse.
"""

from __future__ import annotations

import asyncio
import json
import math
import re
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response, params
from fastapi.routing import APIRoute
from starlette.requests import ClientDisconnect

from builder.errors import InvalidInput, UnsupportedMediaType

# Forja's requests nest a few levels (a tree of files is 3); 32 leaves room and keeps every parser's stack shallow.
MAX_DEPTH = 32
# Most values (numbers, strings, objects, lists...) one body may hold: a project of FORJA_MAX_FILES (2,000) files
# takes about 4,000; a larger project comes as a zip.
MAX_VALUES = 20_000
# Python reads a number of n digits in time growing with n squared: a longer one is refused before it is read. Fields
# bound every number to what the store holds; ids past it name no row (a 404).
MAX_DIGITS = 100
BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})

# A whole string (its escapes too), or one structural character.
_TOKEN = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{},:]', re.DOTALL)
_QUOTE, _OPENING, _CLOSING = ord('"'), b"[{", b"]}"


class _Refused(ValueError):
    """A value the parser met that Forja does not take; its message is the person's."""


def _no_constant(name: str) -> Any:
    raise _Refused(f"The JSON body holds {name}, which is not a number JSON has; send a number.")


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise _Refused(f"The JSON body holds the number {text[:40]}, too large for any field; send a smaller one.")
    return value


def _bounded(text: str) -> int:
    if len(text.lstrip("-")) > MAX_DIGITS:
        raise _Refused(f"The JSON body holds a number of {len(text):,} digits ({text[:20]}...); no field takes one so large.")
    return int(text)


def is_json(content_type: bytes | str | None) -> bool:
    """Whether a Content-Type names JSON (application/json, or any application/...+json)."""
    if content_type is None:
        return False
    text = content_type.decode("latin-1") if isinstance(content_type, bytes) else content_type
    kind = text.split(";", 1)[0].strip().lower()
    return kind == "application/json" or (kind.startswith("application/") and kind.endswith("+json"))


def check_structure(body: bytes) -> None:
    """InvalidInput when `body` (JSON) is nested deeper than MAX_DEPTH or holds more than MAX_VALUES values; read from
    its bytes token by token (strings skipped whole), before any parse and without copying it: the walk stops at the
    first limit passed, so it costs at most a few tens of thousands of steps whatever the body."""
    too_many = f"The JSON body holds more than {MAX_VALUES:,} values; send a larger project as a zip upload."
    depth = opened = separators = 0
    for token in _TOKEN.finditer(body):
        kind = body[token.start()]
        if kind == _QUOTE:
            continue
        if kind in _OPENING:
            depth, opened = depth + 1, opened + 1
            if depth > MAX_DEPTH:
                raise InvalidInput(
                    f"The JSON body is nested more than {MAX_DEPTH} levels deep; no request of Forja's needs that."
                )
            if opened > MAX_VALUES:
                raise InvalidInput(too_many)
        elif kind in _CLOSING:
            depth -= 1
        else:
            separators += 1
            if separators > 2 * MAX_VALUES:
                raise InvalidInput(too_many)


def parse_json(body: bytes) -> Any:
    """The value of a JSON body, or InvalidInput saying what is wrong with it."""
    check_structure(body)
    try:
        return json.loads(body, parse_constant=_no_constant, parse_float=_finite, parse_int=_bounded)
    except _Refused as exc:
        raise InvalidInput(str(exc)) from None
    except json.JSONDecodeError as exc:
        raise InvalidInput(f"The body is not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno}).") from None
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise InvalidInput("The body is not valid JSON: send UTF-8 text.") from None


class JsonRequest(Request):
    """A request whose JSON is parsed by parse_json, once."""

    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            # In a thread: a 2 MB body takes tens of milliseconds to measure and parse, and the worker's other
            # requests (its /health too) must not wait for ten of them at once.
            self._json = await asyncio.to_thread(parse_json, await self.body())
        return self._json


def check_json_type(request: Request) -> None:
    """UnsupportedMediaType (415) when a body comes without a JSON content type where JSON is expected."""
    kind = request.headers.get("content-type")
    if not is_json(kind):
        raise UnsupportedMediaType(
            f"This address takes a JSON body, sent with 'Content-Type: application/json', not {kind or 'no content type'}."
        )


class CheckedRoute(APIRoute):
    """An API route whose JSON body (if it takes one) passes parse_json before FastAPI reads it."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        takes_json = self.body_field is not None and not isinstance(self.body_field.field_info, params.Form)

        async def checked(request: Request) -> Response:
            request = JsonRequest(request.scope, request.receive)
            if takes_json and request.method in BODY_METHODS:
                try:
                    body = await request.body()
                except ClientDisconnect:
                    # Gone, or cut off by the size guard, which answered already: nobody reads this.
                    return Response(status_code=400)
                if body:
                    check_json_type(request)
                    # Parsed here, outside FastAPI's own reading, so a refusal keeps its words; FastAPI reads this parse.
                    await request.json()
            return await handler(request)

        return checked
