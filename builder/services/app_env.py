"""A project's own variables (its Environment panel, `env` on the API and CLI): names anyone on the project may see,
values only its app's processes get (builder/app_secrets.py runner_env), never sent back to anyone."""

from __future__ import annotations

import logging

from pydantic import BaseModel, Field

from builder.app_secrets import MAX_VARIABLES, check_name, check_value, encrypt, is_public, runner_env
from builder.errors import NotFound, PreviewError
from builder.services.env_words import EnvWords, env_words
from builder.services.preview_hub import ENDED
from builder.services.previews import PreviewService
from builder.store import ProjectStore
from preview_runtime.logs import LogHub, LogLevel

log = logging.getLogger(__name__)


class EnvVarInfo(BaseModel):
    """One variable as anyone may see it: its name, never any part of its value."""

    name: str = Field(description="The environment variable's name, like STRIPE_KEY.")
    public: bool = Field(
        description="Its name marks it public (VITE_, NEXT_PUBLIC_, PUBLIC_, REACT_APP_...): a front-end build puts it into the page, "
        "where anyone who opens the app can read it."
    )
    updated_at: str = Field(description="When it was last set (ISO 8601, UTC).")
    updated_by: str | None = Field(default=None, description="Who set it last (a user id), if an account did.")


class AppEnvService:
    def __init__(self, store: ProjectStore, previews: PreviewService, logs: LogHub) -> None:
        self._store = store
        self._previews = previews
        self._logs = logs

    async def names(self, project_id: str) -> list[EnvVarInfo]:
        await self._store.get_project(project_id)
        return [
            EnvVarInfo(name=row.name, public=row.public, updated_at=row.updated_at.isoformat(), updated_by=row.updated_by)
            for row in await self._store.env_vars(project_id)
        ]

    async def words(self, project_id: str) -> EnvWords:
        """What the Environment dialog says of this app's variables, from its current files (builder/services/env_words.py)."""
        await self._store.get_project(project_id)
        try:
            tree = await self._store.read_tree(project_id)
        except NotFound:  # no version yet
            tree = {}
        return env_words(tree, await self._store.run_override(project_id))

    async def set(self, project_id: str, name: str, value: str, user_id: str | None = None) -> list[EnvVarInfo]:
        """Add or replace a variable (InvalidInput, in words, for a name or value not allowed), then restart the
        project's running preview so its app reads it."""
        check_name(name)
        check_value(value)
        await self._store.set_env_var(project_id, name, encrypt(value), is_public(name), user_id, MAX_VARIABLES)
        log.info("app variable %s of %s set", name, project_id)
        self._logs.emit(project_id, f"Variable {name} set{' (public: built into the page)' if is_public(name) else ''}.")
        await self._restart(project_id, user_id)
        return await self.names(project_id)

    async def unset(self, project_id: str, name: str, user_id: str | None = None) -> list[EnvVarInfo]:
        if not await self._store.unset_env_var(project_id, name):
            raise NotFound(f"This project has no variable {name}.")
        log.info("app variable %s of %s removed", name, project_id)
        self._logs.emit(project_id, f"Variable {name} removed.")
        await self._restart(project_id, user_id)
        return await self.names(project_id)

    async def values(self, project_id: str) -> dict[str, str]:
        """The variables in clear: for the runners only (a preview's or a build's processes), never for a person."""
        return await runner_env(self._store, self._logs, project_id)

    async def _restart(self, project_id: str, user_id: str | None) -> None:
        """The running preview again, with the variables as they are now (as run settings do)."""
        await runner_env(self._store, self._logs, project_id, quiet=True)  # the log hides the new value from now on
        running = await self._previews.status(project_id)
        if running is None or running.state in ENDED:
            return
        self._logs.emit(project_id, "Restarting the preview with the app's variables as they are now.")
        try:
            await self._previews.start(project_id, restart=True, started_by=user_id)
        except PreviewError as exc:  # kept all the same: the Preview tab and the log say why it does not run
            self._logs.emit(project_id, f"The preview could not restart with the new variables: {exc}", LogLevel.error)
