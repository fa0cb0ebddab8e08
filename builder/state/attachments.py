"""Pictures attached to the message being written (home prompt or follow-up box), before it is sent.

The browser (assets/forja_attach.jsx) posts each picture to /api/attachments, which checks it; this
state keeps the ids it got back, shows them as removable chips, and says why a picture was refused.
"""

from __future__ import annotations

import dataclasses

import reflex as rx

from builder.attachments import Picture, check_count, load_attachment
from builder.settings import settings


@dataclasses.dataclass
class AttachedPicture:
    id: str
    name: str
    url: str


class AttachmentsState(rx.State):
    pictures: rx.Field[list[AttachedPicture]] = rx.field(default_factory=list)
    attach_error: rx.Field[str] = rx.field("")

    @rx.event
    def add_picture(self, attachment_id: str, name: str, error: str) -> None:
        """The answer of /api/attachments for one picture: its id, or why it was refused."""
        if error or not attachment_id:
            self.attach_error = error or f"“{name}” could not be attached."
            return
        if len(self.pictures) >= settings.attach_max_count:
            self.attach_error = (
                f"At most {settings.attach_max_count} pictures go with one message; remove one to attach “{name}”."
            )
            return
        self.pictures = [*self.pictures, AttachedPicture(attachment_id, name, f"/api/attachments/{attachment_id}")]
        self.attach_error = ""

    @rx.event
    def remove_picture(self, attachment_id: str) -> None:
        self.pictures = [p for p in self.pictures if p.id != attachment_id]
        self.attach_error = ""

    def take(self, owner: str) -> list[Picture]:
        """The pictures `owner` attached, for sending; ForjaError (shown by the caller) if one is gone or too many."""
        check_count(len(self.pictures))
        return [load_attachment(p.id, owner) for p in self.pictures]

    def clear(self) -> None:
        self.pictures = []
        self.attach_error = ""
