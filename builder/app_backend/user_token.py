"""The signed token a published server app gets with each request of a signed-in user (`X-Forja-User-Token`).

The edge (Traefik, asking builder/api/app_identity.py) sets it, so the app can check who is asking without trusting a
header alone: `<payload>.<signature>`, both base64url without padding; the payload is JSON {"app", "id", "email",
"role", "exp"} and the signature Ed25519 over the payload's base64url text, by the app's own signing key. That key is
derived from Forja's secret key and the app (project and scope) and never leaves Forja; the app gets its public half
(FORJA_USER_KEY in its environment), which verifies and cannot sign: no secret, so it may be kept on disk with a
parked app, and its leak lets nobody make a token. A token of one app never verifies with another's key, and names
its app too. It lives TTL_S seconds: made anew for each request, it only needs to outlive that request's way to the app.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from pydantic import BaseModel, ValidationError

# The environment variable that holds the app's public key, in its server's processes.
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


def signing_key(secret: bytes, project_id: str, scope: str) -> Ed25519PrivateKey:
    """The app's own signing key: its seed an HMAC of the app under `secret`, so every worker derives the same one."""
    seed = hmac.new(secret, f"forja-user-key\0{app_of(project_id, scope)}".encode(), hashlib.sha256).digest()
    return Ed25519PrivateKey.from_private_bytes(seed)


def public_key(key: Ed25519PrivateKey) -> str:
    """The public half, as the app's environment holds it: its 32 raw bytes in base64url (43 characters)."""
    return _b64(key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw))


def sign(key: Ed25519PrivateKey, claims: UserClaims) -> str:
    payload = _b64(claims.model_dump_json().encode())
    return f"{payload}.{_b64(key.sign(payload.encode()))}"


def make(key: Ed25519PrivateKey, app: str, user_id: str, email: str, role: str, now: float | None = None) -> str:
    expires = int(now if now is not None else time.time()) + TTL_S
    return sign(key, UserClaims(app=app, id=user_id, email=email, role=role, exp=expires))


def verify(public: str, token: str, app: str, now: float | None = None) -> UserClaims | None:
    """The token's claims when the key whose public half is `public` signed it for `app` and it has not expired;
    None otherwise."""
    payload, _, signature = token.partition(".")
    try:
        Ed25519PublicKey.from_public_bytes(_unb64(public)).verify(_unb64(signature), payload.encode())
        claims = UserClaims.model_validate_json(_unb64(payload))
    except (InvalidSignature, ValueError, ValidationError):
        return None
    if claims.app != app or claims.exp < (now if now is not None else time.time()):
        return None
    return claims


def user_header(user_id: str, email: str, role: str) -> str:
    """X-Forja-User: JSON of the user's id, email and role, in ASCII (a header's bytes)."""
    return json.dumps({"id": user_id, "email": email, "role": role}, separators=(",", ":"))


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
