"""The pages an app's people sign up, in and out with, rendered from the Jinja templates beside this module.

Server-rendered HTML with no script: autoescaping is on (the app's name and what a person typed are text, never
markup), and the one stylesheet is inlined under a Content-Security-Policy that allows it by its hash and nothing else
to load, no frame to hold the page (but the Preview tab's, for a preview's pages), and forms to post only to the app's
own origin. An app's own colour (builder/app_backend/theme.py) is a second, small stylesheet (theme.css) allowed by its
hash too, and its logo an image in the page itself (a data: URL), the only kind of image the policy allows.
"""

from __future__ import annotations

import base64
import hashlib
from importlib import resources

from jinja2 import Environment, PackageLoader
from markupsafe import Markup

from builder.app_backend.theme import Theme

_CSS_TEXT = (resources.files("builder.app_backend") / "pages" / "page.css").read_text(encoding="utf-8")
# Forja's own file, so markup as it is: escaping would break its quotes.
_CSS = Markup(_CSS_TEXT)
_pages = Environment(loader=PackageLoader("builder.app_backend", "pages"), autoescape=True, trim_blocks=True, lstrip_blocks=True)
_THEME_CSS = _pages.get_template("theme.css")


def _hash(css: str) -> str:
    return f"'sha256-{base64.b64encode(hashlib.sha256(css.encode()).digest()).decode()}'"


def policy(theme_css: str = "", logo: bool = False, framed: bool = False) -> str:
    """The pages' Content-Security-Policy: Forja's stylesheet and the app's colour by their hashes, its logo as a data:
    image. `framed`: a preview's pages, which Forja's Preview tab shows in its frame; no other site can use that frame
    to trick a person, as a private preview's gate lets through only the browser Forja sent there (its cookie is kept
    apart for Forja's page) and a share link's preview is shared to be tried out, with the preview's own accounts,
    never the published app's."""
    styles = " ".join([_hash(_CSS_TEXT)] + ([_hash(theme_css)] if theme_css else []))
    images = "; img-src data:" if logo else ""
    frames = "" if framed else "; frame-ancestors 'none'"
    return f"default-src 'none'; style-src {styles}{images}; form-action 'self'; base-uri 'none'{frames}"


def headers(policy_text: str) -> list[tuple[bytes, bytes]]:
    return [
        (b"content-type", b"text/html; charset=utf-8"),
        (b"cache-control", b"no-store"),
        (b"content-security-policy", policy_text.encode()),
        (b"x-content-type-options", b"nosniff"),
        (b"referrer-policy", b"same-origin"),
        (b"x-robots-tag", b"noindex"),
    ]


def render(template: str, theme: Theme, framed: bool = False, **values: object) -> tuple[bytes, list[tuple[bytes, bytes]]]:
    """A page and its headers: the app's theme heads it (its name, logo and colour), `title` under it; `error`, a
    sentence, stands above the form."""
    # The colour was checked to be #rgb or #rrggbb, so the stylesheet holds nothing but it.
    theme_css = _THEME_CSS.render(theme=theme) if theme.color else ""
    html = _pages.get_template(template).render(css=_CSS, theme_css=Markup(theme_css), logo=theme.logo, app=theme.name, **values)
    return html.encode(), headers(policy(theme_css, bool(theme.logo), framed))
