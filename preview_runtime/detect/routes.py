"""The main GET routes a backend declares, so a check can ask each for its status.

Read from the source as written (Flask/FastAPI decorators, Express-style `app.get`): routes with
parameters are left out, since no value for them is known.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

MOST_ROUTES = 8

_PYTHON = re.compile(r"""@\w+\.(?:get|route)\(\s*["'](/[^"'<{]*)["']""")
_NODE = re.compile(r"""\b(?:app|router|server|fastify)\.get\(\s*["'`](/[^"'`:*]*)["'`]""")
_SKIPPED_DIRS = ("node_modules/", ".venv/", "dist/", "build/", ".next/")


def main_routes(files: Mapping[str, bytes]) -> list[str]:
    """Up to MOST_ROUTES parameterless GET routes of the project's server code, in the order found."""
    found: list[str] = []
    for path, data in sorted(files.items()):
        if path.startswith(_SKIPPED_DIRS) or "/node_modules/" in path:
            continue
        if path.endswith(".py"):
            pattern = _PYTHON
        elif path.endswith((".js", ".mjs", ".cjs", ".ts")):
            pattern = _NODE
        else:
            continue
        text = data.decode("utf-8", "replace")
        for route in pattern.findall(text):
            if route not in found:
                found.append(route)
            if len(found) == MOST_ROUTES:
                return found
    return found
