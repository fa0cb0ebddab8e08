"""What the Users and Data dialogs share: the choice between the published app's and the preview's (their people and
their data are apart), and the sentence each says after an action."""

import reflex as rx


def scope_choice(
    value: rx.Var[str] | str, on_change: rx.event.EventCallback[str | list[str]], id: str, label: str
) -> rx.Component:
    return rx.segmented_control.root(
        rx.segmented_control.item("Published app", value="live"),
        rx.segmented_control.item("In the preview", value="preview"),
        value=value,
        on_change=on_change,
        size="2",
        id=id,
        aria_label=label,
    )


def messages(error: rx.Var[str] | str, notice: rx.Var[str] | str, prefix: str) -> rx.Component:
    """The last action's refusal (`<prefix>-error`) or what it did (`<prefix>-notice`)."""
    return rx.fragment(
        rx.cond(
            error != "",
            rx.callout(error, icon="triangle-alert", color_scheme="red", role="alert", width="100%", id=f"{prefix}-error"),
        ),
        rx.cond(
            notice != "",
            rx.callout(notice, icon="check", color_scheme="green", width="100%", id=f"{prefix}-notice"),
        ),
    )
