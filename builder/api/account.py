"""HTTP routes of a person's own account: their API tokens and what they used of their quotas.

Tokens are made only from a sign-in (a browser, or a script that signed in with the password): a
token that could make more tokens would outlive its own revocation through them.
"""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from pydantic import Field

from builder.api.bodies import CheckedRoute
from builder.api.identity import CurrentActor, bearer_of
from builder.api.params import RowId
from builder.composition import get_services
from builder.errors import Forbidden
from builder.schemas import ApiTokenInfo, FailedSignIns, NewApiToken, QuotaUse, RequestBody

router = APIRouter(route_class=CheckedRoute)


class TokenRequest(RequestBody):
    name: str = Field(default="", max_length=100, description="What the token is for, e.g. 'laptop CLI'.")


@router.get("/api/account/tokens", tags=["account"])
async def list_tokens(actor: CurrentActor) -> list[ApiTokenInfo]:
    """Your API tokens that still work, newest first (their first characters only)."""
    return await (await get_services()).accounts.tokens(actor)


@router.post("/api/account/tokens", status_code=201, tags=["account"])
async def create_token(body: TokenRequest, request: Request, actor: CurrentActor) -> NewApiToken:
    """A new API token: `token` is in this answer only, never again. 403 when the request itself came with a token."""
    if bearer_of(request.headers.get("authorization", "")):
        raise Forbidden("An API token cannot make more tokens; make one on your Account page, signed in.")
    return await (await get_services()).accounts.create_token(actor, body.name)


@router.delete("/api/account/tokens/{token_id}", status_code=204, tags=["account"])
async def revoke_token(token_id: RowId, actor: CurrentActor) -> Response:
    """Revoke one of your tokens: requests with it get a 401 from now on."""
    await (await get_services()).accounts.revoke_token(actor, token_id)
    return Response(status_code=204)


@router.get("/api/account/failed-sign-ins", tags=["account"])
async def failed_sign_ins(actor: CurrentActor) -> FailedSignIns:
    """Failed sign-ins to your account since your previous sign-in: how many, from how many addresses, the last one's
    moment (your Account page says so too)."""
    return await (await get_services()).accounts.failed_sign_ins(actor)


@router.get("/api/account/usage", tags=["account"])
async def usage(actor: CurrentActor) -> list[QuotaUse]:
    """Each of your quotas and what you used of it (`limit` 0: no limit); empty without accounts."""
    return await (await get_services()).quotas.usage(actor)
