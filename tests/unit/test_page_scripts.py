"""Where Forja's scripts go in a preview's HTML pages: found by tokenizing, never by a text search."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest

from builder.services.preview_runners import running_copy
from builder.settings import settings
from preview_runtime import console_bridge, select_bridge
from preview_runtime.page_scripts import PageScript, add_to_page, add_to_pages

# Scripts that mention the tags themselves, as the real ones do in comments and strings.
FIRST = PageScript("data-first", "/* from <html> down */ const a = '<head>';")
SECOND = PageScript("data-second", "const b = `<html><head>`;")
BOM = b"\xef\xbb\xbf"


class _Scripts(HTMLParser):
    """Every script element of a page, as a browser's tokenizer reads it: its attribute names and its text."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=False)
        self.found: list[tuple[set[str], str]] = []
        self._open: set[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "script":
            self._open = {name for name, _ in attrs}
            self.found.append((self._open, ""))

    def handle_data(self, data: str) -> None:
        if self._open is not None:
            names, text = self.found[-1]
            self.found[-1] = (names, text + data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._open = None


def scripts_of(page: bytes) -> list[tuple[set[str], str]]:
    parser = _Scripts()
    parser.feed(page.decode("utf-8"))
    parser.close()
    return parser.found


# Each page, and the part of it before which nothing may go: the scripts must come right after it.
PAGES = [
    # The page from the bug report: no <html>, no <head>.
    (b"<!doctype html><title>x</title><h1>hi</h1>", b"<!doctype html>"),
    (
        b'<!DOCTYPE html>\n<html lang="en">\n  <head>\n    <meta charset="utf-8" />',
        b'<!DOCTYPE html>\n<html lang="en">\n  <head>',
    ),
    (b"<html><body><h1>x</h1></body></html>", b"<html>"),
    (b"<h1>hi</h1>", b""),
    (b"", b""),
    (b"<HTML><HEAD><TITLE>loud</TITLE></HEAD></HTML>", b"<HTML><HEAD>"),
    (b"<!DocType HTML><Html><Head>", b"<!DocType HTML><Html><Head>"),
    # Comments that mention the tags, before and after the doctype.
    (b"<!doctype html><!-- no <html>, no <head> here --><title>x</title>", b"<!doctype html>"),
    (b"<!-- <head> --><!DOCTYPE html>\n<p>text</p>", b"<!-- <head> --><!DOCTYPE html>"),
    (b"<!doctype html><html><!-- <head> --><body>", b"<!doctype html><html>"),
    # Scripts and styles of the page whose text mentions them: content, and the place is before them.
    (b'<!doctype html><script>document.write("<html><head>")</script><head>', b"<!doctype html>"),
    (b"<style>/* <head> */</style><html><head>", b""),
    (b"<html><script>const s = '</head><head>';</script>", b"<html>"),
    # Attribute values holding `>` and the tags' names.
    (b'<html data-a="x>y" lang=\'<head>\'><head data-b="<html>">', b'<html data-a="x>y" lang=\'<head>\'><head data-b="<html>">'),
    (b'<html><body data-x="<head>"><h1>x</h1>', b"<html>"),
    # A <head> after content is ignored by browsers (the head is open by then): ignored here too.
    (b"<!doctype html><title>t</title><head><meta>", b"<!doctype html>"),
    (b"<p>first</p><html><head>", b""),
    # Byte order marks, Windows line ends, an XML prolog, <head/>, non-ASCII bytes before the place.
    (BOM + b"<h1>hi</h1>", BOM),
    (BOM + b"<!doctype html>\r\n<html>\r\n<head>\r\n<title>t", BOM + b"<!doctype html>\r\n<html>\r\n<head>"),
    (b"<?xml version='1.0'?>\n<html><head/><title>t", b"<?xml version='1.0'?>\n<html><head/>"),
    ("<!-- café → menu -->\n<html>\n<head>\n<title>Café".encode(), "<!-- café → menu -->\n<html>\n<head>".encode()),
    # NO-BREAK SPACE is text, not whitespace: the page's content has begun.
    ("<!doctype html>\u00a0<head>".encode(), b"<!doctype html>"),
]


@pytest.mark.parametrize(("page", "before"), PAGES)
def test_scripts_go_in_one_place_in_order(page: bytes, before: bytes) -> None:
    assert page.startswith(before)
    out = add_to_page(page, [FIRST, SECOND])
    assert out == before + FIRST.tag + SECOND.tag + page[len(before) :]
    # Read as a browser reads it: each script whole, none inside another or inside the page's own.
    ours = [text for names, text in scripts_of(out) if names & {FIRST.marker, SECOND.marker}]
    assert ours == [FIRST.source, SECOND.source]


@pytest.mark.parametrize(("page", "before"), PAGES)
def test_a_page_gets_each_script_once_and_a_missing_one_after_those_there(page: bytes, before: bytes) -> None:
    with_first = add_to_page(page, [FIRST])
    both = add_to_page(with_first, [FIRST, SECOND])
    assert both == add_to_page(page, [FIRST, SECOND])
    assert add_to_page(both, [FIRST, SECOND]) == both
    # The second one is added after the first, whose text mentions <html> and <head>: never inside it.
    assert [text for names, text in scripts_of(both) if names & {FIRST.marker, SECOND.marker}] == [
        FIRST.source,
        SECOND.source,
    ]


def test_the_running_copy_of_a_page_without_html_or_head_has_both_bridges_whole() -> None:
    page = b"<!doctype html><title>x</title><h1>hi</h1>"
    out = running_copy({"index.html": page, "app.js": b"x"})
    assert out["app.js"] == b"x"
    scripts = scripts_of(out["index.html"])
    assert [names for names, _ in scripts] == [{console_bridge.MARKER}, {select_bridge.MARKER}]
    origins = settings.builder_origins
    assert [text for _, text in scripts] == [console_bridge.script(origins).source, select_bridge.script(origins).source]
    assert out["index.html"].endswith(b"</script><title>x</title><h1>hi</h1>")
    # A share link's copy: the console bridge alone, in the same place.
    shared = running_copy({"index.html": page}, select=False)["index.html"]
    assert [names for names, _ in scripts_of(shared)] == [{console_bridge.MARKER}]


def test_only_html_pages_get_scripts() -> None:
    files = {"index.html": b"<h1>a</h1>", "b.HTM": b"<h1>b</h1>", "c.js": b"'<head>'", "d.svg": b"<svg/>"}
    out = add_to_pages(files, [FIRST])
    assert out["index.html"] == FIRST.tag + b"<h1>a</h1>" and out["b.HTM"] == FIRST.tag + b"<h1>b</h1>"
    assert out["c.js"] == files["c.js"] and out["d.svg"] == files["d.svg"]
    assert add_to_pages(files, []) == files


def test_a_filled_in_origin_cannot_end_the_script() -> None:
    script = PageScript.filled(
        "data-x", "const origins = __ORIGINS__; const n = __N__;", ["http://a.test/</script><h1>"], __N__="3"
    )
    assert script.source == 'const origins = ["http://a.test/<\\/script><h1>"]; const n = 3;'
    assert script.tag.count(b"</script") == 1
