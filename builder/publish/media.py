"""What a published file is to a browser: its Content-Type, and whether it is worth compressing.

Our own table rather than `mimetypes`, which reads the machine's /etc/mime.types: the same release must be served
the same way on every worker.
"""

from __future__ import annotations

import re
from pathlib import PurePosixPath

TEXT = "charset=utf-8"

# Extension -> Content-Type. Text types get "; charset=utf-8" when served (build tools write UTF-8).
TYPES: dict[str, str] = {
    "html": "text/html",
    "htm": "text/html",
    "css": "text/css",
    "js": "text/javascript",
    "mjs": "text/javascript",
    "cjs": "text/javascript",
    "json": "application/json",
    "map": "application/json",
    "webmanifest": "application/manifest+json",
    "xml": "application/xml",
    "rss": "application/rss+xml",
    "atom": "application/atom+xml",
    "txt": "text/plain",
    "md": "text/markdown",
    "csv": "text/csv",
    "svg": "image/svg+xml",
    "wasm": "application/wasm",
    "png": "image/png",
    "jpg": "image/jpeg",
    "jpeg": "image/jpeg",
    "gif": "image/gif",
    "webp": "image/webp",
    "avif": "image/avif",
    "ico": "image/x-icon",
    "bmp": "image/bmp",
    "woff": "font/woff",
    "woff2": "font/woff2",
    "ttf": "font/ttf",
    "otf": "font/otf",
    "eot": "application/vnd.ms-fontobject",
    "mp4": "video/mp4",
    "webm": "video/webm",
    "mp3": "audio/mpeg",
    "ogg": "audio/ogg",
    "wav": "audio/wav",
    "pdf": "application/pdf",
    "zip": "application/zip",
    "gz": "application/gzip",
    "br": "application/octet-stream",
}
DEFAULT_TYPE = "application/octet-stream"

# Types that shrink when compressed; images, fonts as woff/woff2, audio and video are compressed already.
COMPRESSIBLE = frozenset(
    {"html", "htm", "css", "js", "mjs", "cjs", "json", "map", "webmanifest", "xml", "rss", "atom", "txt", "md", "csv"}
    | {"svg", "wasm", "ico", "bmp", "ttf", "otf", "eot"}
)
_CHARSET_TYPES = frozenset({"application/json", "application/manifest+json", "image/svg+xml"})


def extension(path: str) -> str:
    """The last extension of a path's name, lower case, without the dot ("" for "LICENSE" or "about/")."""
    return PurePosixPath(path).suffix[1:].lower()


def content_type(path: str) -> str:
    media = TYPES.get(extension(path), DEFAULT_TYPE)
    if media.startswith("text/") or media in _CHARSET_TYPES or media.endswith("+xml") or media == "application/xml":
        return f"{media}; {TEXT}"
    return media


def is_compressible(path: str) -> bool:
    return extension(path) in COMPRESSIBLE


def is_html(path: str) -> bool:
    return extension(path) in ("html", "htm")


# Names a bundler derived from the file's content, so a new content gets a new name and a browser may keep the old
# one for a year: `[name][.-]HASH[.chunk].EXT[.map]` where HASH is
#   - 8 base64url characters with a capital and a digit (Vite/Rollup `index-DSXtc1GT.js`, Angular's esbuild
#     `main-ABCD1234.js`, Astro `index.BxY2z3Qa.css`, VitePress `app.B2x9cQ7a.js`), or with three capitals and a
#     small letter (Vite's `hero-CLDdwZDr.png`);
#   - 8 to 64 lower-case hex digits with a letter and a digit (CRA `static/js/main.8f3a1c2e.js`,
#     `787.2c9b1f4e.chunk.js`, its media's 20 digits, webpack and Next's 16 and 20).
# Names people choose are not caught: `logo-v2.png`, `og-image-1200x630.png`, `DarkMode.svg` (8 letters, no digit),
# `icon-512x512.png`. A miss costs a revalidation (a 304); a false match would keep an old file for a year, so the
# rule leans to missing: about a quarter of Vite's hashes (those without a digit and with fewer than three capitals)
# get `no-cache`.
_B64 = "[A-Za-z0-9_-]"
HASHED_NAME = re.compile(
    rf"""^[^/]+[.-]
    (?: (?={_B64}{{0,7}}[A-Z])(?={_B64}{{0,7}}[0-9]){_B64}{{8}}
      | (?=(?:{_B64}{{0,7}}[A-Z]){{3}})(?={_B64}{{0,7}}[a-z]){_B64}{{8}}
      | (?=[0-9a-f]{{0,63}}[0-9])(?=[0-9a-f]{{0,63}}[a-f])[0-9a-f]{{8,64}} )
    (?:\.chunk)?\.[A-Za-z0-9]{{1,12}}(?:\.map)?$""",
    re.VERBOSE,
)
# Folders whose framework promises every file's name changes with its content.
IMMUTABLE_FOLDERS = ("_app/immutable/", "_next/static/")


def is_immutable(path: str) -> bool:
    """Whether `path` (relative, in a release) may be cached for a year: never HTML, which names the rest."""
    if is_html(path):
        return False
    return path.startswith(IMMUTABLE_FOLDERS) or HASHED_NAME.match(path.rsplit("/", 1)[-1]) is not None
