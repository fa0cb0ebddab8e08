"""An element the person picked in the preview's Select mode, and what it means for a follow-up.

The preview is untrusted code, so what its script reports is read field by field, typed and capped
here, never passed on as it came.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from builder.text import shorten

MAX_TEXT = 2000
MAX_PLACE = 1000
_TAG = re.compile(r"^[a-z][a-z0-9-]{0,40}$")
_SRC = re.compile(r"^[^\s:][^:]*:\d+:\d+$")
# Offline, with an element picked, a follow-up that only gives its new text: 'change it to "Hello"', '"Hello"'.
_NEW_TEXT = re.compile(
    r"^\s*(?:(?:change|set|make|rename|replace)\s+)?(?:(?:the|its|this)\s+)?(?:text|it|this|heading|title|label)?\s*"
    r"(?:to|with|into|as|:)?\s*[\"\u201c\u2018'](?P<new>[^\"\u201d\u2019]+)[\"\u201d\u2019']\s*[.!]?\s*$",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Picked:
    tag: str
    text: str = ""
    # `path:line:col` of the element's opening tag (components), or of the nearest marked ancestor in `near`.
    src: str = ""
    near: str = ""
    # For plain HTML: a CSS-like path from <html>, on the page at `page`.
    dom_path: str = ""
    page: str = "/"
    # The element holds text only, so its text can be typed over in the preview.
    leaf: bool = False

    @property
    def place(self) -> str:
        """Where it is, in the fewest words: `src/App.jsx:12`, `index.html` at a DOM path, or nothing known."""
        src = self.src or self.near
        if src:
            return src.rsplit(":", 1)[0]
        return self.page_file

    @property
    def page_file(self) -> str:
        name = self.page.strip("/")
        return name if name.endswith((".html", ".htm")) else f"{name}/index.html".lstrip("/")

    def title(self) -> str:
        """The chip's first line: `Editing <h1> “Welcome”`."""
        words = f"Editing <{self.tag}>"
        return f"{words} \u201c{shorten(self.text, 60)}\u201d" if self.text else words

    def label(self) -> str:
        """The chip's whole story in one line (its tooltip): `Editing <h1> “Welcome” · src/App.jsx:12`."""
        return f"{self.title()} \u00b7 {self.place}" if self.place else self.title()

    def prompt_note(self) -> str:
        """What the model is told about the element, so it changes that spot and not another."""
        lines = [f"The person picked this element in the preview; the request is about it: <{self.tag}>"]
        if self.text:
            lines.append(f"Its text: \u201c{shorten(self.text, 300)}\u201d")
        if self.src:
            path, line, col = self.src.rsplit(":", 2)
            lines.append(f"Its opening tag is at {path}, line {line}, column {col}.")
        elif self.near:
            path, line, col = self.near.rsplit(":", 2)
            lines.append(f"It is rendered inside the element whose opening tag is at {path}, line {line}, column {col}.")
        if self.dom_path and not self.src:
            lines.append(f"Its place in the page {self.page_file}: {self.dom_path}")
        return "\n".join(lines)


def _field(data: dict[str, object], key: str, limit: int) -> str:
    value = data.get(key, "")
    return value[:limit] if isinstance(value, str) else ""


def picked_from_message(raw: str) -> Picked | None:
    """The element a preview reported (JSON from its frame); None when the message is not one."""
    try:
        data = json.loads(raw)
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    fields: dict[str, object] = {str(k): v for k, v in data.items()}  # pyright: ignore[reportUnknownVariableType]
    tag = _field(fields, "tag", 41)
    if not _TAG.match(tag):
        return None
    src, near = _field(fields, "src", MAX_PLACE), _field(fields, "near", MAX_PLACE)
    return Picked(
        tag=tag,
        text=_field(fields, "text", MAX_TEXT),
        src=src if _SRC.match(src) else "",
        near=near if _SRC.match(near) else "",
        dom_path=_field(fields, "path", MAX_PLACE * 2),
        page=_field(fields, "page", MAX_PLACE) or "/",
        leaf=fields.get("leaf") is True,
    )


def with_picked(request: str, picked: Picked) -> str:
    """The follow-up as the model reads it: the request, then the element it is about."""
    return f"{request}\n\n{picked.prompt_note()}"


def new_text_request(request: str) -> str | None:
    """The new text, when a follow-up about a picked element only gives one ('change it to "Hello"')."""
    found = _NEW_TEXT.match(request)
    return found["new"].strip() if found else None
