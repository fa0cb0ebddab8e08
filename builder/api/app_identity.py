"""Who is asking a published server app, for the edge: Traefik's ForwardAuth asks `IDENTITY_PATH<the app's host>`
before each request reaches the app's sandbox (preview_runtime/apps_edge.py), and copies the answer's X-Forja-User and
X-Forja-User-Token onto the request; it removes the visitor's own headers of those names whether or not the answer
has them. So an app gets them only from here: for a signed-in user of this very app, nothing otherwise.

The app is the one whose host the path names (each host's middleware has its own address), and the user the one the
app's session cookie names (the only header of the request Traefik sends here). Anyone who reaches Forja's port can
ask too, but learns no more than the cookie they hold already tells: who they are on that app, as /_forja/auth/me
says; a cookie of one app names nobody on another.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from builder.api.app_auth import COOKIE, SECURE_COOKIE
from builder.app_backend import user_token
from builder.composition import get_services
from builder.services.app_data import Scope as AppScope
from builder.services.app_users import user_key
from builder.settings import settings
from preview_runtime.apps_edge import IDENTITY_PATH, TOKEN_HEADER, USER_HEADER


async def app_identity(scope: Scope, receive: Receive, send: Send) -> None:
    """200 always (the visitor goes on to the app either way), with the two headers for a signed-in user."""
    request = Request(scope, receive)
    headers = {"cache-control": "no-store"}
    services = await get_services()
    target = await services.publishing.target(scope["path"].removeprefix(IDENTITY_PATH))
    if target is not None and target.state == "server" and target.project_id:
        # The cookie app_auth.py sets: the __Host- one on HTTPS (told by Traefik when Forja trusts it as a proxy).
        https = request.url.scheme == "https" or bool(settings.apps_domain)
        token = request.cookies.get(SECURE_COOKIE if https else COOKIE)
        account = await services.app_users.account_of(target.project_id, AppScope.live, token)
        if account is not None:
            app = user_token.app_of(target.project_id, AppScope.live)
            signed = user_token.make(user_key(target.project_id, AppScope.live), app, account.id, account.email, account.role)
            headers[USER_HEADER] = user_token.user_header(account.id, account.email, account.role)
            headers[TOKEN_HEADER] = signed
    await Response(status_code=200, headers=headers)(scope, receive, send)
