"""The edge: one ASGI app serving every published static app from its release folder, chosen by the Host header.

No process per app: Forja mounts this app in its own server behind Traefik, and each request reads the release that
`resolve(host)` names. A release is what `release_files.write_release` wrote: the manifest lists every file that may
be served, with its ETag and precompressed variants, so a request is answered from that list without a `stat`, and
no path outside it (the manifest, dotfiles, anything `..` or an encoded slash would reach) can be served at all.
Release folders never change, so what was read of one is kept (a manifest per folder, small files' bytes) until
`forget(folder)` or the caches' own limits drop it.

The rules a request meets, in order: an unknown host is a 404 page naming nothing, an unpublished app (or a pruned
release on its own host) a 410, a
method other than GET and HEAD a 405; then the path: `/` is index.html, `/about/` about/index.html, `/about` the file
`about`, else about.html, else a redirect to `/about/` when only the folder has an index. Nothing found: index.html
for a single-page app's route (no extension, or a page asked for by Accept: text/html), else the app's own 404.html,
else a plain 404 page.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Literal
from urllib.parse import quote, unquote_to_bytes

import anyio
import anyio.to_thread
from starlette.types import Receive, Scope, Send

from builder.publish.media import content_type, extension, is_immutable
from builder.publish.release_files import ReleaseFile, read_manifest

log = logging.getLogger(__name__)

Headers = list[tuple[bytes, bytes]]

_PAGES = resources.files("builder.publish") / "pages"
NOT_FOUND_PAGE = (_PAGES / "not_found.html").read_bytes()
GONE_PAGE = (_PAGES / "gone.html").read_bytes()
RELEASE_GONE_PAGE = (_PAGES / "release_gone.html").read_bytes()
METHOD_PAGE = (_PAGES / "method_not_allowed.html").read_bytes()
UNAVAILABLE_PAGE = (_PAGES / "unavailable.html").read_bytes()

IMMUTABLE = b"public, max-age=31536000, immutable"
REVALIDATE = b"no-cache"
# On every answer, pages and files alike (and never a Set-Cookie: nothing here sets one).
ALWAYS: Headers = [(b"x-content-type-options", b"nosniff"), (b"referrer-policy", b"strict-origin-when-cross-origin")]
HTML = b"text/html; charset=utf-8"
CHUNK = 64 * 1024
_SUFFIX = {"br": ".br", "gzip": ".gz"}


@dataclass(frozen=True)
class Target:
    """What a host serves: a release folder written by write_release, live, unpublished (gone) or, for a release's own
    host, pruned; or a server app's release, run in its own sandbox (`project_id` and `release` name it)."""

    folder: Path
    spa: bool
    state: Literal["live", "gone", "pruned", "server"]
    project_id: str = ""
    release: int = 0


Resolve = Callable[[str], Awaitable[Target | None]]


@dataclass(frozen=True)
class Release:
    folder: Path
    files: dict[str, ReleaseFile]
    folders: frozenset[str]

    @classmethod
    def read(cls, folder: Path) -> Release:
        files = read_manifest(folder).files
        folders = frozenset(path.rsplit("/", i)[0] for path in files for i in range(1, path.count("/") + 1))
        return cls(folder, files, folders)


@dataclass(frozen=True)
class Request:
    method: str
    parts: list[str] | None  # the path's decoded parts; None for a path no file can have (.., dotfiles, NUL, %2F)
    folder_like: bool  # the path ends with "/"
    headers: dict[bytes, bytes]
    root_path: str
    query: bytes

    @classmethod
    def of(cls, scope: Scope) -> Request:
        root = scope.get("root_path", "")
        # raw_path keeps %2F apart from "/"; a literal "?" in it can only start a query some servers leave there.
        raw: bytes = (scope.get("raw_path") or scope["path"].encode()).split(b"?", 1)[0]
        if root and raw.startswith(root.encode()):
            raw = raw[len(root.encode()) :]
        headers: dict[bytes, bytes] = {}
        for name, value in scope["headers"]:
            # Repeated headers are joined as one list, as HTTP allows for the ones read here.
            headers[name] = headers[name] + b", " + value if name in headers else value
        return cls(scope["method"], path_parts(raw), raw.endswith(b"/"), headers, root, scope.get("query_string", b""))

    def header(self, name: bytes) -> str:
        return self.headers.get(name, b"").decode("latin-1")


