"""The Clone dialog's state: the exact `git clone` command for the page's project and the person."""

from urllib.parse import urlsplit

import reflex as rx

from builder.errors import ForjaError
from builder.git.urls import clone_command
from builder.settings import settings
from builder.state.auth import AuthState
from builder.state.workspace import WorkspaceState


class CloneState(rx.State):
    open_dialog: bool = False
    command: str = ""
    error: str = ""

    @rx.event
    async def set_open(self, value: bool) -> None:
        self.open_dialog, self.error = value, ""
        if not value:
            return
        workspace = await self.get_state(WorkspaceState)
        auth = await self.get_state(AuthState)
        try:
            await workspace.allowed()
        except ForjaError as exc:
            self.command, self.error = "", exc.message
            return
        # The address the page was opened at, as the Account page's examples use: it is the one that reaches Forja.
        parts = urlsplit(str(self.router.url))
        base = f"{parts.scheme}://{parts.netloc}" if parts.netloc else settings.base_url
        self.command = clone_command(base, workspace.project_id, auth.user_email if auth.accounts_on else None)
