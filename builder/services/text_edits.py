"""Text typed straight into an element of the preview, saved as a new version with no model call.

The preview's Select mode reports where the element came from: `path:line:col` of its opening tag
in a component (annotate.py marks the running copy), or a DOM path for a plain HTML page. The old
text must show there exactly (element_text.py: written words and pieces of code, whitespace as the
browser shows it), else nothing is saved and the person is told why: a guess would change the wrong spot.

An element whose whole text comes from an expression (`<h1>{site.title}</h1>`, as the starters write it)
has no words at its place; then the old text is looked for as a string literal in the app's files,
and replaced when it is there exactly once. Only files the app shows are changed (builder.app_files):
never a check, a test or a tool's file that quotes the same words. An acceptance check that quotes
the element's old words follows the edit in the same version (check_quotes.py).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from html.parser import HTMLParser

from builder.app_files import shown_by_the_app
from builder.errors import InvalidInput, TextNotFound
from builder.filetree import encode_like, text_of
from builder.schemas import CommitResult
from builder.services.check_quotes import following_checks
from builder.services.element_text import InCode, NotThere, Unplaced, change_text, shown, syntax_of
from builder.services.projects import ProjectService
from builder.text import shorten
from preview_runtime.check_script import js_string

COMPONENT_EXTENSIONS = (".jsx", ".tsx", ".vue", ".svelte")
_PLACE = re.compile(r"^(?P<path>[^\s:][^:]*):(?P<line>[1-9]\d*):(?P<col>[1-9]\d*)$")
_VOID = frozenset("area base br col embed hr img input link meta source track wbr".split())
_SOURCE_CHANGED = "The source changed since the preview showed this element; try again once it reloads."
_ASK = "Ask for this change in the follow-up box, or make it in the Code tab."


@dataclass(frozen=True)
class TextChange:
    """What the preview reported: the element's place (`src`, else `dom_path` on `page`), its old and new text."""

    old: str
    new: str
    src: str = ""
    dom_path: str = ""
    page: str = "/"


@dataclass(frozen=True)
class Replaced:
    path: str
    content: str


def _quoted(text: str, limit: int = 60) -> str:
    return f"\u201c{shorten(text, limit)}\u201d"


def _opening_tag_end(source: str, start: int) -> int:
    """Index just past the `>` of the opening tag at `start`, over quoted and braced attribute values."""
    i, depth = start + 1, 0
    while i < len(source):
        c = source[i]
        if (c in "\"'" and depth == 0) or (c in "\"'`" and depth > 0):
            end = source.find(c, i + 1)
            if end < 0:
                break
            i = end
        elif c == "{":
            depth += 1
        elif c == "}":
            depth -= 1
        elif c == ">" and depth == 0:
            return i + 1
        i += 1
    raise TextNotFound("The element's opening tag does not end where expected.")


def _text_start(source: str, start: int) -> int:
    """Where the text of the element whose opening tag is at `start` begins; NotThere for a tag that closes itself."""
    body = _opening_tag_end(source, start)
    if source[body - 2] == "/":
        raise NotThere
    return body


def component_text(source: str, line: int, col: int) -> int:
    """Where the text of the component's element at line:col (1-based) begins."""
    lines = source.split("\n")
    if line > len(lines) or col > len(lines[line - 1]):
        raise TextNotFound(_SOURCE_CHANGED)
    start = sum(len(text) + 1 for text in lines[: line - 1]) + col - 1
    if source[start] != "<":
        raise TextNotFound(_SOURCE_CHANGED)
    return _text_start(source, start)


class _PathFinder(HTMLParser):
    """Where the element at a DOM path (`html > body:nth-of-type(1) > h1:nth-of-type(2)`) starts in a page."""

    def __init__(self, target: str) -> None:
        super().__init__(convert_charrefs=True)
        self.target = [part.strip() for part in target.split(">")]
        self.stack: list[tuple[str, dict[str, int]]] = [("", {})]
        self.path: list[str] = []
        self.found: tuple[int, int] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        counts = self.stack[-1][1]
        counts[tag] = counts.get(tag, 0) + 1
        part = tag if len(self.stack) == 1 else f"{tag}:nth-of-type({counts[tag]})"
        if self.found is None and [*self.path, part] == self.target:
            self.found = self.getpos()
        if tag not in _VOID:
            self.stack.append((tag, {}))
            self.path.append(part)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag not in _VOID:
            self.handle_endtag(tag)

    def handle_endtag(self, tag: str) -> None:
        for depth in range(len(self.stack) - 1, 0, -1):
            if self.stack[depth][0] == tag:
                del self.stack[depth:]
                del self.path[depth - 1 :]
                return


def page_text(source: str, dom_path: str) -> int:
    """Where the text of the HTML page's element at `dom_path` begins; NotThere when the page has no such element."""
    finder = _PathFinder(dom_path)
    finder.feed(source)
    finder.close()
    if finder.found is None:
        raise NotThere
    line, offset = finder.found
    return _text_start(source, sum(len(text) + 1 for text in source.split("\n")[: line - 1]) + offset)


