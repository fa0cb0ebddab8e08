"""The page's stylesheet without the Radix Themes rules no page can match, taken out after the page is built.

Reflex imports Radix Themes' styles.css whole: 700 KB of CSS for every Radix component and for every value of every
layout prop at every screen width, 56 KB in brotli, the largest file the home page loads. Radix's code builds each
class it sets from a name its JavaScript holds as written (`rt-Button`, or a prop's stem such as `rt-variant` or
`rt-r-size` followed by a value), and the build bundles only the components Forja's pages import. So a selector that
needs an `rt-` class whose name, or whose stem, no built file holds can match nothing on any page, and goes; so does a
rule left with no selector. A breakpoint's class (`sm:rt-r-gtc-2`) goes too unless some page gives a prop that value
at that breakpoint (`{initial:`1`,sm:`2`}`, as Reflex compiles `rx.breakpoints`).

Radix's colours are most of what is left: each of its 31 scales declares 12 shades and their alpha twins, for light
and dark, again for wide-gamut screens. The stylesheet names the scales Forja's pages use (`--forja-colours` in
assets/palette.css, which tests/unit/test_css_pruning.py holds to every colour Forja's code names); the other scales'
custom properties go, with the rules that make one of them a component's accent or gray.

A pruned stylesheet is named by its own content (prune_build), since what it keeps follows the code as well as the CSS.

Everything else is kept as written: Forja's own classes, elements, attributes, other custom properties, @keyframes,
@font-face, and any rule this pass cannot read.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import re
from collections.abc import Callable, Iterable
from pathlib import Path

logger = logging.getLogger(__name__)

# Radix's class names; a breakpoint's variant is written `xs:NAME`, escaped `xs\:NAME` in CSS.
RADIX = "rt-"
BREAKPOINT = re.compile(r"^(xs|sm|md|lg|xl):")
# A responsive prop's value at a breakpoint as the built code writes it (`{initial:`1`,sm:`2`}`).
AT_BREAKPOINT = re.compile(r"\b(xs|sm|md|lg|xl)[\"'`]?\s*:\s*[\"'`]([\w.-]+)[\"'`]")
# Names as the built files write them: in quotes, in template strings (`rt-variant-${v}`: the stem, dash dropped).
NAME = re.compile(r"[A-Za-z0-9_-]+")
# Whose argument lists selectors a match needs one of (`:not(...)` needs none of its own: always kept).
ANY_OF = (":is(", ":where(", ":matches(", ":has(")
# Radix Themes' colour scales (gray is every theme's neutral, always kept), and where the stylesheet names those kept.
RADIX_COLOURS = frozenset(
    "tomato red ruby crimson pink plum purple violet iris indigo blue cyan teal jade green grass brown orange sky mint "
    "lime yellow amber gold bronze gray mauve slate sage olive sand".split()
)
KEPT_COLOURS = re.compile(r"--forja-colours:\s*[\"']([a-z ]*)[\"']")
COLOUR_PROPERTY = re.compile(r"\s*--([a-z]+)-")
COLOUR_USE = re.compile(r"var\(--([a-z]+)-")
COLOUR_ATTRIBUTE = re.compile(r"data-(?:accent|gray)-color\s*=\s*[\"']?([a-z]+)")
# The digest Vite puts at the end of a built file's name.
VITE_DIGEST = re.compile(r"-[A-Za-z0-9_-]{8}(\.css)$")
FLAT_RULE = re.compile(r"([^{}]*)\{([^{}]*)\}")
# At-rules whose block holds rules; other blocks (@keyframes, @font-face, @property...) are kept whole.
GROUPING = ("@media", "@supports", "@layer", "@container", "@scope", "@document")


class Names:
    """What the built files hold: every name-like word (each also without the dashes it ends with), and each value a
    responsive prop takes at a breakpoint."""

    def __init__(self, texts: Iterable[str]) -> None:
        self.words: set[str] = set()
        self.responsive: set[tuple[str, str]] = set()
        for text in texts:
            for word in NAME.findall(text):
                self.words.add(word)
                self.words.add(word.rstrip("-"))
            self.responsive.update(AT_BREAKPOINT.findall(text))


def _past_string(text: str, i: int) -> int:
    """Index just past the quoted string that opens at `i`, its escaped quotes skipped; len(text) if it never closes."""
    end = text.find(text[i], i + 1)
    while end != -1 and text[end - 1] == "\\":
        end = text.find(text[i], end + 1)
    return len(text) if end == -1 else end + 1


def _closing(text: str, start: int, opening: str, closing: str) -> int:
    """Index of the bracket that closes the one at `start`, past strings, escapes and comments; -1 if none."""
    depth, i = 0, start
    while i < len(text):
        char = text[i]
        if char == "\\":
            i += 2
            continue
        if char in "\"'":
            i = _past_string(text, i)
            continue
        if text.startswith("/*", i):
            end = text.find("*/", i + 2)
            if end == -1:
                return -1
            i = end + 2
            continue
        if char == opening:
            depth += 1
        elif char == closing:
            depth -= 1
            if depth == 0:
                return i
        i += 1
    return -1


def split_top(text: str, separator: str = ",") -> list[str]:
    """`text` cut at each `separator` outside brackets and strings."""
    parts, depth, start, i = [], 0, 0, 0
    while i < len(text):
        char = text[i]
        if char == "\\":
            i += 2
            continue
        if char in "\"'":
            i = _past_string(text, i)
            continue
        if char in "([":
            depth += 1
        elif char in ")]":
            depth -= 1
        elif char == separator and depth == 0:
            parts.append(text[start:i])
            start = i + 1
        i += 1
    parts.append(text[start:])
    return parts


class Pruner:
    """Which selectors can match, given the names the built files hold."""

    def __init__(self, names: Names, unused_colours: frozenset[str] = frozenset()) -> None:
        self._names = names.words
        self._responsive = names.responsive
        self._unused_colours = unused_colours

    def class_can_be_set(self, name: str) -> bool:
        name = name.replace("\\", "")
        if breakpoint := BREAKPOINT.match(name):
            # Radix writes `sm:rt-r-gtc-2` only where a prop is given 2 at sm: the value ends the class.
            name = name[breakpoint.end() :]
            if name.startswith(RADIX) and not any(
                at == breakpoint.group(1) and name.endswith(f"-{value}") for at, value in self._responsive
            ):
                return False
        if not name.startswith(RADIX) or name in self._names:
            return True
        # A prop's class is its stem and a value (`rt-r-size-2`, `rt-r-jc-space-between`, `rt-r-m--1`).
        cut = name.rfind("-")
        while cut > len(RADIX) + 1:
            stem = name[:cut].rstrip("-")
            if stem not in ("rt", "rt-r") and stem in self._names:
                return True
            cut = name.rfind("-", 0, cut)
        return False

    def can_match(self, selector: str) -> bool:
        i = 0
        while i < len(selector):
            char = selector[i]
            if char == "\\":
                i += 2
                continue
            if char == "[":
                end = _closing(selector, i, "[", "]")
                if end == -1:
                    return True
                colour = COLOUR_ATTRIBUTE.match(selector, i + 1, end)
                if colour and colour.group(1) in self._unused_colours:
                    return False
                i = end + 1
                continue
            if char == ".":
                match = re.match(r"(?:\\.|[\w-])+", selector[i + 1 :])
                if match and not self.class_can_be_set(match.group(0)):
                    return False
                i += 1 + (len(match.group(0)) if match else 0)
                continue
            if char == "(":
                end = _closing(selector, i, "(", ")")
                if end == -1:
                    return True
                if selector[: i + 1].endswith(ANY_OF) and not any(
                    self.can_match(part) for part in split_top(selector[i + 1 : end])
                ):
                    return False
                i = end + 1
                continue
            i += 1
        return True

    def rules(self, css: str) -> str:
        """`css` (a list of rules) without the selectors, and then the rules, that can match nothing."""
        kept: list[str] = []
        i = 0
        while i < len(css):
            opening = css.find("{", i)
            statement_end = css.find(";", i)
            if opening == -1:
                kept.append(css[i:])
                break
            prelude = css[i:opening]
            if prelude.lstrip().startswith("@") and statement_end != -1 and statement_end < opening:
                kept.append(css[i : statement_end + 1])  # @import, @charset, @layer a,b;
                i = statement_end + 1
                continue
            closing = _closing(css, opening, "{", "}")
            if closing == -1:
                kept.append(css[i:])
                break
            block = css[opening + 1 : closing]
            kept.append(self._rule(prelude, block))
            i = closing + 1
        return "".join(kept)

    def _rule(self, prelude: str, block: str) -> str:
        head = prelude.strip()
        if head.startswith("@"):
            if not head.startswith(GROUPING):
                return f"{prelude}{{{block}}}"
            inner = self.rules(block)
            return f"{prelude}{{{inner}}}" if inner.strip() or head.startswith("@layer") else ""
        if "{" in block:  # nested rules: kept as written
            return f"{prelude}{{{block}}}"
        selectors = [part for part in split_top(prelude) if self.can_match(part)]
        if self._unused_colours and "--" in block:
            declarations = split_top(block, ";")
            kept = [part for part in declarations if not self._unused_colour(part)]
            if len(kept) < len(declarations):
                if not any(part.strip() for part in kept):
                    return ""
                block = ";".join(kept)
        return f"{','.join(selectors)}{{{block}}}" if selectors else ""

    def _unused_colour(self, declaration: str) -> bool:
        colour = COLOUR_PROPERTY.match(declaration)
        return bool(colour and colour.group(1) in self._unused_colours)


def unused_colours(css: str) -> frozenset[str]:
    """The Radix scales `css` neither names in `--forja-colours` nor uses other than to declare them or to make them a
    component's accent or gray; none when it has no `--forja-colours`."""
    kept = KEPT_COLOURS.search(css)
    if kept is None:
        return frozenset()
    used = {"gray", *kept.group(1).split()}
    for selector, block in FLAT_RULE.findall(css):
        mapped = set(COLOUR_ATTRIBUTE.findall(selector))
        for declaration in split_top(block, ";"):
            declared = COLOUR_PROPERTY.match(declaration)
            used.update(
                colour
                for colour in COLOUR_USE.findall(declaration)
                if colour not in mapped and not (declared and declared.group(1) == colour)
            )
    return RADIX_COLOURS - used


