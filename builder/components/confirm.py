"""Ask before an action that changes what people see: restoring a version, turning a link off."""

import reflex as rx
from reflex.event import EventType


def confirm(
    trigger: rx.Component,
    title: rx.Var[str] | str,
    description: rx.Var[str] | str,
    action: str,
    on_confirm: EventType[()],
    confirm_class: str,
    color_scheme: str = "orange",
) -> rx.Component:
    """`trigger` opens a small dialog; only its action button runs `on_confirm`.

    Radix's alert dialog keeps focus inside, and Escape or Cancel closes it without doing anything.
    """
    return rx.alert_dialog.root(
        rx.alert_dialog.trigger(trigger),
        rx.alert_dialog.content(
            rx.alert_dialog.title(title),
            rx.alert_dialog.description(description, size="2"),
            rx.flex(
                rx.alert_dialog.cancel(rx.button("Cancel", variant="soft", color_scheme="gray", class_name="confirm-cancel")),
                rx.alert_dialog.action(
                    rx.button(action, on_click=on_confirm, color_scheme=color_scheme, class_name=confirm_class)  # pyright: ignore[reportArgumentType]
                ),
                spacing="3",
                justify="end",
                margin_top="16px",
            ),
            max_width="420px",
            class_name="confirm-dialog",
        ),
    )
