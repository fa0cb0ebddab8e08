"""The rules of private previews (preview_runtime/access.py and gate.py), decided without a proxy: what a ticket and a
cookie open, and what the gate answers each kind of request. tests/integration/test_preview_gate.py asks the same of a
real Traefik in front of real upstreams."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import pytest

from preview_runtime.access import ACCESS_PATH, ACCESS_S, CHECK_PATH, COOKIE, TICKET_S, AccessKeys, local_path
from preview_runtime.gate import AccessGate, Asked, Renew, cookies_named

KEY = bytes(range(32))
FORJA = "http://127.0.0.1:3000"


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def asked(uri: str = "/", cookie: str = "", host: str = "abc123.localhost:8800", **more: str) -> Asked:
    return Asked(host=host, uri=uri, cookies=cookies_named(cookie, COOKIE), **more)


def test_a_ticket_opens_one_preview_for_a_minute_and_is_never_a_cookie() -> None:
    clock = Clock()
    keys = AccessKeys(KEY, clock)
    ticket = keys.ticket("abc123", "proj", "user-1")
    grant = keys.read_ticket(ticket, "abc123")
    assert grant is not None and (grant.preview_id, grant.project_id, grant.user_id) == ("abc123", "proj", "user-1")
    assert keys.read_ticket(ticket, "abc124") is None  # another preview
    assert keys.read_cookie(ticket, "abc123") is None  # a ticket is not a cookie...
    assert keys.read_ticket(keys.cookie("abc123", "proj", "user-1"), "abc123") is None  # ...nor the reverse
    assert AccessKeys(bytes(32), clock).read_ticket(ticket, "abc123") is None  # another Forja's key
    kind, body, signature = ticket.split(".")
    assert keys.read_ticket(f"{kind}.{body}x.{signature}", "abc123") is None  # changed
    assert keys.read_ticket("t.not-base64!.x", "abc123") is None
    clock.now += TICKET_S
    assert keys.read_ticket(ticket, "abc123") is None  # expired
    cookie = keys.cookie("abc123", "proj", "user-1")
    clock.now += ACCESS_S - 1
    assert keys.read_cookie(cookie, "abc123") is not None
    clock.now += 1
    assert keys.read_cookie(cookie, "abc123") is None
    with pytest.raises(ValueError, match="32 bytes"):
        AccessKeys(b"short")


def test_only_a_local_path_is_gone_on_to() -> None:
    assert local_path("/a/b?c=1#d") == "/a/b?c=1#d"
    for elsewhere in ("//evil.example/x", "https://evil.example/", "/\\evil.example", "evil", "/a\r\nSet-Cookie: x=1"):
        assert local_path(elsewhere) == "/", elsewhere


def test_a_request_without_the_cookie_is_sent_to_forja_or_refused() -> None:
    gate = AccessGate(AccessKeys(KEY), FORJA, "v-")
    page = gate.decide(asked("/shop?item=2", fetch_mode="navigate"))
    assert page.status == 302
    location = dict(page.headers)["Location"]
    assert location.startswith(f"{FORJA}/previews/abc123/open?")
    assert parse_qs(urlsplit(location).query) == {"path": ["/shop?item=2"]}
    # A browser that sends no Sec-Fetch-Mode: a page is what asks for HTML.
    assert gate.decide(asked("/", accept="text/html,*/*")).status == 302
    for script in (asked("/api/items", fetch_mode="cors"), asked("/app.js", fetch_mode="no-cors"), asked("/", accept="*/*")):
        refused = gate.decide(script)
        assert refused.status == 401 and b"private" in refused.body
    # Another preview's cookie opens nothing here; a share link's preview needs none.
    other = AccessKeys(KEY).cookie("abc124", "proj", "user-1")
    assert gate.decide(asked("/", f"{COOKIE}={other}")).status == 401
    assert gate.decide(asked("/", host="v-abc123.localhost:8800")).status == 204


def test_a_ticket_becomes_the_cookie_once_and_the_browser_is_checked_for_it() -> None:
    keys = AccessKeys(KEY)
    gate = AccessGate(keys, FORJA, "v-")
    ticket = keys.ticket("abc123", "proj", "user-1")
    swapped = gate.decide(asked(f"{ACCESS_PATH}?ticket={ticket}&path=/shop", fetch_mode="navigate"))
    assert swapped.status == 302
    headers = dict(swapped.headers)
    assert headers["Location"] == f"{CHECK_PATH}?path=%2Fshop"
    value, *attributes = headers["Set-Cookie"].split("; ")
    assert value.startswith(f"{COOKIE}=") and "Domain" not in headers["Set-Cookie"]  # this host only
    # On a loopback name (and on HTTPS) it may be framed by Forja on another site: Secure and partitioned.
    assert set(attributes) == {"Path=/", f"Max-Age={ACCESS_S}", "HttpOnly", "Secure", "SameSite=None", "Partitioned"}
    cookie = value
    # Used once: again, it opens nothing by itself, and says how to open the preview.
    again = gate.decide(asked(f"{ACCESS_PATH}?ticket={ticket}&path=/shop", fetch_mode="navigate"))
    assert again.status == 403 and b"no longer works" in again.body and b"/previews/abc123/open" in again.body
    # With the cookie the same address just goes on (a page reloaded at it).
    assert dict(gate.decide(asked(f"{ACCESS_PATH}?ticket={ticket}&path=/shop", cookie)).headers)["Location"] == "/shop"
    # The check sends a browser that kept the cookie on; one that did not is told so, not sent round in circles.
    assert dict(gate.decide(asked(f"{CHECK_PATH}?path=/shop", cookie)).headers)["Location"] == "/shop"
    refused = gate.decide(asked(f"{CHECK_PATH}?path=/shop"))
    assert refused.status == 403 and b"did not keep the preview&#x27;s cookie" in refused.body
    assert gate.decide(asked("/shop", cookie)).status == 200
    # A path elsewhere is never gone on to.
    other = keys.ticket("abc123", "proj", "user-1")
    assert dict(gate.decide(asked(f"{ACCESS_PATH}?ticket={other}&path=//evil.example/")).headers)["Location"] == (
        f"{CHECK_PATH}?path=%2F"
    )


def test_off_loopback_over_plain_http_the_cookie_is_lax() -> None:
    keys = AccessKeys(KEY)
    gate = AccessGate(keys, "http://forja.example.com", "v-")
    ticket = keys.ticket("abc123", "proj", "user-1")
    plain = gate.decide(asked(f"{ACCESS_PATH}?ticket={ticket}", host="abc123.preview.example.com:8800"))
    assert dict(plain.headers)["Set-Cookie"].endswith("; HttpOnly; SameSite=Lax")
    secure = gate.decide(
        asked(f"{ACCESS_PATH}?ticket={keys.ticket('abc123', 'p', 'u')}", host="abc123.example.com", proto="https")
    )
    assert dict(secure.headers)["Set-Cookie"].endswith("; Secure; SameSite=None; Partitioned")


@pytest.fixture
def loop() -> Iterator[asyncio.AbstractEventLoop]:
    """An event loop in a thread of its own, as Forja's is to the gate's threads."""
    running = asyncio.new_event_loop()
    thread = threading.Thread(target=running.run_forever, daemon=True)
    thread.start()
    yield running
    running.call_soon_threadsafe(running.stop)
    thread.join()
    running.close()


def started_gate(keys: AccessKeys, renew: Renew, loop: asyncio.AbstractEventLoop) -> AccessGate:
    gate = AccessGate(keys, FORJA, "v-", renew)

    async def start() -> None:
        gate.start()

    asyncio.run_coroutine_threadsafe(start(), loop).result(5)
    return gate


def test_a_cookie_in_the_second_half_of_its_life_is_renewed_while_its_person_may_open_the_project(
    loop: asyncio.AbstractEventLoop,
) -> None:
    clock = Clock()
    keys = AccessKeys(KEY, clock)
    allowed: dict[tuple[str, str], bool] = {("proj", "user-1"): True, ("proj", "user-2"): False}
    asked_about: list[tuple[str, str]] = []

    async def renew(project_id: str, user_id: str) -> bool:
        asked_about.append((project_id, user_id))
        return allowed[(project_id, user_id)]

    gate = started_gate(keys, renew, loop)
    try:
        kept, dropped = (f"{COOKIE}={keys.cookie('abc123', 'proj', user)}" for user in ("user-1", "user-2"))
        assert gate.decide(asked("/", kept)).headers == []  # young: nobody is asked
        assert asked_about == []
        clock.now += ACCESS_S * 0.6
        renewed = gate.decide(asked("/", kept))
        assert renewed.status == 200 and dict(renewed.headers)["Set-Cookie"].startswith(f"{COOKIE}=c.")
        assert gate.decide(asked("/", kept)).status == 200  # the page's other requests in flight: decided once
        assert asked_about == [("proj", "user-1")]
        # Someone who lost their role (or whose account was disabled) is refused from then on.
        assert gate.decide(asked("/", dropped)).status == 401
        assert gate.decide(asked("/", dropped, fetch_mode="navigate")).status == 302
    finally:
        gate.stop()
