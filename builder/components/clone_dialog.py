"""The Clone dialog (from the project menu): the one `git clone` command that gets the project's whole history."""

import reflex as rx

from builder.components.remote_section import remote_section
from builder.state.auth import AuthState
from builder.state.clone import CloneState


def clone_dialog() -> rx.Component:
    return rx.dialog.root(
        rx.dialog.content(
            rx.dialog.title("Clone with git"),
            rx.dialog.description(
                "Every version is a commit. Push to main and each commit becomes a new version, as a save does.",
                size="2",
            ),
            rx.vstack(
                rx.el.pre(CloneState.command, class_name="token-usage", id="clone-command"),
                rx.hstack(
                    rx.button(
                        rx.icon("copy", size=14),
                        "Copy",
                        on_click=[rx.set_clipboard(CloneState.command), rx.toast("Command copied.")],
                        id="copy-clone",
                    ),
                    wrap="wrap",
                ),
                rx.cond(
                    AuthState.accounts_on,
                    rx.text(
                        "Replace YOUR_TOKEN with a personal API token: make one on ",
                        rx.link("your Account page", href="/account", id="clone-token-link"),
                        ". Viewers may clone; editors and owners may push.",
                        size="2",
                    ),
                    rx.text("Without accounts, only this machine may clone and push.", size="2"),
                ),
                rx.cond(
                    CloneState.error != "",
                    rx.callout(CloneState.error, icon="triangle-alert", color_scheme="red", role="alert", width="100%"),
                ),
                width="100%",
                spacing="3",
                margin_top="12px",
            ),
            remote_section(),
            rx.flex(rx.dialog.close(rx.button("Done", variant="soft", color_scheme="gray")), justify="end", margin_top="16px"),
            max_width="600px",
        ),
        open=CloneState.open_dialog,
        on_open_change=CloneState.set_open,
    )
