"""Text typed straight into an element of the preview, saved as a new version with no model call.

The preview's Select mode reports where the element came from: `path:line:col` of its opening tag
in a component (annotate.py marks the running copy), or a DOM path for a plain HTML page. The old
text must be found exactly there (whitespace may differ, since the browser collapses it), else
nothing is saved and the person is told why: a guess would change the wrong spot.

An element whose text comes from an expression (`<h1>{site.title}</h1>`, as the starters write it)
has no text at its place; then the old text is looked for as a string literal in the project, and
replaced when it is there exactly once.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from html.parser import HTMLParser

from builder.errors import InvalidInput, TextNotFound
from builder.filetree import encode_like, text_of
from builder.schemas import CommitResult
from builder.services.projects import ProjectService
from builder.text import shorten

COMPONENT_EXTENSIONS = (".jsx", ".tsx", ".vue", ".svelte")
_PLACE = re.compile(r"^(?P<path>[^\s:][^:]*):(?P<line>[1-9]\d*):(?P<col>[1-9]\d*)$")
_VOID = frozenset("area base br col embed hr img input link meta source track wbr".split())
_SKIPPED_FOLDERS = ("node_modules/", "dist/", "build/", ".git/")


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


def _pattern(old: str) -> re.Pattern[str]:
    """The old text as the source may spell it: any run of whitespace may be any other."""
    words = old.split()
    if not words:
        raise InvalidInput("The element had no text to replace.")
    return re.compile(r"\s+".join(map(re.escape, words)))


def _escaped(new: str, jsx: bool) -> str:
    """`new` as literal text in markup: what would start a tag or an expression is written as an entity."""
    text = html.escape(new, quote=False)
    return text.replace("{", "&#123;").replace("}", "&#125;") if jsx else text


def _replace_once(region: str, old: str, new: str) -> str | None:
    found = list(_pattern(old).finditer(region))
    if len(found) != 1:
        return None
    return region[: found[0].start()] + new + region[found[0].end() :]


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


def _replace_in_leaf(source: str, start: int, old: str, new: str, jsx: bool) -> str | None:
    """Replace `old` in the text right after the opening tag at `start`, up to the next tag; None when not there."""
    body = _opening_tag_end(source, start)
    if source[body - 2] == "/":
        return None
    end = source.find("<", body)
    end = len(source) if end < 0 else end
    replaced = _replace_once(source[body:end], old, _escaped(new, jsx))
    return None if replaced is None else source[:body] + replaced + source[end:]


def replace_in_component(source: str, line: int, col: int, old: str, new: str) -> str | None:
    """The component's source with the element at line:col (1-based) holding `new`; None when `old` is not there."""
    lines = source.split("\n")
    if line > len(lines) or col > len(lines[line - 1]):
        raise TextNotFound("The source changed since the preview showed this element; try again once it reloads.")
    start = sum(len(text) + 1 for text in lines[: line - 1]) + col - 1
    if source[start] != "<":
        raise TextNotFound("The source changed since the preview showed this element; try again once it reloads.")
    return _replace_in_leaf(source, start, old, new, jsx=True)


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


def replace_in_page(source: str, dom_path: str, old: str, new: str) -> str | None:
    """The HTML page with the element at `dom_path` holding `new`; None when `old` is not its text."""
    finder = _PathFinder(dom_path)
    finder.feed(source)
    finder.close()
    if finder.found is None:
        return None
    line, offset = finder.found
    start = sum(len(text) + 1 for text in source.split("\n")[: line - 1]) + offset
    return _replace_in_leaf(source, start, old, new, jsx=False)


def _literal_once(files: Mapping[str, str], old: str, new: str) -> Replaced | None:
    """`old` as a quoted string literal found in exactly one place in the project's scripts and data."""
    hits: list[tuple[str, int, int, str]] = []
    for path, text in files.items():
        if not path.endswith((".js", ".jsx", ".ts", ".tsx", ".json", ".vue", ".svelte", ".mjs")) or path.startswith(
            _SKIPPED_FOLDERS
        ):
            continue
        for quote in ('"', "'", "`"):
            literal = quote + old + quote
            at = text.find(literal)
            while at >= 0:
                hits.append((path, at, at + len(literal), quote))
                at = text.find(literal, at + 1)
    if len(hits) != 1:
        return None
    path, start, end, quote = hits[0]
    text = files[path]
    literal = json.dumps(new, ensure_ascii=False) if quote == '"' else quote + new.replace(quote, "\\" + quote) + quote
    return Replaced(path, text[:start] + literal + text[end:])


def page_file(page: str, files: Mapping[str, str]) -> str | None:
    """The HTML file the preview's address shows ("/" is index.html)."""
    name = page.strip("/")
    for candidate in (name, f"{name}/index.html" if name else "index.html", f"public/{name}"):
        if candidate in files and candidate.endswith((".html", ".htm")):
            return candidate
    return None


def locate(files: Mapping[str, str], change: TextChange) -> Replaced:
    """The one file the change rewrites, with its new content; TextNotFound (nothing is changed) when unsure."""
    if change.old.strip() == change.new.strip():
        raise InvalidInput("The text did not change.")
    if not change.new.strip():
        raise InvalidInput("The new text is empty; to remove an element, ask for it in the follow-up box.")
    replaced: str | None = None
    where = ""
    if change.src:
        place = _PLACE.match(change.src)
        if place is None:
            raise InvalidInput(f"Not a source place: {shorten(change.src, 80)} (expected path:line:column).")
        where = place["path"]
        if where not in files or not where.endswith(COMPONENT_EXTENSIONS):
            raise TextNotFound(f"{where} is not a component of this project.")
        replaced = replace_in_component(files[where], int(place["line"]), int(place["col"]), change.old, change.new)
    elif change.dom_path:
        found = page_file(change.page, files)
        if found is None:
            raise TextNotFound("The page this element is on is not an HTML file of the project.")
        where = found
        replaced = replace_in_page(files[where], change.dom_path, change.old, change.new)
    else:
        raise InvalidInput("The element's place is missing.")
    if replaced is not None:
        return Replaced(where, replaced)
    literal = _literal_once(files, change.old, change.new)
    if literal is not None:
        return literal
    raise TextNotFound(
        f"\u201c{shorten(change.old, 60)}\u201d is not written as plain text in {where} (it may be computed by the app); "
        "ask for the change in the follow-up box instead."
    )


def version_message(change: TextChange) -> str:
    return f"Text: \u201c{shorten(change.old.strip(), 40)}\u201d \u2192 \u201c{shorten(change.new.strip(), 40)}\u201d"


class TextEditService:
    """Direct text edits of a project's current version (the preview's Select mode, the HTTP API)."""

    def __init__(self, projects: ProjectService) -> None:
        self._projects = projects

    async def replace_text(self, project_id: str, change: TextChange, user_id: str | None = None) -> CommitResult:
        tree = await self._projects.read_tree(project_id)
        files = {
            path: text
            for path, data in tree.items()
            if not path.startswith(_SKIPPED_FOLDERS) and (text := text_of(data)) is not None
        }
        replaced = locate(files, change)
        # A UTF-16 page stays UTF-16: only the words change.
        data = encode_like(replaced.path, tree[replaced.path], replaced.content)
        return await self._projects.save(project_id, {replaced.path: data}, message=version_message(change), user_id=user_id)
