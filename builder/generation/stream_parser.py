"""Incremental reader of the `emit_file_tree` input as it streams in.

The model's tool input arrives as JSON text in small deltas. This reader looks at each
character once (strings are skipped with a regex, not char by char) and reports a file the
moment its `{"path", "content"}` object closes, so the Code tab fills in while the model is
still writing. Only complete objects are ever reported: a file cut off mid-content never is.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

_STRING_STOP = re.compile(r'["\\]')
_ITEM_ARRAYS = ("files", "edits")
_ROOT_STRINGS = ("title", "summary")


@dataclass
class FileStarted:
    index: int
    path: str


@dataclass
class ItemDone:
    """A complete element of `files` or `edits` (a dict as the model wrote it, not yet validated)."""

    array: str
    index: int
    value: dict[str, Any]


@dataclass
class FieldDone:
    name: str
    value: str


StreamEvent = FileStarted | ItemDone | FieldDone


@dataclass
class _Frame:
    kind: str
    key: str | None = None
    expect_key: bool = True
    index: int = 0


@dataclass
class _Recorder:
    pieces: list[str] = field(default_factory=list)
    start: int = 0


class FileTreeStreamParser:
    def __init__(self) -> None:
        self._chunks: list[str] = []
        self._stack: list[_Frame] = []
        self._in_string = False
        self._escape = False
        self._string_role: str | None = None
        self._recorders: dict[str, _Recorder] = {}
        self.files_done = 0

    @property
    def text(self) -> str:
        """Everything fed so far (the raw tool input)."""
        return "".join(self._chunks)

    def _item_context(self) -> str | None:
        """'files' or 'edits' when the innermost container is an element object of that array."""
        if len(self._stack) == 3 and self._stack[1].kind == "[" and self._stack[2].kind == "{":
            key = self._stack[0].key
            return key if key in _ITEM_ARRAYS else None
        return None

    def _start(self, name: str, at: int) -> None:
        self._recorders[name] = _Recorder(start=at)

    def _finish(self, name: str, chunk: str, end: int) -> str:
        recorder = self._recorders.pop(name)
        recorder.pieces.append(chunk[recorder.start : end])
        return "".join(recorder.pieces)

    def _open_string(self, chunk: str, at: int) -> None:
        frame = self._stack[-1] if self._stack else None
        role = None
        if frame is not None and frame.kind == "{" and frame.expect_key:
            role = "key"
        elif frame is not None and frame.kind == "{" and frame.key is not None:
            depth = len(self._stack)
            if depth == 1 and frame.key in _ROOT_STRINGS:
                role = "root:" + frame.key
            elif frame.key == "path" and self._item_context() == "files":
                role = "path"
        self._string_role = role
        if role is not None:
            self._start("string", at)

    def _close_string(self, chunk: str, end: int, events: list[StreamEvent]) -> None:
        role, self._string_role = self._string_role, None
        if role is None:
            return
        value = json.loads(self._finish("string", chunk, end))
        if role == "key":
            self._stack[-1].key = value
        elif role == "path":
            events.append(FileStarted(index=self._stack[1].index, path=value))
        else:
            events.append(FieldDone(name=role.removeprefix("root:"), value=value))

    def feed(self, chunk: str) -> list[StreamEvent]:
        """Read one delta; return what became complete in it."""
        events: list[StreamEvent] = []
        self._chunks.append(chunk)
        for recorder in self._recorders.values():
            recorder.start = 0
        i, n = 0, len(chunk)
        while i < n:
            if self._in_string:
                if self._escape:
                    self._escape = False
                    i += 1
                    continue
                match = _STRING_STOP.search(chunk, i)
                if match is None:
                    break
                j = match.start()
                if chunk[j] == "\\":
                    self._escape = True
                    i = j + 1
                    continue
                self._in_string = False
                self._close_string(chunk, j + 1, events)
                i = j + 1
                continue
            char = chunk[i]
            if char == '"':
                self._in_string = True
                self._open_string(chunk, i)
            elif char in "{[":
                if self._stack and self._stack[-1].kind == "{":
                    self._stack[-1].expect_key = False
                self._stack.append(_Frame(kind=char))
                if char == "{" and self._item_context():
                    self._start("item", i)
            elif char in "}]":
                array = self._item_context() if char == "}" else None
                if array is not None:
                    value = json.loads(self._finish("item", chunk, i + 1))
                    events.append(ItemDone(array=array, index=self._stack[1].index, value=value))
                    if array == "files":
                        self.files_done += 1
                if self._stack:
                    self._stack.pop()
            elif char == ":":
                if self._stack:
                    self._stack[-1].expect_key = False
            elif char == ",":
                if self._stack:
                    frame = self._stack[-1]
                    if frame.kind == "{":
                        frame.expect_key = True
                        frame.key = None
                    else:
                        frame.index += 1
            i += 1
        for recorder in self._recorders.values():
            recorder.pieces.append(chunk[recorder.start :])
        return events
