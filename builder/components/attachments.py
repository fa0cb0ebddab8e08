"""The attachments row of a message box: the paper-clip button, the pictures as removable chips, and why one was refused.

Paste and drop onto the box, and the file picker, are handled by assets/forja_attach.jsx.
"""

from __future__ import annotations

import reflex as rx
from reflex.event import passthrough_event_spec

from builder.state.attachments import AttachedPicture, AttachmentsState

ACCEPT = "image/png,image/jpeg,image/gif,image/webp"


class ForjaAttach(rx.NoSSRComponent):
    library = "$/public/forja_attach.jsx"
    tag = "ForjaAttach"

    target_id: rx.Var[str]
    input_id: rx.Var[str]
    accept: rx.Var[str]

    on_attach: rx.EventHandler[passthrough_event_spec(str, str, str)]


def attach_button(target_id: str) -> rx.Component:
    """The paper-clip button, and the hidden input and paste/drop listeners of the box `target_id`."""
    input_id = f"{target_id}-files"
    return rx.fragment(
        ForjaAttach.create(target_id=target_id, input_id=input_id, accept=ACCEPT, on_attach=AttachmentsState.add_picture),
        rx.tooltip(
            rx.icon_button(
                rx.icon("paperclip", size=16),
                type="button",
                variant="soft",
                color_scheme="gray",
                aria_label="Attach a picture",
                id="attach-button",
                on_click=rx.call_script(f"document.getElementById('{input_id}').click()"),
            ),
            content="Attach a picture (or paste or drop one on the box)",
        ),
    )


def _chip(picture: AttachedPicture) -> rx.Component:
    return rx.hstack(
        rx.image(src=picture.url, alt=picture.name, width="36px", height="36px", object_fit="cover", border_radius="4px"),
        rx.text(
            picture.name,
            size="1",
            trim="both",
            max_width="120px",
            overflow="hidden",
            white_space="nowrap",
            text_overflow="ellipsis",
        ),
        rx.icon_button(
            rx.icon("x", size=12),
            type="button",
            size="1",
            variant="ghost",
            color_scheme="gray",
            aria_label=f"Remove {picture.name}",
            class_name="attachment-remove",
            on_click=AttachmentsState.remove_picture(picture.id),
        ),
        align="center",
        spacing="2",
        padding="3px 6px 3px 3px",
        border=f"1px solid {rx.color('gray', 6)}",
        border_radius="6px",
        background=rx.color("gray", 2),
        class_name="attachment-chip",
    )


def attachments_row() -> rx.Component:
    """The chips of the attached pictures, and the reason the last one was refused; nothing when both are empty."""
    return rx.fragment(
        rx.cond(
            AttachmentsState.pictures.length() > 0,
            rx.flex(rx.foreach(AttachmentsState.pictures, _chip), wrap="wrap", gap="6px", width="100%", class_name="attachments"),
        ),
        rx.cond(
            AttachmentsState.attach_error != "",
            rx.callout(
                AttachmentsState.attach_error, icon="image-off", color_scheme="red", size="1", id="attach-error", width="100%"
            ),
        ),
    )
