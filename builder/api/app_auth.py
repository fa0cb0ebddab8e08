"""Sign-in for the people who use an app, on the app's own origin: `/_forja/auth/...` of its host.

builder/api/apps.py hands every request under that path of a published app's host here (scope live), before the
static edge and before a server app's sandbox is woken; builder/api/preview_backend.py those of a preview's host (scope
preview: other accounts and sessions). Pages for sign-up (open, or by invitation: `?invite=`), sign-in, sign-out, a
forgotten password (`reset`, then `new-password?token=` from its email) and an address check (`verify?token=`) (forms,
no script; their email: builder/services/app_user_mail.py), themed by the app (builder/app_backend/theme.py), and
`GET /_forja/auth/me` for the app's own scripts. A session is a cookie of the app's host alone (`forja_app_session`,
on HTTPS `__Host-forja_app_session` and Secure; HttpOnly, SameSite=Lax, no Domain), whose token names a session of this app only
(builder/services/app_users.py): Forja's own cookies have other names and its API never reads this one. A preview's
cookie is `forja_app_session` of the preview's host, Partitioned as its gate's is (preview_runtime/gate.py), so the
Preview tab's frame keeps it.

A form posted from anywhere but the app's own origin is refused (403) before it is read, so another site cannot sign a
visitor in or out; `next` may only name a path of the app. Refusals answer the form again with a sentence and what
was typed, but the password.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from urllib.parse import parse_qs

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from builder.api.identity import client_address, local_next
from builder.app_backend.pages import render
from builder.app_backend.theme import Theme
from builder.composition import get_services
from builder.errors import ForjaError, TooManyAttempts
from builder.services.app_data import Scope as AppScope
from builder.services.app_users import AppAccount
from builder.services.mail import can_send
from builder.services.throttle import Attempt
from builder.settings import settings
from preview_runtime.apps_edge import SESSION_COOKIE
from preview_runtime.gate import Asked, trustworthy

log = logging.getLogger(__name__)

PREFIX = "/_forja/auth/"
COOKIE = SESSION_COOKIE  # the edge sends a request with it to Forja to ask who is asking
# On HTTPS the browser keeps a __Host- cookie only from this very host: another app cannot plant one for the apps'
# shared parent domain (a session of its owner's on this app, to sign visitors in as them).
SECURE_COOKIE = f"__Host-{COOKIE}"
# A form of an email, a password and a path: anything longer is not one.
MAX_FORM = 8 * 1024
PAGES = {
    "sign-in": "Sign in",
    "sign-up": "Make an account",
    "sign-out": "Sign out",
    "reset": "Forgot your password?",
    "new-password": "Choose a new password",
}
# Said where a page would send email and this Forja has no mail server (in words for the app's people).
NO_EMAIL = "So no password reset link can be sent from here. Ask the people who run this app to help you."


@dataclass(frozen=True)
class AppSite:
    """Whose backend a host's request reaches: an app (its project) in one scope, and the files its data rules are read
    from: a published app's `release`, or the `version` a preview runs (None: the project's current one)."""

    project_id: str
    scope: AppScope = AppScope.live
    release: int = 0
    version: int | None = None


class AppRequest:
    """One request to an app's auth routes, with what every answer needs: the app, its name, who is signed in."""

    def __init__(self, scope: Scope, receive: Receive, site: AppSite, theme: Theme | None = None) -> None:
        self.http = Request(scope, receive)
        self.site = site
        self.project_id = site.project_id
        self.scope = site.scope
        self.theme = theme or Theme()
        self.name = self.theme.name
        self.preview = site.scope == AppScope.preview
        if self.preview:
            # A preview is plain HTTP on a loopback name (or an address of its own): never a __Host- cookie. A
            # trustworthy origin's is Secure, SameSite=None and Partitioned, which Forja's Preview tab frame keeps.
            self.https = trustworthy(Asked(self.http.headers.get("host", ""), "/", proto=self.http.url.scheme))
            self.cookie = COOKIE
        else:
            self.https = self.http.url.scheme == "https" or bool(settings.apps_domain)
            self.cookie = SECURE_COOKIE if self.https else COOKIE
        self.token = self.http.cookies.get(self.cookie) or None

    @property
    def next(self) -> str:
        return local_next(self.http.query_params.get("next", "/"))

    def same_origin(self) -> bool:
        """Whether a form came from one of the app's own pages: its Origin is this host (https, or the request's
        scheme: a front proxy may end TLS before Forja)."""
        host = self.http.headers.get("host", "")
        origin = self.http.headers.get("origin", "")
        return bool(host) and origin in {f"https://{host}", f"{self.http.url.scheme}://{host}"}

    async def form(self) -> dict[str, str] | None:
        """The posted form's fields (the first value of each); None for a body that is not a small form."""
        if self.http.headers.get("content-type", "").split(";")[0].strip() != "application/x-www-form-urlencoded":
            return None
        body = b""
        async for chunk in self.http.stream():
            body += chunk
            if len(body) > MAX_FORM:
                return None
        try:
            fields = parse_qs(body.decode("utf-8"), keep_blank_values=True)
        except (UnicodeDecodeError, ValueError):
            return None
        return {key: values[0] for key, values in fields.items()}

    def page(self, template: str, status: int = 200, **values: object) -> Response:
        html, headers = render(f"{template}.html", self.theme, framed=self.preview, **values)
        response = Response(html, status_code=status)
        response.raw_headers.extend(headers)
        return response

    @property
    def origin(self) -> str:
        """The app's origin as the browser asked for it (this host serves this app, or the request would not be here):
        where the links of its email lead."""
        return f"{'https' if self.https else 'http'}://{self.http.headers.get('host', '')}"

    def notice(self, status: int, title: str, text: str, link: str = "", link_text: str = "") -> Response:
        return self.page("notice", status, title=title, text=text, link=link or "/", link_text=link_text or f"Go to {self.name}")

    def signed_in(self, token: str, target: str) -> Response:
        return self.going(target, token, settings.session_days * 86400)

    def going(self, target: str, token: str = "", max_age: int = 0) -> Response:
        """A redirect to `target` that keeps the session `token` for `max_age` seconds; none (0) ends it."""
        response = Response(status_code=303, headers={"location": target, "cache-control": "no-store"})
        # Written by hand: Python before 3.14 cannot write Partitioned (nor can Starlette through it).
        attributes = f"{self.cookie}={token}; Max-Age={max_age}; Path=/; HttpOnly"
        if self.https:
            attributes += "; Secure"
        attributes += "; SameSite=None; Partitioned" if self.preview and self.https else "; SameSite=Lax"
        response.raw_headers.append((b"set-cookie", attributes.encode("latin-1")))
        return response


