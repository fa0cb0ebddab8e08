"""The public pages of share links (/s/{token}), rendered from the Jinja templates in builder/api/templates.

Plain HTML (not Reflex) with the CSS and the one small script inline, each from its own file: nothing loads from
elsewhere, so the pages work under the builder's cross-origin isolation headers. Autoescaping is on: a project's
name, its files and the app's address are text in these pages, never markup.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources

from fastapi.responses import HTMLResponse
from jinja2 import Environment, PackageLoader
from markupsafe import Markup

from builder.errors import ShareGone
from builder.filetree import text_of
from builder.settings import settings
from preview_runtime.pages import PAGE_CSS

PAGE_HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",  # the token is in the page's URL; never send it on
    "X-Robots-Tag": "noindex, nofollow",
    "X-Content-Type-Options": "nosniff",
}
SANDBOX = "allow-scripts allow-forms allow-same-origin allow-popups allow-modals"

_TEMPLATES = resources.files("builder.api") / "templates"
# Forja's own files, so markup as they are: escaping would break the CSS's quotes and the script.
_CSS = Markup(PAGE_CSS + (_TEMPLATES / "share_page.css").read_text(encoding="utf-8"))
_POLL_SCRIPT = Markup((_TEMPLATES / "share_poll.js").read_text(encoding="utf-8").replace("__SANDBOX__", SANDBOX))
_pages = Environment(loader=PackageLoader("builder.api", "templates"), autoescape=True, trim_blocks=True, lstrip_blocks=True)


@dataclass(frozen=True)
class MetaTag:
    """A link preview's tag: `<meta {attribute}="{key}" content="{value}">`."""

    attribute: str
    key: str
    value: str


@dataclass(frozen=True)
class SharedFile:
    path: str
    text: str | None  # None for a binary file, shown by its size only
    size: int


def _render(template: str, status: int = 200, **values: object) -> HTMLResponse:
    html = _pages.get_template(template).render(css=_CSS, home=settings.base_url, **values)
    return HTMLResponse(html, status_code=status, headers=PAGE_HEADERS)


def link_preview_tags(tags: dict[str, str]) -> list[MetaTag]:
    """Open Graph tags go in `property`, Twitter's in `name`."""
    return [MetaTag("name" if key.startswith("twitter:") else "property", key, value) for key, value in tags.items()]


def notice(title: str, text: str, status: int) -> HTMLResponse:
    return _render("share_notice.html", status, title=title, text=text)


def gone(exc: ShareGone) -> HTMLResponse:
    return notice("Link not found" if exc.status == 404 else "Link no longer works", exc.message, exc.status)


def could_not_start(token: str, link_preview: list[MetaTag]) -> HTMLResponse:
    return _render(
        "share_notice.html",
        503,
        title="This app could not start",
        text="Try again later, or ask the person who sent the link.",
        badge_token=token,
        link_preview=link_preview,
    )


def app(token: str, url: str, link_preview: list[MetaTag]) -> HTMLResponse:
    """The app in a sandboxed frame, with the badge."""
    return _render("share_app.html", title="App", url=url, sandbox=SANDBOX, badge_token=token, link_preview=link_preview)


RELEASE_GONE_TEXT = (
    "This link opens one release of a published app, and Forja no longer keeps that release's files. Ask the person who "
    "sent it for a new link."
)
BUSY_TEXT = (
    "Too many shared apps are running on this Forja right now. This page starts this one as soon as there is room: "
    "keep it open, or come back in a few minutes."
)
# How long a visitor's page waits before it asks again whether a busy app may start (share_poll.js asks as often).
BUSY_RETRY_S = 5


def starting(token: str, link_preview: list[MetaTag], busy: bool = False) -> HTMLResponse:
    """A spinner whose script asks ./status until the app answers, then shows it in its frame, or says the app could not
    start once it waited FORJA_PREVIEW_START_TIMEOUT_S; `busy`: the app waits for room among the shared apps that run at
    once (FORJA_SHARE_PREVIEWS), said in words, with a 503."""
    response = _render(
        "share_starting.html",
        503 if busy else 200,
        title="This app is busy" if busy else "Starting the app...",
        heading="This app is busy" if busy else "Starting the app...",
        text=BUSY_TEXT if busy else "This takes a few seconds the first time.",
        script=_POLL_SCRIPT,
        deadline_s=settings.preview_start_timeout_s,
        badge_token=token,
        link_preview=link_preview,
    )
    if busy:
        response.headers["Retry-After"] = str(BUSY_RETRY_S)
    return response


def code(token: str, name: str, version: int, tree: dict[str, bytes]) -> HTMLResponse:
    """A version's files, read-only: text shown as it is, binary files by their size."""
    files = [SharedFile(path, text_of(data), len(data)) for path, data in sorted(tree.items())]
    return _render("share_code.html", title=f"{name}: code", name=name, version=version, token=token, files=files)
