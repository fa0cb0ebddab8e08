"""Reading the agents' transcripts: each prints one JSON event a line (opencode.py, codex.py), and a line that is not
one, or a field that is not an object, is passed over rather than trusted."""

from __future__ import annotations

import json
from typing import Any


def event(line: str) -> dict[str, Any] | None:
    """The JSON object on this line of an agent's output, or None."""
    try:
        found = json.loads(line)
    except ValueError:
        return None
    return found if isinstance(found, dict) else None


def as_object(value: object) -> dict[str, Any]:
    """`value` when it is a JSON object, else an empty one."""
    return value if isinstance(value, dict) else {}
