"""The Environment dialog: the app's own variables by name; editors add, replace and remove them.

A value is typed into an uncontrolled field and reaches the server only in the form's submit: no state var ever holds
it, so it is in no state snapshot, no Redis state and no later page event."""

from __future__ import annotations

import dataclasses
from datetime import datetime

import reflex as rx

from builder.errors import ForjaError
from builder.services.access import Permission
from builder.services.app_env import EnvVarInfo
from builder.state.workspace import Loaded, WorkspaceState


@dataclasses.dataclass
class EnvRow:
    name: str
    public: bool
    when: str


def _row(info: EnvVarInfo, prefixes: tuple[str, ...]) -> EnvRow:
    """A variable's row: marked public when this app's build puts names like it into its page (not every VITE_ name
    on every app: a plain page builds nothing in)."""
    when = datetime.fromisoformat(info.updated_at).strftime("%d %b, %H:%M")
    return EnvRow(info.name, bool(prefixes) and info.name.startswith(prefixes), when)


class EnvState(WorkspaceState):
    open_dialog: bool = False
    rows: rx.Field[list[EnvRow]] = rx.field(default_factory=list)
    # The name being added or replaced (never its value: see the module's docstring).
    new_name: str = ""
    env_error: str = ""
    notice: str = ""
    # What the dialog says of this app's variables (builder/services/env_words.py): its kind's words only.
    intro: str = ""
    public_words: str = ""
    has_server: bool = False
    _prefixes: tuple[str, ...] = ()

    async def _show(self, loaded: Loaded) -> None:
        if loaded.switched:  # another project's page: its variables are not this one's
            self.open_dialog = False
            self.rows, self.new_name, self.env_error, self.notice = [], "", "", ""

    @rx.event
    async def set_open(self, value: bool) -> None:
        self.open_dialog = value
        self.env_error = self.notice = ""
        if value:
            self.new_name = ""
            await self._load()

    @rx.event
    def set_new_name(self, value: str) -> None:
        self.new_name = value.upper()

    @rx.event
    def replace(self, name: str) -> None:
        """Replace an existing variable: its name in the form, a new value to type."""
        self.new_name, self.env_error, self.notice = name, "", ""

    async def _load(self) -> None:
        workspace = await self.get_state(WorkspaceState)
        try:
            app_env = (await workspace.allowed()).services.app_env
            words = await app_env.words(workspace.project_id)
            self.intro, self.public_words, self.has_server = words.intro, words.public, words.server
            self._prefixes = words.prefixes
            self.rows = [_row(info, self._prefixes) for info in await app_env.names(workspace.project_id)]
        except ForjaError as exc:
            self.env_error = exc.message

    @rx.event
    async def save(self, form: dict[str, str]):
        workspace = await self.get_state(WorkspaceState)
        name = self.new_name.strip()
        try:
            allowed = await workspace.allowed(Permission.edit)
            infos = await allowed.services.app_env.set(workspace.project_id, name, form.get("value", ""), allowed.actor.user_id)
        except ForjaError as exc:
            self.env_error, self.notice = exc.message, ""
            return
        self.rows = [_row(info, self._prefixes) for info in infos]
        self.new_name, self.env_error = "", ""
        self.notice = f"{name} is saved. The app's processes get it; nothing shows it again."
        return rx.set_value("env-value", "")

    @rx.event
    async def remove(self, name: str) -> None:
        workspace = await self.get_state(WorkspaceState)
        try:
            allowed = await workspace.allowed(Permission.edit)
            infos = await allowed.services.app_env.unset(workspace.project_id, name, allowed.actor.user_id)
        except ForjaError as exc:
            self.env_error, self.notice = exc.message, ""
            return
        self.rows = [_row(info, self._prefixes) for info in infos]
        self.env_error, self.notice = "", f"{name} is removed."

    @rx.event
    async def reset_data(self) -> None:
        """Empty the preview's /data folder and database (asked first, in the dialog); the published app's stay."""
        workspace = await self.get_state(WorkspaceState)
        try:
            allowed = await workspace.allowed(Permission.edit)
            await allowed.services.app_data.reset(workspace.project_id, "preview", allowed.actor.user_id)
        except ForjaError as exc:
            self.env_error, self.notice = exc.message, ""
            return
        self.env_error, self.notice = "", "The preview's data is reset: its /data folder and database are empty."