def prune(css: str, names: Names) -> str:
    return Pruner(names, unused_colours(css)).rules(css)


def renamed(name: str, content: str) -> str:
    """`name` with Vite's digest of the file's content (`styles-CnLdQwY_.css`) made anew from `content`."""
    digest = base64.urlsafe_b64encode(hashlib.sha256(content.encode()).digest()[:6]).decode()
    return VITE_DIGEST.sub(f"-{digest}\\1", name)


def prune_build(client: Path) -> list[Path]:
    """Prune each stylesheet of the build in `client` (React Router's build/client) against the names its JavaScript
    and HTML hold; the stylesheets changed.

    Vite named each stylesheet by a digest of what it wrote, and the page's files are cached for a year under their
    names: a pruned stylesheet takes a name of its own content, in every file of the build that names it (the pages,
    the root's code, the server's bundle), so one pruned against other code is never taken for it."""
    names = Names(path.read_text(errors="replace") for path in client.rglob("*") if path.suffix in (".js", ".html"))
    changed: dict[str, Path] = {}
    for path in sorted(client.rglob("*.css")):
        css = path.read_text()
        pruned = prune(css, names)
        if pruned != css:
            path.unlink()
            changed[path.name] = path.with_name(renamed(path.name, pruned))
            changed[path.name].write_text(pruned)
    build = client.parent if client.name == "client" else client  # build/client and build/server
    naming = [path for path in build.rglob("*") if path.suffix in (".js", ".html", ".json") and path.is_file()]
    for path in naming if changed else []:
        text = path.read_text(encoding="utf-8", errors="surrogateescape")
        if any(old in text for old in changed):
            for old, new in changed.items():
                text = text.replace(old, new.name)
            path.write_text(text, encoding="utf-8", errors="surrogateescape")
    return list(changed.values())


def with_pruned_css(compress: Callable[[Path, tuple[str, ...]], None]) -> Callable[[Path, tuple[str, ...]], None]:
    """Reflex's `_compress_static_output(directory, formats)`, after the stylesheets are pruned: the last step of the
    page's build, so the compressed files are of the pruned ones."""

    def prune_then_compress(directory: Path, formats: tuple[str, ...]) -> None:
        for path in prune_build(directory):
            logger.info("Pruned Radix rules no page can match from %s", path.name)
        compress(directory, formats)

    return prune_then_compress
