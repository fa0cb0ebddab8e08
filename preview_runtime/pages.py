"""Forja's own pages on preview hosts, each a tiny stdlib HTTP server in Forja's process that Traefik routes to.

- The catch-all page (not_found.html, 404): hosts with no preview.
- The waking page (waking.html, 503 with Retry-After): a parked preview's host. Each request to it is passed on to
  `on_request(host)` (from the server's thread; the proxy wakes the preview), but a dev server client's own knock
  (KNOCKS), and the page asks its own address again until the app answers there instead.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources

log = logging.getLogger(__name__)

NOT_FOUND_HTML = resources.files("preview_runtime").joinpath("not_found.html").read_bytes()
PAGE_CSS = resources.files("preview_runtime").joinpath("page.css").read_text(encoding="utf-8")
# The waking page stands alone (nothing else loads from a parked preview's host): its styles go in whole.
WAKING_HTML = (
    resources.files("preview_runtime").joinpath("waking.html").read_text(encoding="utf-8").replace("/* page.css */\n", PAGE_CSS)
).encode()
MAX_BODY = 1 << 20

# Told the Host header of each request, from the server's thread.
OnRequest = Callable[[str], None]
# A request that only looks which page answers (Forja checking that Traefik applied a change): its listener is not
# told, so looking at a parked preview's waking page does not wake it.
QUIET = "X-Forja-Quiet"
# WebSocket protocols a dev server's own client asks for by itself, not for a person: Vite's, once its HMR socket
# closed (as parking closes it), knocks with a `vite-ping` handshake every second while its tab shows. Woken by those,
# a preview with a tab left open would be parked and woken again, over and over, instead of staying parked.
KNOCKS = frozenset({"vite-ping"})


def _knock(protocols: str | None) -> bool:
    return not KNOCKS.isdisjoint(name.strip() for name in (protocols or "").split(","))


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, page: PageServer) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.page = page


class _Handler(BaseHTTPRequestHandler):
    server_version = "forja"
    sys_version = ""
    protocol_version = "HTTP/1.1"

    def _answer(self) -> None:
        assert isinstance(self.server, _Server)
        page = self.server.page
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(min(length, MAX_BODY))
        if page.on_request is not None and not self.headers.get(QUIET) and not _knock(self.headers.get("Sec-WebSocket-Protocol")):
            try:
                page.on_request(self.headers.get("Host") or "")
            except Exception:  # the page is answered whatever its listener does
                log.exception("the listener of the %s page failed", page.name)
        self.send_response(page.status)
        for name, value in page.headers.items():
            if value:  # an empty value means "remove" in Traefik's middleware: nothing to send here
                self.send_header(name, value)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(page.body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(page.body)

    do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = _answer

    def log_message(self, format: str, *args: object) -> None:  # quiet
        pass


class PageServer:
    """One page, answered to every request with `status` and `headers` on 127.0.0.1 at a free port."""

    def __init__(
        self, name: str, status: int, body: bytes, headers: Mapping[str, str], on_request: OnRequest | None = None
    ) -> None:
        self.name = name
        self.status = status
        self.body = body
        self.headers = dict(headers)
        self.on_request = on_request
        self._server: _Server | None = None

    @property
    def started(self) -> bool:
        return self._server is not None

    @property
    def url(self) -> str:
        assert self._server is not None, f"the {self.name} page is not started"
        return f"http://127.0.0.1:{self._server.server_port}"

    def start(self) -> None:
        if self._server is not None:
            return
        self._server = _Server(self)
        thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), name=f"forja-{self.name}", daemon=True)
        thread.start()

    def stop(self) -> None:
        """Blocks until the server's loop has ended: call it in a thread, not on the event loop."""
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()
