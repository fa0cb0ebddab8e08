"""Browser console errors of a preview, forwarded to the page that frames it.

A preview runs on its own origin, so the builder page cannot read its console. Every HTML page
of the running copy (never the stored project) gets a small inline script that posts console
errors, uncaught exceptions and unhandled rejections to the parent window, addressed only to the
builder's origins. The builder turns them into flagged log lines, which the fix-this-error
button acts on. Opened in a tab of its own (a share link), the script stays silent.

A page whose script did not load (the network changed under the browser, a dev server still
preparing its modules) would stay blank: the script loads the page again once, and reports a
script that fails again.

An inline script rather than a file: every stack serves an HTML page's inline scripts as they
are (Vite, a static server, Flask templates), whereas a file would need a different public
folder per stack.
"""

from __future__ import annotations

from collections.abc import Iterable
from importlib import resources

from preview_runtime.page_scripts import PageScript

MARKER = "data-forja-console"
# Sent with each message so the builder can tell these apart from the app's own postMessage calls.
MESSAGE_KIND = "forja-console"
MAX_TEXT = 4000

# __ORIGINS__, __KIND__ and __MAX_TEXT__ in the script are filled in by `script`.
_SCRIPT = resources.files("preview_runtime").joinpath("console_bridge.js").read_text(encoding="utf-8").strip()


def script(origins: Iterable[str]) -> PageScript:
    """The bridge, talking to the builder's `origins` only; page_scripts puts it into pages."""
    return PageScript.filled(MARKER, _SCRIPT, origins, __KIND__=MESSAGE_KIND, __MAX_TEXT__=str(MAX_TEXT))
