"""The models an admin connects on the admin page, under /api/admin/models and with `forja models`: add one (its key
encrypted at rest, as the apps' variables are), list them (a key only as "set"), make one the default, remove one,
and "Test it" with one tiny request.

The providers read them through `stored` (builder/generation/providers/stored.py) at every request, from the database:
a connection added here is used at once, by every worker, without a restart. The environment's keys win where set.
Every method but `stored` and `described` (the doctor's) refuses anyone but an admin (Forbidden), whatever called it.
"""

from __future__ import annotations

import logging
import time
from datetime import datetime
from typing import Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, Field

from builder.app_secrets import decrypt, encrypt
from builder.errors import InvalidInput, NotFound, ServerUnavailable
from builder.filetree import hidden_character
from builder.generation.providers.choice import PROVIDER_LABELS, from_environment
from builder.generation.providers.stored import Connection, Stored
from builder.models import ModelConnection
from builder.schemas import RequestBody
from builder.services.access import Actor, require_admin
from builder.settings import settings
from builder.store import ProjectStore, stored_number

log = logging.getLogger(__name__)

Kind = Literal["anthropic", "openai"]
MAX_KEY = 500
MAX_URL = 500
MAX_MODEL = 200


class ModelConnectionInfo(BaseModel):
    """A connected model as an admin sees it: whether a key is set, never the key."""

    id: int
    kind: Kind
    label: str = Field(description="Claude, or OpenAI-compatible.")
    base_url: str = Field(description="The server's address; empty: the provider's own API.")
    model: str = Field(description="The model used unless a project picks another.")
    key_set: bool = Field(description="Whether a key is stored (it is never shown again).")
    is_default: bool = Field(description="Used by projects that have not picked a provider.")
    environment_wins: bool = Field(
        description="The environment's settings set this provider (ANTHROPIC_API_KEY, OPENAI_API_KEY or "
        "OPENAI_BASE_URL): they are used instead of this connection."
    )
    in_use: bool = Field(
        description="Projects that use its provider use this connection: one per provider is, the default one, else "
        "the newest whose key this server can read; false also when the environment's settings win."
    )
    added_by: str = Field(description="The name of the admin who added it.")
    created_at: datetime


class NewModelConnection(RequestBody):
    kind: Kind = Field(description="`anthropic` (Claude), or `openai`: OpenAI or any OpenAI-compatible server.")
    api_key: str = Field(default="", max_length=MAX_KEY, repr=False, description="Stored encrypted, never shown again.")
    base_url: str = Field(
        default="",
        max_length=MAX_URL,
        description="An OpenAI-compatible server's address (http or https), e.g. a local Ollama's; empty: the "
        "provider's own API.",
    )
    model: str = Field(default="", max_length=MAX_MODEL, description="Empty: the provider's usual model.")
    make_default: bool = Field(default=False, description="The first connection is the default in any case.")


class TestResult(BaseModel):
    ok: bool
    ms: int | None = Field(default=None, description="How long the answer took, in milliseconds.")
    message: str = Field(description="What happened, in words.")


def check_base_url(url: str) -> str:
    """The address without its trailing slash; InvalidInput (in words) when it is not an http(s) address."""
    url = url.strip().rstrip("/")
    if not url:
        return ""
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError:
        host, parts = None, None
    if parts is None or parts.scheme not in ("http", "https") or not host:
        raise InvalidInput("The address must start with http:// or https:// and name a server, like http://127.0.0.1:11434/v1.")
    if parts.username or parts.password:
        raise InvalidInput("Put the key in the key field, not in the address.")
    if parts.query or parts.fragment:
        raise InvalidInput("The address cannot hold a ? or a #: give the server's address only.")
    return url


def _check_text(value: str, what: str) -> str:
    value = value.strip()
    if any(c.isspace() for c in value) or hidden_character(value) is not None:
        raise InvalidInput(f"The {what} cannot hold spaces or invisible characters: paste it again.")
    return value


def usual_model(kind: str) -> str:
    return settings.anthropic_model if kind == "anthropic" else settings.openai_model


def _check(new: NewModelConnection) -> NewModelConnection:
    key, url = _check_text(new.api_key, "key"), check_base_url(new.base_url)
    model = _check_text(new.model, "model name")
    if new.kind == "anthropic" and not key:
        raise InvalidInput("Paste the key of your Anthropic account: Claude needs one.")
    if new.kind == "openai" and not key and not url:
        raise InvalidInput("Paste an OpenAI key, or give the address of an OpenAI-compatible server (it may need no key).")
    if not model and url and new.kind == "openai":
        raise InvalidInput("Name the model to use at that address (for Ollama, one you pulled, like llama3.1).")
    return new.model_copy(update={"api_key": key, "base_url": url, "model": model or usual_model(new.kind)})


