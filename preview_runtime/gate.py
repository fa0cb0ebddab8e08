"""The gate in front of private previews: Traefik's ForwardAuth asks it about every request to such a preview's host.

A tiny stdlib HTTP server on 127.0.0.1 in Forja's process, next to the proxy's own pages (pages.py). Traefik asks it
with a GET naming each request's host, path and method (X-Forwarded-*) and carrying a few of its headers; a 2xx lets
the request through to the app, anything else is what the browser gets instead (Traefik passes it on as it is):

- ACCESS_PATH with a valid ticket (access.py): the cookie is set, and the browser goes on to CHECK_PATH, which sends
  it to the page it asked for once the cookie came back (a browser that refused the cookie is told so there, rather
  than sent round in circles between Forja and the preview);
- any other request with a valid cookie: through (a cookie in the second half of its life is renewed, once `renew`
  says the person may still open the project);
- a page load without one: back to Forja's page for the preview, which checks who asks (or sends them to sign in);
- anything else without one: 401.
"""

from __future__ import annotations

import asyncio
import html
import ipaddress
import logging
import string
import threading
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from preview_runtime.access import (
    ACCESS_PATH,
    ACCESS_S,
    CHECK_PATH,
    COOKIE,
    FORJA_ITSELF,
    RENEW_WITHIN_S,
    AccessKeys,
    Grant,
    local_path,
)

log = logging.getLogger(__name__)

# Whether the person may still open the project (project id, user id); asked on the proxy's event loop.
Renew = Callable[[str, str], Coroutine[Any, Any, bool]]

_PAGE = string.Template(
    resources.files("preview_runtime")
    .joinpath("private.html")
    .read_text(encoding="utf-8")
    .replace(
        "/* page.css */\n", resources.files("preview_runtime").joinpath("page.css").read_text(encoding="utf-8").replace("$", "$$")
    )
)
# The gate's own answers go to the browser as they are (a parked preview's have no other headers): framable by Forja's
# cross-origin-isolated workspace (see preview_headers.py), never cached, and never telling the next site where they came from.
GATE_HEADERS = {
    "Cross-Origin-Embedder-Policy": "credentialless",
    "Cross-Origin-Resource-Policy": "cross-origin",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
}
# What Traefik passes on of each request (authRequestHeaders): all the gate reads, so nothing else is copied.
GATE_REQUEST_HEADERS = ["Cookie", "Accept", "Sec-Fetch-Mode"]
RENEW_TIMEOUT_S = 5.0
# A cookie's renewal, once decided, is kept this long: the page's requests in flight carry the old one meanwhile.
RENEWED_KEEP_S = 30.0
NOT_SIGNED_TEXT = "This preview is private: open it from its project in Forja.\n"


@dataclass(frozen=True)
class Asked:
    """One request Traefik asks about."""

    host: str
    uri: str
    method: str = "GET"
    proto: str = "http"
    cookies: tuple[str, ...] = ()
    fetch_mode: str = ""
    accept: str = ""

    @property
    def preview_id(self) -> str:
        return self.host.rsplit(":", 1)[0].split(".", 1)[0].lower() if self.host else ""

    @property
    def navigation(self) -> bool:
        """A page load (which may be sent on to Forja), not a script's request or an asset."""
        if self.fetch_mode:
            return self.fetch_mode == "navigate"
        return self.method == "GET" and "text/html" in self.accept


@dataclass
class Answer:
    status: int
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""


def cookies_named(header: str, name: str) -> tuple[str, ...]:
    """Every value of the cookie `name` in a Cookie header (a browser may send two: one per partition)."""
    values = []
    for part in header.split(";"):
        key, _, value = part.strip().partition("=")
        if key == name and value:
            values.append(value.strip('"'))
    return tuple(values)


