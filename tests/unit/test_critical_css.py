"""builder.launch.critical_css: a prerendered page carries the rules its first view needs, inline, and fetches the whole
stylesheet only after its load event; the workspace's shell keeps the stylesheet as Reflex links it."""

from __future__ import annotations

import gzip
import re
import subprocess
from pathlib import Path

import pytest

from builder.launch.critical_css import DEFERRED_TYPE, LOADER, critical_css, deferred_page, with_critical_css

SHEET = "/assets/__reflex_global_styles-tAK10OAh.css"
# A prerendered page as React Router writes its head, and a body drawn with a Button in the orange accent.
PAGE = (
    f'<html><head><link as="style" href="{SHEET}" rel="preload"/><script>theme()</script>'
    f'<link href="{SHEET}" rel="stylesheet" type="text/css"/></head>'
    '<body><button data-accent-color="orange" class="rt-Button rt-r-size-2" style="color:var(--hint)">Go</button></body>'
    "</html>"
)
CSS = (
    ":root,.light{--orange-9:#f76b15;--sky-9:#7ce2fe;--space-2:8px;--space-9:64px;--hint:var(--orange-9)}"
    "[data-accent-color=orange]{--accent-9:var(--orange-9)}[data-accent-color=sky]{--accent-9:var(--sky-9)}"
    ".rt-Button{background:var(--accent-9)}.rt-Button:where(.rt-r-size-2){padding:var(--space-2)}"
    ".rt-Dialog{padding:var(--space-9)}@media (min-width:768px){.rt-Dialog{margin:0}}"
    "@keyframes rt-fade{0%{opacity:0}to{opacity:1}}body{margin:0}"
)


def test_the_first_view_keeps_the_rules_its_markup_can_match_and_the_properties_they_use() -> None:
    assert critical_css(CSS, PAGE) == (
        # --hint is the page's own inline style's; the sky accent, the dialog and --space-9 (only its) go, and the
        # @media left empty with them; what the pass does not read (@keyframes) and elements' rules stay.
        ":root,.light{--orange-9:#f76b15;--space-2:8px;--hint:var(--orange-9)}"
        "[data-accent-color=orange]{--accent-9:var(--orange-9)}"
        ".rt-Button{background:var(--accent-9)}.rt-Button:where(.rt-r-size-2){padding:var(--space-2)}"
        "@keyframes rt-fade{0%{opacity:0}to{opacity:1}}body{margin:0}"
    )


def test_the_page_fetches_no_stylesheet_until_it_has_loaded() -> None:
    page = deferred_page(PAGE, lambda href: critical_css({SHEET: CSS}[href], PAGE), LOADER.read_text().strip())
    links = re.findall(r"<link\b[^>]*>", page)
    # Both links stay where React hydrates them (it matches a link by rel and href), of a type no browser fetches.
    assert [re.search(r'rel="(\w+)"', link).group(1) for link in links] == ["preload", "stylesheet"]  # type: ignore[union-attr]
    assert all(f'type="{DEFERRED_TYPE}"' in link and f'href="{SHEET}"' in link for link in links)
    assert "text/css" not in page.replace(LOADER.read_text().strip(), "")
    # The first view's rules inline just before the stylesheet's place, the loader right after it.
    inline = re.search(r"<style>(.*?)</style>(<link[^>]*>)<script>(.*?)</script>", page, re.S)
    assert inline is not None and 'rel="stylesheet"' in inline.group(2)
    assert inline.group(1) == critical_css(CSS, PAGE) and "rt-Dialog" not in inline.group(1)
    assert DEFERRED_TYPE in inline.group(3) and "load" in inline.group(3)


def test_a_page_that_does_not_link_one_stylesheet_is_left_as_it_is() -> None:
    assert deferred_page("<html><body>plain</body></html>", {}.__getitem__, "") == "<html><body>plain</body></html>"


def test_the_loader_gives_the_links_their_stylesheet_type_back_at_the_load_event(tmp_path: Path) -> None:
    """The loader run in Node against a stand-in document: nothing before the load event, both links after it."""
    node = subprocess.run(["node", "--version"], capture_output=True, check=False)
    if node.returncode != 0:
        pytest.skip("Node is not installed")
    script = tmp_path / "run.js"
    script.write_text(
        "const links = [{type: 'text/forja-after-load'}, {type: 'text/forja-after-load'}]; let onLoad;\n"
        "globalThis.document = {readyState: 'interactive', querySelectorAll: () => links};\n"
        "globalThis.window = {addEventListener: (name, handler) => { if (name === 'load') onLoad = handler; }};\n"
        f"{LOADER.read_text()}\n"
        "const before = links.map(link => link.type).join();\n"
        "onLoad();\n"
        "console.log(before + '|' + links.map(link => link.type).join());\n"
    )
    ran = subprocess.run(["node", str(script)], capture_output=True, text=True, check=True)
    assert ran.stdout.strip() == f"{DEFERRED_TYPE},{DEFERRED_TYPE}|text/css,text/css"


def test_the_build_step_defers_the_prerendered_pages_but_not_the_workspaces_shell(tmp_path: Path) -> None:
    client = tmp_path / "client"
    (client / "assets").mkdir(parents=True)
    (client / SHEET.lstrip("/")).write_text(CSS)
    # The sign-in page draws a Dialog: every page carries its rules too, for a person sent there from the home page.
    login = PAGE.replace("rt-Button rt-r-size-2", "rt-Dialog")
    for name, html in (("index.html", PAGE), ("login/index.html", login), ("__spa-fallback.html", PAGE), ("404.html", PAGE)):
        (client / name).parent.mkdir(parents=True, exist_ok=True)
        (client / name).write_text(html)

    def reflex_compress(directory: Path, formats: tuple[str, ...]) -> None:  # Reflex's Node step, gzip only here
        for path in directory.rglob("*.html"):
            path.with_name(path.name + ".gz").write_bytes(gzip.compress(path.read_bytes()))

    with_critical_css(reflex_compress)(client, ("gzip",))
    for name in ("index.html", "login/index.html"):
        html = (client / name).read_text()
        assert DEFERRED_TYPE in html and "<style>" in html, name
        assert ".rt-Button{" in html and ".rt-Dialog{" in html, name
        assert gzip.decompress((client / f"{name}.gz").read_bytes()).decode() == html, name
    for name in ("__spa-fallback.html", "404.html"):
        assert (client / name).read_text() == PAGE, name
    assert (client / SHEET.lstrip("/")).read_text() == CSS
