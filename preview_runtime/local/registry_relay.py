"""The egress proxy's side of a registry tunnel it reads: HTTP/1.1 between the install and the real registry.

The install's TLS ends here (a certificate for the registry's name, from registry_certs.py) and the registry is
reached over TLS verified against the machine's authorities, at the address the egress policy checked. Each request
is read (registry_reading.py): a package's document is asked about first; a refused one is answered here and never
reaches the registry; one with versions held back is fetched whole, uncompressed, and answered without them.
Everything else (tarballs, files, searches) is relayed as it comes, both connections kept alive between requests.
"""

from __future__ import annotations

import asyncio
import dataclasses
import gzip
import logging
import ssl
import zlib
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field

from preview_runtime.local.http_head import RequestHead, parse_request, read_head
from preview_runtime.local.inside_bridge import CHUNK
from preview_runtime.local.registry_certs import CertificateAuthority
from preview_runtime.local.registry_reading import Ecosystem, PackageCheck, Verdict, asked, refused, without

logger = logging.getLogger(__name__)

Streams = tuple[asyncio.StreamReader, asyncio.StreamWriter]
Connect = Callable[[], Awaitable[Streams]]
# Headers of one hop only, and those a changed answer no longer matches.
_HOP = frozenset({"proxy-connection", "proxy-authorization", "connection", "keep-alive"})
_FRAMING = frozenset({"content-length", "transfer-encoding"})
_CHANGED = _FRAMING | {"content-encoding", "etag", "last-modified"}
_DECODERS: Mapping[str, Callable[[bytes], bytes]] = {
    "": lambda data: data,
    "identity": lambda data: data,
    "gzip": gzip.decompress,
    "x-gzip": gzip.decompress,
    "deflate": zlib.decompress,
}


@dataclass(frozen=True)
class Reading:
    """How the egress proxy reads registry traffic: whom it asks about packages, the authority its certificates come
    from, how it verifies the real registries, and which (host, port) it reads, as (ecosystem, documents' path)."""

    check: PackageCheck
    authority: CertificateAuthority
    upstream_tls: ssl.SSLContext
    registries: Mapping[tuple[str, int], tuple[Ecosystem, str]] = field(default_factory=dict)

    def registry(self, host: str, port: int) -> tuple[Ecosystem, str] | None:
        return self.registries.get((host.lower().rstrip("."), port))


@dataclass
class _Response:
    status: int
    head: bytes
    headers: list[tuple[str, str]]

    def header(self, name: str) -> str:
        return next((value for key, value in self.headers if key.lower() == name), "")

    def changed(self, body: bytes, dropped: frozenset[str] = _CHANGED) -> bytes:
        """This answer with `body`, whole (its length said), without the headers `dropped`."""
        line = self.head.split(b"\r\n", 1)[0].decode("latin-1")
        kept = [f"{key}: {value}" for key, value in self.headers if key.lower() not in dropped]
        return ("\r\n".join([line, *kept, f"Content-Length: {len(body)}"]) + "\r\n\r\n").encode("latin-1") + body


async def relay(
    reading: Reading,
    kind: tuple[Ecosystem, str],
    client: Streams,
    connect: Connect,
    say: Callable[[str], None],
    host: str,
) -> None:
    """Serve the install's requests on `client` until it closes, reaching the registry through `connect`; each
    request's Host is the registry's (`host`), whatever the install wrote: a CDN serving many sites behind the
    registry's address must not serve it another."""
    ecosystem = kind[0]
    server: Streams | None = None
    try:
        while True:
            try:
                request = parse_request(await read_head(client[0]))
            except asyncio.IncompleteReadError:
                return  # the install is done with this connection
            body = await client[0].readexactly(request.body_length())
            verdict = await verdict_for(reading, kind, request, request.target, client[1], say)
            if verdict.refusal:
                continue
            server, response = await _exchange(server, connect, _outgoing(request, host, bool(verdict.held_back)) + body)
            keep = await _answer(response, request, server, client[1], ecosystem, verdict.held_back)
            if not keep:
                return
    finally:
        for writer in (client[1], *(server[1:] if server else ())):
            writer.close()


async def verdict_for(
    reading: Reading,
    kind: tuple[Ecosystem, str],
    request: RequestHead,
    target: str,
    client: asyncio.StreamWriter,
    say: Callable[[str], None],
) -> Verdict:
    """What the install may have of the package whose document `request` asks for (everything, for any other request);
    a refusal is answered to `client` and said."""
    ecosystem, base = kind
    name = asked(ecosystem, base, request.method, target)
    verdict = await reading.check(ecosystem, name) if name else Verdict()
    if verdict.refusal:
        say(verdict.refusal)
        logger.info("install refused %s %s", ecosystem, name)
        client.write(refused(ecosystem, verdict.refusal))
        await client.drain()
    return verdict


