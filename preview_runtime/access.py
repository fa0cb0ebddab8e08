"""Who may open a private preview: the one-time tickets Forja hands a browser, and the cookie a preview's address
keeps for that browser in exchange.

A project's own preview answers only a browser that has the project open in Forja. Forja checks the person's role
and sends the browser to the preview's address with a ticket: bound to that preview, valid TICKET_S seconds, good
once. The preview's gate (gate.py) swaps it for a cookie on the preview's own origin, bound the same way and valid
ACCESS_S seconds, and Traefik asks the gate about every request. Both are signed (HMAC-SHA256) with one key that
every Forja worker shares, so a ticket one worker makes opens a preview another runs.

A ticket is never a cookie nor the reverse: each names its kind under the signature.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass

TICKET_S = 60
ACCESS_S = 3600
# A cookie with less than this left is renewed by the gate, once the person's role is checked again.
RENEW_WITHIN_S = ACCESS_S / 2
COOKIE = "forja_preview_access"
ACCESS_PATH = "/__forja/access"  # where the gate swaps a ticket for the cookie
CHECK_PATH = "/__forja/check"  # where it then sees whether the browser kept it
FORJA_ITSELF = ""  # the user of the cookies Forja makes for its own requests (probes, the checking browser)

_TICKET, _COOKIE = "t", "c"
_PART = re.compile(r"^[A-Za-z0-9_-]+$")


@dataclass(frozen=True)
class Grant:
    """What a valid ticket or cookie lets through: one preview, for one person, until `expires` (Unix time)."""

    preview_id: str
    project_id: str
    user_id: str
    expires: float
    nonce: str


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def local_path(target: str) -> str:
    """A path on the preview's own origin to go on to; anything else (another origin, a scheme) is its root."""
    if not target.startswith("/") or target.startswith("//") or "\\" in target or any(ord(c) < 32 for c in target):
        return "/"
    return target


class AccessKeys:
    """Makes and reads tickets and cookies with one secret key (at least 32 bytes)."""

    def __init__(self, key: bytes, clock: Callable[[], float] = time.time) -> None:
        if len(key) < 32:
            raise ValueError("A preview access key has at least 32 bytes.")
        self._key = key
        self._clock = clock

    def now(self) -> float:
        return self._clock()

    def ticket(self, preview_id: str, project_id: str, user_id: str) -> str:
        return self._make(_TICKET, preview_id, project_id, user_id, TICKET_S)

    def cookie(self, preview_id: str, project_id: str, user_id: str) -> str:
        return self._make(_COOKIE, preview_id, project_id, user_id, ACCESS_S)

    def read_ticket(self, token: str, preview_id: str) -> Grant | None:
        return self._read(_TICKET, token, preview_id)

    def read_cookie(self, value: str, preview_id: str) -> Grant | None:
        return self._read(_COOKIE, value, preview_id)

    def _make(self, kind: str, preview_id: str, project_id: str, user_id: str, life_s: float) -> str:
        claims = {"p": preview_id, "j": project_id, "u": user_id, "e": int(self._clock() + life_s), "n": secrets.token_hex(8)}
        body = _b64(json.dumps(claims, separators=(",", ":")).encode())
        return f"{kind}.{body}.{self._sign(kind, body)}"

    def _sign(self, kind: str, body: str) -> str:
        return _b64(hmac.new(self._key, f"{kind}.{body}".encode(), hashlib.sha256).digest())

    def _read(self, kind: str, token: str, preview_id: str) -> Grant | None:
        """The grant in `token` when it is of this kind, signed with this key, unexpired and for this preview."""
        parts = token.split(".")
        if len(parts) != 3 or parts[0] != kind or not all(_PART.match(part) for part in parts[1:]):
            return None
        if not hmac.compare_digest(parts[2], self._sign(kind, parts[1])):
            return None
        try:
            claims = json.loads(_unb64(parts[1]))
            grant = Grant(str(claims["p"]), str(claims["j"]), str(claims["u"]), float(claims["e"]), str(claims["n"]))
        except (ValueError, KeyError, TypeError):
            return None
        if grant.preview_id != preview_id.lower() or grant.expires <= self._clock():
            return None
        return grant
