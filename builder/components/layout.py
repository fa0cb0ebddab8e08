"""The bar across the top of every page."""

import reflex as rx

from builder.components.user_menu import user_menu


def brand() -> rx.Component:
    return rx.link(
        rx.hstack(
            rx.icon("anvil", size=22, color=rx.color("orange", 9)),
            rx.text("Forja", weight="bold", size="5", class_name="brand-name"),
            align="center",
            spacing="2",
        ),
        href="/",
        underline="none",
        color=rx.color("gray", 12),
        # On a phone the name is hidden and the anvil alone is the link: it still says where it goes.
        aria_label="Forja: your projects",
    )


def top_bar(*children: rx.Component, **props) -> rx.Component:
    """The brand, the page's own controls, then (with accounts) the signed-in person's menu."""
    return rx.hstack(
        brand(),
        *children,
        user_menu(),
        align="center",
        spacing="4",
        padding_x="1.25em",
        height="56px",
        border_bottom=f"1px solid {rx.color('gray', 5)}",
        background=rx.color("gray", 1),
        width="100%",
        flex_shrink="0",
        **props,
    )


def error_callout(
    message: rx.Var[str],
    on_dismiss: rx.event.EventCallback[()] | None = None,
    after: rx.Component | None = None,
    **props,
) -> rx.Component:
    """A plain-words error, with what helps `after` it if given; dismissable when `on_dismiss` is given."""
    dismiss = [rx.icon_button(rx.icon("x", size=14), variant="ghost", size="1", on_click=on_dismiss, aria_label="Dismiss")]
    return rx.cond(
        message != "",
        rx.callout.root(
            rx.hstack(
                rx.icon("triangle-alert", size=16, flex_shrink="0"),
                rx.text(message, *([" ", after] if after is not None else []), size="2", flex="1"),
                *(dismiss if on_dismiss is not None else []),
                align="start",
                width="100%",
            ),
            color_scheme="red",
            role="alert",
            width="100%",
            **props,
        ),
    )
