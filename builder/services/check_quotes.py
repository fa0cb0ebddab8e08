"""Acceptance checks that quote an element's words follow a text edit of that element, in the same version.

A person who types "My appointments" over the heading "Your appointments" changes what the app should say. A check
that still expects "Your appointments" would fail on the next check of the app, and its repair round is told to make
the app pass its checks: it would put the old words back. So a step's string that quotes the element's whole old text
takes the new text, in the version that changes the app's own file (a text edit never saves a check alone).

Only when the old text is no longer written in any file the app shows: where it still is, the check may be about
another element that still says it, and is left as it is. A test's title is the plan's words for the check, never
changed here; a check file Forja cannot read is left alone too.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from builder.app_files import shown_by_the_app
from builder.services.element_text import shown
from preview_runtime.check_script import ScriptError, is_check_path, js_string, step_strings


def _still_written(files: Mapping[str, str], old: str) -> bool:
    """Whether an app file still writes `old` (any whitespace between its words)."""
    pattern = re.compile(r"\s+".join(map(re.escape, old.split())))
    return any(shown_by_the_app(path) and pattern.search(text) for path, text in files.items())


def following_checks(files: Mapping[str, str], old: str, new: str) -> dict[str, str]:
    """The check files (of `files`, the project as the edit leaves it) whose steps quote `old`, now quoting `new`."""
    if _still_written(files, old):
        return {}
    changed: dict[str, str] = {}
    for path, text in files.items():
        if not is_check_path(path):
            continue
        try:
            quotes = [q for q in step_strings(text) if shown(q.value) == old]
        except ScriptError:
            continue
        for quote in reversed(quotes):
            text = text[: quote.start] + js_string(new, text[quote.start]) + text[quote.end :]
        if quotes:
            changed[path] = text
    return changed
