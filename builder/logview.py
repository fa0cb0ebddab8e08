"""How the Logs tab shows a project's log lines: one entry per error, paths as the project names them, requests apart.

The log hub keeps lines as the processes print them. A person reads errors: a Python traceback, a JavaScript stack
or a Vite error frame arrives as many lines, all but the first of which look harmless on their own. Here they become
one entry at the error's level; the prefixes of the folders a preview runs in (the local runner's folder under the
data dir, the container's /app) are cut so a path reads as it does in the Code tab; and web-server access lines
(every request the page made) are told apart, so the tab can hide the successful ones.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence
from pathlib import Path

_LEVELS = ("debug", "info", "warning", "error")

# Continuation of an open entry: indented lines (stack frames, Vite's "  File:"), code frames ("> 3 | x", "  |  ^"),
# caret lines.
_CONTINUATION = re.compile(r"^\s+\S|^\s*>?\s*\d*\s*\|| *\^+\s*$")
_TRACEBACK = re.compile(r"Traceback \(most recent call last\)")
# Inside a traceback these lines lead to the next one: still the same error.
_CHAINED = re.compile(r"^(During handling of the above exception|The above exception was the direct cause)")
# The last line of a traceback, or the error under Node's "file:line" frame: "ValueError: bad", "SyntaxError: ...".
_EXCEPTION = re.compile(r"^[\w.]*(Error|Exception|Exit|Interrupt|Warning)\b")
# Node prints where an uncaught error is before the error itself: "/app/server.js:3".
_NODE_FRAME = re.compile(r"^(file://)?/?\S+:\d+$")

_METHODS = r"(?:GET|POST|PUT|PATCH|DELETE|HEAD|OPTIONS)"
# Access lines of the servers previews run: http.server, Flask, Django, uvicorn ('"GET / HTTP/1.1" 200'),
# Express's morgan ("GET / 200 3.1 ms"), and serve's request and answer lines ("HTTP  ...  GET /", "Returned 404 in").
# http.server says "code 404, message File not found" before its access line: that one carries the status.
_ACCESS = (
    re.compile(rf'"{_METHODS} \S* HTTP/[\d.]+" (\d{{3}})'),
    re.compile(rf"^\s*{_METHODS} \S+ (\d{{3}}) [\d.]+ ms"),
    re.compile(r"^\s*HTTP\s.*\bReturned (\d{3}) in\b"),
    re.compile(rf"^\s*HTTP\s.*\s{_METHODS} \S+$"),
    re.compile(r"\] code \d{3}, message "),
)
# Where previews run, cut from paths: the local runner's folders under the data dir (a preview's, the dependency
# cache's), then the Docker runner's /app and /deps (and file:// before any of them).
_CONTAINER_DIRS = r"(?:file://)?/(?:app|deps)/"


@dataclasses.dataclass
class LogEntry:
    """One row of the Logs tab: a line, or an error with the lines that belong to it (`more`, shown on demand)."""

    seq: int
    time: str
    level: str
    source: str
    head: str
    more: str = ""
    # A successful web-server access line: hidden unless the person asks for requests.
    request: bool = False
    # All of it, for Copy and "Fix this error".
    text: str = ""

    def __post_init__(self) -> None:
        self.text = f"{self.head}\n{self.more}" if self.more else self.head


def path_prefixes(data_dir: Path) -> re.Pattern[str]:
    """The folder prefixes to cut from log text, for previews kept under `data_dir`."""
    local = re.escape(str(data_dir.resolve()) + "/previews/")
    return re.compile(rf"(?:file://)?{local}(?:\.deps/)?[^/\s]+/|(?<![\w.\-/]){_CONTAINER_DIRS}")


def relative_paths(text: str, prefixes: re.Pattern[str]) -> str:
    return prefixes.sub("", text)


def access_status(text: str) -> int | None:
    """None for a line that is no web-server access line; else its status, 0 when the line has none (serve's request)."""
    for pattern in _ACCESS:
        if match := pattern.search(text):
            return int(match.group(1)) if pattern.groups else 0
    return None


def _worse(a: str, b: str) -> str:
    return max(a, b, key=lambda level: _LEVELS.index(level) if level in _LEVELS else 1)


class _Grouper:
    """Builds entries line by line; an entry stays open for continuation lines while it is an error or a warning."""

    def __init__(self) -> None:
        self.entries: list[LogEntry] = []
        self._lines: list[str] = []
        self._traceback = False
        self._node_frame = False

    def add(self, seq: int, time: str, level: str, source: str, text: str) -> None:
        status = access_status(text)
        if status is not None:
            # 4xx and 5xx stay in sight: a missing file or a crashing route is what a person looks for.
            level = "error" if status >= 500 else "warning" if status >= 400 else level
            self._start(LogEntry(seq, time, level, source, text, request=status < 400))
            return
        if "\n" not in text and self._continues(source, level, text):
            self._join(level, text)
            return
        first, _, rest = text.partition("\n")
        self._start(LogEntry(seq, time, level, source, first, rest))
        self._traceback = bool(_TRACEBACK.search(first))
        self._node_frame = bool(_NODE_FRAME.match(first))

    def _continues(self, source: str, level: str, text: str) -> bool:
        if not self.entries:
            return False
        last = self.entries[-1]
        if last.source != source or last.request:
            return False
        if self._traceback:
            if _EXCEPTION.match(text):
                # The traceback's last line: the error itself, at its level.
                self._traceback = False
                return True
            return bool(_CONTINUATION.match(text) or _CHAINED.match(text) or _TRACEBACK.search(text))
        if self._node_frame and _EXCEPTION.match(text):
            self._node_frame = False
            return True
        if _TRACEBACK.search(text) and _CHAINED.match(last.head):
            return True
        return bool(_CONTINUATION.match(text)) and (last.level in ("error", "warning") or self._node_frame)

    def _join(self, level: str, text: str) -> None:
        last = self.entries[-1]
        self._lines.append(text)
        last.more = "\n".join(self._lines)
        last.text = f"{last.head}\n{last.more}"
        last.level = _worse(last.level, level)

    def _start(self, entry: LogEntry) -> None:
        self.entries.append(entry)
        self._lines = [entry.more] if entry.more else []
        self._traceback = self._node_frame = False


def group_lines(lines: Sequence[tuple[int, str, str, str, str]]) -> list[LogEntry]:
    """Entries for (seq, time, level, source, text) lines in order: a multi-line error becomes one entry.

    The WebContainer runner's fallback to the server runner is said again on each start in the same tab, in more
    than one wording: it is shown once, at its last time, as is any other of its messages repeated word for word.
    """
    grouper = _Grouper()
    for seq, time, level, source, text in lines:
        grouper.add(seq, time, level, source, text)
    last_of: dict[str, int] = {}
    for index, entry in enumerate(grouper.entries):
        if entry.source == "webcontainer":
            last_of[_said(entry)] = index
    return [
        entry for index, entry in enumerate(grouper.entries) if entry.source != "webcontainer" or last_of[_said(entry)] == index
    ]


def _said(entry: LogEntry) -> str:
    return "fallback" if "server runner" in entry.text or "on the server instead" in entry.text else entry.text