async def answer_without(
    request: RequestHead, server: Streams, client: asyncio.StreamWriter, ecosystem: Ecosystem, held: frozenset[str]
) -> None:
    """A plain-HTTP registry's answer (one per connection) to a document with versions held back, without them."""
    head = await read_head(server[0])
    await _answer(_response(head), request, server, client, ecosystem, held)


def uncompressed(request: RequestHead) -> RequestHead:
    """The request asking for its answer uncompressed (an answer that is changed is read whole)."""
    headers = [(key, value) for key, value in request.headers if key.lower() != "accept-encoding"]
    return dataclasses.replace(request, headers=[*headers, ("Accept-Encoding", "identity")])


def _outgoing(request: RequestHead, host: str, whole: bool) -> bytes:
    """The request for the registry: the same, but for a proxy's headers and its Host; uncompressed when its answer is
    changed."""
    request = uncompressed(request) if whole else request
    lines = [f"{request.method} {request.target} {request.version}", f"Host: {host}"]
    lines += [f"{key}: {value}" for key, value in request.headers if key.lower() not in {*_HOP, "host"}]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


async def _exchange(server: Streams | None, connect: Connect, outgoing: bytes) -> tuple[Streams, _Response]:
    """The request sent and its answer's head read, on the kept connection if the registry has not closed it (else,
    or when it closes before answering, on a new one)."""
    if server is not None:
        try:
            return server, await _sent(server, outgoing)
        except (OSError, asyncio.IncompleteReadError):
            server[1].close()
    server = await connect()
    return server, await _sent(server, outgoing)


async def _sent(server: Streams, outgoing: bytes) -> _Response:
    server[1].write(outgoing)
    await server[1].drain()
    return _response(await read_head(server[0]))


def _response(head: bytes) -> _Response:
    line, *rest = head.decode("latin-1").split("\r\n")
    headers = [(key, value.strip()) for key, sep, value in (field.partition(":") for field in rest if field) if sep]
    return _Response(int(line.split(" ", 2)[1]), head, headers)


async def _answer(
    response: _Response,
    request: RequestHead,
    server: Streams,
    client: asyncio.StreamWriter,
    ecosystem: Ecosystem,
    held: frozenset[str],
) -> bool:
    """The answer relayed (changed when versions are held back); whether both connections may carry another."""
    bodiless = request.method == "HEAD" or response.status in (204, 304) or 100 <= response.status < 200
    length = response.header("content-length")
    chunked = "chunked" in response.header("transfer-encoding").lower()
    closes = "close" in response.header("connection").lower() or "close" in _header(request, "connection")
    delimited = bodiless or chunked or length.isdigit()
    if held and response.status == 200 and not bodiless:
        body = await (_chunks(server[0], None) if chunked else _read(server[0], int(length) if length.isdigit() else -1))
        changed = _without(ecosystem, body, response, held)
        client.write(response.changed(changed) if changed is not None else response.changed(body, _FRAMING))
        await client.drain()
        return delimited and not closes
    client.write(response.head)
    if chunked and not bodiless:
        await _chunks(server[0], client)
    elif not bodiless:
        await _copy(server[0], client, int(length) if length.isdigit() else -1)
    await client.drain()
    return delimited and not closes


def _without(ecosystem: Ecosystem, body: bytes, response: _Response, held: frozenset[str]) -> bytes | None:
    """The document without the held versions; None when it cannot be read (an encoding not read here, a damaged
    one): passed on as it came."""
    decode = _DECODERS.get(response.header("content-encoding").lower())
    try:
        return without(ecosystem, decode(body), response.header("content-type").lower(), held) if decode else None
    except (OSError, EOFError, zlib.error):
        return None


def _header(request: RequestHead, name: str) -> str:
    return next((value.lower() for key, value in request.headers if key.lower() == name), "")


async def _read(reader: asyncio.StreamReader, length: int) -> bytes:
    return await reader.readexactly(length) if length >= 0 else await reader.read()


async def _copy(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, length: int) -> None:
    """`length` bytes (-1: until the registry closes) from the registry to the install."""
    while length != 0:
        data = await reader.read(CHUNK if length < 0 else min(length, CHUNK))
        if not data:
            if length > 0:
                raise asyncio.IncompleteReadError(b"", length)
            return
        writer.write(data)
        await writer.drain()
        length -= len(data) if length > 0 else 0


async def _chunks(reader: asyncio.StreamReader, writer: asyncio.StreamWriter | None) -> bytes:
    """A chunked body: relayed as it comes to `writer`, or (without one) read whole and returned decoded."""
    data = bytearray()
    while True:
        line = await reader.readuntil(b"\r\n")
        size = int(line.split(b";", 1)[0].strip(), 16)
        chunk = await reader.readexactly(size + 2) if size else b""
        if writer is not None:
            writer.write(line + chunk)
            await writer.drain()
        else:
            data += chunk[:-2]
        if not size:
            break
    while (trailer := await reader.readuntil(b"\r\n")) != b"\r\n":  # trailers, then the blank line
        if writer is not None:
            writer.write(trailer)
    if writer is not None:
        writer.write(b"\r\n")
    return bytes(data)