def path_parts(raw: bytes) -> list[str] | None:
    """The decoded parts of a raw request path, or None when one could leave the folder or name a hidden file.

    Decoded part by part, so `%2F` stays inside its part and is refused rather than read as a separator.
    """
    parts: list[str] = []
    for piece in raw.split(b"/"):
        try:
            part = unquote_to_bytes(piece).decode("utf-8")
        except UnicodeDecodeError:
            return None
        if not part:
            continue
        if part.startswith(".") or "/" in part or "\\" in part or "\x00" in part:
            return None
        parts.append(part)
    return parts


def host_of(headers: dict[bytes, bytes]) -> str:
    """The Host header without its port or final dot, lower case: what `resolve` is asked."""
    host = headers.get(b"host", b"").decode("latin-1").strip().lower()
    if host.startswith("["):
        return host.split("]", 1)[0] + "]"
    name, _, port = host.rpartition(":")
    if name and port.isdigit():
        host = name
    return host.rstrip(".")


def choose_encoding(accept: str, entry: ReleaseFile) -> str | None:
    """br, then gzip, then identity (None): the first the client accepts that this file has a variant for."""
    weights: dict[str, float] = {}
    for item in accept.split(","):
        name, _, params = item.partition(";")
        weight = 1.0
        for param in params.split(";"):
            key, _, value = param.partition("=")
            if key.strip().lower() == "q":
                try:
                    weight = float(value)
                except ValueError:
                    weight = 0.0
        weights[name.strip().lower()] = weight

    def accepts(coding: str) -> bool:
        return weights.get(coding, weights.get("*", 0.0)) > 0

    if entry.br is not None and accepts("br"):
        return "br"
    if entry.gzip is not None and (accepts("gzip") or weights.get("x-gzip", 0.0) > 0):
        return "gzip"
    return None


def etag_matches(if_none_match: str, etag: str) -> bool:
    """If-None-Match's weak comparison (RFC 9110 13.1.2): W/ prefixes ignored, * matches anything."""
    tags = [tag.strip() for tag in if_none_match.split(",")]
    return "*" in tags or etag in (tag.removeprefix("W/") for tag in tags)


