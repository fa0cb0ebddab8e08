"""The Clone dialog (from the project menu): the `git clone` command that gets the project's whole history.

With accounts, it makes a git token on request (this project only, expiring) and shows the two lines that use it; no
command it shows ever puts a token in an address, where git would keep it in the clone's settings.
"""

import reflex as rx

from builder.components.remote_section import remote_section
from builder.state.auth import AuthState
from builder.state.clone import CloneState


def _labelled(label: str, control: rx.Component) -> rx.Component:
    return rx.el.label(rx.text(label, size="2", weight="medium"), control, display="grid", gap="4px", min_width="0")


def _copy() -> rx.Component:
    return rx.button(
        rx.icon("copy", size=14),
        "Copy",
        on_click=[rx.set_clipboard(CloneState.copied), rx.toast("Copied.")],
        id="copy-clone",
    )


def _token_form() -> rx.Component:
    access = rx.cond(
        CloneState.can_push,
        rx.select.root(
            rx.select.trigger(aria_label="What the token may do", id="git-token-access"),
            rx.select.content(
                rx.select.item("Clone, fetch and push", value="write"),
                rx.select.item("Clone and fetch only", value="read"),
            ),
            value=CloneState.access,
            on_change=CloneState.set_access,
        ),
        rx.text("Clone and fetch only (viewers cannot push)", size="2", id="git-token-access"),
    )
    lasts = rx.select.root(
        rx.select.trigger(aria_label="How long the token works", id="git-token-days"),
        rx.select.content(rx.foreach(CloneState.day_choices, lambda label: rx.select.item(label, value=label))),
        value=CloneState.days,
        on_change=CloneState.set_days,
    )
    return rx.vstack(
        rx.text(
            "Git needs a token to reach this project. Forja makes one that works for this project only, for git only, "
            "and stops working after the days you choose.",
            size="2",
        ),
        rx.flex(
            _labelled("It may", access),
            _labelled("It works for", lasts),
            rx.button(
                rx.icon("key-round", size=14),
                "Make a git token",
                on_click=CloneState.make_token,
                loading=CloneState.making,
                id="make-git-token",
            ),
            gap="12px",
            align="end",
            flex_wrap="wrap",
            width="100%",
        ),
        width="100%",
        spacing="3",
    )


def _made() -> rx.Component:
    return rx.vstack(
        rx.text("Run these two lines in a terminal (on Windows, in Git Bash):", size="2", weight="medium"),
        rx.text(
            "1. Give the token to git's own password store, in your home folder, which only you can read. It never "
            "sits in the project's folder.",
            size="2",
        ),
        rx.el.pre(CloneState.setup, class_name="token-usage", id="clone-setup"),
        rx.text("2. Clone the project:", size="2"),
        rx.el.pre(CloneState.command, class_name="token-usage", id="clone-command"),
        _copy(),
        rx.text(CloneState.made, size="2", id="git-token-made"),
        width="100%",
        spacing="2",
    )


def clone_dialog() -> rx.Component:
    return rx.dialog.root(
        rx.dialog.content(
            rx.dialog.title("Clone with git"),
            rx.dialog.description(
                "Every version is a commit. Push to main and each commit becomes a new version, as a save does.",
                size="2",
            ),
            rx.vstack(
                rx.cond(
                    AuthState.accounts_on,
                    rx.cond(CloneState.command == "", _token_form(), _made()),
                    rx.fragment(
                        rx.el.pre(CloneState.command, class_name="token-usage", id="clone-command"),
                        _copy(),
                        rx.text("Without accounts, only this machine may clone and push.", size="2"),
                    ),
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
