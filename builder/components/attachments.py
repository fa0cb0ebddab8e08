"""The attachments row of a message box: the paper-clip button, the pictures as removable chips, and why one was refused.

Paste and drop onto the box, and the file picker, are handled by assets/forja_attach.jsx.
"""

from __future__ import annotations

import reflex as rx
from reflex.event import passthrough_event_spec

from builder.state.attachments import AttachedPicture, AttachmentsState
from builder.state.project_pictures import ProjectPictureState

ACCEPT = "image/png,image/jpeg,image/gif,image/webp"
BUTTON_ID = "attach-button"  # one message box with pictures a page (the home page's prompt, the workspace's follow-up)


class ForjaAttach(rx.NoSSRComponent):
    library = "$/public/forja_attach.jsx"
    tag = "ForjaAttach"

    target_id: rx.Var[str]
    input_id: rx.Var[str]
    button_id: rx.Var[str]
    accept: rx.Var[str]

    on_attach: rx.EventHandler[passthrough_event_spec(str, str, str)]


def attach_button(target_id: str) -> rx.Component:
    """The paper-clip button, and the hidden input and paste/drop listeners of the box `target_id`."""
    input_id = f"{target_id}-files"
    return rx.fragment(
        ForjaAttach.create(
            target_id=target_id, input_id=input_id, button_id=BUTTON_ID, accept=ACCEPT, on_attach=AttachmentsState.add_picture
        ),
        rx.tooltip(
            rx.icon_button(
                rx.icon("paperclip", size=16),
                type="button",
                variant="soft",
                color_scheme="gray",
                aria_label="Attach a picture",
                id=BUTTON_ID,  # it opens the chooser without Forja (assets/forja_attach.jsx)
            ),
            content="Attach a picture (or paste or drop one on the box)",
        ),
    )


def _add_to_project_button(picture: AttachedPicture) -> rx.Component:
    return rx.tooltip(
        rx.icon_button(
            rx.icon("image-plus", size=12),
            type="button",
            size="1",
            variant="ghost",
            color_scheme="gray",
            aria_label=f"Add {picture.name} to the project",
            class_name="attachment-add",
            on_click=ProjectPictureState.choose_place(picture.id, picture.name),
        ),
        content="Add to the project as a file",
    )


def _chip(picture: AttachedPicture, in_project: bool = False) -> rx.Component:
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
        _add_to_project_button(picture) if in_project else rx.fragment(),
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


def _picture_dialog() -> rx.Component:
    """Where an attached picture goes in the project: the place Forja proposes, which the person may change."""
    return rx.dialog.root(
        rx.dialog.content(
            rx.dialog.title("Add the picture to the project"),
            rx.dialog.description(
                "It is saved as a file, a new version; the app can use it from there.", size="2", margin_bottom="12px"
            ),
            rx.form(
                rx.vstack(
                    rx.text("File", as_="label", html_for="picture-path", size="2", weight="medium"),
                    rx.input(
                        value=ProjectPictureState.picture_path,
                        on_change=ProjectPictureState.set_picture_path,
                        id="picture-path",
                        width="100%",
                        spell_check=False,
                    ),
                    rx.cond(
                        ProjectPictureState.picture_error != "",
                        rx.callout(ProjectPictureState.picture_error, icon="triangle-alert", color_scheme="red", size="1"),
                    ),
                    rx.hstack(
                        rx.button(
                            "Cancel",
                            type="button",
                            variant="soft",
                            color_scheme="gray",
                            on_click=ProjectPictureState.cancel_picture,
                        ),
                        rx.button("Add to project", type="submit", loading=ProjectPictureState.adding_picture, id="picture-add"),
                        justify="end",
                        width="100%",
                    ),
                    spacing="3",
                ),
                on_submit=lambda _: ProjectPictureState.add_picture,
            ),
            max_width="440px",
        ),
        open=ProjectPictureState.picture_id != "",
        on_open_change=lambda _: ProjectPictureState.cancel_picture,
    )


def attachments_row(in_project: bool = False) -> rx.Component:
    """The chips of the attached pictures, and the reason the last one was refused; nothing when both are empty.

    `in_project`: the box of an open project, where a chip can also add its picture to the project as a file."""
    return rx.fragment(
        rx.cond(
            AttachmentsState.pictures.length() > 0,
            rx.flex(
                rx.foreach(AttachmentsState.pictures, lambda picture: _chip(picture, in_project)),
                wrap="wrap",
                gap="6px",
                width="100%",
                class_name="attachments",
            ),
        ),
        _picture_dialog() if in_project else rx.fragment(),
        rx.cond(
            AttachmentsState.attach_error != "",
            rx.callout(
                AttachmentsState.attach_error, icon="image-off", color_scheme="red", size="1", id="attach-error", width="100%"
            ),
        ),
    )
