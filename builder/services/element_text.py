"""An element's text as its source writes it: written words and pieces of code, matched to what the preview showed.

`<h1>Your {noun}</h1>` shows "Your appointments": "Your " is written there, "appointments" is a value the app works
out. Words typed over such an element are saved at its place only when the change falls on written words ("Your" →
"My"), and only when the changed source, with the same values, shows exactly the typed text. A change to a worked-out
value would be a change of code, which a text edit does not make.

Whitespace is compared as the preview reports it (each run one space, none at the ends), after JSX's own rule: the
whitespace of a line break at either end of a piece of text is dropped, one inside it is a space.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from typing import Literal

from preview_runtime.annotate import expression_end

Syntax = Literal["jsx", "vue", "svelte", "html"]

# A run of source whitespace, a character reference, or one character.
_UNIT = re.compile(r"[ \t\r\n]+|&(?:#\d+|#[xX][0-9a-fA-F]+|[A-Za-z][A-Za-z0-9]*);|.", re.DOTALL)
_SPACES = re.compile(r"\s+")


class NotThere(Exception):
    """The source at this place does not show the text the preview reported."""


class InCode(Exception):
    """The change falls on text the app works out, not on words written at this place."""

    def __init__(self, written: list[str]) -> None:
        super().__init__()
        # The element's written words, for the sentence that says what can be typed over ([]: none, all is worked out).
        self.written = written


class Unplaced(Exception):
    """The change falls on written words, but the source with it would not show exactly the typed text."""


def syntax_of(path: str) -> Syntax:
    if path.endswith((".jsx", ".tsx")):
        return "jsx"
    if path.endswith(".vue"):
        return "vue"
    return "svelte" if path.endswith(".svelte") else "html"


def shown(text: str) -> str:
    """Text as the preview reports an element's: each run of whitespace one space, none at either end."""
    return _SPACES.sub(" ", text).strip()


@dataclass(frozen=True)
class _Piece:
    start: int
    end: int
    code: bool


@dataclass(frozen=True)
class _Char:
    """One character the page shows of written text, and the source it comes from (a run of whitespace, `&amp;`)."""

    text: str
    start: int
    end: int


@dataclass(frozen=True)
class _Span:
    """Where a written piece shows in the element's text: its words at `core`, with the spaces beside them that may
    be its own from `start` to `end` (its characters there); and all the piece shows."""

    start: int
    end: int
    core: tuple[int, int]
    chars: list[_Char]
    piece: _Piece
    shows: list[_Char]


def _pieces(source: str, body: int, syntax: Syntax) -> list[_Piece]:
    """The element's text from `body` (just past its opening tag) up to the next tag: written and code pieces."""
    pieces: list[_Piece] = []
    i = start = body
    while i < len(source) and source[i] != "<":
        opens = source[i] == "{" and (syntax in ("jsx", "svelte") or (syntax == "vue" and source.startswith("{{", i)))
        if not opens:
            i += 1
            continue
        if syntax == "svelte" and source[i + 1 : i + 2] in ("#", ":", "/"):
            raise NotThere  # `{#if}…{:else}…{/if}`: which of its texts shows is the app's choice
        end = expression_end(source, i, jsx=syntax == "jsx")
        if end is None:
            raise NotThere
        if i > start:
            pieces.append(_Piece(start, i, code=False))
        if pieces and pieces[-1].code:
            pieces[-1] = _Piece(pieces[-1].start, end, code=True)  # `{a}{b}`: one worked-out run
        else:
            pieces.append(_Piece(i, end, code=True))
        i = start = end
    if i > start:
        pieces.append(_Piece(start, i, code=False))
    return pieces


def _written(source: str, piece: _Piece, syntax: Syntax) -> list[_Char]:
    """A written piece as the page shows it, whitespace collapsed, each character with the source it comes from."""
    units = list(_UNIT.finditer(source, piece.start, piece.end))
    chars: list[_Char] = []
    for at, unit in enumerate(units):
        text = unit.group()
        if text.isspace() and text[0] in " \t\r\n":
            if syntax == "jsx" and "\n" in text and at in (0, len(units) - 1):
                continue  # JSX drops a line break's whitespace at either end of a text
            chars.append(_Char(" ", unit.start(), unit.end()))
        else:
            chars += [_Char(c, unit.start(), unit.end()) for c in (html.unescape(text) if text[0] == "&" else text)]
    collapsed: list[_Char] = []
    for char in chars:
        if char.text.isspace():
            if collapsed and collapsed[-1].text == " ":
                collapsed[-1] = _Char(" ", collapsed[-1].start, char.end)
                continue
            char = _Char(" ", char.start, char.end)
        collapsed.append(char)
    return collapsed


def _core(chars: list[_Char]) -> tuple[int, int]:
    """The piece's words without the spaces at its ends, as indexes into its characters."""
    first = 0 if not chars or chars[0].text != " " else 1
    last = len(chars) - 1 if chars and chars[-1].text == " " and len(chars) > first else len(chars)
    return first, last


def _text(chars: list[_Char]) -> str:
    return "".join(char.text for char in chars)


def _place(text: str, words: list[str], first: bool, last: bool) -> list[int] | None:
    """Where each piece's words show in `text`, each as early as it can (None when they do not show): the first
    piece's at the start when the element's text starts with a written piece, the last's at the end likewise."""
    starts: list[int] = []
    at = 0
    for number, word in enumerate(words):
        at_start, at_end = number == 0 and first, number == len(words) - 1 and last
        if at_start:
            found = 0 if text.startswith(word) else -1
        elif at_end:
            found = len(text) - len(word) if text.endswith(word) and len(text) - len(word) >= at else -1
        else:
            found = text.find(word, at)
        if found < 0 or (at_end and found + len(word) != len(text)):
            return None
        starts.append(found)
        at = found + len(word)
    return starts


