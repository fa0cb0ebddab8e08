"""Forja's inline scripts in the HTML pages of a preview's running copy, placed where an HTML tokenizer says.

Every script goes at one place, in the order given: first thing in the page's <head> when it has one, else right
after <html>, else right after the doctype, else at the very start (after a byte order mark). The place is found
by tokenizing the page (html.parser), never by searching its text: a comment, a string in a script, an attribute
value or an earlier injected script that mentions `<html>` or `<head>` is not a tag. Only the tokens a browser reads
before the head count: once the page shows content (a <title>, text, <h1>...) the browser has opened the head by
itself, and a later <head> tag is ignored, so it is ignored here too.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from html.parser import HTMLParser

_BOM = b"\xef\xbb\xbf"
# HTML's own whitespace: str.strip() would also take NO-BREAK SPACE (0xa0), which is page content.
_SPACE = " \t\n\r\f"


@dataclass(frozen=True)
class PageScript:
    """An inline script; `marker`, an attribute on its tag, tells that a page has it already."""

    marker: str
    source: str

    @classmethod
    def filled(cls, marker: str, source: str, origins: Iterable[str], **fills: str) -> PageScript:
        """`source` with __ORIGINS__ (the builder's, as a JSON list) and the other placeholders filled in."""
        # "</" would end the script element early wherever it is in an inline script, a string included.
        values = {"__ORIGINS__": json.dumps(sorted(origins)).replace("</", "<\\/"), **fills}
        for placeholder, value in values.items():
            source = source.replace(placeholder, value)
        return cls(marker, source)

    @property
    def tag(self) -> bytes:
        return f"<script {self.marker}>{self.source}</script>".encode()


class _Stop(Exception):
    """The tokens that decide the place are behind: the rest of the page does not matter."""


class _Place(HTMLParser):
    """Reads the start of a page up to its head (or what stands for it): where scripts go, and which of Forja's are
    there already (they sit at that place, so they are read on the way)."""

    def __init__(self, text: str, markers: Iterable[str]) -> None:
        super().__init__(convert_charrefs=False)
        self.text = text
        self.markers = frozenset(markers)
        self.at = 0
        self.present: set[str] = set()
        self._in_own = False
        self._in_head = False
        self._line_starts = [0]
        self._line_starts += [i + 1 for i, c in enumerate(text) if c == "\n"]

    def _offset(self) -> int:
        """Where the token being handled starts, as an index into the text."""
        line, column = self.getpos()
        return self._line_starts[line - 1] + column

    def read(self) -> None:
        try:
            self.feed(self.text)
            self.close()
        except _Stop:
            pass

    def handle_decl(self, decl: str) -> None:
        if self._in_head or decl[:7].lower() != "doctype":
            raise _Stop
        self.at = self._offset() + len(decl) + 3  # "<!" decl ">"

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        end = self._offset() + len(self.get_starttag_text() or "")
        if tag == "script" and (own := self.markers & {name for name, _ in attrs}):
            self.present |= own
            self._in_own = True
            return
        if self._in_head or tag not in ("html", "head"):
            raise _Stop
        self.at = end
        self._in_head = tag == "head"

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)  # <head/> opens a head like <head>: HTML has no self-closing elements

    def handle_endtag(self, tag: str) -> None:
        if not (self._in_own and tag == "script"):
            raise _Stop
        self._in_own = False
        # After Forja's scripts already there, so the added ones keep the order they were given in.
        self.at = self.text.index(">", self._offset()) + 1

    def handle_data(self, data: str) -> None:
        if not self._in_own and data.strip(_SPACE):
            raise _Stop

    def unknown_decl(self, data: str) -> None:
        raise _Stop  # <![CDATA[ is content


def insertion_point(page: bytes, markers: Iterable[str] = ()) -> tuple[int, set[str]]:
    """Where scripts go in `page` (a byte offset, see the module's docstring), and which of `markers` are on
    Forja scripts there already."""
    start = len(_BOM) if page.startswith(_BOM) else 0
    # Latin-1 maps each byte to one character, so offsets in the text are offsets in the page, whatever its
    # encoding; the tags and names read here are ASCII in every encoding a page may use.
    place = _Place(page[start:].decode("latin-1"), markers)
    place.read()
    return start + place.at, place.present


def add_to_page(page: bytes, scripts: Sequence[PageScript]) -> bytes:
    """`page` with those of `scripts` it lacks, in their order, at its insertion point."""
    at, present = insertion_point(page, (script.marker for script in scripts))
    tags = b"".join(script.tag for script in scripts if script.marker not in present)
    return page[:at] + tags + page[at:]


def add_to_pages(files: Mapping[str, bytes], scripts: Sequence[PageScript]) -> dict[str, bytes]:
    """The files with `scripts` in each HTML page (see add_to_page); other files as they are."""
    return {
        path: add_to_page(data, scripts) if scripts and path.lower().endswith((".html", ".htm")) else data
        for path, data in files.items()
    }
