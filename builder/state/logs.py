"""The Logs tab: the project's log lines as they come, grouped for reading (builder.logview), Copy, and the
fix-this-error buttons."""

from __future__ import annotations

import asyncio
import contextlib

import reflex as rx

from builder.logview import LogEntry, group_lines
from builder.state.conversation import ConversationState
from builder.state.preview import PreviewPaneState
from builder.state.views import log_fields, logs_text
from builder.state.workspace import Loaded, WorkspaceState
from preview_runtime.logs import LogLine

# A page left open keeps following its log for at most this long without reloading.
LOG_FOLLOW_SECONDS = 6 * 3600
# The Logs tab keeps the last lines only, as the log hub does.
LOG_ROWS = 2000


class LogsState(WorkspaceState):
    # What the tab shows: successful requests only when show_requests is on.
    entries: rx.Field[list[LogEntry]] = rx.field(default_factory=list)
    show_requests: rx.Field[bool] = rx.field(False)
    # Successful web-server requests kept out of sight, counted on the "Show requests" switch.
    hidden_requests: rx.Field[int] = rx.field(0)
    line_count: rx.Field[int] = rx.field(0)
    _lines: list[tuple[int, str, str, str, str]] = []
    _all: list[LogEntry] = []
    _follow_token: int = 0

    async def _show(self, loaded: Loaded) -> None:
        self._set_lines([log_fields(line) for line in loaded.services.logs.history(loaded.project.id)])

    async def _on_open(self) -> rx.event.EventCallback[()]:
        return LogsState.follow_logs

    def _set_lines(self, lines: list[tuple[int, str, str, str, str]]) -> None:
        self._lines = lines[-LOG_ROWS:]
        self._all = group_lines(self._lines)
        self.line_count = len(self._lines)
        self._filter()

    def _filter(self) -> None:
        self.entries = self._all if self.show_requests else [entry for entry in self._all if not entry.request]
        self.hidden_requests = len(self._all) - len(self.entries)

    def _add(self, line: LogLine) -> None:
        # A refresh may already have loaded this line from the history.
        if not self._lines or line.seq > self._lines[-1][0]:
            self._set_lines([*self._lines, log_fields(line)])

    @rx.event(background=True)
    async def follow_logs(self):
        """Stream new log lines to the page until it leaves this project or another follower starts."""
        async with self:
            self._follow_token += 1
            token, project_id = self._follow_token, self.project_id
            since = self._lines[-1][0] if self._lines else 0
        try:
            async with (
                contextlib.aclosing((await self.allowed()).services.logs.follow(project_id, since)) as stream,
                asyncio.timeout(LOG_FOLLOW_SECONDS),
            ):
                async for line in stream:
                    async with self:
                        if self._follow_token != token or self.project_id != project_id:
                            return
                        self._add(line)
        except TimeoutError:
            return

    @rx.event
    def toggle_requests(self) -> None:
        self.show_requests = not self.show_requests
        self._filter()

    @rx.event
    def copy_logs(self) -> list[rx.event.EventSpec]:
        """Copy: every entry, requests too; the text is made on the click, so it is not sent with every line."""
        return [rx.set_clipboard(logs_text(self._all)), rx.toast("Logs copied.")]

    @rx.event
    async def fix_error(self, text: str):
        """The Logs tab's fix-this-error button: the error goes to the model as a follow-up."""
        return await self._fix(text)

    @rx.event
    async def fix_preview_error(self):
        """A failed preview: its error entries go to the model as a follow-up; refused packages, the sentence that names
        them and the file to change (earlier errors are not what stopped it)."""
        preview = await self.get_state(PreviewPaneState)
        errors = [entry.text for entry in self._all if entry.level == "error" and entry.source != "generate"][-8:]
        why = preview.preview_message if preview.packages_refused else "\n".join(errors) or preview.preview_message
        following = await self._fix(why)
        preview.preview_state = ""
        return following

    async def _fix(self, text: str):
        return await self._ask(f"Fix this error:\n\n{text.strip()[:4000]}")

    async def _ask(self, followup: str):
        """A change request to the model, sent as a follow-up in the chat (the Code tab shows it)."""
        conversation = await self.get_state(ConversationState)
        conversation.followup = followup
        self._switch_to("code")
        if await conversation._send():
            return ConversationState.follow_generation
