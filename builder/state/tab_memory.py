"""Which tab a project opens on: the one the person last chose in it, in this browser, else the app itself.

The choices are kept in the browser's localStorage (WorkspaceState.chosen_tabs) as one JSON object of project id to
tab. The browser hands back whatever it holds, so what it says is read as untrusted: anything but a known tab is
forgotten. No Reflex here, so each rule is tested on its own (tests/unit/test_tab_memory.py).
"""

from __future__ import annotations

import json

from builder.schemas import PRESENCE_TABS

# Projects whose tab is kept, the latest chosen last: a browser that opened hundreds keeps the recent ones.
KEPT = 200


def chosen_tabs(stored: str) -> dict[str, str]:
    """The choices `stored` holds, each a known tab; anything else (not JSON, another shape, a made-up tab) dropped."""
    try:
        read = json.loads(stored) if stored else {}
    except ValueError:
        return {}
    if not isinstance(read, dict):
        return {}
    return {str(project): tab for project, tab in read.items() if isinstance(tab, str) and tab in PRESENCE_TABS}


def remember(stored: str, project_id: str, tab: str) -> str:
    """`stored` with `tab` as the project's choice, moved to the end (the latest), the oldest past KEPT dropped."""
    tabs = chosen_tabs(stored)
    tabs.pop(project_id, None)
    if tab in PRESENCE_TABS:
        tabs[project_id] = tab
    return json.dumps(dict(list(tabs.items())[-KEPT:]), separators=(",", ":"))


def opening_tab(chosen: str | None, *, phone: bool, has_files: bool, can_edit: bool) -> str:
    """The tab a project opens on. The person's own last choice, where this page can show it: the Terminal only for
    those who may change the project, Chat only on a phone (a desktop shows the conversation beside every tab).
    Otherwise the app (Preview), or on a phone the chat that makes one while the project has no files yet."""
    if chosen is not None and chosen in PRESENCE_TABS and (chosen != "terminal" or can_edit) and (chosen != "chat" or phone):
        return chosen
    return "chat" if phone and not has_files else "preview"
