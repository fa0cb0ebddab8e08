"""What a phone downloads to open Forja's page, on the page's real build (the session's Forja): the build's hashed files
are cached for a year, so a second visit asks for none of them again, and sent brotli-compressed to a browser that
accepts it (gzip to one that does not); the home page asks for few files, under a bound of bytes; no page imports
lucide's map of every icon, and neither the home page nor the workspace waits for Monaco or the terminal; the stylesheet
is Radix's pruned (builder.launch.css_pruning), with every rule the pages' classes need; a prerendered page holds the
rules its first view needs inline and fetches the stylesheet after its load event (builder.launch.critical_css)."""

from __future__ import annotations

import re
from pathlib import Path

import brotli
import httpx

from builder.launch.critical_css import DEFERRED_TYPE

ASSET = re.compile(r'(?:href|src)="(/assets/[^"]+)"')
# Measured on this build (brotli): 15 files and 266 KB for the home page, its stylesheet 38 KB and Radix's code 53 KB
# of them; before Radix Themes came off the window and the stylesheet was pruned 299 KB (56 and 67 KB), before brotli
# and the chunk groups (gzip, a file per icon and per Radix component) 48 files and 380 KB. The same 15 files in gzip
# are 318 KB.
HOME_FILES = 20
HOME_BYTES = 293_000
# Radix Themes' whole stylesheet, which the build prunes.
RADIX_CSS = Path(__file__).resolve().parents[2] / ".web" / "node_modules" / "@radix-ui" / "themes" / "styles.css"
CLASSES = re.compile(r'class="([^"]*)"')
# Loaded when the Code tab or the Terminal opens (dynamic imports), not with the page.
LATER = ("monaco_editor-", "forja_terminal-")


def raw(client: httpx.Client, path: str, coding: str) -> tuple[int, httpx.Headers, bytes]:
    """The answer's status, headers and body as sent (httpx would decode the body)."""
    with client.stream("GET", path, headers={"Accept-Encoding": coding}) as answer:
        return answer.status_code, answer.headers, b"".join(answer.iter_raw())


def test_the_page_builds_files_are_cached_for_a_year_and_sent_compressed(forja: str) -> None:
    with httpx.Client(base_url=forja, timeout=30, trust_env=False) as client:
        home = client.get("/")
        assets = sorted(set(ASSET.findall(home.text)))
        assert 10 < len(assets) <= HOME_FILES, assets
        sent = 0
        assert [path for path in assets if path.startswith("/assets/reflex-env-")], assets
        for path in assets:
            status, headers, body = raw(client, path, "gzip, deflate, br, zstd")  # what Chromium asks with
            assert status == 200, path
            # Reflex's env file holds Forja's addresses, written anew under the same name when Forja moves.
            readdressed = path.startswith("/assets/reflex-env-")
            assert headers["cache-control"] == ("no-cache" if readdressed else "public, max-age=31536000, immutable"), path
            sent += len(body)
            if path.endswith((".js", ".css")) and len(plain := raw(client, path, "identity")[2]) > 1024:
                assert headers.get("content-encoding") == "br", path
                assert "accept-encoding" in headers.get("vary", "").lower(), path
                assert brotli.decompress(body) == plain, path
                # A browser without brotli gets what it got before.
                assert raw(client, path, "gzip")[1].get("content-encoding") == "gzip", path
        assert sent <= HOME_BYTES, f"the home page's files are {sent} bytes"
        # Radix's file holds the components pages draw (the home page's segmented control), not all of Radix Themes.
        radix = client.get(next(path for path in assets if path.startswith("/assets/radix-"))).text
        assert "rt-SegmentedControlRoot" in radix
        assert not [name for name in ("rt-SliderRoot", "rt-DataListRoot", "rt-HoverCardContent") if name in radix]
        # Files whose name is not a digest of their content, and answers that are not the file, are asked about again.
        for path in ("/", "/forja.css", "/assets/nothing-ABCDEFGH.js"):
            assert "immutable" not in client.get(path).headers.get("cache-control", ""), path
        # The routes' imports (React Router's manifest): no page waits for the map of every icon (54 KB gzipped).
        manifest_path = next(path for path in assets if path.startswith("/assets/manifest-"))
        manifest = client.get(manifest_path).text
        assert "DynamicIcon" not in manifest
        # Nor for Monaco or the terminal, which the workspace's own code imports only when they are shown.
        assert not [name for name in LATER if name in manifest]
        workspace = re.search(r'"path":"p/:project_id"[^}]*"module":"(/assets/[^"]+)"', manifest)
        assert workspace is not None, manifest[:2000]
        assert all(name in client.get(workspace.group(1)).text for name in LATER)


