"""The models an admin connected on the admin page, as the providers read them.

The composition root gives this module the service that reads them from the database (`read_from`); each request
for a provider reads them again, so a connection added in one process is used by every process at once, without a
restart. Without a reader (a unit test, a tool that builds no services, services since closed) there are none.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

KINDS = ("anthropic", "openai")


@dataclass(frozen=True)
class Connection:
    """What a provider needs to reach a model: its key in clear (for the SDK's client only), address and model."""

    kind: str
    api_key: str = field(repr=False)
    base_url: str
    model: str


@dataclass(frozen=True)
class Stored:
    """The connection each provider uses (the default one, else the newest of its kind), and the default's kind."""

    by_kind: dict[str, Connection] = field(default_factory=dict)
    default_kind: str | None = None


Reader = Callable[[], Awaitable[Stored]]
_reader: list[Reader] = []
# The keys last read, kept out of prompts and logs as Forja's own keys are (builder/generation/guard.py).
_keys: set[str] = set()


def read_from(reader: Reader) -> None:
    _reader[:] = [reader]


def forget(reader: Reader) -> None:
    """`reader` is no longer read (its services closed, their database may be gone); another one given since stays."""
    if _reader and _reader[0] == reader:
        _reader.clear()


async def stored() -> Stored:
    if not _reader:
        return Stored()
    found = await _reader[0]()
    _keys.update(c.api_key for c in found.by_kind.values() if c.api_key)
    return found


def stored_keys() -> frozenset[str]:
    """Every stored key this process has read (a removed key stays in: it may sit in text made before)."""
    return frozenset(_keys)
