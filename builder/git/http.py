"""git's smart HTTP protocol, answered by git's own `git http-backend` run as a CGI program, and the socket a push's
pre-receive hook asks Forja through."""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import shutil
import socket
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field

from builder.git.commands import HTTP_BACKEND, git_env, git_root

log = logging.getLogger(__name__)

CHUNK = 64 * 1024
# Request headers git's CGI reads, as CGI names them.
CGI_HEADERS = {"content-type": "CONTENT_TYPE", "content-encoding": "HTTP_CONTENT_ENCODING", "git-protocol": "HTTP_GIT_PROTOCOL"}


@dataclass
class CgiRequest:
    path_info: str  # /<project id>.git/info/refs
    method: str
    query: str
    headers: Mapping[str, str]
    body: AsyncIterator[bytes]
    remote_user: str
    remote_addr: str
    env: dict[str, str] = field(default_factory=dict)


@dataclass
class CgiAnswer:
    status: int
    headers: list[tuple[str, str]]
    body: AsyncIterator[bytes]


def cgi_env(request: CgiRequest) -> dict[str, str]:
    env = {
        "GIT_PROJECT_ROOT": str(git_root()),
        "GIT_HTTP_EXPORT_ALL": "1",
        "PATH_INFO": request.path_info,
        "REQUEST_METHOD": request.method,
        "QUERY_STRING": request.query,
        "REMOTE_USER": request.remote_user,
        "REMOTE_ADDR": request.remote_addr,
    }
    for header, name in CGI_HEADERS.items():
        if value := request.headers.get(header):
            env[name] = value
    if length := request.headers.get("content-length"):
        env["CONTENT_LENGTH"] = length
    return git_env(env | request.env)


async def _feed(process: asyncio.subprocess.Process, body: AsyncIterator[bytes]) -> None:
    stdin = process.stdin
    assert stdin is not None
    try:
        async for chunk in body:
            stdin.write(chunk)
            await stdin.drain()
    except (BrokenPipeError, ConnectionResetError):
        pass  # the backend stopped reading: its answer says why
    finally:
        stdin.close()


async def run_backend(request: CgiRequest, spawned: Callable[[], object] | None = None) -> CgiAnswer:
    """Start `git http-backend` on the request; its status and headers, and its body as it comes. `spawned` is called
    once git runs: what else the request needs can start then, without delaying git."""
    process = await asyncio.create_subprocess_exec(
        HTTP_BACKEND,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=cgi_env(request),
    )
    if spawned is not None:
        spawned()
    assert process.stdout is not None and process.stderr is not None
    feeding = asyncio.create_task(_feed(process, request.body))
    errors = asyncio.create_task(process.stderr.read())
    status, headers = 200, []
    while line := (await process.stdout.readline()).rstrip(b"\r\n"):
        name, _, value = line.decode("latin-1").partition(":")
        if name.lower() == "status":
            status = int(value.split()[0])
        else:
            headers.append((name.strip(), value.strip()))
    # The whole request goes in before the answer streams out: once the route returns, Starlette reads the client's
    # messages itself (to see it leave), and the body's would be lost. git reads a request whole before it answers.
    await feeding

    async def body() -> AsyncIterator[bytes]:
        assert process.stdout is not None
        try:
            while chunk := await process.stdout.read(CHUNK):
                yield chunk
        finally:
            with suppress(ProcessLookupError):
                if process.returncode is None and not process.stdout.at_eof():
                    process.kill()
            code = await process.wait()
            stderr = (await errors).decode("utf-8", "replace").strip()
            if code or stderr:
                log.info("git http-backend %s %s exited %s: %s", request.method, request.path_info, code, stderr[-500:])

    return CgiAnswer(status, headers, body())


# A push's pre-receive hook's request in, whether to take the push and what to tell the pusher out.
Handler = Callable[[bytes], Awaitable[tuple[bool, str]]]


class HookServer:
    """The Unix socket every push's pre-receive hook (`pre-receive`) asks through, one per Forja process, in a folder
    only Forja's user may open. A hook names its push by the token the push was given (FORJA_GIT_PUSH); the push's
    `handler` gets the rest of its request, and its verdict goes back as "ok" or "no" on a line, then the message.

    One socket for every push, made on the first: a folder and a socket per push cost 2 ms of each push here."""

    def __init__(self) -> None:
        self._handlers: dict[str, Handler] = {}
        self._listening: socket.socket | None = None
        self._folder = ""  # the socket's, made with it
        self._serving: asyncio.Task[None] | None = None
        self._answering: set[asyncio.Task[None]] = set()

    def _address(self) -> str:
        if self._listening is None:
            self._folder = tempfile.mkdtemp(prefix="forja-git-hooks-")  # mode 0700
            listening = socket.socket(socket.AF_UNIX)
            listening.bind(self._path)
            listening.listen()
            listening.setblocking(False)
            self._listening = listening
            self._serving = asyncio.create_task(self._serve(listening))
        return self._path

    @property
    def _path(self) -> str:
        return os.path.join(self._folder, "hook")

    @contextmanager
    def push(self, handler: Handler) -> Iterator[dict[str, str]]:
        """The environment that sends a push's hook to `handler`, while the block runs."""
        token = secrets.token_urlsafe(24)
        self._handlers[token] = handler
        try:
            yield {"FORJA_GIT_HOOK": self._address(), "FORJA_GIT_PUSH": token}
        finally:
            self._handlers.pop(token, None)

    async def _serve(self, listening: socket.socket) -> None:
        loop = asyncio.get_running_loop()
        while True:
            connection, _ = await loop.sock_accept(listening)
            answering = asyncio.create_task(self._answer(connection))
            self._answering.add(answering)
            answering.add_done_callback(self._answering.discard)

    async def _answer(self, connection: socket.socket) -> None:
        loop = asyncio.get_running_loop()
        with connection:
            asked = b""
            while chunk := await loop.sock_recv(connection, CHUNK):
                asked += chunk
            token, _, request = asked.partition(b"\0")
            handler = self._handlers.pop(token.decode("ascii", "replace"), None)  # one answer per push
            if handler is None:
                ok, message = False, "This push is over, or was not made through Forja; push again."
            else:
                try:
                    ok, message = await handler(request)
                except Exception:
                    log.exception("answering a push's hook failed")
                    ok, message = False, "Forja could not take this push; its log says why."
            await loop.sock_sendall(connection, (b"ok\n" if ok else b"no\n") + message.encode())

    async def close(self) -> None:
        tasks = [t for t in (self._serving, *self._answering) if t is not None]
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks)
        if self._listening is not None:
            self._listening.close()
        if self._folder:
            shutil.rmtree(self._folder, ignore_errors=True)
