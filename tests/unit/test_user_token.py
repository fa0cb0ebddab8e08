"""The token a published server app gets with a signed-in user's request (builder/app_backend/user_token.py), and the
edge's part: each server app host's router asks Forja who is asking, with that host in the address."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json

from builder.app_backend import user_token
from builder.app_backend.user_token import UserClaims, app_key, app_of, make, sign, user_header, verify
from preview_runtime.apps_edge import IDENTITY_MW, alias_routers

SECRET = b"s" * 32
NOW = 1_800_000_000.0


def test_a_token_verifies_with_its_apps_key_until_it_expires_and_with_nothing_else() -> None:
    key, other = app_key(SECRET, "p1", "live"), app_key(SECRET, "p2", "live")
    assert len({key, other, app_key(SECRET, "p1", "preview"), app_key(b"t" * 32, "p1", "live")}) == 4
    token = make(key, app_of("p1", "live"), "u1", "ana@example.org", "admin", now=NOW)
    claims = verify(key, token, "p1:live", now=NOW)
    assert claims == UserClaims(app="p1:live", id="u1", email="ana@example.org", role="admin", exp=int(NOW) + user_token.TTL_S)
    assert verify(key, token, "p1:live", now=NOW + user_token.TTL_S) is not None
    assert verify(key, token, "p1:live", now=NOW + user_token.TTL_S + 1) is None  # expired
    assert verify(other, token, "p1:live", now=NOW) is None  # another app's key
    assert verify(key, token, "p2:live", now=NOW) is None  # said of another app
    # App 2's own token, under app 2's key, is nothing to app 1.
    assert verify(key, make(other, "p2:live", "u1", "ana@example.org", "admin", now=NOW), "p1:live", now=NOW) is None


def test_a_changed_or_malformed_token_verifies_as_nobody() -> None:
    key = app_key(SECRET, "p1", "live")
    payload, _, signature = make(key, "p1:live", "u1", "bo@example.org", "user", now=NOW).partition(".")
    raised = base64.urlsafe_b64encode(
        json.dumps({"app": "p1:live", "id": "u1", "email": "bo@example.org", "role": "admin", "exp": int(NOW) + 60}).encode()
    )
    for bad in (
        f"{raised.decode().rstrip('=')}.{signature}",
        payload,
        f"{payload}.",
        ".",
        "",
        "a.b.c",
        f"{payload}.{signature}x",
    ):
        assert verify(key, bad, "p1:live", now=NOW) is None, bad
    # A signature that matches over a payload that is not the claims: nobody, no exception.
    junk = "bm90IGpzb24"
    signed = base64.urlsafe_b64encode(hmac.new(key.encode(), junk.encode(), hashlib.sha256).digest()).rstrip(b"=").decode()
    assert verify(key, f"{junk}.{signed}", "p1:live", now=NOW) is None


def test_the_token_is_what_the_docs_say_an_app_checks() -> None:
    """HMAC-SHA256 of the payload's text under the key's UTF-8 bytes, base64url without padding (docs/features.md)."""
    key = app_key(SECRET, "p1", "live")
    token = sign(key, UserClaims(app="p1:live", id="u1", email="é@example.org", role="user", exp=5))
    payload, signature = token.split(".")
    expected = base64.urlsafe_b64encode(hmac.new(key.encode(), payload.encode(), hashlib.sha256).digest()).rstrip(b"=")
    assert signature == expected.decode() and "=" not in token
    assert json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))["email"] == "é@example.org"
    header = user_header("u1", "é@example.org", "user")
    assert header.isascii() and json.loads(header) == {"id": "u1", "email": "é@example.org", "role": "user"}


def test_each_running_server_app_host_asks_forja_with_its_own_host_and_a_parked_one_does_not() -> None:
    aliases = {"shop.apps.localhost": "app-1-a", "shop.example.test": "app-1-a", "cafe.apps.localhost": "app-2-b"}
    routers, middlewares = alias_routers(
        aliases, {"app-1-a": "http://127.0.0.1:4000"}, frozenset({"app-2-b"}), "waking", "http://127.0.0.1:3000/"
    )
    asking = {r["rule"]: middlewares[r["middlewares"][0]]["forwardAuth"] for r in routers.values() if "middlewares" in r}
    assert asking == {
        f"Host(`{host}`)": {
            "address": f"http://127.0.0.1:3000/_forja/identity/{host}",
            "authRequestHeaders": ["Cookie"],  # nothing else of the request goes to Forja
            "authResponseHeaders": ["X-Forja-User", "X-Forja-User-Token"],  # the visitor's own removed
        }
        for host in ("shop.apps.localhost", "shop.example.test")
    }
    assert len(middlewares) == 2 and all(name.startswith(IDENTITY_MW) for name in middlewares)
    # No apps' server to ask (no apps edge): no middleware named that is not declared.
    assert alias_routers(aliases, {"app-1-a": "http://127.0.0.1:4000"}, frozenset(), "waking")[1] == {}