def trustworthy(asked: Asked) -> bool:
    """Whether the preview's origin counts as secure to a browser (HTTPS, or a loopback name), so its cookie may be
    Secure: only such a cookie may be SameSite=None and Partitioned, which a page on another site can frame."""
    if asked.proto == "https":
        return True
    name = asked.host.rsplit(":", 1)[0].strip("[]").lower()
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def set_cookie(value: str, asked: Asked) -> tuple[str, str]:
    """The cookie for this preview's own origin only (no Domain): HttpOnly, so the app's scripts never read it.

    Forja's page is another site than the preview whenever it is not on the previews' parent domain (a page at
    127.0.0.1 framing <id>.localhost, say), and browsers keep no cookie a cross-site frame sets unless it is
    Partitioned: kept apart for each top-level site, so only Forja's page (or the preview's own tab) ever sends it.
    Plain HTTP off loopback cannot be Secure, hence not Partitioned: SameSite=Lax, which needs Forja and the previews
    on one site (forja.example.com and *.preview.example.com).
    """
    attributes = f"{COOKIE}={value}; Path=/; Max-Age={ACCESS_S}; HttpOnly"
    attributes += "; Secure; SameSite=None; Partitioned" if trustworthy(asked) else "; SameSite=Lax"
    return ("Set-Cookie", attributes)


class AccessGate:
    """Decides, for Traefik, which requests reach private previews; ids starting with `public_prefix` are public and
    never asked about (see guards)."""

    def __init__(self, keys: AccessKeys, forja_url: str, public_prefix: str, renew: Renew | None = None) -> None:
        self.keys = keys
        self.forja_url = forja_url.rstrip("/")
        self.public_prefix = public_prefix
        self.renew = renew
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: _Server | None = None
        self._lock = threading.Lock()
        self._used: dict[str, float] = {}  # ticket nonce -> its expiry: a ticket opens once
        self._renewed: dict[str, tuple[str | None, float]] = {}  # old cookie -> (its renewal, or None: refused; until)

    def guards(self, preview_id: str) -> bool:
        return not preview_id.lower().startswith(self.public_prefix)

    def open_url(self, preview_id: str, path: str = "/") -> str:
        """Forja's page that checks who asks and sends them back with a ticket."""
        return f"{self.forja_url}/previews/{preview_id}/open?{urlencode({'path': local_path(path)})}"

    def own_cookie(self, preview_id: str) -> str:
        """A Cookie header for Forja's own requests to the preview (readiness probes)."""
        return f"{COOKIE}={self.keys.cookie(preview_id.lower(), '', FORJA_ITSELF)}"

    # -- deciding --------------------------------------------------------------------------------

    def decide(self, asked: Asked) -> Answer:
        preview_id = asked.preview_id
        if not preview_id or not self.guards(preview_id):
            return Answer(204)
        parts = urlsplit(asked.uri)
        query = parse_qs(parts.query)
        go_on = local_path(query.get("path", ["/"])[0])
        grant, renewal = self._cookie_grant(asked, preview_id)
        if parts.path == ACCESS_PATH:
            ticket = self._ticket_grant(query.get("ticket", [""])[0], preview_id)
            if ticket is not None:
                value = self.keys.cookie(preview_id, ticket.project_id, ticket.user_id)
                return self._redirect(f"{CHECK_PATH}?{urlencode({'path': go_on})}", set_cookie(value, asked))
            if grant is not None:
                return self._redirect(go_on)
            return self._page(
                403,
                "This link to the preview no longer works",
                "A link that opens a project's preview works once, within a minute. Open the preview again from its "
                "project in Forja.",
                self.open_url(preview_id, go_on),
                "Open it from Forja",
            )
        if parts.path == CHECK_PATH:
            if grant is not None:
                return self._redirect(go_on)
            return self._page(
                403,
                "This browser did not keep the preview's cookie",
                "A project's preview opens only in a browser that has the project open in Forja, which the preview's "
                "address remembers with a cookie. This browser refused it (cookies blocked for this site?): allow them, "
                "or open the preview in a tab of its own.",
                self.open_url(preview_id, go_on),
                "Open it in its own tab",
            )
        if grant is not None:
            return Answer(200, [renewal] if renewal else [])
        if asked.navigation:
            return self._redirect(self.open_url(preview_id, asked.uri))
        return Answer(401, [("Content-Type", "text/plain; charset=utf-8")], NOT_SIGNED_TEXT.encode())

    def _ticket_grant(self, ticket: str, preview_id: str) -> Grant | None:
        grant = self.keys.read_ticket(ticket, preview_id)
        if grant is None:
            return None
        now = self.keys.now()
        with self._lock:
            self._used = {nonce: until for nonce, until in self._used.items() if until > now}
            if grant.nonce in self._used:
                return None
            self._used[grant.nonce] = grant.expires
        return grant

    def _cookie_grant(self, asked: Asked, preview_id: str) -> tuple[Grant | None, tuple[str, str] | None]:
        """The grant of the request's valid cookie, if it has one, and its renewal's Set-Cookie when it is due."""
        for value in asked.cookies:
            grant = self.keys.read_cookie(value, preview_id)
            if grant is None:
                continue
            if grant.expires - self.keys.now() > RENEW_WITHIN_S or grant.user_id == FORJA_ITSELF or self.renew is None:
                return grant, None
            renewed = self._renewal(value, grant)
            if renewed is False:
                continue
            return grant, set_cookie(renewed, asked) if isinstance(renewed, str) else None
        return None, None

    def _renewal(self, value: str, grant: Grant) -> str | bool:
        """A new cookie for the same person (a string); True to keep the old one for now (no answer in time); False
        when the person may no longer open the project."""
        now = self.keys.now()
        with self._lock:
            self._renewed = {old: kept for old, kept in self._renewed.items() if kept[1] > now}
            if value in self._renewed:
                renewed = self._renewed[value][0]
                return False if renewed is None else renewed
        loop, renew = self._loop, self.renew
        if loop is None or renew is None:
            return True
        try:
            allowed = asyncio.run_coroutine_threadsafe(renew(grant.project_id, grant.user_id), loop).result(RENEW_TIMEOUT_S)
        except Exception:  # the cookie is still valid: the next request asks again
            log.warning("could not check whether %s may still open its preview", grant.user_id, exc_info=True)
            return True
        renewed = self.keys.cookie(grant.preview_id, grant.project_id, grant.user_id) if allowed else None
        with self._lock:
            self._renewed[value] = (renewed, now + RENEWED_KEEP_S)
        return False if renewed is None else renewed

    @staticmethod
    def _redirect(location: str, *headers: tuple[str, str]) -> Answer:
        return Answer(302, [("Location", location), *headers])

    @staticmethod
    def _page(status: int, title: str, text: str, link: str, action: str) -> Answer:
        words = {"title": title, "text": text, "link": link, "action": action}
        body = _PAGE.substitute({name: html.escape(value) for name, value in words.items()}).encode()
        return Answer(status, [("Content-Type", "text/html; charset=utf-8")], body)

    # -- serving ---------------------------------------------------------------------------------

    @property
    def url(self) -> str:
        assert self._server is not None, "the preview gate is not started"
        return f"http://127.0.0.1:{self._server.server_port}/"

    @property
    def started(self) -> bool:
        return self._server is not None

    def start(self) -> None:
        """Serve Traefik's questions (call it on the event loop that `renew` runs on)."""
        if self._server is not None:
            return
        self._loop = asyncio.get_running_loop()
        self._server = _Server(self)
        threading.Thread(target=self._server.serve_forever, args=(0.05,), name="forja-preview-gate", daemon=True).start()

    def stop(self) -> None:
        """Blocks until the server's loop has ended: call it in a thread, not on the event loop."""
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, gate: AccessGate) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.gate = gate


