"""The data of an app, published or in preview, on the app's own origin: `/_forja/data/<collection>[/<id>]`, and the browser library
that wraps it and the app's sign-in, `/_forja/client.js` (builder/app_backend/client.js).

builder/api/apps.py hands these paths of a published app's host here, as it hands /_forja/auth/ to app_auth.py, and
builder/api/preview_backend.py those of a preview's host. Who asks is the app's session cookie (app_auth.py's); what
they may do is the rules of the release the host serves, or of the version a preview runs
(builder/services/app_rows.py). Answers are JSON; a refusal is `{"detail": sentence}` with its status. A request that
writes (POST, PUT, PATCH, DELETE) must come from the app's own pages: its Origin is the app's, or it is refused (403)
before anything is read, so another site, another app included, cannot write with a visitor's session.
"""

from __future__ import annotations

import json
from importlib import resources

from pydantic import BaseModel
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from builder.api.app_auth import AppRequest, AppSite
from builder.api.app_changes import CHANGES, change_stream, site_rules
from builder.api.bodies import parse_json
from builder.app_backend.identity import AppViewer
from builder.app_backend.rules import DataRules
from builder.composition import Services, get_services
from builder.errors import Forbidden, ForjaError, InvalidInput, NotFound, TooLarge, UnsupportedMediaType
from builder.services.app_rows import MAX_ROW_BYTES, ListQuery

PREFIX = "/_forja/data/"
CLIENT = "/_forja/client.js"
_CLIENT_JS = (resources.files("builder.app_backend") / "client.js").read_bytes()
_CLIENT_HEADERS = {
    "content-type": "text/javascript; charset=utf-8",
    # Short: a new Forja's library reaches the apps' visitors within minutes.
    "cache-control": "public, max-age=300",
    "x-content-type-options": "nosniff",
}
_JSON_HEADERS = {"cache-control": "no-store", "x-content-type-options": "nosniff"}
# A row's data is measured as compact JSON; the body may be spaced out, so it may be a little larger.
MAX_BODY = 2 * MAX_ROW_BYTES
_RESERVED = {"limit", "offset", "mine", "owner"}
_WRITES = {"POST", "PUT", "PATCH", "DELETE"}


def client_js(method: str) -> Response:
    if method not in ("GET", "HEAD"):
        return _json(405, {"detail": "This address only answers GET."})
    return Response(_CLIENT_JS, headers=_CLIENT_HEADERS)  # the server sends no body to a HEAD, but its length


def _json(status: int, body: object, headers: dict[str, str] | None = None) -> Response:
    return Response(
        json.dumps(body), status_code=status, media_type="application/json", headers={**_JSON_HEADERS, **(headers or {})}
    )


def _model(status: int, model: BaseModel) -> Response:
    # pydantic's own JSON (compact, UTF-8): a page of rows is not walked twice, to a dict and then to text.
    return Response(model.model_dump_json(), status_code=status, media_type="application/json", headers=_JSON_HEADERS)


def _number(request: AppRequest, name: str, default: int) -> int:
    text = request.http.query_params.get(name)
    if text is None:
        return default
    try:
        return int(text)
    except ValueError:
        raise InvalidInput(f"`{name}` is a whole number, not {text[:20]!r}.") from None


def list_query(request: AppRequest) -> ListQuery:
    """The list's query string as asked: `limit`, `offset`, `mine=1`, `owner=<id>`, and fields to equal."""
    params = request.http.query_params
    fields = {key: value for key, value in params.items() if key not in _RESERVED}
    mine = params.get("mine", "")
    if mine not in ("", "0", "1", "true", "false"):
        raise InvalidInput("`mine` is 1 (only your own rows) or 0.")
    return ListQuery(
        fields=fields,
        owner=params.get("owner") or None,
        mine=mine in ("1", "true"),
        offset=_number(request, "offset", 0),
        limit=_number(request, "limit", ListQuery().limit),
    )


async def body(request: AppRequest) -> object:
    """The request's JSON; UnsupportedMediaType, TooLarge or InvalidInput in words for anything else."""
    if request.http.headers.get("content-type", "").split(";")[0].strip().lower() != "application/json":
        raise UnsupportedMediaType('Send the row as JSON, with the header "Content-Type: application/json".')
    raw = b""
    async for chunk in request.http.stream():
        raw += chunk
        if len(raw) > MAX_BODY:
            raise TooLarge(f"A row holds at most {MAX_ROW_BYTES // 1024} KB of data; this body is larger.")
    return parse_json(raw)


async def answer(request: AppRequest, services: Services, rules: DataRules, path: str) -> Response:
    collection, _, row_id = path.partition("/")
    method = request.http.method
    if not collection or "/" in row_id:
        raise NotFound("There is nothing at this address: ask /_forja/data/<collection> or /_forja/data/<collection>/<id>.")
    if method in _WRITES and not request.same_origin():
        raise Forbidden("This app takes changes to its data only from its own pages, so nothing was done.")
    viewer: AppViewer = await services.app_users.viewer_of(request.project_id, request.scope, request.token)
    rows, where = services.app_rows, (request.project_id, request.scope, rules, collection, viewer)
    if not row_id:
        if method in ("GET", "HEAD"):
            return _model(200, await rows.list(*where, list_query(request)))
        if method == "POST":
            return _model(201, await rows.create(*where, await body(request)))
        return _json(405, {"detail": "A collection's address answers GET (its rows) and POST (a new row)."})
    if row_id == CHANGES:
        if method != "GET":
            return _json(405, {"detail": "A collection's changes answer GET (a stream of server-sent events)."})
        return await change_stream(request, services, rules, collection, viewer)
    if method in ("GET", "HEAD"):
        return _model(200, await rows.get(*where, row_id))
    if method in ("PATCH", "PUT"):
        return _model(200, await rows.update(*where, row_id, await body(request), merge=method == "PATCH"))
    if method == "DELETE":
        await rows.delete(*where, row_id)
        return Response(status_code=204, headers=_JSON_HEADERS)
    return _json(405, {"detail": "A row's address answers GET, PATCH, PUT and DELETE."})


async def app_rows(scope: Scope, receive: Receive, send: Send, site: AppSite) -> None:
    """Answer a request for /_forja/client.js or under /_forja/data/ of an app's host (`site`: whose backend it reaches)."""
    request = AppRequest(scope, receive, site)
    if scope["path"] == CLIENT:
        response = client_js(request.http.method)
    else:
        services = await get_services()
        try:
            rules = await site_rules(services, site)
            response = await answer(request, services, rules, scope["path"][len(PREFIX) :])
        except ForjaError as exc:
            response = _json(exc.status, exc.body(), exc.headers())
    await response(scope, receive, send)
