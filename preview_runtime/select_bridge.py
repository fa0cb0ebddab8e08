"""Select mode inside a running preview: outline what the pointer is on, pick it, edit its text.

The builder page cannot reach into the preview's frame (another origin), so each HTML page of the
running copy gets a small inline script that does it there and reports by postMessage, addressed
only to the builder's origins. It does nothing until the framing page turns Select mode on, so an
app opened in a tab of its own, or while Select mode is off, behaves exactly as written.

Components (JSX, Vue, Svelte) are marked with their source places by annotate.py, while Select
mode is on (the caller decides); plain HTML has none, so the script also sends a DOM path, which
Forja finds again in the page's source.
"""

from __future__ import annotations

from collections.abc import Iterable
from importlib import resources

from preview_runtime.annotate import ATTRIBUTE
from preview_runtime.page_scripts import PageScript

MARKER = "data-forja-select"
MAX_TEXT = 2000

_SCRIPT = resources.files("preview_runtime").joinpath("select_bridge.js").read_text(encoding="utf-8").strip()


def script(origins: Iterable[str]) -> PageScript:
    """Select mode's script, talking to the builder's `origins` only; page_scripts puts it into pages."""
    return PageScript.filled(MARKER, _SCRIPT, origins, __ATTRIBUTE__=ATTRIBUTE, __MAX_TEXT__=str(MAX_TEXT))
