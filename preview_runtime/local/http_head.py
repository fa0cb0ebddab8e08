"""The little of HTTP/1.1 the egress proxy reads and writes: request and response heads, never bodies."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

HEAD_LIMIT = 8192  # a proxy request's head is one line and a few headers; anything longer is refused
# Hop-by-hop headers meant for a proxy, not for the server behind it.
_PROXY_HEADERS = frozenset({"proxy-connection", "proxy-authorization", "connection", "keep-alive"})


@dataclass
class RequestHead:
    method: str
    target: str
    version: str
    headers: list[tuple[str, str]]

    def forwarded(self, target: str, host: str, authorization: str | None = None) -> bytes:
        """This request for the next hop: its target replaced, the client's proxy headers dropped, `Host` set to
        `host` (the allowed target's, whatever the client wrote), `Connection: close` so the connection carries this
        request only, and `authorization` (the next proxy's Proxy-Authorization) if given."""
        lines = [f"{self.method} {target} {self.version}", f"Host: {host}"]
        lines += [f"{name}: {value}" for name, value in self.headers if name.lower() not in {*_PROXY_HEADERS, "host"}]
        if authorization:
            lines.append(f"Proxy-Authorization: {authorization}")
        lines.append("Connection: close")
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")

    def body_length(self) -> int:
        """The length of the body after this head; ValueError for a chunked one (or a doubtful length): the proxy
        forwards one request per plain-HTTP connection, so it must know where that request ends. Installers' GETs
        have no body."""
        values = {value for name, value in self.headers if name.lower() == "content-length"}
        if any(name.lower() == "transfer-encoding" for name, _ in self.headers) or len(values) > 1:
            raise ValueError("only requests without a body or with a Content-Length are forwarded")
        value = values.pop() if values else "0"
        if not value.isdigit():
            raise ValueError("malformed Content-Length")
        return int(value)


async def read_head(reader: asyncio.StreamReader) -> bytes:
    """One head (up to its blank line); ValueError when longer than HEAD_LIMIT."""
    head = await reader.readuntil(b"\r\n\r\n")
    if len(head) > HEAD_LIMIT:
        raise ValueError("HTTP head too long")
    return head


def parse_request(head: bytes) -> RequestHead:
    """ValueError when the request line is not `METHOD TARGET VERSION`."""
    line, *rest = head.decode("latin-1").split("\r\n")
    method, target, version = line.split(" ")
    headers: list[tuple[str, str]] = []
    for field in rest:
        if field:
            name, sep, value = field.partition(":")
            if not sep or not name or name != name.strip():
                raise ValueError("malformed header")
            headers.append((name, value.strip()))
    return RequestHead(method.upper(), target, version, headers)


def response_status(head: bytes) -> int:
    """The status code of a response head; ValueError when it is not one."""
    return int(head.split(b"\r\n", 1)[0].split(b" ", 2)[1])
