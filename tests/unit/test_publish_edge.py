"""A published static app on disk and at its address: write_release's files and the edge's answers, rule by rule.

A small tree shaped like a Vite build (index.html, a hashed bundle, an svg, a png, the app's 404.html) is written once
with write_release, and the real StaticApp answers through httpx's ASGI transport.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import struct
import zlib
from collections.abc import AsyncIterator, MutableMapping
from pathlib import Path
from typing import Any

import brotli
import httpx
import pytest

from builder.errors import FileTreeError
from builder.publish.edge import GONE_PAGE, METHOD_PAGE, NOT_FOUND_PAGE, UNAVAILABLE_PAGE, StaticApp, Target
from builder.publish.media import is_immutable
from builder.publish.release_files import MANIFEST_NAME, read_manifest, write_release

BUNDLE = "assets/index-B2x9cQ7a.js"
LOGO = "assets/logo-Dq4mX7Lp.svg"
PHOTO = "assets/photo-CkP3nA9z.png"

INDEX = b"""<!doctype html>
<html lang="en"><head><meta charset="UTF-8"><title>Shop</title>
<script type="module" crossorigin src="/assets/index-B2x9cQ7a.js"></script></head>
<body><div id="root"></div></body></html>
"""

JS = b"""const routes = new Map();
function route(path, render) { routes.set(path, render); }
function escapeHtml(text) {
  return String(text).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
}
function productCard(product) {
  return `<article class="card"><h2>${escapeHtml(product.name)}</h2><p>${escapeHtml(product.description)}</p>
    <span class="price">${product.price.toFixed(2)} EUR</span><button data-id="${product.id}">Add to cart</button></article>`;
}
const cart = { items: [], add(id) { this.items.push(id); save(); }, count() { return this.items.length; } };
function save() { localStorage.setItem("cart", JSON.stringify(cart.items)); }
function load() { try { cart.items = JSON.parse(localStorage.getItem("cart") || "[]"); } catch { cart.items = []; } }
route("/", () => `<h1>Shop</h1><p>${cart.count()} items in your cart.</p>`);
route("/products", async () => {
  const response = await fetch("/products.json");
  const products = await response.json();
  return products.map(productCard).join("");
});
route("/about", () => "<h1>About</h1><p>A small shop that sells handmade things.</p>");
async function render() {
  const view = routes.get(location.pathname) || (() => "<h1>Not found</h1>");
  document.getElementById("root").innerHTML = await view();
}
document.addEventListener("click", (event) => {
  const link = event.target.closest("a[href^='/']");
  if (link) { event.preventDefault(); history.pushState(null, "", link.getAttribute("href")); render(); }
  const button = event.target.closest("button[data-id]");
  if (button) { cart.add(Number(button.dataset.id)); render(); }
});
window.addEventListener("popstate", render);
load();
render();
"""

SVG = (
    b'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 64 64" width="64" height="64">'
    + b"".join(
        b'<circle cx="%d" cy="%d" r="%d" fill="#ea580c" fill-opacity="0.%d"/>'
        % (8 + i % 48, 8 + i * 7 % 48, 2 + i % 6, i % 9 + 1)
        for i in range(40)
    )
    + b"</svg>"
)
NOT_FOUND = b"<!doctype html><title>Lost</title><h1>This shop page does not exist</h1>"
ABOUT = b"<!doctype html><title>About</title><h1>About the shop</h1>"
CONTACT = b"<!doctype html><title>Contact</title><h1>Write to us</h1>"


def png(width: int, height: int) -> bytes:
    """A real PNG of noise: already compressed, as photos are."""
    rows = b"".join(b"\x00" + os.urandom(width * 3) for _ in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


PNG = png(24, 24)
FILES = {
    "index.html": INDEX,
    BUNDLE: JS,
    LOGO: SVG,
    PHOTO: PNG,
    "favicon.svg": SVG,
    "404.html": NOT_FOUND,
    "about/index.html": ABOUT,
    "contact.html": CONTACT,
    "assets/tiny.css": b"body{margin:0}",
    "noise.wasm": os.urandom(4096),
    ".env": b"STRIPE_KEY=sk_live_never_served",
}
HOSTS = {"shop.apps.localhost": "shop", "spa.apps.localhost": "spa", "old.apps.localhost": "old", "bare.apps.localhost": "bare"}


@pytest.fixture(scope="module")
def releases(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("releases")
    (root / "secret.txt").write_bytes(b"outside the release")
    write_release(root / "r1", FILES)
    write_release(root / "bare", {"index.html": INDEX})
    (root / "broken").mkdir()
    (root / "broken" / "index.html").write_bytes(INDEX)
    return {"root": root, "r1": root / "r1", "bare": root / "bare", "broken": root / "broken"}


def make_app(releases: dict[str, Path], **options: int) -> StaticApp:
    targets = {
        "shop.apps.localhost": Target(releases["r1"], spa=False, state="live"),
        "spa.apps.localhost": Target(releases["r1"], spa=True, state="live"),
        "old.apps.localhost": Target(releases["r1"], spa=False, state="gone"),
        "bare.apps.localhost": Target(releases["bare"], spa=False, state="live"),
        "broken.apps.localhost": Target(releases["broken"], spa=False, state="live"),
    }

    async def resolve(host: str) -> Target | None:
        return targets.get(host)

    return StaticApp(resolve, **options)


@pytest.fixture
async def client(releases: dict[str, Path]) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=make_app(releases))
    async with httpx.AsyncClient(transport=transport, base_url="http://shop.apps.localhost:8090") as client:
        yield client


async def raw(client: httpx.AsyncClient, path: str, **headers: str) -> tuple[httpx.Response, bytes]:
    """A response and its body as sent, before httpx undoes its Content-Encoding."""
    async with client.stream("GET", path, headers=headers) as response:
        body = b"".join([part async for part in response.aiter_raw()])
    return response, body


async def call(app: StaticApp, raw_path: bytes, host: bytes = b"shop.apps.localhost", method: str = "GET") -> tuple[int, bytes]:
    """The app called as a server calls it: with a raw path it did not normalise (curl --path-as-is), and every
    body message the app sends counted (httpx drops a HEAD answer's body)."""
    sent: list[MutableMapping[str, Any]] = []
    scope = {
        "type": "http",
        "method": method,
        "path": raw_path.decode("latin-1"),
        "raw_path": raw_path,
        "root_path": "",
        "query_string": b"",
        "headers": [(b"host", host)],
    }

    async def receive() -> MutableMapping[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: MutableMapping[str, Any]) -> None:
        sent.append(message)

    await app(scope, receive, send)
    return sent[0]["status"], b"".join(m.get("body", b"") for m in sent[1:])


# -- write_release ----------------------------------------------------------------------------------------------


def test_release_files_are_written_as_given_with_their_manifest(releases: dict[str, Path]) -> None:
    folder = releases["r1"]
    manifest = read_manifest(folder)
    served = {path: data for path, data in FILES.items() if path != ".env"}
    for path, data in served.items():
        assert (folder / path).read_bytes() == data
        assert manifest.files[path].size == len(data)
        assert manifest.files[path].etag == hashlib.sha256(data).hexdigest()[:32]
    assert sorted(manifest.files) == sorted(served)
    assert manifest.file_count == len(served)
    assert manifest.bytes == sum(len(data) for data in served.values())
    assert manifest.has_index is True
    assert json.loads((folder / MANIFEST_NAME).read_text())["file_count"] == len(served)
    assert not (folder / ".env").exists() and manifest.skipped == [".env"]
    assert [p.name for p in releases["root"].iterdir() if ".partial-" in p.name] == []


def test_release_precompresses_only_what_is_worth_it(releases: dict[str, Path]) -> None:
    folder = releases["r1"]
    manifest = read_manifest(folder)
    for path in (BUNDLE, LOGO, "favicon.svg"):
        assert gzip.decompress((folder / f"{path}.gz").read_bytes()) == FILES[path]
        assert brotli.decompress((folder / f"{path}.br").read_bytes()) == FILES[path]
        assert manifest.files[path].br == (folder / f"{path}.br").stat().st_size < len(FILES[path]) * 0.9
        assert manifest.files[path].gzip == (folder / f"{path}.gz").stat().st_size
    # A png is compressed already, the css and index.html are under 1 KB, random bytes save nothing.
    for path in (PHOTO, "assets/tiny.css", "index.html", "noise.wasm"):
        assert not (folder / f"{path}.gz").exists() and not (folder / f"{path}.br").exists()
        assert manifest.files[path].br is None and manifest.files[path].gzip is None
    expected = sum(min(e.size, e.br or e.size, e.gzip or e.size) for e in manifest.files.values())
    assert manifest.compressed_bytes == expected < manifest.bytes
    assert manifest.has_index and not read_manifest(releases["bare"]).files["index.html"].br


def test_release_keeps_a_builds_own_precompressed_file(tmp_path: Path) -> None:
    manifest = write_release(tmp_path / "r", {"app.js": JS, "app.js.gz": b"the build's own"})
    assert (tmp_path / "r" / "app.js.gz").read_bytes() == b"the build's own"
    assert manifest.files["app.js"].gzip is None and manifest.files["app.js"].br is not None


def test_release_refuses_bad_paths_and_leaves_nothing(tmp_path: Path) -> None:
    with pytest.raises(FileTreeError, match=r"contains '\.\.'"):
        write_release(tmp_path / "r", {"index.html": INDEX, "../escape.js": JS})
    with pytest.raises(FileTreeError, match="absolute path"):
        write_release(tmp_path / "r", {"/etc/cron.d/x": JS})
    assert list(tmp_path.iterdir()) == []
    write_release(tmp_path / "r", {"index.html": INDEX})
    with pytest.raises(FileExistsError):
        write_release(tmp_path / "r", {"index.html": b"another"})
    assert (tmp_path / "r" / "index.html").read_bytes() == INDEX


# -- the edge -----------------------------------------------------------------------------------------------------


def assert_safe_headers(response: httpx.Response) -> None:
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "strict-origin-when-cross-origin"
    assert "set-cookie" not in response.headers


async def test_root_is_index_html_never_cached_unchecked(client: httpx.AsyncClient) -> None:
    response = await client.get("/")
    assert response.status_code == 200 and response.content == INDEX
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert response.headers["cache-control"] == "no-cache"
    assert response.headers["content-length"] == str(len(INDEX))
    assert_safe_headers(response)


async def test_hashed_assets_are_immutable_other_files_revalidated(client: httpx.AsyncClient) -> None:
    for path in (BUNDLE, LOGO, PHOTO):
        response = await client.get(f"/{path}")
        assert response.status_code == 200 and response.content == FILES[path]
        assert response.headers["cache-control"] == "public, max-age=31536000, immutable"
        assert_safe_headers(response)
    for path in ("favicon.svg", "assets/tiny.css", "contact.html"):
        assert (await client.get(f"/{path}")).headers["cache-control"] == "no-cache"
    assert (await client.get(f"/{PHOTO}")).headers["content-type"] == "image/png"
    assert (await client.get(f"/{BUNDLE}")).headers["content-type"] == "text/javascript; charset=utf-8"


@pytest.mark.parametrize(
    ("accept", "coding", "decode"),
    [
        ("gzip, deflate, br", "br", brotli.decompress),
        ("br;q=0, gzip", "gzip", gzip.decompress),
        ("gzip;q=0.5", "gzip", gzip.decompress),
        ("*", "br", brotli.decompress),
        ("identity", None, bytes),
        ("br;q=0, gzip;q=0", None, bytes),
    ],
)
async def test_encoding_is_negotiated_from_the_precompressed_files(
    client: httpx.AsyncClient, releases: dict[str, Path], accept: str, coding: str | None, decode: Any
) -> None:
    response, body = await raw(client, f"/{BUNDLE}", **{"accept-encoding": accept})
    assert response.headers.get("content-encoding") == coding
    assert decode(body) == JS
    assert response.headers["content-length"] == str(len(body))
    assert response.headers["vary"] == "Accept-Encoding"
    etag = hashlib.sha256(JS).hexdigest()[:32]
    assert response.headers["etag"] == (f'"{etag}"' if coding is None else f'"{etag}-{coding}"')
    if coding is not None:
        assert body == (releases["r1"] / f"{BUNDLE}.{'br' if coding == 'br' else 'gz'}").read_bytes()


async def test_if_none_match_gives_304_for_the_same_variant_only(client: httpx.AsyncClient) -> None:
    first, _ = await raw(client, f"/{BUNDLE}", **{"accept-encoding": "br"})
    etag = first.headers["etag"]
    again, body = await raw(client, f"/{BUNDLE}", **{"accept-encoding": "br", "if-none-match": etag})
    assert again.status_code == 304 and body == b""
    assert again.headers["etag"] == etag and again.headers["cache-control"] == first.headers["cache-control"]
    weak = await client.get("/", headers={"if-none-match": f'"x", W/{(await client.get("/")).headers["etag"]}'})
    assert weak.status_code == 304
    other, body = await raw(client, f"/{BUNDLE}", **{"accept-encoding": "gzip", "if-none-match": etag})
    assert other.status_code == 200 and gzip.decompress(body) == JS


async def test_paths_map_to_files_and_folders(client: httpx.AsyncClient) -> None:
    assert (await client.get("/about/")).content == ABOUT
    assert (await client.get("/about/index.html")).content == ABOUT
    assert (await client.get("/contact")).content == CONTACT
    assert (await client.get("/contact.html")).content == CONTACT
    redirect = await client.get("/about?ref=mail")
    assert redirect.status_code == 301 and redirect.headers["location"] == "/about/?ref=mail"
    assert_safe_headers(redirect)


async def test_missing_files_get_the_apps_own_404_page(client: httpx.AsyncClient) -> None:
    for path in ("/nope", "/assets/gone-B2x9cQ7a.js", "/contact/"):
        response = await client.get(path)
        assert response.status_code == 404 and response.content == NOT_FOUND
        assert response.headers["cache-control"] == "no-cache"
        assert_safe_headers(response)


async def test_without_its_own_404_page_a_plain_one(releases: dict[str, Path]) -> None:
    transport = httpx.ASGITransport(app=make_app(releases))
    async with httpx.AsyncClient(transport=transport, base_url="http://bare.apps.localhost") as client:
        response = await client.get("/nope")
    assert response.status_code == 404 and response.content == NOT_FOUND_PAGE
    assert response.headers["content-type"] == "text/html; charset=utf-8"


async def test_spa_routes_fall_back_to_index_but_missing_assets_do_not(releases: dict[str, Path]) -> None:
    transport = httpx.ASGITransport(app=make_app(releases))
    async with httpx.AsyncClient(transport=transport, base_url="http://spa.apps.localhost") as client:
        for path in ("/dashboard", "/orders/42/edit"):
            response = await client.get(path)
            assert response.status_code == 200 and response.content == INDEX
            assert response.headers["cache-control"] == "no-cache"
        asset = await client.get("/assets/missing-B2x9cQ7a.js")
        assert asset.status_code == 404 and asset.content == NOT_FOUND and "Accept" in asset.headers["vary"]
        page = await client.get("/report.pdf", headers={"accept": "text/html,application/xhtml+xml"})
        assert page.status_code == 200 and page.content == INDEX and "Accept" in page.headers["vary"]
        assert (await client.get("/contact")).content == CONTACT  # real files still win


async def test_unpublished_app_is_410_and_unknown_host_a_plain_404(client: httpx.AsyncClient, releases: dict[str, Path]) -> None:
    gone = await client.get("/", headers={"host": "old.apps.localhost"})
    assert gone.status_code == 410 and gone.content == GONE_PAGE
    assert b"This app was unpublished by its owner." in gone.content
    assert_safe_headers(gone)
    unknown = await client.get("/", headers={"host": "nobody.apps.localhost"})
    assert unknown.status_code == 404 and unknown.content == NOT_FOUND_PAGE
    assert str(releases["root"]).encode() not in unknown.content and b"forja" not in unknown.content.lower()


async def test_host_is_matched_without_port_or_case(client: httpx.AsyncClient) -> None:
    assert (await client.get("/", headers={"host": "SHOP.Apps.Localhost.:8090"})).content == INDEX


@pytest.mark.parametrize(
    "path",
    [
        "/%2e%2e/secret.txt",
        "/assets/%2E%2E/%2e%2e/secret.txt",
        "/..%2fsecret.txt",
        "/assets%2findex-B2x9cQ7a.js",
        "/..%5csecret.txt",
        "/index.html%00.png",
        "/%ff",
    ],
)
async def test_paths_outside_or_odd_are_refused(releases: dict[str, Path], path: str) -> None:
    for host in ("shop.apps.localhost", "spa.apps.localhost"):
        transport = httpx.ASGITransport(app=make_app(releases))
        async with httpx.AsyncClient(transport=transport, base_url=f"http://{host}") as client:
            response = await client.get(path)
        assert response.status_code == 404 and response.content == NOT_FOUND_PAGE, (host, path)


async def test_a_literal_dot_dot_path_is_refused(releases: dict[str, Path]) -> None:
    app = make_app(releases)
    assert await call(app, b"/../secret.txt") == (404, NOT_FOUND_PAGE)
    assert await call(app, b"/assets/../../secret.txt", b"spa.apps.localhost") == (404, NOT_FOUND_PAGE)
    assert await call(app, b"/assets/../index.html") == (404, NOT_FOUND_PAGE)


@pytest.mark.parametrize("path", ["/.env", f"/{MANIFEST_NAME}", "/assets/.hidden", f"/{BUNDLE}.br", f"/{BUNDLE}.gz"])
async def test_dotfiles_and_sibling_files_are_not_served(client: httpx.AsyncClient, path: str) -> None:
    response = await client.get(path)
    assert response.status_code == 404
    assert b"sk_live" not in response.content and b"file_count" not in response.content


async def test_head_has_headers_and_no_body(client: httpx.AsyncClient, releases: dict[str, Path]) -> None:
    response, body = await raw(client, f"/{BUNDLE}", **{"accept-encoding": "gzip"})
    head = await client.head(f"/{BUNDLE}", headers={"accept-encoding": "gzip"})
    assert head.status_code == 200 and head.content == b""
    for name in ("content-length", "content-type", "etag", "cache-control", "content-encoding", "vary"):
        assert head.headers[name] == response.headers[name]
    assert int(head.headers["content-length"]) == len(body)
    app = make_app(releases)
    assert await call(app, f"/{BUNDLE}".encode(), method="HEAD") == (200, b"")
    assert await call(app, b"/", method="HEAD") == (200, b"")
    assert await call(app, b"/nope", method="HEAD") == (404, b"")
    assert await call(app, b"/", b"old.apps.localhost", method="HEAD") == (410, b"")


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH", "OPTIONS"])
async def test_other_methods_are_405_with_allow(client: httpx.AsyncClient, method: str) -> None:
    response = await client.request(method, "/", content=b"x")
    assert response.status_code == 405 and response.headers["allow"] == "GET, HEAD"
    assert response.content == METHOD_PAGE
    assert_safe_headers(response)


async def test_large_files_stream_from_disk(releases: dict[str, Path]) -> None:
    transport = httpx.ASGITransport(app=make_app(releases, cached_file_bytes=512))
    async with httpx.AsyncClient(transport=transport, base_url="http://shop.apps.localhost") as client:
        response, body = await raw(client, f"/{BUNDLE}", **{"accept-encoding": "identity"})
    assert body == JS and response.headers["content-length"] == str(len(JS))


async def test_a_release_without_its_manifest_is_unavailable(client: httpx.AsyncClient) -> None:
    response = await client.get("/", headers={"host": "broken.apps.localhost"})
    assert response.status_code == 503 and response.content == UNAVAILABLE_PAGE


async def test_forget_drops_what_was_kept_of_a_folder(tmp_path: Path) -> None:
    folder = tmp_path / "r"
    write_release(folder, {"index.html": b"first"})

    async def resolve(host: str) -> Target:
        return Target(folder, spa=False, state="live")

    app = StaticApp(resolve)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://a.apps.localhost") as client:
        assert (await client.get("/")).content == b"first"
        os.rename(folder, tmp_path / "old")
        write_release(folder, {"index.html": b"second!"})
        assert (await client.get("/")).content == b"first"  # a folder is never rewritten: kept as read
        app.forget(folder)
        assert (await client.get("/")).content == b"second!"


@pytest.mark.parametrize(
    ("path", "immutable"),
    [
        ("assets/index-DSXtc1GT.js", True),  # Vite
        ("assets/hero-CLDdwZDr.png", True),  # Vite, no digit
        ("static/js/main.8f3a1c2e.js", True),  # CRA
        ("static/js/787.2c9b1f4e.chunk.js", True),
        ("static/css/main.073c9b0a.css.map", True),
        ("static/media/logo.6ce24c58023cc2f8fd88.svg", True),
        ("main-ABCD1234.js", True),  # Angular
        ("_astro/index.BxY2z3Qa.css", True),  # Astro
        ("_app/immutable/entry/start.js", True),  # SvelteKit
        ("_next/static/chunks/webpack.js", True),  # Next
        ("index.html", False),
        ("index-ABCD1234.html", False),
        ("favicon.svg", False),
        ("logo-v2.png", False),
        ("my-thing-v2.js", False),
        ("og-image-1200x630.png", False),
        ("icon-512x512.png", False),
        ("x-DarkMode.svg", False),
        ("release-20240101.zip", False),
    ],
)
def test_hashed_names(path: str, immutable: bool) -> None:
    assert is_immutable(path) is immutable