async def account(request: AppRequest) -> AppAccount | None:
    return await (await get_services()).app_users.account_of(request.project_id, request.scope, request.token)


def me(signed_in: AppAccount | None) -> Response:
    body = {"signed_in": signed_in is not None, "user": signed_in.model_dump() if signed_in is not None else None}
    return Response(json.dumps(body), media_type="application/json", headers={"cache-control": "no-store"})


async def show(request: AppRequest, page: str) -> Response:
    """A page's form; the pages reached from an email's link check it first."""
    mail = (await get_services()).app_user_mail
    query = request.http.query_params
    token, invite, by_invitation = query.get("token", ""), query.get("invite", ""), False
    if page == "new-password" and not await mail.reset_works(request.project_id, request.scope, token):
        return link_gone(request)
    if page == "sign-up":
        by_invitation = await mail.sign_up_mode(request.project_id, request.scope) == "invite"
    return request.page(
        page.replace("-", "_"),
        title=PAGES[page],
        next=request.next,
        email="",
        can_email=can_send(),
        token=token,
        invite=invite,
        by_invitation=by_invitation,
        account=await account(request),
    )


def link_gone(request: AppRequest) -> Response:
    return request.notice(
        400,
        "This link does not work any more",
        "It was used already, or it expired. Ask for a new one.",
        link="/_forja/auth/reset",
        link_text="Ask for a new password link",
    )


