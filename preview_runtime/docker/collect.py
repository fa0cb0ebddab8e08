"""A Docker (or swarm) preview's built files (Runner.collect): the container's archive of /app/<folder>, read as it
streams, under collect.py's rules.

The archive flows from Docker's connection into a pipe that Python's tarfile reads in a thread, so it is never held
whole, in memory or on disk; file contents count against the cap as they arrive, and past it the connection is
closed at once, which stops dockerd's copy and releases the container's lock (see DESIGN.md and deps_cache.py's
_read_archive). Entries are taken from the tar as they are: a symlink stays a link entry (Docker does not follow it),
settled by collect.py's rules; installed dependencies in the folder stream past unread.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import os
import tarfile
import threading
from collections.abc import Callable
from typing import IO, TypeVar

import aiohttp
from aiodocker import Docker
from aiodocker.exceptions import DockerError

from preview_runtime.collect import Budget, clean_folder, is_skipped, nothing_there, settle_links, shown
from preview_runtime.docker.engine import Engine
from preview_runtime.docker.layout import APP_DIR, BOOTSTRAP
from preview_runtime.runner import RunnerError

_CHUNK = 1 << 16
_GO_MODE_SYMLINK = 1 << 27  # Go's os.ModeSymlink, in the mode of Docker's path stat
T = TypeVar("T")


async def collect_archive(engine: Engine, container_id: str, folder: str, limit_bytes: int) -> dict[str, bytes]:
    folder = clean_folder(folder)
    docker = await engine.client()
    await _no_links_on_the_way(docker, container_id, folder)
    read_fd, write_fd = os.pipe()
    reader = _in_own_thread(_untar, read_fd, folder, limit_bytes)
    try:
        with os.fdopen(write_fd, "wb", buffering=0) as pipe:
            await _stream(docker, container_id, f"{APP_DIR}/{folder}".rstrip("/"), pipe)
    except BrokenPipeError:
        pass  # the reader stopped early (past the cap, a bad entry): its own error says why
    except BaseException as exc:
        with contextlib.suppress(Exception):
            await reader  # it ends at the pipe's closed end
        if isinstance(exc, DockerError) and exc.status == 404:
            raise nothing_there(folder) from None
        if isinstance(exc, DockerError | aiohttp.ClientError):
            raise RunnerError(f"Docker could not hand over the built files: {getattr(exc, 'message', exc)}") from exc
        raise
    return await reader


def _in_own_thread(function: Callable[..., T], *args: object) -> asyncio.Future[T]:
    """`function` in a thread of its own, not the loop's executor: a reader blocked on its pipe must never hold an
    executor thread that the writer's (or anyone's) next to_thread waits for."""
    loop = asyncio.get_running_loop()
    future: asyncio.Future[T] = loop.create_future()

    def settle(result: T | None, error: BaseException | None) -> None:
        if future.done():
            return
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(result)  # pyright: ignore[reportArgumentType]

    def run() -> None:
        try:
            result = function(*args)
        except BaseException as exc:  # handed to the awaiting coroutine
            loop.call_soon_threadsafe(settle, None, exc)
        else:
            loop.call_soon_threadsafe(settle, result, None)

    threading.Thread(target=run, name="forja-collect", daemon=True).start()
    return future


async def _no_links_on_the_way(docker: Docker, container_id: str, folder: str) -> None:
    """Docker follows links in the path it archives (inside the container's own files): each folder on the way is
    asked for first, and one that is a link is refused, as the local runner's O_NOFOLLOW refuses it."""
    parts = folder.split("/") if folder else []
    for depth in range(1, len(parts) + 1):
        path = "/".join(parts[:depth])
        try:
            async with docker._query(
                f"containers/{container_id}/archive", method="HEAD", params={"path": f"{APP_DIR}/{path}"}
            ) as response:
                stat = json.loads(base64.b64decode(response.headers.get("X-Docker-Container-Path-Stat", "") or "e30="))
        except (DockerError, ValueError):  # a HEAD's 404 has no body for aiodocker to read its message from
            raise nothing_there(folder) from None
        if stat.get("linkTarget") or int(stat.get("mode") or 0) & _GO_MODE_SYMLINK:
            raise RunnerError(f"{shown(path)} is a link, not a folder of the project: Forja never reads through a link.")


async def _stream(docker: Docker, container_id: str, path: str, pipe: IO[bytes]) -> None:
    async with docker._query(
        f"containers/{container_id}/archive",
        method="GET",
        params={"path": path},
        timeout=aiohttp.ClientTimeout(total=None, sock_connect=30, sock_read=120),
    ) as response:
        try:
            async for chunk in response.content.iter_chunked(_CHUNK):
                await asyncio.to_thread(pipe.write, chunk)  # waits while the reader is behind
        except BaseException:
            response.close()  # drops the connection: dockerd stops copying and the container's lock is released
            raise
        response.release()


def _untar(read_fd: int, folder: str, limit_bytes: int) -> dict[str, bytes]:
    """The files of the archive by their path inside the folder (the archive names them under its last part)."""
    budget = Budget(limit_bytes)
    files: dict[str, bytes] = {}
    links: dict[str, str] = {}
    hard: dict[str, str] = {}
    with os.fdopen(read_fd, "rb") as pipe:
        try:
            with tarfile.open(fileobj=pipe, mode="r|") as tar:
                for member in tar:
                    _, _, path = member.name.partition("/")
                    if not path:
                        if not member.isdir():
                            raise RunnerError(f"{shown(folder)} is not a folder of the project (it is a file or a link).")
                        continue
                    if is_skipped(path) or (not folder and path.split("/", 1)[0] == BOOTSTRAP):
                        continue
                    if member.issym():
                        links[path] = member.linkname
                    elif member.islnk():  # the same file as an earlier entry: its data came with that one
                        hard[path] = member.linkname.partition("/")[2]
                    elif member.isfile() and (data := tar.extractfile(member)) is not None:
                        files[path] = _read(data, member.size, budget)
        except tarfile.TarError as exc:
            raise RunnerError(f"The built files came back damaged from the container: {exc}") from None
        with contextlib.suppress(OSError):
            while pipe.read(_CHUNK):  # the archive's end padding: let the writer finish cleanly
                pass
    for path, target in hard.items():
        if (data := files.get(target)) is not None:
            budget.take(len(data))
            files[path] = data
    settle_links(files, links, folder, budget)
    return files


def _read(data: IO[bytes], size: int, budget: Budget) -> bytes:
    budget.take(size)  # tar says the size up front: a file past the cap is refused before it is read
    return data.read()