class _Handler(BaseHTTPRequestHandler):
    server_version = "forja"
    sys_version = ""
    protocol_version = "HTTP/1.1"  # Traefik keeps its connections to the gate open
    disable_nagle_algorithm = True  # a page's body written after its headers must not wait for a delayed ACK (40 ms)

    def do_GET(self) -> None:
        assert isinstance(self.server, _Server)
        headers = self.headers
        asked = Asked(
            host=headers.get("X-Forwarded-Host", ""),
            uri=headers.get("X-Forwarded-Uri", "/"),
            method=headers.get("X-Forwarded-Method", "GET"),
            proto=headers.get("X-Forwarded-Proto", "http"),
            cookies=cookies_named("; ".join(headers.get_all("Cookie") or []), COOKIE),
            fetch_mode=headers.get("Sec-Fetch-Mode", ""),
            accept=headers.get("Accept", ""),
        )
        try:
            answer = self.server.gate.decide(asked)
        except Exception:  # refused, never let through, whatever went wrong
            log.exception("the preview gate failed on a request for %s", asked.host)
            answer = Answer(500, [("Content-Type", "text/plain; charset=utf-8")], b"The preview gate failed.\n")
        self.send_response(answer.status)
        if answer.status >= 300:
            for name, value in GATE_HEADERS.items():
                self.send_header(name, value)
        for name, value in answer.headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(answer.body)))
        self.end_headers()
        self.wfile.write(answer.body)

    def log_message(self, format: str, *args: object) -> None:  # quiet
        pass
