"""Who is asking, over HTTP: the session cookie of a signed-in browser or a personal API token.

With accounts on (FORJA_AUTH=password), `signed_in_api` (builder.api.guards) refuses every /api/ request that carries
neither, except the few that signing in itself needs; routes then name the permission they need
(Viewer, Editor, Owner, Admin) on the project in their path. Without accounts every request is
the local user's, as before accounts existed.
"""

from __future__ import annotations

from http.cookies import CookieError, SimpleCookie
from typing import Annotated
from urllib.parse import urlsplit

from fastapi import Depends, Request, Response
from starlette.types import Scope

from builder.composition import get_services
from builder.services.access import Actor, Permission, require_admin
from builder.services.accounts import hash_token
from builder.services.throttle import Attempt
from builder.settings import settings

# Paths under /api/ anyone may call: signing up, in and out, and the API's own description.
PUBLIC_API = ("/api/auth/", "/api/docs", "/api/docs-assets/", "/api/openapi.json")
ACTOR_KEY = "forja.actor"
DEVICE_COOKIE_DAYS = 365


def secure_cookies() -> bool:
    return settings.public_url.startswith("https://")


def session_cookie_name() -> str:
    """The session cookie's name; on HTTPS with the __Host- prefix, which browsers keep to this exact host."""
    return "__Host-forja_session" if secure_cookies() else "forja_session"


def session_token_of(cookie_header: str) -> str | None:
    """The session token in a Cookie header (the socket's too: the page's state events read it there)."""
    if not cookie_header:
        return None
    try:
        jar = SimpleCookie(cookie_header)
    except CookieError:
        return None
    morsel = jar.get(session_cookie_name())
    return morsel.value if morsel is not None and morsel.value else None


def bearer_of(authorization: str) -> str | None:
    scheme, _, token = authorization.partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None


def set_session_cookie(response: Response, token: str) -> None:
    # HttpOnly: no script reads it; host-only (no Domain): previews on <id>.<domain> never receive it.
    response.set_cookie(
        session_cookie_name(),
        token,
        max_age=settings.session_days * 86400,
        path="/",
        httponly=True,
        samesite="lax",
        secure=secure_cookies(),
    )


def clear_session_cookie(response: Response) -> None:
    response.delete_cookie(session_cookie_name(), path="/", httponly=True, samesite="lax", secure=secure_cookies())


def client_address(scope: Scope) -> str:
    """The address a request came from (behind a trusted proxy, the client it names: builder.api.proxies)."""
    client = scope.get("client")
    return client[0] if client else ""


def device_cookie_name() -> str:
    return "__Host-forja_device" if secure_cookies() else "forja_device"


def device_token_of(cookie_header: str) -> str | None:
    """The browser's device cookie: a random token it got when it first signed in (builder.services.throttle)."""
    if not cookie_header:
        return None
    try:
        jar = SimpleCookie(cookie_header)
    except CookieError:
        return None
    morsel = jar.get(device_cookie_name())
    return morsel.value if morsel is not None and morsel.value else None


def set_device_cookie(response: Response, token: str) -> None:
    # Like the session's: HttpOnly and host-only; it outlives sign-outs, since it only says "this browser signed in
    # to that account before" (and the server keeps only its hash).
    response.set_cookie(
        device_cookie_name(),
        token,
        max_age=DEVICE_COOKIE_DAYS * 86400,
        path="/",
        httponly=True,
        samesite="lax",
        secure=secure_cookies(),
    )


def attempt_of(request: Request) -> Attempt:
    """Who is trying a secret: the client's address and the hash of its device cookie, for the sign-in throttle."""
    device = device_token_of(request.headers.get("cookie", ""))
    return Attempt(client_address(request.scope), hash_token(device) if device else "")


def local_next(target: str) -> str:
    """Where to go after signing in: a path on this Forja only (never another site), else home."""
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


async def actor_of_headers(cookie: str, authorization: str) -> Actor:
    return await (await get_services()).accounts.actor(session_token_of(cookie), bearer_of(authorization))


async def current_actor(request: Request) -> Actor:
    """The person behind the request (NotSignedIn: 401)."""
    actor = request.scope.get(ACTOR_KEY)
    if isinstance(actor, Actor):
        return actor
    return await actor_of_headers(request.headers.get("cookie", ""), request.headers.get("authorization", ""))


CurrentActor = Annotated[Actor, Depends(current_actor)]


def _needs(need: Permission):
    async def permitted(project_id: str, actor: CurrentActor) -> Actor:
        await (await get_services()).access.require(actor, project_id, need)
        return actor

    return permitted


async def _admin(actor: CurrentActor) -> Actor:
    require_admin(actor)
    return actor


Viewer = Annotated[Actor, Depends(_needs(Permission.view))]
"""A person who may see the project in the path (any role in it)."""
Editor = Annotated[Actor, Depends(_needs(Permission.edit))]
"""A person who may change the project in the path (editor or owner)."""
Owner = Annotated[Actor, Depends(_needs(Permission.own))]
"""The project's owner."""
Admin = Annotated[Actor, Depends(_admin)]
"""An admin of this Forja."""
