"""An attached picture saved into the project as a file ("use this as the logo"), from its chip in the follow-up box.

The person sees where it will go (the project's picture folder and the picture's own name) and may change it.
"""

from __future__ import annotations

import asyncio
import logging

import reflex as rx

from builder.attachments import load_attachment
from builder.errors import ForjaError
from builder.services.access import Permission
from builder.state.editor import EditorState
from builder.state.workspace import WorkspaceState

log = logging.getLogger(__name__)


class ProjectPictureState(WorkspaceState):
    # The attachment being added; the dialog is open while it is set.
    picture_id: rx.Field[str] = rx.field("")
    picture_name: rx.Field[str] = rx.field("")
    picture_path: rx.Field[str] = rx.field("")
    picture_error: rx.Field[str] = rx.field("")
    adding_picture: rx.Field[bool] = rx.field(False)

    @rx.event
    async def choose_place(self, attachment_id: str, name: str) -> None:
        """Open the dialog with the place the picture would take."""
        self.picture_error = ""
        try:
            allowed = await self.allowed(Permission.edit)
            picture = await asyncio.to_thread(load_attachment, attachment_id, allowed.actor.user_id, name)
            self.picture_path = await allowed.services.projects.picture_path(self.project_id, picture)
        except ForjaError as exc:
            self.error = str(exc)
            return
        self.picture_id, self.picture_name = attachment_id, name

    @rx.event
    def set_picture_path(self, path: str) -> None:
        self.picture_path = path
        self.picture_error = ""

    @rx.event
    def cancel_picture(self) -> None:
        self.picture_id = ""
        self.picture_error = ""

    @rx.event
    async def add_picture(self):
        if not self.picture_id or self.adding_picture:
            return
        self.adding_picture = True
        yield
        try:
            allowed = await self.allowed(Permission.edit)
            picture = await asyncio.to_thread(load_attachment, self.picture_id, allowed.actor.user_id, self.picture_name)
            path, result = await allowed.services.projects.add_picture(self.project_id, picture, self.picture_path.strip())
        except ForjaError as exc:
            self.picture_error = str(exc)
            return
        except Exception:
            log.exception("adding a picture to project %s failed", self.project_id)
            self.picture_error = "The picture was not added because of an internal error; try again."
            return
        finally:
            self.adding_picture = False
        self.picture_id = ""
        await self._refresh(self.project_id)
        editor = await self.get_state(EditorState)
        # Short: it shares the Code tab's toolbar with the file's path, on a phone too.
        editor.notice = f"Added as version {result.version.number}." if result.changed else "Already in the project."
        # The person sees the picture where it went.
        await editor._open(path)
        self._switch_to("code")
