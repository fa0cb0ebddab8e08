"""The admin page's Models section (builder/components/admin_models.py): the connected models, and the admin's changes.

A key typed into the form comes with its submit only and goes straight to the service: it is never a field of this
state, so it is never sent back to the browser.
"""

from __future__ import annotations

import dataclasses
from typing import Literal

import reflex as rx
from pydantic import ValidationError

from builder.errors import ForjaError
from builder.services.model_connections import ModelConnectionInfo, NewModelConnection, TestResult, usual_model
from builder.state.admin_rows import when
from builder.state.auth import Allowed, signed_in

# The form's choice of provider: (value, label).
KINDS = (("anthropic", "Claude (Anthropic)"), ("openai", "OpenAI, or OpenAI-compatible (Ollama...)"))


@dataclasses.dataclass
class ModelRow:
    id: int
    label: str
    where: str
    model: str
    is_default: bool
    key: str
    environment_wins: bool
    # Another connection of its provider is used (the default one, else the newest).
    unused: bool
    added: str
    # The last "Test it" of this page: what happened, and whether it answered.
    tested: str = ""
    answered: bool = False


def model_row(info: ModelConnectionInfo, result: TestResult | None = None) -> ModelRow:
    own_api = "Anthropic's API" if info.kind == "anthropic" else "OpenAI's API"
    return ModelRow(
        id=info.id,
        label=info.label,
        where=info.base_url or own_api,
        model=info.model,
        is_default=info.is_default,
        key="Key set (hidden)" if info.key_set else "No key",
        environment_wins=info.environment_wins,
        unused=not info.in_use and not info.environment_wins,
        added=f"Added by {info.added_by or 'an admin'}, {when(info.created_at)}",
        tested=result.message if result is not None else "",
        answered=result is not None and result.ok,
    )


class AdminModelsState(rx.State):
    rows: rx.Field[list[ModelRow]] = rx.field(default_factory=list)
    kind: str = "anthropic"
    error: str = ""
    saving: bool = False
    testing: int = 0

    @rx.var
    def model_placeholder(self) -> str:
        return f"Usual: {usual_model(self.kind)}" if self.kind == "anthropic" else "gpt-4.1, or llama3.1 for Ollama"

    @rx.event
    async def load(self) -> None:
        allowed = await signed_in(self)
        if allowed.actor.is_admin:
            await self._reload(allowed)

    async def _reload(self, allowed: Allowed, tested: dict[int, TestResult] | None = None) -> None:
        found = await allowed.services.models.list(allowed.actor)
        self.rows = [model_row(info, (tested or {}).get(info.id)) for info in found]

    @rx.event
    def set_kind(self, kind: str) -> None:
        self.kind, self.error = kind, ""

    @rx.event
    async def add(self, form: dict[str, str]):
        """Connect the model the form describes; the form is emptied only once it is kept."""
        allowed = await signed_in(self)
        self.saving, self.error = True, ""
        yield
        try:
            new = NewModelConnection(
                kind=self.kind,  # pyright: ignore[reportArgumentType] (the form offers only KINDS)
                api_key=form.get("api_key", ""),
                base_url=form.get("base_url", "") if self.kind == "openai" else "",
                model=form.get("model", ""),
            )
            await allowed.services.models.add(allowed.actor, new)
        except ValidationError:
            self.error = "The key, address or model name is too long: check what was pasted."
        except ForjaError as exc:
            self.error = exc.message
        else:
            await self._reload(allowed)
            yield [rx.set_value(field, "") for field in ("model-key", "model-url", "model-name")]
        finally:
            self.saving = False

    @rx.event
    async def test(self, connection_id: int):
        allowed = await signed_in(self)
        self.testing = connection_id
        yield
        try:
            result = await allowed.services.models.test(allowed.actor, connection_id)
            await self._reload(allowed, {connection_id: result})
        except ForjaError as exc:
            self.error = exc.message
        finally:
            self.testing = 0

    @rx.event
    async def make_default(self, connection_id: int) -> None:
        await self._change("make_default", connection_id)

    @rx.event
    async def remove(self, connection_id: int) -> None:
        await self._change("remove", connection_id)

    async def _change(self, how: Literal["make_default", "remove"], connection_id: int) -> None:
        """One connection made the default or removed, then the list as it is now (another admin may have changed it)."""
        allowed = await signed_in(self)
        models = allowed.services.models
        try:
            await (models.make_default if how == "make_default" else models.remove)(allowed.actor, connection_id)
        except ForjaError as exc:
            self.error = exc.message
        await self._reload(allowed)