class StaticApp:
    """The ASGI app. `resolve(host)` names the release a host serves (None: no such app)."""

    def __init__(
        self,
        resolve: Resolve,
        *,
        max_releases: int = 256,
        cache_bytes: int = 32 * 1024 * 1024,
        cached_file_bytes: int = 256 * 1024,
    ) -> None:
        self._resolve = resolve
        self._releases: OrderedDict[Path, Release] = OrderedDict()
        self._max_releases = max_releases
        # Small files' bytes (and their variants'), least recently used dropped first past cache_bytes in all.
        self._bytes: OrderedDict[Path, bytes] = OrderedDict()
        self._cache_bytes = cache_bytes
        self._cached_bytes = 0
        self._cached_file_bytes = cached_file_bytes

    def forget(self, folder: Path) -> None:
        """Drop what is kept of a release folder (call it when the folder is pruned)."""
        self._releases.pop(folder, None)
        for path in [path for path in self._bytes if path.is_relative_to(folder)]:
            self._cached_bytes -= len(self._bytes.pop(path))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":  # when run on its own server (the bench); Forja's own server has its own
            await _lifespan(receive, send)
            return
        if scope["type"] != "http":
            await send({"type": "websocket.close", "code": 1008})
            return
        request = Request.of(scope)
        target = await self._resolve(host_of(request.headers))
        if target is None:
            await _page(send, request, 404, NOT_FOUND_PAGE)
        elif target.state != "live":
            await _page(send, request, 410, GONE_PAGE if target.state == "gone" else RELEASE_GONE_PAGE)
        elif request.method not in ("GET", "HEAD"):
            await _page(send, request, 405, METHOD_PAGE, [(b"allow", b"GET, HEAD")])
        else:
            await self._serve(target, request, send)

    async def _serve(self, target: Target, request: Request, send: Send) -> None:
        try:
            release = await self._release(target.folder)
        except (OSError, ValueError):
            log.exception("the release in %s cannot be read", target.folder)
            await _page(send, request, 503, UNAVAILABLE_PAGE)
            return
        if request.parts is None:
            await _page(send, request, 404, NOT_FOUND_PAGE)
            return
        path = "/".join(request.parts)
        found = locate(release, request.parts, request.folder_like)
        if found is not None:
            await self._file(release, found, 200, request, send)
        elif path in release.folders and f"{path}/index.html" in release.files and not request.folder_like:
            location = request.root_path + "/" + "/".join(quote(part) for part in request.parts) + "/"
            location += "?" + request.query.decode("latin-1") if request.query else ""
            await _page(send, request, 301, b"", [(b"location", location.encode("latin-1"))])
        elif target.spa and "index.html" in release.files and _is_page_route(request):
            await self._file(release, "index.html", 200, request, send, vary=b"Accept")
        elif "404.html" in release.files:
            # A single-page app's answer to a missing path depends on Accept: caches must keep them apart.
            await self._file(release, "404.html", 404, request, send, vary=b"Accept" if target.spa else b"")
        else:
            await _page(send, request, 404, NOT_FOUND_PAGE)

    async def _release(self, folder: Path) -> Release:
        release = self._releases.get(folder)
        if release is None:
            release = await anyio.to_thread.run_sync(Release.read, folder)
            self._releases[folder] = release
            while len(self._releases) > self._max_releases:
                self._releases.popitem(last=False)
        else:
            self._releases.move_to_end(folder)
        return release

    async def _file(self, release: Release, path: str, status: int, request: Request, send: Send, vary: bytes = b"") -> None:
        entry = release.files[path]
        coding = choose_encoding(request.header(b"accept-encoding"), entry)
        etag = f'"{entry.etag}"' if coding is None else f'"{entry.etag}-{coding}"'
        varies = [b"Accept-Encoding"] if entry.br is not None or entry.gzip is not None else []
        headers: Headers = [
            (b"etag", etag.encode()),
            (b"cache-control", IMMUTABLE if status == 200 and is_immutable(path) else REVALIDATE),
            *([(b"vary", b", ".join([*varies, vary] if vary else varies))] if varies or vary else []),
            *ALWAYS,
        ]
        if status == 200 and etag_matches(request.header(b"if-none-match"), etag):
            await send({"type": "http.response.start", "status": 304, "headers": headers})
            await send({"type": "http.response.body", "body": b""})
            return
        size = entry.size if coding is None else (entry.br if coding == "br" else entry.gzip)
        headers += [(b"content-type", content_type(path).encode()), (b"content-length", str(size).encode())]
        if coding is not None:
            headers.append((b"content-encoding", coding.encode()))
        disk = release.folder / (path + _SUFFIX.get(coding or "", ""))
        await self._send_body(disk, size or 0, status, headers, request, send)

    async def _send_body(self, disk: Path, size: int, status: int, headers: Headers, request: Request, send: Send) -> None:
        if request.method == "HEAD":
            await send({"type": "http.response.start", "status": status, "headers": headers})
            await send({"type": "http.response.body", "body": b""})
            return
        if size <= self._cached_file_bytes:
            try:
                body = await self._small_file(disk)
            except OSError:  # the release was pruned under this request
                log.warning("%s went away while being served", disk)
                await _page(send, request, 503, UNAVAILABLE_PAGE)
                return
            await send({"type": "http.response.start", "status": status, "headers": headers})
            await send({"type": "http.response.body", "body": body})
            return
        await send({"type": "http.response.start", "status": status, "headers": headers})
        async with await anyio.open_file(disk, "rb") as file:
            while chunk := await file.read(CHUNK):
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
        await send({"type": "http.response.body", "body": b""})

    async def _small_file(self, disk: Path) -> bytes:
        body = self._bytes.get(disk)
        if body is not None:
            self._bytes.move_to_end(disk)
            return body
        body = await anyio.to_thread.run_sync(disk.read_bytes)
        if disk not in self._bytes:
            self._bytes[disk] = body
            self._cached_bytes += len(body)
            while self._cached_bytes > self._cache_bytes:
                self._cached_bytes -= len(self._bytes.popitem(last=False)[1])
        return body


def locate(release: Release, parts: list[str], folder_like: bool) -> str | None:
    """The release file a path names, or None."""
    path = "/".join(parts)
    if not parts:
        return "index.html" if "index.html" in release.files else None
    candidates = [f"{path}/index.html"] if folder_like else [path, f"{path}.html"]
    return next((candidate for candidate in candidates if candidate in release.files), None)


def _is_page_route(request: Request) -> bool:
    """A client-side route of a single-page app: no extension in its last part, or a page asked for."""
    last = request.parts[-1] if request.parts else ""
    return not extension(last) or "text/html" in request.header(b"accept")


async def _page(send: Send, request: Request, status: int, body: bytes, extra: Iterable[tuple[bytes, bytes]] = ()) -> None:
    headers: Headers = [
        (b"content-type", HTML),
        (b"content-length", str(len(body)).encode()),
        (b"cache-control", REVALIDATE),
        *extra,
        *ALWAYS,
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": b"" if request.method == "HEAD" else body})


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return
