"""Pictures attached to a prompt: recognised by their bytes, limited in size and number.

A picture's type comes from its first bytes (its "magic"), never from its name: a PDF named
shot.png is a PDF. Only PNG, JPEG, GIF and WebP are taken, the types Claude and OpenAI's
vision models read. The bytes are never logged.
"""

from __future__ import annotations

import base64
import binascii
import re
import secrets
import time
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from builder.errors import InvalidInput, NotFound
from builder.filetree import human_size
from builder.settings import settings

ALLOWED = "PNG, JPEG, GIF or WebP"


class PictureRejected(InvalidInput):
    """A picture Forja will not send: wrong type, too large, or one too many. 422 over the API."""


@dataclass(frozen=True)
class Picture:
    media_type: str
    data: bytes
    name: str = ""

    def __repr__(self) -> str:  # Never the bytes: reprs end up in logs and tracebacks.
        return f"Picture({self.media_type}, {len(self.data)} bytes, {self.name!r})"

    def base64(self) -> str:
        return base64.b64encode(self.data).decode("ascii")

    def data_url(self) -> str:
        return f"data:{self.media_type};base64,{self.base64()}"


def sniff(data: bytes) -> str | None:
    """The picture's media type from its first bytes, or None when it is not a PNG, JPEG, GIF or WebP."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data.startswith((b"GIF87a", b"GIF89a")):
        return "image/gif"
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


_OTHER_KINDS = (
    (b"%PDF", "a PDF"),
    (b"PK\x03\x04", "a zip archive (or an Office document)"),
    (b"<svg", "an SVG drawing"),
    (b"<?xml", "an XML file"),
    (b"BM", "a BMP picture"),
    (b"II*\x00", "a TIFF picture"),
    (b"MM\x00*", "a TIFF picture"),
)


def _what_it_is(data: bytes) -> str:
    head = data[:16].lstrip()
    for magic, kind in _OTHER_KINDS:
        if head.startswith(magic):
            return kind
    if len(data) >= 12 and data[4:12] in (b"ftypheic", b"ftypheix", b"ftypmif1"):
        return "a HEIC picture"
    return "not a picture Forja can read"


def check_picture(data: bytes, name: str = "") -> Picture:
    """The picture, or PictureRejected saying what was wrong and what to do."""
    label = f"“{name}”" if name else "That file"
    media_type = sniff(data)
    if media_type is None:
        kind = _what_it_is(data)
        raise PictureRejected(f"{label} is {kind}; attach a {ALLOWED} picture.")
    if len(data) > settings.attach_max_bytes:
        raise PictureRejected(
            f"{label} is {human_size(len(data))}; the limit is {human_size(settings.attach_max_bytes)}. "
            "Attach a smaller picture (a screenshot of part of the screen, or a JPEG)."
        )
    return Picture(media_type, data, name)


def check_count(count: int) -> None:
    if count > settings.attach_max_count:
        raise PictureRejected(
            f"{count} pictures are attached; at most {settings.attach_max_count} go with one message. Remove some and send again."
        )


def check_pictures(files: list[tuple[str, bytes]]) -> list[Picture]:
    """Every (name, bytes) checked; the first problem raises PictureRejected."""
    check_count(len(files))
    return [check_picture(data, name) for name, data in files]


def decode_base64(text: str, name: str = "") -> bytes:
    """Bytes of a picture sent as base64 (a `data:` URL is accepted too)."""
    if text.startswith("data:") and "," in text:
        text = text.split(",", 1)[1]
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        label = f"“{name}”" if name else "A picture"
        raise PictureRejected(f"{label} is not valid base64; send the file's bytes base64-encoded.") from None


def vision_refusal(provider_name: str, model: str, base_url: str = "") -> str | None:
    """The sentence the person gets when the model cannot take pictures, or None when it can. An OpenAI-compatible
    model at an address of its own (`base_url`: a local one's) takes none unless the settings say it does."""
    if provider_name == "anthropic":
        return None
    if provider_name == "openai":
        takes = settings.openai_vision if settings.openai_vision is not None else not base_url
        if takes:
            return None
        return (
            f"The picture was not sent: the model {model!r} is not set up to take pictures (the person who runs this "
            "Forja can turn them on for it)."
        )
    return "The picture was not sent: Forja is offline (starter templates), and they cannot see pictures."


# -- attached pictures kept on disk until their message is sent ---------------------------------------------------------

_EXTENSIONS = {"image/png": "png", "image/jpeg": "jpg", "image/gif": "gif", "image/webp": "webp"}
_ID = re.compile(r"^[0-9a-f]{32}$")
KEEP_SECONDS = 24 * 3600


def attachments_dir() -> Path:
    return settings.data_dir / "attachments"


def save_attachment(image: Picture, owner: str) -> str:
    """Keep a checked picture of `owner` (a user id) under a random id (the only name that reaches the disk); returns
    the id."""
    attachment_id = secrets.token_hex(16)
    folder = attachments_dir() / owner
    folder.mkdir(parents=True, exist_ok=True)
    # Pictures are not linked to the messages they went with: those older than a day are let go.
    old = time.time() - KEEP_SECONDS
    for path in attachments_dir().glob("*/*"):
        if path.is_file() and path.stat().st_mtime < old:
            path.unlink(missing_ok=True)
    (folder / f"{attachment_id}.{_EXTENSIONS[image.media_type]}").write_bytes(image.data)
    return attachment_id


# Where a project keeps pictures its pages use, by what the project already has: a folder of them first, then
# `public/` (served at the site's root by Vite, Next.js, SvelteKit...) for a Node project, `assets/` for the rest.
PICTURE_FOLDERS = ("public", "static", "assets")


def picture_path(picture: Picture, paths: Iterable[str]) -> str:
    """A sensible place in a project of `paths` for `picture`: its own name, made safe, with the extension its
    bytes say ("Logo Final.PNG" -> "public/logo-final.png")."""
    paths = set(paths)
    tops = {p.split("/", 1)[0] for p in paths if "/" in p}
    folder = next((f for f in PICTURE_FOLDERS if f in tops), "public" if "package.json" in paths else "assets")
    # Accents dropped, not the letters they sit on: "Étoile" -> "etoile".
    plain = unicodedata.normalize("NFKD", PurePosixPath(picture.name).stem).encode("ascii", "ignore").decode()
    stem = re.sub(r"[^a-z0-9]+", "-", plain.lower()).strip("-")[:60] or "picture"
    return f"{folder}/{stem}.{_EXTENSIONS[picture.media_type]}"


def load_attachment(attachment_id: str, owner: str, name: str = "") -> Picture:
    """`owner`'s picture kept under `attachment_id` (named `name`), checked again; NotFound for an unknown or
    malformed id, or one that someone else attached."""
    if _ID.match(attachment_id):
        for extension in _EXTENSIONS.values():
            path = attachments_dir() / owner / f"{attachment_id}.{extension}"
            if path.is_file():
                data = path.read_bytes()
                media_type = sniff(data)
                if media_type is not None:
                    return Picture(media_type, data, name)
    raise NotFound("That attached picture is gone; attach it again.")
