"""Screenshots as HTTP answers: JPEG bytes with an ETag, so a browser revalidates instead of downloading again."""

from __future__ import annotations

import hashlib

from fastapi import Request, Response

# Revalidate every time: a project's thumbnail changes at the same URL when a newer version passes its check.
REVALIDATE = "private, no-cache"


def jpeg(request: Request, data: bytes, headers: dict[str, str] | None = None) -> Response:
    """The image, or 304 when the browser's copy (If-None-Match) is the same bytes."""
    tag = f'"{hashlib.sha256(data).hexdigest()[:32]}"'
    sent = {"ETag": tag, "Cache-Control": REVALIDATE, "X-Content-Type-Options": "nosniff", **(headers or {})}
    if tag in _tags(request.headers.get("if-none-match", "")):
        return Response(status_code=304, headers=sent)
    return Response(data, media_type="image/jpeg", headers=sent)


def _tags(header: str) -> set[str]:
    """The entity tags of an If-None-Match header, weak ones compared as strong (RFC 9110's weak comparison)."""
    return {tag.strip().removeprefix("W/") for tag in header.split(",") if tag.strip()}
