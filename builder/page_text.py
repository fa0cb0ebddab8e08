"""A web page's readable text, for a model to read (the agent's fetch_url, builder/services/page_fetch.py).

What a person reads on the page stays, in a Markdown-like shape a model knows: the title, headings as `#` lines,
paragraphs, list items as `- ` lines, table rows, and code blocks fenced whole with their spacing. What is not the
page's text goes: scripts, styles, the site's navigation and search, forms, pictures. Python's own HTML parser
reads it, which copes with the unclosed tags pages are full of.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

# Elements whose whole content is dropped; an element with one of these roles too (Sphinx's sidebar is a div).
_DROPPED = frozenset({"script", "style", "noscript", "template", "svg", "canvas", "iframe", "nav", "form", "select", "button"})
_DROPPED_ROLES = frozenset({"navigation", "search", "banner", "contentinfo"})
_VOID = frozenset({"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"})
# Elements that end a line of text where they start and where they end.
_BLOCKS = frozenset(
    {
        *("p", "div", "section", "article", "main", "header", "footer", "aside", "blockquote", "figure", "figcaption"),
        *("ul", "ol", "dl", "dt", "dd", "table", "thead", "tbody", "tr", "hr", "br", "details", "summary", "address"),
    }
)
_HEADINGS = {f"h{level}": "#" * level for level in range(1, 7)}
_SPACES = re.compile(r"\s+")


class _Reader(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.title = ""
        self.lines: list[str] = []
        self._line: list[str] = []
        self._prefix = ""
        self._skipping: tuple[str, int] | None = None  # the dropped element's tag and how deep in it we are
        self._in_title = False
        self._pre = 0
        self._code: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self._skipping is not None:
            if tag == self._skipping[0] and tag not in _VOID:
                self._skipping = (tag, self._skipping[1] + 1)
            return
        if tag == "title":
            self._in_title = True
        elif tag in _DROPPED or dict(attrs).get("role") in _DROPPED_ROLES or dict(attrs).get("aria-hidden") == "true":
            if tag not in _VOID:
                self._skipping = (tag, 1)
        elif tag == "pre":
            self._end_line()
            self._pre += 1
        elif self._pre:
            return
        elif tag in _HEADINGS:
            self._end_line()
            self._prefix = _HEADINGS[tag] + " "
        elif tag == "li":
            self._end_line()
            self._prefix = "- "
        elif tag in ("td", "th") and "".join(self._line).strip():
            self._line.append(" | ")
        elif tag == "code":
            self._line.append("`")
        elif tag in _BLOCKS:
            self._end_line()

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self._skipping is None and tag in ("br", "hr"):
            self._end_line()

    def handle_endtag(self, tag: str) -> None:
        if self._skipping is not None:
            if tag == self._skipping[0]:
                depth = self._skipping[1] - 1
                self._skipping = (tag, depth) if depth else None
            return
        if tag == "title":
            self._in_title = False
        elif tag == "pre" and self._pre:
            self._pre -= 1
            if not self._pre:
                code = "".join(self._code).strip("\n")
                self._code = []
                if code.strip():
                    self.lines.append(f"```\n{code}\n```")
        elif self._pre:
            return
        elif tag == "code":
            self._line.append("`")
        elif tag in _HEADINGS or tag == "li" or tag in _BLOCKS:
            self._end_line()

    def handle_data(self, data: str) -> None:
        if self._skipping is not None:
            return
        if self._in_title:
            self.title += data
        elif self._pre:
            self._code.append(data)
        else:
            self._line.append(data)

    def _end_line(self) -> None:
        text = _SPACES.sub(" ", "".join(self._line)).strip()
        if text:
            self.lines.append(self._prefix + text)
        self._line = []
        self._prefix = ""

    def close(self) -> None:
        super().close()
        self._end_line()


def html_text(html: str) -> str:
    """The readable text of an HTML page, its title first."""
    reader = _Reader()
    reader.feed(html)
    reader.close()
    title = _SPACES.sub(" ", reader.title).strip()
    text = f"Title: {title}" if title else ""
    for line in reader.lines:
        # A list's items on lines of their own; any other block after a blank line.
        together = line.startswith("- ") and text.rpartition("\n")[2].startswith("- ")
        text += ("\n" if together else "\n\n") + line if text else line
    return text