def _place_late(text: str, words: list[str], first: bool, last: bool) -> list[int] | None:
    """As _place, each as late as it can: the same places only when no other reading of the text fits."""
    backwards = _place(text[::-1], [word[::-1] for word in reversed(words)], last, first)
    if backwards is None:
        return None
    return [len(text) - at - len(word) for at, word in zip(reversed(backwards), words, strict=True)]


def _spans(source: str, pieces: list[_Piece], text: str, syntax: Syntax) -> list[_Span]:
    """Where each written piece shows in the element's `text`; NotThere when one does not, InCode when it is not
    clear which of the text is written (`{a}-{b}` showing "1-2-3")."""
    written = [(piece, _written(source, piece, syntax)) for piece in pieces if not piece.code]
    cores = [(piece, chars, *_core(chars)) for piece, chars in written if any(c.text != " " for c in chars)]
    words = [_text(chars[head:tail]) for _, chars, head, tail in cores]
    first = bool(cores) and cores[0][0] is pieces[0]
    last = bool(cores) and cores[-1][0] is pieces[-1]
    earliest = _place(text, words, first, last)
    if earliest is None:
        raise NotThere
    if earliest != _place_late(text, words, first, last):
        raise InCode(words)
    spans: list[_Span] = []
    for (piece, chars, head, tail), at in zip(cores, earliest, strict=True):
        core = start, end = at, at + tail - head
        # A space beside the words may be the piece's own (where no other piece took it); _shows_exactly checks a
        # change of it whichever it is.
        if head and start > (spans[-1].end if spans else 0) and text[start - 1] == " ":
            start, head = start - 1, head - 1
        if tail < len(chars) and end < len(text) and text[end] == " ":
            end, tail = end + 1, tail + 1
        spans.append(_Span(start, end, core, chars[head:tail], piece, chars))
    return spans


def _difference(old: str, new: str) -> tuple[int, int, str]:
    """The part of `old` that `new` changes, [start, end), and what it becomes."""
    limit = min(len(old), len(new))
    head = 0
    while head < limit and old[head] == new[head]:
        head += 1
    tail = 0
    while tail < limit - head and old[-1 - tail] == new[-1 - tail]:
        tail += 1
    return head, len(old) - tail, new[head : len(new) - tail]


def _holding(spans: list[_Span], start: int, end: int, length: int) -> _Span | None:
    """The written piece that holds the change [start, end): a new word at its edge belongs to it only at the text's
    ends, since beside a worked-out value it might as well belong to the value."""
    for span in spans:
        if start < end and span.start <= start and end <= span.end:
            return span
        if start == end and (span.start < start < span.end or start == span.start == 0 or start == span.end == length):
            return span
    return None


def _escaped(text: str, syntax: Syntax) -> str:
    """`text` as written words in markup: what would open a tag, an entity or a piece of code is a character reference."""
    escaped = html.escape(text, quote=False)
    return escaped if syntax == "html" else escaped.replace("{", "&#123;").replace("}", "&#125;")


def _source_range(span: _Span, start: int, end: int, typed: str) -> tuple[int, int, str]:
    """Where in the source the change [start, end) of the element's text goes, and what goes there."""
    chars = span.chars
    i, j = start - span.start, end - span.start
    # A change that starts or ends inside what one `&...;` shows takes all of it.
    while 0 < i < len(chars) and chars[i - 1].start == chars[i].start:
        i -= 1
    while 0 < j < len(chars) and chars[j - 1].start == chars[j].start:
        j += 1
    typed = _text(chars[i : start - span.start]) + typed + _text(chars[end - span.start : j])
    if i < j:
        return chars[i].start, chars[j - 1].end, typed
    if i == 0:
        at = chars[0].start
    elif i == len(chars) or chars[i - 1].text != " ":
        at = chars[i - 1].end
    else:
        at = chars[i].start  # after a line break's whitespace, not before it
    return at, at, typed


def change_text(source: str, body: int, old: str, new: str, syntax: Syntax) -> str:
    """The source with the element whose text starts at `body` showing `new` instead of `old` (both as the preview
    reports them). NotThere, InCode or Unplaced when it cannot be written there exactly."""
    old, new = shown(old), shown(new)
    pieces = _pieces(source, body, syntax)
    spans = _spans(source, pieces, old, syntax)
    start, end, typed = _difference(old, new)
    span = _holding(spans, start, end, len(old))
    if span is None:
        raise InCode([shown(_text(s.chars)) for s in spans])
    at, until, typed = _source_range(span, start, end, typed)
    written = _escaped(typed, syntax)
    changed = source[:at] + written + source[until:]
    piece = _Piece(span.piece.start, span.piece.end + len(written) - (until - at), code=False)
    if not _shows_exactly(old, span, _written(changed, piece, syntax), new):
        raise Unplaced
    return changed


def _shows_exactly(old: str, span: _Span, changed: list[_Char], new: str) -> bool:
    """Whether the changed piece, shown among the rest of the element's text as it was, shows `new`.

    The rest is the text before and after the piece's words. A space beside them may be the piece's own or the rest's
    (the browser shows one space for both), so each reading must give `new`: the change is saved only if it is exact
    whichever it is."""
    before, after = old[: span.core[0]], old[span.core[1] :]
    befores = {before, before[:-1]} if span.shows[0].text == " " and before.endswith(" ") else {before}
    afters = {after, after[1:]} if span.shows[-1].text == " " and after.startswith(" ") else {after}
    return all(shown(b + _text(changed) + a) == new for b in befores for a in afters)
