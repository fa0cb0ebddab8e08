"""The Logs tab: the project's log lines as they come, Copy, and the fix-this-error buttons."""

from __future__ import annotations

import asyncio
import contextlib

import reflex as rx

from builder.services import get_services
from builder.state.conversation import ConversationState
from builder.state.preview import PreviewPaneState
from builder.state.views import LogRow, log_row, logs_text
from builder.state.workspace import Loaded, WorkspaceState

# A page left open keeps following its log for at most this long without reloading.
LOG_FOLLOW_SECONDS = 6 * 3600
# The Logs tab keeps the last lines only, as the log hub does.
LOG_ROWS = 2000


class LogsState(WorkspaceState):
    logs: rx.Field[list[LogRow]] = rx.field(default_factory=list)
    _follow_token: int = 0

    async def _show(self, loaded: Loaded) -> None:
        self.logs = [log_row(line) for line in (await get_services()).logs.history(loaded.project.id)]

    async def _on_open(self) -> rx.event.EventCallback[()]:
        return LogsState.follow_logs

    @rx.event(background=True)
    async def follow_logs(self):
        """Stream new log lines to the page until it leaves this project or another follower starts."""
        async with self:
            self._follow_token += 1
            token, project_id = self._follow_token, self.project_id
            since = self.logs[-1].seq if self.logs else 0
        try:
            async with (
                contextlib.aclosing((await get_services()).logs.follow(project_id, since)) as stream,
                asyncio.timeout(LOG_FOLLOW_SECONDS),
            ):
                async for line in stream:
                    async with self:
                        if self._follow_token != token or self.project_id != project_id:
                            return
                        # A refresh may already have loaded this line from the history.
                        if not self.logs or line.seq > self.logs[-1].seq:
                            self.logs = [*self.logs[-(LOG_ROWS - 1) :], log_row(line)]
        except TimeoutError:
            return

    @rx.event
    def copy_logs(self) -> list[rx.event.EventSpec]:
        """Copy: the text is made on the click, so it is not sent to the page with every line."""
        return [rx.set_clipboard(logs_text(self.logs)), rx.toast("Logs copied.")]

    @rx.event
    async def fix_error(self, text: str):
        """The Logs tab's fix-this-error button: the error goes to the model as a follow-up."""
        return await self._fix(text)

    @rx.event
    async def fix_preview_error(self):
        """A failed preview: its error lines go to the model as a follow-up."""
        preview = await self.get_state(PreviewPaneState)
        errors = [row.text for row in self.logs if row.level == "error" and row.source != "generate"][-8:]
        following = await self._fix("\n".join(errors) or preview.preview_message)
        preview.preview_state = ""
        return following

    async def _fix(self, text: str):
        conversation = await self.get_state(ConversationState)
        conversation.followup = f"Fix this error:\n\n{text.strip()[:4000]}"
        self.tab = "code"
        if await conversation._send():
            return ConversationState.follow_generation
