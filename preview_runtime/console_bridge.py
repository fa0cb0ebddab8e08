"""Browser console errors of a preview, forwarded to the page that frames it.

A preview runs on its own origin, so the builder page cannot read its console. Every HTML page
of the running copy (never the stored project) gets a small inline script that posts console
errors, uncaught exceptions and unhandled rejections to the parent window, addressed only to the
builder's origins. The builder turns them into flagged log lines, which the fix-this-error
button acts on. Opened in a tab of its own (a share link), the script stays silent.

An inline script rather than a file: every stack serves an HTML page's inline scripts as they
are (Vite, a static server, Flask templates), whereas a file would need a different public
folder per stack.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from importlib import resources

MARKER = "data-forja-console"
# Sent with each message so the builder can tell these apart from the app's own postMessage calls.
MESSAGE_KIND = "forja-console"
MAX_TEXT = 4000

_HEAD = re.compile(rb"<head(\s[^>]*)?>", re.IGNORECASE)
_HTML = re.compile(rb"<html(\s[^>]*)?>", re.IGNORECASE)
_DOCTYPE = re.compile(rb"^\s*<!doctype[^>]*>", re.IGNORECASE)

# __ORIGINS__, __KIND__ and __MAX_TEXT__ in the script are filled in by bridge_tag.
_SCRIPT = resources.files("preview_runtime").joinpath("console_bridge.js").read_text(encoding="utf-8").strip()


def bridge_tag(origins: Iterable[str]) -> bytes:
    return script_tag(MARKER, _SCRIPT, origins, __KIND__=MESSAGE_KIND, __MAX_TEXT__=str(MAX_TEXT))


def script_tag(marker: str, script: str, origins: Iterable[str], **fills: str) -> bytes:
    """An inline script marked with `marker`, its __ORIGINS__ (the builder's) and other placeholders filled in."""
    for placeholder, value in {"__ORIGINS__": json.dumps(sorted(origins)), **fills}.items():
        script = script.replace(placeholder, value)
    return f"<script {marker}>{script}</script>".encode()


def inject(files: Mapping[str, bytes], origins: Iterable[str]) -> dict[str, bytes]:
    """The files with the bridge added first thing in each HTML page's head (else after <html> or the doctype)."""
    origins = list(origins)
    return add_to_pages(files, MARKER, bridge_tag(origins)) if origins else dict(files)


def add_to_pages(files: Mapping[str, bytes], marker: str, tag: bytes) -> dict[str, bytes]:
    """The files with `tag` first in each HTML page's head, except pages that carry `marker` already."""
    out: dict[str, bytes] = {}
    for path, data in files.items():
        if path.lower().endswith((".html", ".htm")) and marker.encode() not in data:
            data = first_in_head(data, tag)
        out[path] = data
    return out


def first_in_head(page: bytes, tag: bytes) -> bytes:
    """`tag` first thing in the page's head (else after <html> or the doctype, else at the very start)."""
    anchor = _HEAD.search(page) or _HTML.search(page) or _DOCTYPE.search(page)
    at = anchor.end() if anchor else 0
    return page[:at] + tag + page[at:]
