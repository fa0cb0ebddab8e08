"""The pages an app's people sign up, in and out with, rendered from the Jinja templates beside this module.

Server-rendered HTML with no script: autoescaping is on (the app's name and what a person typed are text, never
markup), and the one stylesheet is inlined under a Content-Security-Policy that allows it by its hash and nothing else
to load, no frame to hold the page (but the Preview tab's, for a preview's pages), and forms to post only to the app's
own origin.
"""

from __future__ import annotations

import base64
import hashlib
from importlib import resources

from jinja2 import Environment, PackageLoader
from markupsafe import Markup

_CSS_TEXT = (resources.files("builder.app_backend") / "pages" / "page.css").read_text(encoding="utf-8")
# Forja's own file, so markup as it is: escaping would break its quotes.
_CSS = Markup(_CSS_TEXT)
_CSS_HASH = base64.b64encode(hashlib.sha256(_CSS_TEXT.encode()).digest()).decode()
_pages = Environment(loader=PackageLoader("builder.app_backend", "pages"), autoescape=True, trim_blocks=True, lstrip_blocks=True)

_FRAMED = f"default-src 'none'; style-src 'sha256-{_CSS_HASH}'; form-action 'self'; base-uri 'none'"
POLICY = f"{_FRAMED}; frame-ancestors 'none'"


def headers(framed: bool = False) -> list[tuple[bytes, bytes]]:
    """The pages' headers. `framed`: a preview's pages, which Forja's Preview tab shows in its frame; no other site can
    use that frame to trick a person, as a private preview's gate lets through only the browser Forja sent there (its
    cookie is kept apart for Forja's page) and a share link's preview is shared to be tried out, with the preview's
    own accounts, never the published app's."""
    return [
        (b"content-type", b"text/html; charset=utf-8"),
        (b"cache-control", b"no-store"),
        (b"content-security-policy", (_FRAMED if framed else POLICY).encode()),
        (b"x-content-type-options", b"nosniff"),
        (b"referrer-policy", b"same-origin"),
        (b"x-robots-tag", b"noindex"),
    ]


def render(template: str, **values: object) -> bytes:
    """A page: `app` (the app's name) and `title` head it; `error`, a sentence, stands above the form."""
    return _pages.get_template(template).render(css=_CSS, **values).encode()
