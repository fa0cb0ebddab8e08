"""The Remote section of the Clone dialog: link the project to one remote repository, push to it, pull from it.

The token typed in is sent to the git service once and cleared from the page at once: the page never shows it again
(only "a token is kept"). When both sides moved, the section says so and offers the two ways on.
"""

from __future__ import annotations

import logging

import reflex as rx

from builder.errors import ForjaError, NotFound
from builder.git.remote import RemoteInfo
from builder.git.sync import BothMoved, SyncResult
from builder.services.access import Permission
from builder.state.workspace import WorkspaceState

log = logging.getLogger(__name__)


class RemoteState(rx.State):
    linked: bool = False
    url: str = ""
    branch: str = "main"
    has_token: bool = False
    # The form's fields; the token is emptied as soon as it is sent.
    url_field: str = ""
    token_field: str = ""
    branch_field: str = "main"
    busy: bool = False
    notice: str = ""
    error: str = ""
    both_moved: str = ""
    new_branch: str = ""

    def _show(self, info: RemoteInfo | None) -> None:
        self.linked = info is not None
        self.url, self.branch = (info.url, info.branch) if info else ("", "main")
        self.has_token = bool(info and info.has_token)
        self.url_field, self.branch_field = self.url, self.branch

    @rx.event
    async def load(self) -> None:
        """When the Clone dialog opens: the project's link, if any."""
        self.notice = self.error = self.both_moved = self.token_field = ""
        workspace = await self.get_state(WorkspaceState)
        try:
            allowed = await workspace.allowed(Permission.view)
            self._show(await allowed.services.git.remote.info(workspace.project_id))
        except NotFound:
            self._show(None)
        except ForjaError as exc:
            self.error = exc.message

    @rx.event
    def set_url_field(self, value: str) -> None:
        self.url_field = value

    @rx.event
    def set_token_field(self, value: str) -> None:
        self.token_field = value

    @rx.event
    def set_branch_field(self, value: str) -> None:
        self.branch_field = value

    @rx.event
    async def link(self) -> None:
        token, self.token_field = self.token_field.strip() or None, ""
        self.notice = self.error = self.both_moved = ""
        workspace = await self.get_state(WorkspaceState)
        try:
            allowed = await workspace.allowed(Permission.edit)
            remote = allowed.services.git.remote
            info = await remote.link(
                workspace.project_id, self.url_field, token, self.branch_field.strip() or "main", allowed.actor.user_id
            )
        except ForjaError as exc:
            self.error = exc.message
            return
        self._show(info)
        self.notice = f"Linked to {info.url} ({info.branch})."

    @rx.event
    async def unlink(self) -> None:
        self.notice = self.error = self.both_moved = ""
        workspace = await self.get_state(WorkspaceState)
        try:
            allowed = await workspace.allowed(Permission.edit)
            await allowed.services.git.remote.unlink(workspace.project_id)
        except ForjaError as exc:
            self.error = exc.message
            return
        self._show(None)
        self.notice = "Unlinked; the token is forgotten. The remote repository itself is untouched."

    @rx.event
    async def sync(self, action: str, to_branch: str, merge: bool):
        """Push (to the link's branch, or `to_branch`) or pull (with `merge` when both sides moved)."""
        self.busy, self.notice, self.error, self.both_moved = True, "", "", ""
        yield
        workspace = await self.get_state(WorkspaceState)
        try:
            allowed = await workspace.allowed(Permission.edit)
            remote = allowed.services.git.remote
            done: SyncResult = (
                await remote.push(workspace.project_id, to_branch or None)
                if action == "push"
                else await remote.pull(workspace.project_id, allowed.actor, merge=merge)
            )
        except BothMoved as exc:
            self.both_moved, self.new_branch = exc.message, exc.new_branch
        except ForjaError as exc:
            self.error = exc.message
        except Exception:
            log.exception("%s with the remote of %s failed", action, workspace.project_id)
            self.error = f"The {action} failed; Forja's log says why."
        else:
            self.notice = done.message
            if done.versions:
                yield WorkspaceState.load
        finally:
            self.busy = False