def has_rule_for(css: str, name: str) -> bool:
    escaped = name.replace(":", "\\:")  # a breakpoint's class, `sm:rt-r-gtc-2`, is `.sm\:rt-r-gtc-2` in CSS
    return re.search(rf"\.{re.escape(escaped)}(?![\w-])", css) is not None


def test_the_stylesheet_is_pruned_but_keeps_every_rule_the_pages_classes_need(forja: str) -> None:
    with httpx.Client(base_url=forja, timeout=30, trust_env=False) as client:
        pages = [client.get(path).text for path in ("/", "/admin/", "/p/nothing")]
        stylesheet = next(path for path in ASSET.findall(pages[0]) if path.endswith(".css"))
        css = client.get(stylesheet, headers={"Accept-Encoding": "identity"}).text
    whole = RADIX_CSS.read_text()
    assert len(css) < len(whole) * 0.6, len(css)
    # Each Radix class the pages are drawn with (as first rendered) keeps the rules Radix has for it.
    used = {name for page in pages for value in CLASSES.findall(page) for name in value.split() if name.startswith("rt-")}
    assert {"rt-Button", "rt-TextAreaRoot", "rt-r-gap-3"} <= used
    assert [name for name in used if has_rule_for(whole, name) and not has_rule_for(css, name)] == []
    # Breakpoints: the home page's projects are 1, 2 then 3 across (sm, md); no page asks for 1 at xs.
    assert has_rule_for(css, "sm:rt-r-gtc-2") and has_rule_for(css, "md:rt-r-gtc-3")
    assert has_rule_for(whole, "xs:rt-r-gtc-1") and not has_rule_for(css, "xs:rt-r-gtc-1")
    # Colours: the theme's (orange, slate) stay, and so do those a page gets only from the server (tomato for a person's
    # avatar, iris for the agent's replies); sky, which nothing uses, goes.
    assert all(f"--{colour}-9:" in css for colour in ("orange", "slate", "tomato", "iris"))
    assert "--sky-9:" in whole and "--sky-9:" not in css
    # The home page's first view is drawn by its own rules, inline, each of its Radix classes with the rules the
    # stylesheet has for it; both its links to the stylesheet wait for the load event. The workspace's shell, drawn
    # only once its route's code arrives, links the stylesheet as Reflex does.
    home, workspace = pages[0], pages[2]
    inline = re.search(r"<style>(.*?)</style>", home, re.S)
    assert inline is not None and len(inline.group(1)) < len(css) / 3, len(inline.group(1) if inline else "")
    first_view = {name for value in CLASSES.findall(home) for name in value.split() if name.startswith("rt-")}
    assert "rt-Button" in first_view
    assert [name for name in first_view if has_rule_for(css, name) and not has_rule_for(inline.group(1), name)] == []
    links = re.findall(rf'<link\b[^>]*href="{re.escape(stylesheet)}"[^>]*>', home)
    assert len(links) == 2 and all(f'type="{DEFERRED_TYPE}"' in link for link in links), links
    assert re.search(rf'<link href="{re.escape(stylesheet)}" rel="stylesheet" type="text/css"', workspace), workspace[:2000]
