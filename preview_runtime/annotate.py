"""Source places for the preview's Select mode: `data-forja-src="path:line:col"` on HTML elements.

Applied only to the copy a preview runs (never to the stored project, the Code tab, exports or
history), so a click in the preview can name the spot in the source that made the element. The
attribute goes on the same line as the tag name, so the preview's line numbers stay right.

Only intrinsic HTML elements (h1, p, button...) get it: a component or a custom element might not
pass unknown attributes on, or might warn about them. A file this scanner cannot follow (an
unclosed string, braces that do not balance, a template language it does not know) is returned
unchanged: an unannotated element is a smaller loss than a preview that no longer compiles.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Mapping

ATTRIBUTE = "data-forja-src"
EXTENSIONS = (".jsx", ".tsx", ".vue", ".svelte")
# Larger files are rarely hand-written markup; scanning them is not worth the time.
MAX_BYTES = 512 * 1024

HTML_ELEMENTS = frozenset(
    "a abbr address article aside audio b blockquote button canvas caption cite code dd del details dfn dialog div "
    "dl dt em fieldset figcaption figure footer form h1 h2 h3 h4 h5 h6 header hr i img input ins kbd label legend li "
    "main mark menu nav ol optgroup option output p picture pre progress q s samp section select small span strong "
    "sub summary sup table tbody td textarea tfoot th thead time tr u ul video".split()
)

_NAME = re.compile(r"[A-Za-z_$][\w$.:-]*")
_WORD = re.compile(r"[A-Za-z_$][\w$]*")
# After these a `<` opens JSX; after an identifier or `)` it is a comparison or a TypeScript generic.
_JSX_AFTER = frozenset("(,=:?{[!&|;}>") | {""}
_JSX_AFTER_WORDS = frozenset({"return", "yield", "await", "default", "case", "else", "do"})
# After these a `/` starts a regular expression rather than a division.
_REGEX_AFTER = _JSX_AFTER | frozenset("+-*%<~^")
_REGEX_AFTER_WORDS = _JSX_AFTER_WORDS | {"typeof", "in", "of", "instanceof", "new", "delete", "void", "throw"}
_RAW_TEXT = ("script", "style")


class _Unsafe(Exception):
    """The scanner lost its way in this file: leave it as it is."""


class _Places:
    def __init__(self, text: str, path: str) -> None:
        self.s = text
        self.n = len(text)
        self.i = 0
        self.path = path
        self.inserts: list[tuple[int, str]] = []
        self._lines = [0] + [m.end() for m in re.finditer(r"\n", text)]

    def mark(self, tag_start: int, name_end: int) -> None:
        line = bisect.bisect_right(self._lines, tag_start)
        col = tag_start - self._lines[line - 1] + 1
        self.inserts.append((name_end, f' {ATTRIBUTE}="{self.path}:{line}:{col}"'))

    def result(self) -> str:
        out, last = [], 0
        for at, text in sorted(self.inserts):
            out += [self.s[last:at], text]
            last = at
        return "".join(out) + self.s[last:]

    def skip_quoted(self, quote: str, newline_ok: bool) -> None:
        """From an opening quote to just past its closing one."""
        i = self.i + 1
        while i < self.n:
            c = self.s[i]
            if c == "\\" and not newline_ok:
                i += 2
                continue
            if c == quote:
                self.i = i + 1
                return
            if c == "\n" and not newline_ok:
                raise _Unsafe
            i += 1
        raise _Unsafe


class _Jsx(_Places):
    def js(self, until_brace: bool) -> None:
        """JavaScript up to the `}` closing an expression (or the end of the file), with the JSX in it."""
        depth, prev = 0, ""
        s = self.s
        while self.i < self.n:
            c = s[self.i]
            if c in " \t\r\n":
                self.i += 1
            elif s.startswith("//", self.i):
                end = s.find("\n", self.i)
                self.i = self.n if end < 0 else end
            elif s.startswith("/*", self.i):
                end = s.find("*/", self.i + 2)
                if end < 0:
                    raise _Unsafe
                self.i = end + 2
            elif c in "\"'":
                self.skip_quoted(c, newline_ok=False)
                prev = "a"
            elif c == "`":
                self.template()
                prev = "a"
            elif c == "/" and prev in _REGEX_AFTER | _REGEX_AFTER_WORDS:
                self.regex()
                prev = "a"
            elif (
                c == "<"
                and prev in _JSX_AFTER | _JSX_AFTER_WORDS
                and self.i + 1 < self.n
                and (s[self.i + 1] == ">" or s[self.i + 1].isalpha())
            ):
                self.element()
                prev = "a"
            elif (word := _WORD.match(s, self.i)) is not None:
                self.i = word.end()
                prev = word.group() if word.group() in _REGEX_AFTER_WORDS else "a"
            else:
                if c in "([{":
                    depth += 1
                elif c in ")]}":
                    if c == "}" and depth == 0 and until_brace:
                        self.i += 1
                        return
                    depth -= 1
                    if depth < 0:
                        raise _Unsafe
                prev = "a" if c in ")]" or c.isdigit() else c
                self.i += 1
        if until_brace or depth:
            raise _Unsafe

    def template(self) -> None:
        self.i += 1
        while self.i < self.n:
            c = self.s[self.i]
            if c == "\\":
                self.i += 2
            elif c == "`":
                self.i += 1
                return
            elif self.s.startswith("${", self.i):
                self.i += 2
                self.js(until_brace=True)
            else:
                self.i += 1
        raise _Unsafe

    def regex(self) -> None:
        i, in_class = self.i + 1, False
        while i < self.n:
            c = self.s[i]
            if c == "\\":
                i += 2
                continue
            if c == "\n":
                raise _Unsafe
            if c == "[":
                in_class = True
            elif c == "]":
                in_class = False
            elif c == "/" and not in_class:
                self.i = i + 1
                while self.i < self.n and self.s[self.i].isalpha():
                    self.i += 1
                return
            i += 1
        raise _Unsafe

    def skip_space(self) -> None:
        while self.i < self.n and self.s[self.i] in " \t\r\n":
            self.i += 1

    def element(self) -> None:
        start = self.i
        self.i += 1
        if self.s[self.i] == ">":  # a fragment
            self.i += 1
            self.children("")
            return
        name = _NAME.match(self.s, self.i)
        if name is None:
            raise _Unsafe
        self.i = name.end()
        if name.group() in HTML_ELEMENTS:
            self.mark(start, name.end())
        while True:
            self.skip_space()
            if self.i >= self.n:
                raise _Unsafe
            c = self.s[self.i]
            if self.s.startswith("/>", self.i):
                self.i += 2
                return
            if c == ">":
                self.i += 1
                self.children(name.group())
                return
            if c == "{":
                self.i += 1
                self.js(until_brace=True)
                continue
            attribute = _NAME.match(self.s, self.i)
            if attribute is None:
                raise _Unsafe
            self.i = attribute.end()
            self.skip_space()
            if self.i < self.n and self.s[self.i] == "=":
                self.i += 1
                self.skip_space()
                value = self.s[self.i : self.i + 1]
                if value in ("'", '"'):
                    self.skip_quoted(value, newline_ok=True)
                elif value == "{":
                    self.i += 1
                    self.js(until_brace=True)
                elif value == "<":
                    self.element()
                else:
                    raise _Unsafe

    def children(self, name: str) -> None:
        while self.i < self.n:
            c = self.s[self.i]
            if c == "{":
                self.i += 1
                self.js(until_brace=True)
            elif self.s.startswith("</", self.i):
                end = self.s.find(">", self.i)
                if end < 0 or self.s[self.i + 2 : end].strip() != name:
                    raise _Unsafe
                self.i = end + 1
                return
            elif c == "<":
                self.element()
            else:
                self.i += 1
        raise _Unsafe


class _Markup(_Places):
    """Vue and Svelte components: HTML-like markup, with {{ }} (Vue) or { } (Svelte) expressions."""

    def __init__(self, text: str, path: str, svelte: bool) -> None:
        super().__init__(text, path)
        self.svelte = svelte

    def braces(self) -> None:
        """From `{` to past its matching `}`, over strings in the expression."""
        depth = 0
        while self.i < self.n:
            c = self.s[self.i]
            if c in "\"'`":
                self.skip_quoted(c, newline_ok=c == "`")
                continue
            if c == "{":
                depth += 1
            elif c == "}":
                depth -= 1
                if depth == 0:
                    self.i += 1
                    return
            self.i += 1
        raise _Unsafe

    def scan(self) -> None:
        s = self.s
        while self.i < self.n:
            c = s[self.i]
            if s.startswith("<!--", self.i):
                end = s.find("-->", self.i)
                if end < 0:
                    raise _Unsafe
                self.i = end + 3
            elif c == "{" and (self.svelte or s.startswith("{{", self.i)):
                self.braces()
            elif s.startswith("</", self.i):
                end = s.find(">", self.i)
                if end < 0:
                    raise _Unsafe
                self.i = end + 1
            elif c == "<" and self.i + 1 < self.n and s[self.i + 1].isalpha():
                self.tag()
            else:
                self.i += 1

    def tag(self) -> None:
        start = self.i
        name = _NAME.match(self.s, self.i + 1)
        if name is None:
            raise _Unsafe
        self.i = name.end()
        tag = name.group()
        if tag in HTML_ELEMENTS:
            self.mark(start, name.end())
        attributes_start = self.i
        while True:
            if self.i >= self.n:
                raise _Unsafe
            c = self.s[self.i]
            if c in "\"'":
                self.skip_quoted(c, newline_ok=True)
            elif c == "{" and self.svelte:
                self.braces()
            elif c == ">":
                self.i += 1
                break
            else:
                self.i += 1
        attributes = self.s[attributes_start : self.i]
        if tag == "template" and re.search(r"\blang\s*=\s*[\"'](?!html)", attributes):
            raise _Unsafe  # pug and the like: not markup this scanner reads
        if tag.lower() in _RAW_TEXT and not attributes.rstrip().endswith("/>"):
            end = self.s.find(f"</{tag}", self.i)
            if end < 0:
                raise _Unsafe
            self.i = end


def annotate_source(path: str, text: str) -> str:
    """`text` with every intrinsic element's opening tag marked with its place; unchanged when unsure."""
    try:
        if path.endswith((".jsx", ".tsx")):
            jsx = _Jsx(text, path)
            jsx.js(until_brace=False)
            return jsx.result()
        markup = _Markup(text, path, svelte=path.endswith(".svelte"))
        markup.scan()
        return markup.result()
    except (_Unsafe, IndexError):
        return text


def expression_end(text: str, start: int, jsx: bool) -> int | None:
    """Just past the `}` closing the expression that opens at `start` (`{` in JSX and Svelte, `{{` in Vue), over the
    strings, templates and JSX inside it; None when this scanner cannot follow it."""
    try:
        if jsx:
            scanner = _Jsx(text, "")
            scanner.i = start + 1
            scanner.js(until_brace=True)
            return scanner.i
        markup = _Markup(text, "", svelte=True)
        markup.i = start
        markup.braces()
        return markup.i
    except (_Unsafe, IndexError):
        return None


def annotate(files: Mapping[str, bytes]) -> dict[str, bytes]:
    """The files, with the components among them annotated (see annotate_source); other files as they are."""
    out: dict[str, bytes] = {}
    for path, data in files.items():
        if path.endswith(EXTENSIONS) and len(data) <= MAX_BYTES and "node_modules/" not in path:
            try:
                text = data.decode("utf-8")
            except UnicodeDecodeError:
                out[path] = data
                continue
            data = annotate_source(path, text).encode("utf-8")
        out[path] = data
    return out
