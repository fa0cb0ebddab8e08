"""Each prerendered page drawn by first-view rules inline, and the whole stylesheet fetched only after its load event.

On a phone's network (Chrome's Slow 4G: 1.6 Mbps, 150 ms a round trip) a page's load event waits for every byte fetched
before it, and Forja's stylesheet is 38 KB of brotli that a first view needs a fraction of. A page React Router
prerendered (the home page, sign-in, admin...) holds its first view's markup: the rules whose classes the prerendered
pages' markup holds, with the custom properties they use, go inline in its <head> (under 10 KB of brotli, see
defer_build), and its links to the stylesheet get a type that is not a styling language, so the browser fetches nothing
for them; stylesheet_after_load.js gives them `text/css` back once the page has loaded. React hydrates those links as
they are (it compares a link's rel and href, not its type) and never sets the type again, since its props do not change.

The SPA fallback (`__spa-fallback.html`, which Reflex copies to `404.html` and serves for a project's workspace) holds
no markup to take rules from: its page is drawn once its route's code arrives, after the load event, so it keeps the
stylesheet as Reflex links it.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from pathlib import Path

from builder.launch.css_pruning import COLOUR_ATTRIBUTE, FLAT_RULE, RADIX_COLOURS, Names, Pruner, split_top

logger = logging.getLogger(__name__)

# Not a styling language: a browser fetches no stylesheet of this type (HTML's link type "stylesheet").
DEFERRED_TYPE = "text/forja-after-load"
# React Router's SPA fallback and Reflex's copy of it.
SHELLS = frozenset({"__spa-fallback.html", "404.html"})
LOADER = Path(__file__).with_name("stylesheet_after_load.js")
# The page's links to the build's stylesheet, its preload and the stylesheet itself, as React Router writes them.
STYLESHEET_LINK = re.compile(r'<link\b[^>]*\bhref="(/assets/[^"]+\.css)"[^>]*?/?>')
TYPE = re.compile(r'\s+type="[^"]*"')
CLASSES = re.compile(r'\bclass="([^"]*)"')
# The page's theme script puts one of these on <html> before it is drawn; Radix themes put them on their roots.
THEME_CLASSES = frozenset({"light", "dark", "light-theme", "dark-theme"})
DECLARED = re.compile(r"\s*--([\w-]+)\s*:")
USED = re.compile(r"var\(\s*--([\w-]+)")
# A grouping rule left with nothing in it (@layer blocks stay: they set the layers' order).
EMPTY_GROUP = re.compile(r"@(?!layer)[a-z-]+[^{}]*\{\s*\}")


class FirstView(Pruner):
    """A selector can match only if the page's markup holds each class it needs, and a colour's accent or gray rule
    only if some element of it is given that colour."""

    def __init__(self, html: str) -> None:
        super().__init__(Names(()), RADIX_COLOURS - {"gray", *COLOUR_ATTRIBUTE.findall(html)})
        self._classes = {name for value in CLASSES.findall(html) for name in value.split()} | THEME_CLASSES

    def class_can_be_set(self, name: str) -> bool:
        return name.replace("\\", "") in self._classes

    def _unused_colour(self, declaration: str) -> bool:
        return False  # a scale's shades stay while a kept rule uses them (used_properties)


def used_properties(css: str, html: str) -> set[str]:
    """The custom properties `html` (its inline styles) and `css`'s other declarations use, and those their values
    use in turn."""
    declared: dict[str, list[str]] = {}
    used = set(USED.findall(html))
    for _, block in FLAT_RULE.findall(css):
        for declaration in split_top(block, ";"):
            if name := DECLARED.match(declaration):
                declared.setdefault(name.group(1), []).append(declaration)
            else:
                used.update(USED.findall(declaration))
    pending = list(used)
    while pending:
        for declaration in declared.get(pending.pop(), ()):
            for name in USED.findall(declaration):
                if name not in used:
                    used.add(name)
                    pending.append(name)
    return used


def _without_unused_properties(css: str, used: set[str]) -> str:
    def kept(rule: re.Match[str]) -> str:
        declarations = [
            part for part in split_top(rule.group(2), ";") if not ((name := DECLARED.match(part)) and name.group(1) not in used)
        ]
        if not any(part.strip() for part in declarations):
            return ""
        return f"{rule.group(1)}{{{';'.join(declarations)}}}"

    css = FLAT_RULE.sub(kept, css)
    while (emptied := EMPTY_GROUP.sub("", css)) != css:
        css = emptied
    return css


def critical_css(css: str, html: str) -> str:
    """The rules of `css` the page `html` can match as written, with only the custom properties they use."""
    matching = FirstView(html).rules(css)
    return _without_unused_properties(matching, used_properties(matching, html))


def deferred_page(html: str, first_view: Callable[[str], str], loader: str) -> str:
    """`html` with the rules `first_view` gives for its stylesheet's address inline, and that stylesheet fetched after
    the load event; unchanged when it does not link exactly one stylesheet."""
    links = list(STYLESHEET_LINK.finditer(html))
    sheets = [link for link in links if 'rel="stylesheet"' in link.group(0)]
    if len(sheets) != 1:
        return html
    inline = first_view(sheets[0].group(1))
    if "</" in inline or "</" in loader:
        raise ValueError("A stylesheet or script that closes its own element cannot be put inline in a page.")
    parts, last = [], 0
    for link in links:
        tag = TYPE.sub("", link.group(0))
        tag = tag.replace("<link", f'<link type="{DEFERRED_TYPE}"', 1)
        if link is sheets[0]:
            tag = f"<style>{inline}</style>{tag}<script>{loader}</script>"
        parts += [html[last : link.start()], tag]
        last = link.end()
    return "".join([*parts, html[last:]])


def defer_build(client: Path) -> list[Path]:
    """Each prerendered page in `client` (React Router's build/client) with its stylesheet deferred (deferred_page);
    the pages changed.

    Every page carries the rules of every prerendered page's first view (9.6 KB in brotli, 8.3 KB for the home page's
    alone): a page that sends a person to another (the home page to sign-in when accounts are on) draws it at once,
    before the stylesheet arrives, and the rules are worked out once."""
    loader = LOADER.read_text().strip()
    pages = {page: page.read_text() for page in sorted(client.rglob("*.html")) if page.name not in SHELLS}
    markup = "".join(sorted(set(pages.values())))
    rules: dict[str, str] = {}

    def first_view(href: str) -> str:
        if href not in rules:
            rules[href] = critical_css((client / href.lstrip("/")).read_text(), markup)
        return rules[href]

    changed = []
    for page, html in pages.items():
        if (deferred := deferred_page(html, first_view, loader)) != html:
            page.write_text(deferred)
            changed.append(page)
    return changed


def with_critical_css(compress: Callable[[Path, tuple[str, ...]], None]) -> Callable[[Path, tuple[str, ...]], None]:
    """Reflex's `_compress_static_output(directory, formats)`, after the prerendered pages' stylesheets are deferred,
    so the compressed pages are the deferred ones."""

    def defer_then_compress(directory: Path, formats: tuple[str, ...]) -> None:
        pages = defer_build(directory)
        logger.info("Inlined the first view's rules and deferred the stylesheet in %d pages", len(pages))
        compress(directory, formats)

    return defer_then_compress
