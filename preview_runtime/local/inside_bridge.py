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
asyncio (~35 ms), without --inbound only at the first connection: the parent, which the install and every command in
the sandbox wait for, needs the C half of the socket module alone (`socket` itself, with `typing` and `contextlib`,
took 9 ms more of each command's start).
"""

from __future__ import annotations

import _socket
import os
import select
import sys

TYPE_CHECKING = False  # typing's own costs 3 ms of each start; type checkers take this one as theirs
if TYPE_CHECKING:
    import asyncio

_HEADER_LIMIT = 16
CHUNK = 1 << 16


async def pump(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(CHUNK):
            writer.write(data)
            await writer.drain()
        if writer.can_write_eof():
            writer.write_eof()  # the other direction may still be talking (HTTP half-close)
    except (OSError, RuntimeError):
        pass


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


async def _serve(directory: str, inbound: int | None, egress: int) -> None:
    import asyncio
    import socket

    servers = [await asyncio.start_server(lambda r, w: _egress(directory, r, w), sock=socket.socket(fileno=egress))]
    if inbound is not None:
        servers.append(await asyncio.start_unix_server(_inbound, sock=socket.socket(fileno=inbound)))
    await asyncio.gather(*(server.serve_forever() for server in servers))


def _listening(family: int, address: str | tuple[str, int]) -> int:
    """The file descriptor of a socket listening at `address`."""
    sock = _socket.socket(family, _socket.SOCK_STREAM)
    if family == _socket.AF_INET:
        sock.setsockopt(_socket.SOL_SOCKET, _socket.SO_REUSEADDR, 1)  # as socket.create_server does
    sock.bind(address)
    sock.listen(128)
    return sock.detach()


def main(argv: list[str]) -> None:
    directory, egress_port, inbound_wanted = argv[0], int(argv[1]), "--inbound" in argv[2:]
    egress = _listening(_socket.AF_INET, ("127.0.0.1", egress_port))
    inbound: int | None = None
    if inbound_wanted:
        path = os.path.join(directory, "in.sock")
        try:
            os.unlink(path)  # left by an earlier sandbox of the same preview
        except FileNotFoundError:
            pass
        inbound = _listening(_socket.AF_UNIX, path)
    if os.fork():
        os._exit(0)  # listening: the shell may go on
    devnull = os.open(os.devnull, os.O_RDWR)
    os.dup2(devnull, 0)
    os.dup2(devnull, 1)  # the preview's output pipe must not wait for this process to end
    if inbound is None:
        # No way in (an install ahead, a command): asyncio (~35 ms of CPU) only once the sandbox connects out, which an
        # install from npm's cache never does. A preview's imports it at once, while its dev server starts: its first
        # request would wait for it (a warm start measured 0.04 s slower).
        select.select([egress], [], [])
    import asyncio

    asyncio.run(_serve(directory, inbound, egress))


if __name__ == "__main__":
    main(sys.argv[1:])
