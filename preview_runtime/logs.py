"""Log lines of a project: levels, error detection, and a per-project stream.

Everything that happens to a project (imports, saves, installs, dev-server output) becomes a
LogLine in one hub, so the Logs tab and the HTTP log stream read the same thing.
"""

from __future__ import annotations

import asyncio
import enum
import re
from collections import defaultdict, deque
from collections.abc import AsyncGenerator
from datetime import UTC, datetime

from pydantic import BaseModel, Field

REDACTED = "[redacted]"


class LogLevel(enum.StrEnum):
    debug = "debug"
    info = "info"
    warning = "warning"
    error = "error"


class LogLine(BaseModel):
    seq: int = 0
    time: datetime = Field(default_factory=lambda: datetime.now(UTC))
    level: LogLevel = LogLevel.info
    source: str = Field(default="forja", description="forja, install, dev-server, browser...")
    text: str


# Patterns that mark a line as an error the fix-this-error button can act on.
_ERROR = re.compile(
    r"npm ERR!|npm error|^\s*Error:|Traceback \(most recent call last\)|\b\w+Error: |\[vite\] Internal server error|"
    r"Failed to compile|Uncaught |SyntaxError|ELIFECYCLE|exited with code [1-9]",
    re.IGNORECASE,
)
_WARNING = re.compile(r"\bwarn(ing)?\b|deprecated", re.IGNORECASE)


def classify(text: str) -> LogLevel:
    if _ERROR.search(text):
        return LogLevel.error
    if _WARNING.search(text):
        return LogLevel.warning
    return LogLevel.info


class LogHub:
    """Keeps the last lines of each project and fans new ones out to every listener."""

    def __init__(self, keep: int = 2000) -> None:
        self._lines: dict[str, deque[LogLine]] = defaultdict(lambda: deque(maxlen=keep))
        self._listeners: dict[str, set[asyncio.Queue[LogLine]]] = defaultdict(set)
        self._seq = 0
        # Per project and kind: values its lines must never show (its app's variables, builder/app_secrets.py
        # runner_env; its database's password, builder/services/app_data.py), set before its app runs.
        self._hidden: dict[str, dict[str, tuple[str, ...]]] = defaultdict(dict)

    def emit(self, project_id: str, text: str, level: LogLevel | None = None, source: str = "forja") -> None:
        self._seq += 1
        text = self.redacted(project_id, text)
        self._deliver(project_id, LogLine(seq=self._seq, text=text, level=level or classify(text), source=source))

    def hide(self, project_id: str, values: tuple[str, ...], kind: str = "env") -> None:
        """From now on the project's lines show each of `values` as REDACTED; they replace the values hidden before
        under the same `kind` ("env": its app's variables; "database": its database's password and address)."""
        self._hidden[project_id][kind] = values

    def redacted(self, project_id: str, text: str) -> str:
        hidden = self._hidden.get(project_id)
        if not hidden:
            return text
        for value in sorted({v for values in hidden.values() for v in values}, key=len, reverse=True):
            if value in text:
                text = text.replace(value, REDACTED)
        return text

    def _deliver(self, project_id: str, line: LogLine) -> None:
        """Keep a line and hand it to the project's followers (a hub shared by several processes delivers the lines
        of all of them here, in one order)."""
        self._lines[project_id].append(line)
        for queue in self._listeners[project_id]:
            queue.put_nowait(line)

    def history(self, project_id: str) -> list[LogLine]:
        return list(self._lines[project_id])

    def lines_from(self, source: str) -> list[LogLine]:
        """The kept lines of every project that came from `source`, oldest first."""
        return sorted(
            (line for lines in self._lines.values() for line in lines if line.source == source), key=lambda line: line.seq
        )

    async def follow(self, project_id: str, since: int = 0) -> AsyncGenerator[LogLine, None]:
        """Yield the kept lines after `since`, then new lines as they come, until cancelled."""
        queue: asyncio.Queue[LogLine] = asyncio.Queue()
        self._listeners[project_id].add(queue)
        try:
            for line in self.history(project_id):
                if line.seq > since:
                    since = line.seq
                    yield line
            while True:
                line = await queue.get()
                if line.seq > since:
                    since = line.seq
                    yield line
        finally:
            self._listeners[project_id].discard(queue)
