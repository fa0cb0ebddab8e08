"""A unix socket that leads to one PostgreSQL server: how an app in a sandbox reaches its database.

A sandbox may reach no address of the host (the containment rule every runner keeps), so its database comes in as a
file instead: a socket in a folder mounted into the sandbox at /run/forja-db, which Forja relays to PostgreSQL's own
address. PostgreSQL still checks the role, its password and its rights on each database; the relay only carries bytes.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
from dataclasses import dataclass, field
from pathlib import Path

log = logging.getLogger(__name__)

# The name libpq, psycopg and node-postgres look for in the folder `host=` names, for port 5432.
SOCKET_NAME = ".s.PGSQL.5432"
CHUNK = 1 << 16


@dataclass(frozen=True)
class Target:
    """Where PostgreSQL listens: a TCP host and port, or (host an absolute folder) its own unix socket there."""

    host: str
    port: int

    async def connect(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        if self.host.startswith("/"):
            return await asyncio.open_unix_connection(os.path.join(self.host, f".s.PGSQL.{self.port}"))
        return await asyncio.open_connection(self.host, self.port)


@dataclass
class _Relay:
    server: asyncio.Server
    target: Target
    inode: int  # of the socket file it bound: another process (a second worker) may have bound its own there since
    links: set[asyncio.Task[None]] = field(default_factory=set)


class DatabaseRelays:
    """One relay per folder, for as long as this process runs (or until `close`)."""

    def __init__(self) -> None:
        self._relays: dict[Path, _Relay] = {}
        self._lock = asyncio.Lock()

    async def open(self, folder: Path, target: Target) -> Path:
        """A socket in `folder` (made, mode 0755) relayed to `target`: the one already there when it relays to the
        same place. Returns the socket's path."""
        async with self._lock:
            relay = self._relays.get(folder)
            if relay is not None and relay.target == target and relay.server.is_serving() and await _ours(folder, relay):
                return folder / SOCKET_NAME
            if relay is not None:
                await self._shut(folder)
            sock = await asyncio.to_thread(_bind, folder)
            links: set[asyncio.Task[None]] = set()
            inode = (await asyncio.to_thread(os.stat, folder / SOCKET_NAME)).st_ino
            server = await asyncio.start_unix_server(lambda r, w: _link(target, links, r, w), sock=sock)
            self._relays[folder] = _Relay(server, target, inode, links)
            return folder / SOCKET_NAME

    async def close(self, folder: Path) -> None:
        """Stop relaying from `folder` and cut its open connections."""
        async with self._lock:
            await self._shut(folder)

    async def close_all(self) -> None:
        async with self._lock:
            for folder in list(self._relays):
                await self._shut(folder)

    async def _shut(self, folder: Path) -> None:
        relay = self._relays.pop(folder, None)
        if relay is None:
            return
        relay.server.close()
        for task in list(relay.links):
            task.cancel()
        await asyncio.gather(*relay.links, return_exceptions=True)
        with contextlib.suppress(FileNotFoundError):
            await asyncio.to_thread((folder / SOCKET_NAME).unlink)


async def _link(
    target: Target, links: set[asyncio.Task[None]], reader: asyncio.StreamReader, writer: asyncio.StreamWriter
) -> None:
    task = asyncio.current_task()
    assert task is not None
    links.add(task)
    try:
        try:
            up_reader, up_writer = await target.connect()
        except OSError as exc:
            log.warning("the apps' database relay cannot reach PostgreSQL: %s", exc)
            return
        try:
            await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer))
        finally:
            up_writer.close()
    finally:
        writer.close()
        links.discard(task)


async def _ours(folder: Path, relay: _Relay) -> bool:
    """Whether the socket in `folder` is still the one `relay` listens on (not removed, nor replaced by another's)."""
    try:
        return (await asyncio.to_thread(os.stat, folder / SOCKET_NAME)).st_ino == relay.inode
    except FileNotFoundError:
        return False


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(OSError):
        while data := await reader.read(CHUNK):
            writer.write(data)
            await writer.drain()
        if writer.can_write_eof():
            writer.write_eof()


def _bind(folder: Path) -> socket.socket:
    """A listening socket at folder/SOCKET_NAME, world-connectable (PostgreSQL's password is the check), replacing a
    stale one. Bound through /proc/self/fd so a long data folder never passes the 108 bytes a socket's path may have."""
    folder.mkdir(parents=True, exist_ok=True)
    folder.chmod(0o755)  # the sandbox's user (in Docker, another uid) must reach the socket
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    fd = os.open(folder, os.O_PATH | os.O_DIRECTORY)
    try:
        path = f"/proc/self/fd/{fd}/{SOCKET_NAME}"
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)
        sock.bind(path)
        os.chmod(path, 0o777)
        sock.listen(64)
        sock.setblocking(False)
    except BaseException:
        sock.close()
        raise
    finally:
        os.close(fd)
    return sock
