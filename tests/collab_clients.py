"""Yjs clients of Forja's co-editing rooms, as any script would be one: pycrdt documents synced by pycrdt's Provider over
a real websocket (httpx-ws), and a Forja API served by uvicorn on a loopback port for them to join. And cursors
(awareness messages) written and read byte by byte as lib0 encodes them, by a client that may lie in them."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from urllib.parse import quote

import httpx
import pytest
import uvicorn
from httpx_ws import AsyncWebSocketSession, WebSocketDisconnect, aconnect_ws
from pycrdt import Channel, Decoder, Doc, Provider, Text, write_var_uint
from starlette.types import ASGIApp

from builder.api import api, guarded
from builder.settings import settings
from tests.conftest import free_port
from tests.waiting import until


class WebsocketChannel(Channel):
    def __init__(self, websocket: AsyncWebSocketSession, path: str) -> None:
        self._websocket = websocket
        self._path = path

    @property
    def path(self) -> str:
        return self._path

    async def send(self, message: bytes) -> None:
        with contextlib.suppress(WebSocketDisconnect):
            await self._websocket.send_bytes(message)

    async def recv(self) -> bytes:
        try:
            return await self._websocket.receive_bytes()
        except WebSocketDisconnect:
            raise StopAsyncIteration from None

    async def __anext__(self) -> bytes:
        return await self.recv()


def room_url(base: str, project_id: str, path: str) -> str:
    return f"{base.replace('http', 'ws', 1)}/api/projects/{project_id}/collab/{quote(path)}"


@contextlib.asynccontextmanager
async def joined(
    base: str, project_id: str, path: str, headers: dict[str, str] | None = None, doc: Doc | None = None
) -> AsyncIterator[Doc]:
    """A document in the file's room, synced once with the server's (its `content` is the file's text): a new one, or
    `doc` coming back with what it holds."""
    doc = doc or Doc()
    doc.get("content", type=Text)
    async with (
        httpx.AsyncClient(timeout=30) as client,
        aconnect_ws(room_url(base, project_id, path), client, headers=dict(headers or {})) as websocket,
        Provider(doc, WebsocketChannel(websocket, path)) as provider,
    ):
        async with asyncio.timeout(30):
            await provider.synced.wait()
        yield doc


async def refusal(base: str, project_id: str, path: str, headers: dict[str, str] | None = None) -> tuple[int, str]:
    """The close code and reason of a join the server refuses."""
    async with (
        httpx.AsyncClient(timeout=30) as client,
        aconnect_ws(room_url(base, project_id, path), client, headers=dict(headers or {})) as websocket,
    ):
        try:
            await websocket.receive_bytes()
        except WebSocketDisconnect as closed:
            return closed.code, closed.reason or ""
    raise AssertionError("the server did not close the socket")


def text_of(doc: Doc) -> str:
    return str(doc.get("content", type=Text))


async def converged(docs: list[Doc], expected: Callable[[str], bool] | None = None, within: float = 30) -> str:
    """The text all the documents end with, once they agree (and it passes `expected`)."""

    def agree() -> bool:
        texts = {text_of(doc) for doc in docs}
        return len(texts) == 1 and (expected is None or expected(next(iter(texts))))

    async def agreed() -> bool:
        return agree()

    await until(agreed, "the documents to agree", within)
    return text_of(docs[0])


@contextlib.asynccontextmanager
async def forja_served(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[str]:
    """Forja's API and its guards on a loopback port (the port is Forja's own, so its Host and Origin are accepted); the
    services are the ones a `services` or `accounts_on` fixture installed."""
    port = free_port()
    monkeypatch.setattr(settings, "port", port)
    async with serving(guarded(api), port) as base:
        yield base


@contextlib.asynccontextmanager
async def serving(app: ASGIApp, port: int) -> AsyncIterator[str]:
    """`app` on a loopback port in this event loop (real websockets, through wsproto)."""
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, ws="wsproto", lifespan="off", log_level="warning"))
    task = asyncio.create_task(server.serve())
    try:

        async def started() -> bool:
            return server.started

        await until(started, "the server to start", 30)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


# Where a cursor is, as y-monaco says it: at the end of the file's text (a Yjs relative position into the root "content").
END_OF_TEXT = {"type": None, "tname": "content", "item": None, "assoc": 0}
SELECTION = {"anchor": END_OF_TEXT, "head": END_OF_TEXT}


def awareness(*entries: tuple[int, int, object]) -> bytes:
    """An awareness message of (client id, clock, state) entries, lib0's numbers written by pycrdt; a state that is a
    str goes as it is (broken JSON)."""
    update = write_var_uint(len(entries))
    for client, clock, state in entries:
        text = (state if isinstance(state, str) else json.dumps(state)).encode()
        update += write_var_uint(client) + write_var_uint(clock) + write_var_uint(len(text)) + text
    return b"\x01" + write_var_uint(len(update)) + update


@dataclass(frozen=True)
class Heard:
    client: int
    clock: int
    state: dict[str, object] | None


def heard_in(message: bytes) -> list[Heard]:
    """The cursors an awareness message holds (none in another message), read with pycrdt's decoder."""
    if not message or message[0] != 1:
        return []
    decoder = Decoder(Decoder(message[1:]).read_message() or b"")
    return [
        Heard(decoder.read_var_uint(), decoder.read_var_uint(), json.loads(decoder.read_var_string()))
        for _ in range(decoder.read_var_uint())
    ]


async def listen(websocket: AsyncWebSocketSession, into: list[Heard]) -> None:
    """Every cursor the socket hears, into `into`, until it closes."""
    with contextlib.suppress(WebSocketDisconnect):
        while True:
            into.extend(heard_in(await websocket.receive_bytes()))


@contextlib.asynccontextmanager
async def socket(
    base: str, project_id: str, path: str, headers: dict[str, str] | None = None
) -> AsyncIterator[AsyncWebSocketSession]:
    """A bare websocket in the file's room: the test says what it sends."""
    async with (
        httpx.AsyncClient(timeout=30) as client,
        aconnect_ws(room_url(base, project_id, path), client, headers=dict(headers or {})) as websocket,
    ):
        yield websocket
