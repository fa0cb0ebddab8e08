"""The Run settings dialog of the Preview tab: a person's own start command and app folder for the project."""

from __future__ import annotations

import reflex as rx

from builder.errors import ForjaError
from builder.services.access import Permission
from builder.services.run_settings import valid_run_settings
from builder.state.preview import PreviewPaneState
from builder.state.workspace import WorkspaceState

# Radix's select takes no empty value: the project's root is this one in the page, "" in the settings.
ROOT = "."


class RunSettingsState(rx.State):
    open_dialog: bool = False
    command: str = ""
    folder: str = ROOT
    # The project's folders, the apps detection offers first (RunSettingsInfo.folders).
    folders: rx.Field[list[str]] = rx.field(default_factory=list)
    error: str = ""

    @rx.event
    async def set_open(self, value: bool) -> None:
        """The dialog opened (its trigger) or closed (Escape, Cancel, outside it)."""
        self.open_dialog = value
        self.error = ""
        if value:
            workspace = await self.get_state(WorkspaceState)
            try:
                info = await (await workspace.allowed()).services.run_settings.get(workspace.project_id)
            except ForjaError as exc:
                self.error = str(exc)
                return
            self.command, self.folder, self.folders = info.command, info.folder or ROOT, [ROOT, *info.folders]

    @rx.event
    def set_command(self, value: str) -> None:
        self.command = value

    @rx.event
    def set_folder(self, value: str) -> None:
        self.folder = value

    @rx.event
    async def save(self):
        """Keep the settings; the preview restarts with them (the service restarts a running one, this shows it)."""
        workspace = await self.get_state(WorkspaceState)
        try:
            asked = valid_run_settings(self.command, "" if self.folder == ROOT else self.folder)
            allowed = await workspace.allowed(Permission.edit)
            await allowed.services.run_settings.set(workspace.project_id, asked, started_by=allowed.actor.user_id)
        except ForjaError as exc:
            self.error = str(exc)
            return None
        self.open_dialog = False
        return [rx.toast("Run settings saved: the preview restarts with them."), PreviewPaneState.start_preview]
