"""How an app's sign-in pages look: its name, a colour and a logo, from the project's `.forja/app.json`:

    {"name": "Cuts by Rui", "color": "#0f766e", "logo": "public/logo.svg"}

Each is optional and checked apart: a name of at most 60 characters, a colour as `#rgb` or `#rrggbb`, a logo as the
path of one of the release's own files (PNG, JPEG, GIF, WebP or SVG, at most 100 KB). Whatever is missing or wrong
falls back quietly to Forja's look (the pages are for the app's people, who cannot fix the file); the owner's log
says why.
"""

from __future__ import annotations

import base64
import json
import logging
import re

from pydantic import BaseModel

log = logging.getLogger(__name__)

THEME_PATH = ".forja/app.json"
MAX_NAME = 60
MAX_LOGO = 100 * 1024
COLOR = re.compile(r"^#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6})$")
LOGO_TYPES = {
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".gif": "image/gif",
    ".webp": "image/webp",
    ".svg": "image/svg+xml",
}


class Theme(BaseModel):
    """What the pages use: `name` ("" for the project's), `color` ("" for Forja's), `logo` (a data: URL, or "")."""

    name: str = ""
    color: str = ""
    ink: str = ""
    logo: str = ""


def ink_on(color: str) -> str:
    """Text that reads on a button of `color`: near-black on a light one, white on a dark one."""
    digits = color[1:]
    if len(digits) == 3:
        digits = "".join(c * 2 for c in digits)
    red, green, blue = (int(digits[i : i + 2], 16) / 255 for i in (0, 2, 4))
    return "#10131a" if 0.299 * red + 0.587 * green + 0.114 * blue > 0.6 else "#ffffff"


def _text(raw: dict[str, object], key: str) -> str:
    value = raw.get(key)
    return value.strip() if isinstance(value, str) else ""


def parse_theme(raw: bytes) -> tuple[Theme, str]:
    """The theme in a `.forja/app.json`'s bytes, and the path of its logo to read from the release ("" for none; see
    `logo_url`). Never raises: what cannot be used is left out."""
    try:
        loaded = json.loads(raw)
    except (UnicodeDecodeError, ValueError):
        log.info("%s is not JSON; the sign-in pages keep Forja's look", THEME_PATH)
        return Theme(), ""
    if not isinstance(loaded, dict):
        return Theme(), ""
    name = " ".join(_text(loaded, "name").split())[:MAX_NAME]
    color = _text(loaded, "color")
    if color and not COLOR.match(color):
        log.info("%s: color %r is not #rgb or #rrggbb; Forja's is used", THEME_PATH, color[:20])
        color = ""
    return Theme(name=name, color=color, ink=ink_on(color) if color else ""), _logo_path(_text(loaded, "logo"))


def _logo_path(path: str) -> str:
    path = path.removeprefix("./").removeprefix("/")
    if path and _kind(path) is None:
        log.info("%s: logo %r is not a PNG, JPEG, GIF, WebP or SVG file; none is shown", THEME_PATH, path[:200])
        return ""
    return path


def _kind(path: str) -> str | None:
    return LOGO_TYPES.get(path[path.rfind(".") :].lower()) if "." in path else None


def logo_url(path: str, content: bytes | None) -> str:
    """The logo as a data: URL (the pages load nothing else), or "" for a file the release lacks or one too big."""
    kind = _kind(path)
    if kind is None or content is None or len(content) > MAX_LOGO:
        log.info("%s: logo %r is not a file of the release of at most 100 KB; none is shown", THEME_PATH, path[:200])
        return ""
    return f"data:{kind};base64,{base64.b64encode(content).decode()}"