def _literal_hits(files: Mapping[str, str], old: str) -> list[tuple[str, int, int, str]]:
    """Each place `old` is written as a quoted string literal in `files`: path, start, end and quote."""
    hits: list[tuple[str, int, int, str]] = []
    for path, text in files.items():
        for quote in ('"', "'", "`"):
            literal = quote + old + quote
            at = text.find(literal)
            while at >= 0:
                hits.append((path, at, at + len(literal), quote))
                at = text.find(literal, at + 1)
    return hits


def page_file(page: str, files: Mapping[str, str]) -> str | None:
    """The HTML file the preview's address shows ("/" is index.html)."""
    name = page.strip("/")
    for candidate in (name, f"{name}/index.html" if name else "index.html", f"public/{name}"):
        if candidate in files and candidate.endswith((".html", ".htm")):
            return candidate
    return None


def _element_file(files: Mapping[str, str], change: TextChange) -> str:
    """The app's file the element is written in."""
    if change.src:
        place = _PLACE.match(change.src)
        if place is None:
            raise InvalidInput(f"Not a source place: {shorten(change.src, 80)} (expected path:line:column).")
        where = place["path"]
        if where not in files or not where.endswith(COMPONENT_EXTENSIONS):
            raise TextNotFound(f"{where} is not a component of this project.")
        if not shown_by_the_app(where):
            raise TextNotFound(f"{where} is not one of the files the app shows (a test, a check or a tool's file).")
        return where
    if not change.dom_path:
        raise InvalidInput("The element's place is missing.")
    where = page_file(change.page, files)
    if where is None or not shown_by_the_app(where):
        raise TextNotFound("The page this element is on is not an HTML file of the app.")
    return where


def _text_at(source: str, change: TextChange) -> int:
    """Where the element's text begins in its file's `source`; NotThere when the element is not there."""
    place = _PLACE.match(change.src)
    if place is not None:
        return component_text(source, int(place["line"]), int(place["col"]))
    return page_text(source, change.dom_path)


def _not_written(files: Mapping[str, str], old: str, where: str) -> TextNotFound:
    """Why the old text could not be found anywhere to change: computed by the app, or quoted only outside it."""
    quoted = sorted(path for path, text in files.items() if not shown_by_the_app(path) and old in text)
    elsewhere = f" It is written only in {', '.join(quoted[:2])}, which the app does not show." if quoted else ""
    return TextNotFound(f"{_quoted(old)} is not written as plain text in {where} (the app may work it out).{elsewhere} {_ASK}")


def locate(files: Mapping[str, str], change: TextChange) -> Replaced:
    """The one app file the change rewrites, with its new content; TextNotFound (nothing is changed) when unsure.

    `files` are the project's text files; only those the app shows are changed."""
    old, new = shown(change.old), shown(change.new)
    if not old:
        raise InvalidInput("The element had no text to replace.")
    if old == new:
        raise InvalidInput("The text did not change.")
    if not new:
        raise InvalidInput("The new text is empty; to remove an element, ask for it in the follow-up box.")
    where = _element_file(files, change)
    try:
        return Replaced(where, change_text(files[where], _text_at(files[where], change), old, new, syntax_of(where)))
    except NotThere:
        pass  # not at its place (the source moved on, or a script fills it): looked for as the app's data below
    except InCode as split:
        if split.written:
            words = ", ".join(_quoted(word, 40) for word in split.written)
            raise TextNotFound(
                f"{_quoted(old)} is built from pieces of code in {where}, and only its written words ({words}) can be "
                f"typed over here. {_ASK}"
            ) from None
    except Unplaced:
        raise TextNotFound(
            f"These words cannot be written into {where} so that the page shows exactly {_quoted(new)}. {_ASK}"
        ) from None
    app = {path: text for path, text in files.items() if shown_by_the_app(path) and not path.endswith((".html", ".htm"))}
    hits = _literal_hits(app, old)
    if not hits:
        raise _not_written(files, old, where)
    if len(hits) > 1:
        raise TextNotFound(
            f"{_quoted(old)} is written in {len(hits)} places of the app ({', '.join(sorted({h[0] for h in hits}))}), "
            f"and which one this element shows is not clear. {_ASK}"
        )
    path, start, end, quote = hits[0]
    return Replaced(path, app[path][:start] + js_string(new, quote) + app[path][end:])


def version_message(change: TextChange) -> str:
    return f"Text: {_quoted(shown(change.old), 40)} \u2192 {_quoted(shown(change.new), 40)}"


class TextEditService:
    """Direct text edits of a project's current version (the preview's Select mode, the HTTP API)."""

    def __init__(self, projects: ProjectService) -> None:
        self._projects = projects

    async def replace_text(self, project_id: str, change: TextChange, user_id: str | None = None) -> CommitResult:
        """A version in which the app's file shows the new text (and the checks quoting the old text follow)."""
        tree = await self._projects.read_tree(project_id)
        files = {path: text for path, data in tree.items() if (text := text_of(data)) is not None}
        replaced = locate(files, change)
        edited = {**files, replaced.path: replaced.content}
        writes = {replaced.path: replaced.content, **following_checks(edited, shown(change.old), shown(change.new))}
        # A UTF-16 page stays UTF-16: only the words change.
        encoded = {path: encode_like(path, tree[path], content) for path, content in writes.items()}
        return await self._projects.save(project_id, encoded, message=version_message(change), user_id=user_id)
