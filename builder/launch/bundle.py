"""How the page's build cuts its code into files: the icons in one file, Radix's components in one.

Vite otherwise gives each icon and each Radix component a file of its own (a few hundred bytes each): the home page
asked for 48 files. Over HTTP/1.1 a browser asks for six at a time, so on a phone's network (150 ms a round trip) the
count alone cost over a second. Reflex writes vite.config.js afresh at each compile with one group of its own
(`reflex-env`); this plugin adds Forja's beside it. A group holds what the pages import statically (`$initial`), so
what a page loads only when it is shown (Monaco, the terminal, lucide's map of every icon) stays out of the first load;
it holds what any page imports, so the home page gets the others' few icons and Radix parts too, yet its files are
fewer bytes than before (366 KB in gzip, against 380 KB in 48 files).
"""

from __future__ import annotations

import json
from typing import Any, Unpack

from reflex_base.plugins.base import Plugin, PreCompileContext

VITE_CONFIG = "vite.config.js"
# Where Reflex's template opens its list of groups; Forja's go first in it.
GROUPS_OPENING = "codeSplitting: {\n          groups: ["
# `test` as a string: a module whose path contains it is in the group (rolldown's codeSplitting.groups).
GROUPS: list[dict[str, Any]] = [
    {"name": "icons", "test": "/node_modules/lucide-react/dist/esm/icons/", "tags": ["$initial"]},
    {"name": "radix", "test": "/node_modules/@radix-ui/", "tags": ["$initial"]},
]


def with_groups(config: str) -> str:
    """Reflex's vite.config.js with Forja's chunk groups in its list; unchanged if they are there already."""
    if GROUPS_OPENING not in config:
        raise ValueError(f"Reflex's {VITE_CONFIG} no longer has `{GROUPS_OPENING}`: Forja's chunk groups cannot be added.")
    added = "".join(f"\n            {json.dumps(group)}," for group in GROUPS)
    if added in config:
        return config
    return config.replace(GROUPS_OPENING, GROUPS_OPENING + added, 1)


class ChunkGroups(Plugin):
    """Adds GROUPS to the page build's vite.config.js."""

    def pre_compile(self, **context: Unpack[PreCompileContext]) -> None:
        context["add_modify_task"](VITE_CONFIG, with_groups)