def _info(row: ModelConnection, used: set[int]) -> ModelConnectionInfo:
    assert row.id is not None
    return ModelConnectionInfo(
        id=row.id,
        kind=row.kind,  # pyright: ignore[reportArgumentType] (only _check's kinds are stored)
        label=PROVIDER_LABELS[row.kind],
        base_url=row.base_url,
        model=row.model,
        key_set=bool(row.api_key),
        is_default=row.is_default,
        environment_wins=(environment_wins := from_environment(row.kind) is not None),
        in_use=row.id in used and not environment_wins,
        added_by=row.added_by_name,
        created_at=row.created_at,
    )


def _chosen(rows: list[tuple[ModelConnection, Connection]]) -> dict[str, tuple[ModelConnection, Connection]]:
    """The connection each provider uses: of each kind the newest, then the default one over it."""
    by_kind = {row.kind: (row, connection) for row, connection in rows}
    return by_kind | {row.kind: (row, connection) for row, connection in rows if row.is_default}


def _readable(row: ModelConnection) -> Connection | None:
    try:
        return _connection(row)
    except ServerUnavailable:
        log.warning("connected model %s left out: its key cannot be read with this server's secret key", row.id)
        return None


def _connection(row: ModelConnection) -> Connection:
    return Connection(row.kind, decrypt(row.api_key) if row.api_key else "", row.base_url, row.model)


class ModelConnectionService:
    def __init__(self, store: ProjectStore) -> None:
        self._store = store

    async def stored(self) -> Stored:
        """The connections as the providers use them (keys in clear): for builder/generation/providers only. One whose
        key this server's secret key cannot read (it was changed) is left out, and the log says so."""
        read = [(row, connection) for row in await self._store.model_connections() if (connection := _readable(row))]
        default = next((row for row, _ in read if row.is_default), None)  # its kind is the default provider
        by_kind = {kind: connection for kind, (_, connection) in _chosen(read).items()}
        return Stored(by_kind, default.kind if default is not None else None)

    async def list(self, admin: Actor) -> list[ModelConnectionInfo]:
        require_admin(admin)
        return await self.described()

    async def described(self) -> list[ModelConnectionInfo]:
        """The connections as `list` shows them (no key), for the doctor's report: that is the admins' (and the server's
        own command's), DoctorService.report_for."""
        rows = await self._store.model_connections()
        readable = [(row, connection) for row in rows if (connection := _readable(row))]
        used = {row.id for row, _ in _chosen(readable).values() if row.id is not None}
        return [_info(row, used) for row in rows]

    async def add(self, admin: Actor, new: NewModelConnection) -> ModelConnectionInfo:
        require_admin(admin)
        new = _check(new)
        row = ModelConnection(
            kind=new.kind,
            base_url=new.base_url,
            api_key=encrypt(new.api_key) if new.api_key else "",
            model=new.model,
            is_default=new.make_default,
            added_by=admin.user_id,
            added_by_name=admin.name or admin.email,
        )
        row = await self._store.add_model_connection(row)
        log.info("model connection %s added (%s, model %s) by %s", row.id, row.kind, row.model, admin.user_id)
        return next(info for info in await self.described() if info.id == row.id)

    async def make_default(self, admin: Actor, connection_id: int) -> list[ModelConnectionInfo]:
        require_admin(admin)
        if not stored_number(connection_id) or not await self._store.default_model_connection(connection_id):
            raise NotFound(f"There is no connected model {connection_id}.")
        log.info("model connection %s made the default by %s", connection_id, admin.user_id)
        return await self.list(admin)

    async def remove(self, admin: Actor, connection_id: int) -> None:
        require_admin(admin)
        if not stored_number(connection_id) or not await self._store.remove_model_connection(connection_id):
            raise NotFound(f"There is no connected model {connection_id}.")
        log.info("model connection %s removed by %s", connection_id, admin.user_id)

    async def test(self, admin: Actor, connection_id: int) -> TestResult:
        """One request for one token, timed; what went wrong in words, never with the key or the provider's text."""
        require_admin(admin)
        row = next((row for row in await self._store.model_connections() if row.id == connection_id), None)
        if row is None:
            raise NotFound(f"There is no connected model {connection_id}.")
        connection = _connection(row)
        # The providers' SDKs come with the test, not with this module: they are two seconds at every start of Forja
        # and of the forja command.
        from builder.generation.providers.ping import ping

        started = time.monotonic()
        if failure := await ping(row.kind, connection):
            result = TestResult(ok=False, message=failure)
        else:
            ms = round((time.monotonic() - started) * 1000)
            result = TestResult(ok=True, ms=ms, message=f"It answered in {ms} ms.")
        log.info("model connection %s tested: %s", connection_id, result.message)
        return result
