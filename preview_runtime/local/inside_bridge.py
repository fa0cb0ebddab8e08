"""Runs inside a local preview's sandbox (its own network namespace, with only `lo`): the two ways through its wall.

Standard library only: it is started as a script (`python3 inside_bridge.py DIR EGRESS_PORT [--inbound]`) by the
sandbox's shell before the install and dev commands, from a read-only copy bound into the sandbox.

- inbound: listens on the unix socket DIR/in.sock; Forja's host side connects there for each connection from the
  proxy, sends one line with the port the dev server listens on, then the bytes; they go to 127.0.0.1:port (else
  [::1]:port) inside the namespace, so a dev server listening anywhere there, on any port, is reached.
- egress: listens on 127.0.0.1:EGRESS_PORT inside the namespace (the preview's HTTPS_PROXY) and passes each
  connection to Forja's egress proxy on the unix socket DIR/egress.sock, which allows the package registries only.

The parent process exits once both listen, so the shell starts the install only when the proxy is there; the child
keeps serving until the sandbox ends (bubblewrap's pid namespace ends every process in it). Only the child imports
asyncio (~35 ms): the parent, which the install and every command in the sandbox wait for, needs sockets alone.
"""

from __future__ import annotations

import contextlib
import os
import socket
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import asyncio

_HEADER_LIMIT = 16
CHUNK = 1 << 16


async def pump(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(OSError, RuntimeError):
        while data := await reader.read(CHUNK):
            writer.write(data)
            await writer.drain()
        if writer.can_write_eof():
            writer.write_eof()  # the other direction may still be talking (HTTP half-close)


async def splice(
    a: tuple[asyncio.StreamReader, asyncio.StreamWriter], b: tuple[asyncio.StreamReader, asyncio.StreamWriter]
) -> None:
    """Bytes both ways until both sides are done, then both closed (Forja's host side uses it too)."""
    import asyncio

    try:
        await asyncio.gather(pump(a[0], b[1]), pump(b[0], a[1]))
    finally:
        for writer in (a[1], b[1]):
            writer.close()


async def _inbound(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    import asyncio

    try:
        line = await reader.readuntil(b"\n")
        port = int(line[:_HEADER_LIMIT])
    except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError, OSError):
        writer.close()
        return
    for host in ("127.0.0.1", "::1"):
        try:
            server = await asyncio.open_connection(host, port)
        except OSError:
            continue
        await splice((reader, writer), server)
        return
    writer.close()  # nothing listens there (yet): the host side sees the connection close


async def _egress(directory: str, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    import asyncio

    try:
        proxy = await asyncio.open_unix_connection(os.path.join(directory, "egress.sock"))
    except OSError:
        writer.close()
        return
    await splice((reader, writer), proxy)


async def _serve(directory: str, inbound: socket.socket | None, egress: socket.socket) -> None:
    import asyncio

    servers = [await asyncio.start_server(lambda r, w: _egress(directory, r, w), sock=egress)]
    if inbound is not None:
        servers.append(await asyncio.start_unix_server(_inbound, sock=inbound))
    await asyncio.gather(*(server.serve_forever() for server in servers))


def main(argv: list[str]) -> None:
    directory, egress_port, inbound_wanted = argv[0], int(argv[1]), "--inbound" in argv[2:]
    egress = socket.create_server(("127.0.0.1", egress_port))
    inbound: socket.socket | None = None
    if inbound_wanted:
        path = os.path.join(directory, "in.sock")
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)  # left by an earlier sandbox of the same preview
        inbound = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        inbound.bind(path)
        inbound.listen(128)
    if os.fork():
        os._exit(0)  # listening: the shell may go on
    devnull = os.open(os.devnull, os.O_RDWR)
    os.dup2(devnull, 0)
    os.dup2(devnull, 1)  # the preview's output pipe must not wait for this process to end
    import asyncio

    asyncio.run(_serve(directory, inbound, egress))


if __name__ == "__main__":
    main(sys.argv[1:])