async def verified(request: AppRequest) -> Response:
    """An address check's link, from its email: the person's email is confirmed (once)."""
    try:
        await (await get_services()).app_user_mail.verify(
            request.project_id, request.scope, request.http.query_params.get("token", "")
        )
    except ForjaError:
        return request.notice(400, "This link does not work any more", "It was used already, or it expired.")
    return request.notice(200, "Your email is confirmed", f"Thank you: {request.name} knows this email is yours.")


async def posted(request: AppRequest, page: str) -> Response:
    if not request.same_origin():
        return request.notice(
            403,
            "This form came from another site",
            f"{request.name} takes sign-ins only from its own pages, so nothing was done. Open its sign-in page and "
            "try again there.",
            link="/_forja/auth/sign-in",
            link_text="Open the sign-in page",
        )
    form = await request.form()
    if form is None:
        return request.notice(400, "That was not a form", "Send the form on this page (an email and a password).")
    target = local_next(form.get("next", "/"))
    if page == "sign-out":
        return await signed_out(request, target)
    email, password = form.get("email", "")[:254], form.get("password", "")
    services = await get_services()
    try:
        attempt = Attempt(client_address(request.http.scope))
        if page == "reset":
            return await reset_asked(request, email, attempt)
        if page == "new-password":
            token = await services.app_user_mail.reset(request.project_id, request.scope, form.get("token", ""), password)
        elif page == "sign-up":
            invite = form.get("invite", "")
            token = await services.app_users.sign_up(request.project_id, request.scope, email, password, attempt, invite)
            await services.app_user_mail.send_check(request.project_id, request.scope, email, request.origin, request.name)
        else:
            token = await services.app_users.sign_in(request.project_id, request.scope, email, password, attempt)
    except ForjaError as exc:
        again = {"token": form.get("token", ""), "invite": form.get("invite", ""), "can_email": can_send()}
        answer = request.page(
            page.replace("-", "_"), exc.status, title=PAGES[page], next=target, email=email, error=exc.message, **again
        )
        if isinstance(exc, TooManyAttempts):
            answer.headers.update(exc.headers())
        return answer
    return request.signed_in(token, target)


async def signed_out(request: AppRequest, target: str) -> Response:
    if request.token:
        await (await get_services()).app_users.sign_out(request.project_id, request.scope, request.token)
    return request.going(target)


async def reset_asked(request: AppRequest, email: str, attempt: Attempt) -> Response:
    """The same answer whether or not the email has an account here (InvalidInput only for what is no email)."""
    if not can_send():
        return request.notice(503, "This app cannot send email yet", NO_EMAIL)
    mail = (await get_services()).app_user_mail
    await mail.request_reset(request.project_id, request.scope, email, request.origin, request.name, attempt)
    return request.notice(
        200,
        "Check your email",
        f"If {email.strip().lower()} has an account on {request.name}, a link to choose a new password is on its way. "
        "It works once, for an hour.",
        link="/_forja/auth/sign-in",
        link_text="Back to sign-in",
    )


async def answer(request: AppRequest, path: str) -> Response:
    method = request.http.method
    if path == "me":
        if method not in ("GET", "HEAD"):
            return request.notice(405, "Not here", "This address only answers GET.")
        return me(await account(request))
    if path == "verify" and method == "GET":  # not HEAD: a link checker's look would use the link up
        return await verified(request)
    if path not in PAGES:
        return request.notice(404, "There is no such page", f"{request.name} has no page at this address.")
    if method in ("GET", "HEAD"):
        return await show(request, path)
    if method == "POST":
        return await posted(request, path)
    return request.notice(405, "Not here", "This page is for reading (GET) and sending its form (POST).")


async def app_auth(scope: Scope, receive: Receive, send: Send, site: AppSite) -> None:
    """Answer a request under /_forja/auth/ of an app's host (`site`: whose backend the host reaches)."""
    theme = await (await get_services()).app_themes.theme(site.project_id, site.release, site.version, site.scope)
    request = AppRequest(scope, receive, site, theme)
    response = await answer(request, scope["path"][len(PREFIX) :])
    await response(scope, receive, send)
