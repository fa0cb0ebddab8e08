"""The signed token a published server app gets with each request of a signed-in user (`X-Forja-User-Token`).

The edge (Traefik, asking builder/api/app_identity.py) sets it, so the app can check who is asking without trusting a
header alone: `<payload>.<signature>`, both base64url without padding; the payload is JSON {"app", "id", "email",
"role", "exp"} and the signature HMAC-SHA256 of the payload's base64url text under the app's own key. That key
(FORJA_USER_KEY in the app's environment) is derived from Forja's secret key and the app (project and scope), so a
token of one app never verifies with another's key, and the token names its app too. It lives TTL_S seconds: made
anew for each request, it only needs to outlive that request's way to the app.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time

from pydantic import BaseModel, ValidationError

# The environment variable that holds the app's key, in its server's processes.
KEY_ENV = "FORJA_USER_KEY"
TTL_S = 60


class UserClaims(BaseModel):
    """What a token says: the app it is for (`<project id>:<scope>`), the user, and until when (Unix seconds)."""

    app: str
    id: str
    email: str
    role: str
    exp: int


def app_of(project_id: str, scope: str) -> str:
    return f"{project_id}:{scope}"


def app_key(secret: bytes, project_id: str, scope: str) -> str:
    """The app's key, as its environment holds it (43 characters); its UTF-8 bytes are the HMAC key."""
    digest = hmac.new(secret, f"forja-user-key\0{app_of(project_id, scope)}".encode(), hashlib.sha256).digest()
    return _b64(digest)


def sign(key: str, claims: UserClaims) -> str:
    payload = _b64(claims.model_dump_json().encode())
    return f"{payload}.{_signature(key, payload)}"


def make(key: str, app: str, user_id: str, email: str, role: str, now: float | None = None) -> str:
    expires = int(now if now is not None else time.time()) + TTL_S
    return sign(key, UserClaims(app=app, id=user_id, email=email, role=role, exp=expires))


def verify(key: str, token: str, app: str, now: float | None = None) -> UserClaims | None:
    """The token's claims when `key` signed it for `app` and it has not expired; None otherwise."""
    payload, _, signature = token.partition(".")
    if not hmac.compare_digest(signature.encode(), _signature(key, payload).encode()):
        return None
    try:
        claims = UserClaims.model_validate_json(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (ValueError, ValidationError):
        return None
    if claims.app != app or claims.exp < (now if now is not None else time.time()):
        return None
    return claims


def user_header(user_id: str, email: str, role: str) -> str:
    """X-Forja-User: JSON of the user's id, email and role, in ASCII (a header's bytes)."""
    return json.dumps({"id": user_id, "email": email, "role": role}, separators=(",", ":"))


def _signature(key: str, payload: str) -> str:
    return _b64(hmac.new(key.encode(), payload.encode(), hashlib.sha256).digest())


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")
