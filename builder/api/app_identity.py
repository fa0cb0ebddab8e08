"""Who is asking a server app, for the edge: Traefik's ForwardAuth asks `IDENTITY_PATH<the app's host>` before each
request reaches a published app's sandbox or a preview (preview_runtime/apps_edge.py identity_routers), and copies the
answer's X-Forja-User and X-Forja-User-Token onto the request; it removes the visitor's own headers of those names
whether or not the answer has them. So an app gets them only from here: for a signed-in user of this very app, in this
very scope (a published app's people, or its preview's), nothing otherwise.

The app is the one whose host the path names (each host's middleware has its own address), and the user the one the
app's session cookie names (the only header of the request Traefik sends here). Anyone who reaches Forja's port can
ask too, but learns no more than the cookie they hold already tells: who they are on that app, as /_forja/auth/me
says; a cookie of one app names nobody on another. A private preview's host is answered only with its gate's cookie
beside the session's, as its backend is (preview_backend.py site_of): the gate has decided before Traefik asks here.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.types import Receive, Scope, Send

from builder.api.app_auth import COOKIE, SECURE_COOKIE
from builder.api.preview_backend import preview_of, site_of
from builder.app_backend import user_token
from builder.composition import get_services
from builder.services.app_data import Scope as AppScope
from builder.services.app_users import AppAccount, user_key
from builder.settings import settings
from preview_runtime.apps_edge import IDENTITY_PATH, TOKEN_HEADER, USER_HEADER


async def app_identity(scope: Scope, receive: Receive, send: Send) -> None:
    """200 always (the visitor goes on to the app either way), with the two headers for a signed-in user."""
    request = Request(scope, receive)
    headers = {"cache-control": "no-store"}
    asker = await _asker(request, scope["path"].removeprefix(IDENTITY_PATH))
    if asker is not None:
        project_id, app_scope, account = asker
        app = user_token.app_of(project_id, app_scope)
        signed = user_token.make(user_key(project_id, app_scope), app, account.id, account.email, account.role)
        headers[USER_HEADER] = user_token.user_header(account.id, account.email, account.role)
        headers[TOKEN_HEADER] = signed
    await Response(status_code=200, headers=headers)(scope, receive, send)


async def _asker(request: Request, host: str) -> tuple[str, AppScope, AppAccount] | None:
    """The app (project, scope) the host serves and who its session cookie names there; None for nobody."""
    services = await get_services()
    target = await services.publishing.target(host)
    if target is not None and target.state == "server" and target.project_id:
        # The cookie app_auth.py sets: the __Host- one on HTTPS (told by Traefik when Forja trusts it as a proxy).
        https = request.url.scheme == "https" or bool(settings.apps_domain)
        token = request.cookies.get(SECURE_COOKIE if https else COOKIE)
        account = await services.app_users.account_of(target.project_id, AppScope.live, token)
        return (target.project_id, AppScope.live, account) if account is not None else None
    preview_id = preview_of(host.encode("utf-8", "replace"), settings.preview_domain)
    if preview_id is None:
        return None
    site = await site_of(preview_id, request.headers.get("cookie", ""))
    if isinstance(site, PlainTextResponse):  # no such preview, or a private one asked without its gate's cookie
        return None
    # A preview's session cookie is never a __Host- one (app_auth.py AppRequest).
    account = await services.app_users.account_of(site.project_id, AppScope.preview, request.cookies.get(COOKIE))
    return (site.project_id, AppScope.preview, account) if account is not None else None
