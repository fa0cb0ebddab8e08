"""Signing up, in and out over HTTP; the pages' forms post here (assets/forja_auth.js) and so can scripts.

A successful sign-in sets the session cookie (HttpOnly, SameSite=Lax, host-only, Secure on HTTPS)
and answers `{"next": path}`; a refused one answers the service's sentence with its status.
"""

from __future__ import annotations

import secrets

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, Field

from builder.api.bodies import CheckedRoute
from builder.api.identity import (
    CurrentActor,
    attempt_of,
    bearer_of,
    clear_session_cookie,
    device_token_of,
    local_next,
    session_token_of,
    set_device_cookie,
    set_session_cookie,
)
from builder.composition import get_services
from builder.errors import Forbidden
from builder.schemas import RequestBody
from builder.services.accounts import hash_token
from builder.settings import settings

router = APIRouter(route_class=CheckedRoute)


class SignInRequest(RequestBody):
    email: str = Field(max_length=254)
    password: str = Field(max_length=1024)
    next: str = Field(default="/", max_length=2000, description="Where the page goes once signed in (a path on this Forja).")


class SignUpRequest(RequestBody):
    email: str = Field(max_length=254)
    name: str = Field(max_length=200)
    password: str = Field(max_length=1024)
    invite: str = Field(default="", max_length=200, description="The token of an invitation link.")
    setup_code: str = Field(default="", max_length=100, description="For the first account: the code Forja printed at start.")
    next: str = Field(default="/", max_length=2000)


class ResetRequest(RequestBody):
    token: str = Field(max_length=200)
    password: str = Field(max_length=1024)


class PasswordChange(RequestBody):
    current: str = Field(max_length=1024)
    new: str = Field(max_length=1024)


class SignedIn(BaseModel):
    next: str = Field(description="Where to go now.")


class Me(BaseModel):
    id: str
    email: str
    name: str
    role: str
    accounts: bool = Field(description="False without accounts (FORJA_AUTH=none): everyone is the local user.")


class SignUpMode(BaseModel):
    mode: str = Field(description="setup (no account yet), open, invite or closed.")
    email: str = Field(default="", description="The address an invitation link is for, if it names one.")
    invite_works: bool | None = Field(default=None, description="With ?invite=: whether that link can still be used.")


async def _signed_in(request: Request, response: Response, token: str, target: str) -> SignedIn:
    """The session cookie set, and this browser remembered for the account (its device cookie: made the first time),
    so that others' failed sign-ins never slow it down."""
    set_session_cookie(response, token)
    device = device_token_of(request.headers.get("cookie", ""))
    if device is None:
        device = secrets.token_urlsafe(32)
        set_device_cookie(response, device)
    await (await get_services()).accounts.trust_browser(token, hash_token(device))
    return SignedIn(next=local_next(target))


@router.post("/api/auth/sign-in", tags=["accounts"])
async def sign_in(body: SignInRequest, request: Request, response: Response) -> SignedIn:
    """Sign in with email and password: sets the session cookie. 400 when they do not match, 429 after too many tries."""
    accounts = (await get_services()).accounts
    token = await accounts.sign_in(body.email, body.password, attempt_of(request), request.headers.get("user-agent", ""))
    return await _signed_in(request, response, token, body.next)


@router.post("/api/auth/sign-up", tags=["accounts"])
async def sign_up(body: SignUpRequest, request: Request, response: Response) -> SignedIn:
    """Make an account and sign in. The first account (the admin's) needs the setup code from Forja's log; later ones
    follow FORJA_SIGNUP (open, invite: with `invite`, or closed)."""
    accounts = (await get_services()).accounts
    token = await accounts.sign_up(
        body.email,
        body.name,
        body.password,
        attempt_of(request),
        request.headers.get("user-agent", ""),
        invite=body.invite,
        setup_code=body.setup_code,
    )
    return await _signed_in(request, response, token, body.next)


@router.get("/api/auth/sign-up", tags=["accounts"])
async def sign_up_mode(invite: str = "") -> SignUpMode:
    """What the sign-up page offers, and whom an invitation link is for."""
    accounts = (await get_services()).accounts
    mode = await accounts.signup_mode() if settings.auth_mode == "password" else "closed"
    if not invite:
        return SignUpMode(mode=mode)
    email = await accounts.link_email("invite", invite[:200])
    return SignUpMode(mode=mode, email=email or "", invite_works=email is not None)


@router.post("/api/auth/sign-out", tags=["accounts"])
async def sign_out(request: Request, response: Response) -> SignedIn:
    """End this browser's sign-in (its cookie, and the sign-in itself on the server)."""
    token = session_token_of(request.headers.get("cookie", ""))
    if token:
        await (await get_services()).accounts.sign_out(token)
    clear_session_cookie(response)
    return SignedIn(next="/login")


@router.post("/api/auth/reset", tags=["accounts"])
async def reset_password(body: ResetRequest, request: Request, response: Response) -> SignedIn:
    """Set a new password with an admin's reset link; every other sign-in of the account ends, this one begins. Never
    slowed down by failed sign-ins: the link itself is the secret."""
    token = await (await get_services()).accounts.reset_password(body.token, body.password, request.headers.get("user-agent", ""))
    return await _signed_in(request, response, token, "/")


@router.post("/api/auth/password", status_code=204, tags=["accounts"])
async def change_password(body: PasswordChange, request: Request, actor: CurrentActor) -> Response:
    """Change your password; your other sign-ins end, this one stays. Only from a signed-in browser: 403 with an API
    token (a leaked token must not lead to the password), 429 after too many wrong current passwords."""
    token = session_token_of(request.headers.get("cookie", ""))
    if bearer_of(request.headers.get("authorization", "")) or not token:
        raise Forbidden(
            "Changing the password needs a signed-in browser: an API token cannot do it. Sign in and use your Account page."
        )
    await (await get_services()).accounts.change_password(actor, body.current, body.new, token, attempt_of(request))
    return Response(status_code=204)


@router.get("/api/auth/me", tags=["accounts"])
async def me(actor: CurrentActor) -> Me:
    """Who the request's sign-in or API token is."""
    return Me(id=actor.user_id, email=actor.email, name=actor.name, role=actor.role.value, accounts=not actor.unrestricted)
