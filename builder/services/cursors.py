"""Cursors in a co-edited file (Yjs awareness), checked by the server before anyone else's page shows them.

A y-websocket client says where its cursor is with an awareness message: a type byte (1) and an update, which lists
(client id, clock, state as JSON) entries. The room relays it to its other clients and, through Redis, to the other
workers' (builder.services.collab); their pages paint a cursor and a name from it. So each message is read here first:
a connection speaks for one client id, the first it names (never one another person holds); its state holds only what
Forja's editor sends (`selection`: two Yjs relative positions in the file's text; `user`), in bounds; and its `user` is
replaced by the server's: the person's own name and colour. Entries for other client ids (y-websocket sends back the
states it hears) are left out; a message that fails a check is dropped, never relayed. Another worker's message is
checked again before this worker's clients get it (that worker rewrote its `user` already).
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass, field
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from builder.schemas import ShownName
from builder.services.access import Actor
from builder.services.presence import CURSOR_HEX, colour_for, shown_name
from builder.settings import settings

AWARENESS = 1  # the message's type byte (y-protocols' messageAwareness)
# A real cursor message is a few hundred bytes (a 100-character name in 4-byte characters included).
MAX_MESSAGE_BYTES = 2048
# Yjs numbers travel as lib0 var-uints; JavaScript reads them exactly up to 2^53 - 1.
MAX_UINT = 2**53 - 1
HEX_COLOUR = r"^#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6})$"
# The only shared type a cursor may point into: the file's text (builder.services.collab.CONTENT).
TEXT_NAME = "content"
# A client id another worker's person used is theirs this long after their last word: y-protocols drops a state it has
# not heard of for 30 s, and a client renews its own every 15 s.
CLAIM_TTL_S = 30.0

YNumber = Annotated[int, Field(ge=0, le=MAX_UINT)]


class BadCursor(ValueError):
    """A cursor message that is not one Forja relays; its text says why (for the log)."""


class _Checked(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class YId(_Checked):
    client: YNumber
    clock: YNumber


class RelativePosition(_Checked):
    """A place in the text that moves with the edits around it (Yjs' RelativePosition, as JSON.stringify writes it)."""

    type: YId | None = None
    tname: str | None = Field(default=None, pattern=f"^{TEXT_NAME}$")
    item: YId | None = None
    assoc: int = Field(default=0, ge=-1, le=1)


class Selection(_Checked):
    anchor: RelativePosition
    head: RelativePosition


class CursorUser(_Checked):
    """Whose cursor it is, as the other pages label it: set by the server, whatever the client said."""

    name: ShownName
    colour: str = Field(pattern=HEX_COLOUR)


class ClaimedUser(_Checked):
    """What a client may say about itself (it is replaced): checked all the same, so a hostile one is dropped."""

    name: str | None = Field(default=None, max_length=200)
    colour: str | None = Field(default=None, pattern=HEX_COLOUR)


class ClientState(_Checked):
    """A client's state as it sends it: the fields Forja's editor (y-monaco) sets, and nothing else."""

    selection: Selection | None = None
    user: ClaimedUser | None = None


class RelayedState(_Checked):
    """A state as a worker relays it: its `user` is the server's."""

    selection: Selection | None = None
    user: CursorUser


def cursor_user(actor: Actor) -> CursorUser:
    """The name and colour a person's cursor shows, the same as their avatar's (a Guest's colour is each connection's
    own, as each tab's avatar has its own)."""
    key = secrets.token_hex(8) if settings.auth_mode == "none" else actor.user_id
    return CursorUser(name=shown_name(actor), colour=CURSOR_HEX[colour_for(key)])


@dataclass(frozen=True)
class Entry:
    client: int
    clock: int
    state: str  # JSON, "null" when the client left


class _Reader:
    """lib0's encoding, read strictly: a number past 2^53, a length past the end or bytes left over are refused."""

    def __init__(self, data: bytes) -> None:
        self._data, self._at = data, 0

    def uint(self) -> int:
        value, shift = 0, 0
        while True:
            if self._at >= len(self._data):
                raise BadCursor("it ends inside a number")
            byte = self._data[self._at]
            self._at += 1
            value |= (byte & 0x7F) << shift
            if value > MAX_UINT:
                raise BadCursor("it holds a number larger than JavaScript reads exactly")
            if byte < 0x80:
                return value
            shift += 7

    def chunk(self) -> bytes:
        size = self.uint()
        if size > len(self._data) - self._at:
            raise BadCursor("a length in it goes past its end")
        start, self._at = self._at, self._at + size
        return self._data[start : self._at]

    def text(self) -> str:
        try:
            return self.chunk().decode("utf-8")
        except UnicodeDecodeError:
            raise BadCursor("a text in it is not UTF-8") from None

    def end(self) -> None:
        if self._at != len(self._data):
            raise BadCursor("bytes follow its end")


def _uint(value: int) -> bytes:
    out = bytearray()
    while value > 0x7F:
        out.append(0x80 | (value & 0x7F))
        value >>= 7
    out.append(value)
    return bytes(out)


def _chunk(data: bytes) -> bytes:
    return _uint(len(data)) + data


def read_message(message: bytes) -> list[Entry]:
    """The entries of an awareness message, or BadCursor."""
    if len(message) > MAX_MESSAGE_BYTES:
        raise BadCursor(f"it is larger than {MAX_MESSAGE_BYTES} bytes")
    outer = _Reader(message)
    if outer.uint() != AWARENESS:
        raise BadCursor("it is not an awareness message")
    update = outer.chunk()
    outer.end()
    reader = _Reader(update)
    entries = [Entry(reader.uint(), reader.uint(), reader.text()) for _ in range(reader.uint())]
    reader.end()
    return entries


def write_message(entries: list[Entry]) -> bytes:
    """An awareness message of these entries (texts as lib0 writes them: their UTF-8 length, then their bytes)."""
    update = _uint(len(entries)) + b"".join(
        _uint(entry.client) + _uint(entry.clock) + _chunk(entry.state.encode()) for entry in entries
    )
    return _uint(AWARENESS) + _chunk(update)


def _state(text: str, model: type[_Checked]) -> _Checked | None:
    if text == "null":
        return None
    try:
        return model.model_validate_json(text)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "state"
        raise BadCursor(f"its {where} is refused: {first['msg']}") from None


@dataclass(frozen=True)
class Hold:
    owner: str  # the person's user id
    holder: object  # the connection (a PeerCursor), or REMOTE for another worker's
    until: float  # on time.monotonic's clock


REMOTE = "another worker"


@dataclass
class Claims:
    """Which person speaks for each client id of one room on this worker: its own connections' (until they close) and
    those other workers relayed (until CLAIM_TTL_S after their last message)."""

    held: dict[int, Hold] = field(default_factory=dict)

    def take(self, client: int, owner: str, holder: object, until: float = float("inf")) -> bool:
        """Whether `owner` may speak for `client` (no other person holds it now); if so `holder` holds it until
        `until`. The same person may take it over (a page that connects again keeps its client id)."""
        if self.others(client, owner):
            return False
        self.held[client] = Hold(owner, holder, until)
        return True

    def others(self, client: int, owner: str) -> bool:
        """Whether another person holds `client` now."""
        held = self.held.get(client)
        return held is not None and held.owner != owner and held.until > time.monotonic()

    def free(self, client: int, holder: object) -> bool:
        """Let `client` go if `holder` still holds it (a connection whose id was taken over frees nothing)."""
        held = self.held.get(client)
        if held is None or held.holder is not holder:
            return False
        del self.held[client]
        return True


class PeerCursor:
    """One connection's cursor: the client id it speaks for and whose it is. `check` passes what may be relayed."""

    def __init__(self, claims: Claims, owner: str, user: CursorUser) -> None:
        self._claims, self.owner, self._user = claims, owner, user
        self.client: int | None = None
        self._clock = 0

    def check(self, message: bytes) -> bytes | None:
        """The message as it may be relayed (this client's entry alone, its `user` the server's); None when it holds
        nothing of this client's. BadCursor when it is not a cursor message Forja relays."""
        entries = read_message(message)
        if self.client is None:
            if len(entries) != 1:
                raise BadCursor("a client's first cursor message names one client, itself")
            if not self._claims.take(entries[0].client, self.owner, self):
                raise BadCursor("it speaks for another person's client")
            self.client = entries[0].client
        own = [entry for entry in entries if entry.client == self.client]
        if not own:
            return None
        entry = own[-1]
        state = _state(entry.state, ClientState)
        self._clock = max(self._clock, entry.clock)
        if not isinstance(state, ClientState):
            self._claims.free(entry.client, self)
            self.client = None
            return write_message([entry])
        rewritten = RelayedState(selection=state.selection, user=self._user)
        return write_message([Entry(entry.client, entry.clock, rewritten.model_dump_json())])

    def gone(self) -> bytes | None:
        """The message that removes this client's cursor from the other pages, when it left without saying so (and
        no new connection of the same page took its client id over)."""
        client, self.client = self.client, None
        if client is None or not self._claims.free(client, self):
            return None
        return write_message([Entry(client, self._clock + 1, "null")])


def check_relayed(message: bytes, claims: Claims, owner: str) -> bytes:
    """Another worker's cursor message, passed on unchanged when it is one that worker could have relayed: one entry,
    for a client id no other person holds here, with a state whose `user` a server set. BadCursor otherwise."""
    entries = read_message(message)
    if len(entries) != 1:
        raise BadCursor("a relayed cursor message names one client")
    entry = entries[0]
    state = _state(entry.state, RelayedState)
    if claims.others(entry.client, owner):
        raise BadCursor("it speaks for another person's client")
    if state is None:
        claims.free(entry.client, REMOTE)
    else:
        claims.take(entry.client, owner, REMOTE, time.monotonic() + CLAIM_TTL_S)
    return message
