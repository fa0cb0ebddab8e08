"""The token a published server app gets with a signed-in user's request (builder/app_backend/user_token.py), and the
edge's part: each server app host's router asks Forja who is asking, with that host in the address."""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path

import pytest

from builder.app_backend.user_token import TTL_S, UserClaims, app_of, make, public_key, sign, signing_key, user_header, verify
from preview_runtime.apps_edge import ANONYMOUS_MW, IDENTITY_MW, alias_routers, aliased_preview

SECRET = b"s" * 32
NOW = 1_800_000_000.0


def test_a_token_verifies_with_its_apps_key_until_it_expires_and_with_nothing_else() -> None:
    key, other = signing_key(SECRET, "p1", "live"), signing_key(SECRET, "p2", "live")
    public, other_public = public_key(key), public_key(other)
    # Each app (and scope, and Forja secret) its own key; the same app the same key (every worker derives it).
    assert public == public_key(signing_key(SECRET, "p1", "live")) and len(public) == 43
    assert (
        len(
            {
                public,
                other_public,
                public_key(signing_key(SECRET, "p1", "preview")),
                public_key(signing_key(b"t" * 32, "p1", "live")),
            }
        )
        == 4
    )
    token = make(key, app_of("p1", "live"), "u1", "ana@example.org", "admin", now=NOW)
    claims = verify(public, token, "p1:live", now=NOW)
    assert claims == UserClaims(app="p1:live", id="u1", email="ana@example.org", role="admin", exp=int(NOW) + TTL_S)
    assert verify(public, token, "p1:live", now=NOW + TTL_S) is not None
    assert verify(public, token, "p1:live", now=NOW + TTL_S + 1) is None  # expired
    assert verify(other_public, token, "p1:live", now=NOW) is None  # another app's key
    assert verify(public, token, "p2:live", now=NOW) is None  # said of another app
    # App 2's own token, by app 2's key, is nothing to app 1, even naming app 1.
    assert verify(public, make(other, "p1:live", "u1", "ana@example.org", "admin", now=NOW), "p1:live", now=NOW) is None


def test_a_changed_or_malformed_token_verifies_as_nobody() -> None:
    key = signing_key(SECRET, "p1", "live")
    public = public_key(key)
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
        "é.é",
    ):
        assert verify(public, bad, "p1:live", now=NOW) is None, bad
    # A signature that holds over a payload that is not the claims: nobody, no exception; nor with a key that is none.
    junk = "bm90IGpzb24"
    signed = base64.urlsafe_b64encode(key.sign(junk.encode())).rstrip(b"=").decode()
    assert verify(public, f"{junk}.{signed}", "p1:live", now=NOW) is None
    assert verify("not a key", f"{payload}.{signature}", "p1:live", now=NOW) is None


def test_the_token_is_what_the_docs_say_an_app_checks() -> None:
    """Ed25519 over the payload's base64url text, both parts base64url without padding, the key its 32 raw bytes
    (docs/features.md); the header JSON in ASCII."""
    key = signing_key(SECRET, "p1", "live")
    token = sign(key, UserClaims(app="p1:live", id="u1", email="é@example.org", role="user", exp=5))
    payload, signature = token.split(".")
    assert "=" not in token and len(base64.urlsafe_b64decode(signature + "==")) == 64
    key.public_key().verify(base64.urlsafe_b64decode(signature + "=="), payload.encode())  # raises when it does not hold
    assert json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))["email"] == "é@example.org"
    header = user_header("u1", "é@example.org", "user")
    assert header.isascii() and json.loads(header) == {"id": "u1", "email": "é@example.org", "role": "user"}


def test_a_running_server_apps_hosts_ask_forja_with_a_session_cookie_and_drop_the_headers_without() -> None:
    aliases = {"shop.apps.localhost": "app-1-a", "shop.example.test": "app-1-a", "cafe.apps.localhost": "app-2-b"}
    running = {"app-1-a": "http://127.0.0.1:4000"}
    routers, middlewares = alias_routers(aliases, running, frozenset({"app-2-b"}), "waking", "http://127.0.0.1:3000/")
    by_rule = {r["rule"]: (r["priority"], r.get("middlewares"), r["service"]) for r in routers.values()}
    cookie = "HeaderRegexp(`Cookie`, `(^|;)\\s*(__Host-)?forja_app_session=`)"
    assert by_rule == {
        "Host(`cafe.apps.localhost`)": (70, None, "waking"),  # parked: the waking page, nothing asked
        "Host(`shop.apps.localhost`)": (70, [ANONYMOUS_MW], "preview-app-1-a"),
        "Host(`shop.example.test`)": (70, [ANONYMOUS_MW], "preview-app-1-a"),
        f"Host(`shop.apps.localhost`) && {cookie}": (71, [f"{IDENTITY_MW}-app-1-a-1"], "preview-app-1-a"),
        f"Host(`shop.example.test`) && {cookie}": (71, [f"{IDENTITY_MW}-app-1-a-2"], "preview-app-1-a"),
    }
    assert middlewares[f"{IDENTITY_MW}-app-1-a-1"] == {
        "forwardAuth": {
            "address": "http://127.0.0.1:3000/_forja/identity/shop.apps.localhost",  # the host in the path
            "authRequestHeaders": ["Cookie"],  # nothing else of the request goes to Forja
            "authResponseHeaders": ["X-Forja-User", "X-Forja-User-Token"],  # the visitor's own removed
        }
    }
    assert middlewares[ANONYMOUS_MW] == {"headers": {"customRequestHeaders": {"X-Forja-User": "", "X-Forja-User-Token": ""}}}
    # Both routers of a host are counted as visits of its preview.
    assert {aliased_preview(f"{name}@file") for name in routers} == {"app-1-a", "app-2-b"}
    # No apps' server to ask (no apps edge): no middleware named that is not declared.
    bare, none = alias_routers(aliases, running, frozenset(), "waking")
    assert none == {} and all("middlewares" not in r for r in bare.values())


def docs_code(language: str) -> str:
    """The code of `language` that docs/features.md shows an app to check the token with."""
    page = (Path(__file__).resolve().parents[2] / "docs" / "features.md").read_text()
    section = page.split("### Who is asking a server app", 1)[1]
    found = re.search(f"```{language}\n(.*?)```", section, re.S)
    assert found is not None, language
    return found.group(1)


def test_the_docs_python_check_takes_forjas_token_and_refuses_the_others(monkeypatch: pytest.MonkeyPatch) -> None:
    key, other = signing_key(SECRET, "p1", "live"), signing_key(SECRET, "p2", "live")
    monkeypatch.setenv("FORJA_USER_KEY", public_key(key))
    code: dict[str, object] = {}
    exec(compile(docs_code("python"), "features.md", "exec"), code)
    forja_user = code["forja_user"]
    assert callable(forja_user)
    good = make(key, "p1:live", "u1", "ana@example.org", "user")
    user = forja_user({"X-Forja-User-Token": good})
    assert isinstance(user, dict) and user["email"] == "ana@example.org"
    payload, _, signature = good.partition(".")
    for bad in ("", "e30.forged", make(other, "p1:live", "u1", "ana@example.org", "admin"), f"{payload}x.{signature}", "é.é"):
        assert forja_user({"X-Forja-User-Token": bad}) is None, bad
    assert forja_user({}) is None
    assert forja_user({"X-Forja-User-Token": make(key, "p1:live", "u1", "a@example.org", "user", now=0)}) is None
