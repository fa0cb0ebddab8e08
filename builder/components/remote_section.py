"""The Remote section of the Clone dialog: link one remote repository, push, pull, and the both-moved choice."""

import reflex as rx

from builder.state.remote import RemoteState
from builder.state.workspace import WorkspaceState


def _field(label: str | rx.Var[str], control: rx.Component) -> rx.Component:
    return rx.el.label(rx.text(label, size="2", weight="medium"), control, width="100%", display="grid", gap="4px")


def _form() -> rx.Component:
    return rx.vstack(
        _field(
            "Repository address",
            rx.input(
                value=RemoteState.url_field,
                on_change=RemoteState.set_url_field,
                placeholder="https://github.com/me/site.git",
                id="remote-url",
                width="100%",
            ),
        ),
        rx.flex(
            _field(
                rx.cond(RemoteState.has_token, "New token (blank: keep the one kept)", "Token (kept encrypted)"),
                rx.input(
                    value=RemoteState.token_field,
                    on_change=RemoteState.set_token_field,
                    type="password",
                    auto_complete="off",
                    id="remote-token",
                    width="100%",
                ),
            ),
            _field(
                "Branch",
                rx.input(value=RemoteState.branch_field, on_change=RemoteState.set_branch_field, id="remote-branch"),
            ),
            gap="8px",
            width="100%",
            flex_wrap="wrap",
        ),
        rx.button(rx.cond(RemoteState.linked, "Save the link", "Link"), on_click=RemoteState.link, id="remote-link"),
        width="100%",
        spacing="2",
    )


def _linked() -> rx.Component:
    return rx.vstack(
        rx.text(
            "Syncs with ",
            rx.code(RemoteState.url, id="remote-shown", word_break="break-all"),
            " on ",
            rx.code(RemoteState.branch),
            rx.cond(RemoteState.has_token, "; a token is kept (never shown).", "; no token."),
            size="2",
        ),
        rx.flex(
            rx.button(
                rx.icon("upload", size=14),
                "Push",
                on_click=RemoteState.sync("push", "", False),
                loading=RemoteState.busy,
                id="remote-push",
            ),
            rx.button(
                rx.icon("download", size=14),
                "Pull",
                on_click=RemoteState.sync("pull", "", False),
                loading=RemoteState.busy,
                variant="soft",
                id="remote-pull",
            ),
            rx.button("Unlink", on_click=RemoteState.unlink, variant="ghost", color_scheme="gray", id="remote-unlink"),
            gap="8px",
            flex_wrap="wrap",
        ),
        width="100%",
        spacing="2",
    )


def _both_moved() -> rx.Component:
    return rx.callout.root(
        rx.callout.text(RemoteState.both_moved, id="remote-both-moved"),
        rx.flex(
            rx.button(
                "Push to ",
                RemoteState.new_branch,
                on_click=RemoteState.sync("push", RemoteState.new_branch, False),
                size="1",
                id="remote-push-branch",
            ),
            rx.button(
                "Merge (changes to different files)",
                on_click=RemoteState.sync("pull", "", True),
                size="1",
                variant="soft",
                id="remote-merge",
            ),
            gap="8px",
            flex_wrap="wrap",
            margin_top="8px",
        ),
        color_scheme="amber",
        role="status",
        width="100%",
    )


def remote_section() -> rx.Component:
    return rx.vstack(
        rx.heading("Remote repository", size="3", as_="h3"),
        rx.text("Push the versions to your own repository, and pull commits made there as new versions.", size="2"),
        rx.cond(RemoteState.linked, _linked()),
        # What a push or pull said comes before the form: on a phone it is what the person looks at next.
        rx.cond(RemoteState.both_moved != "", _both_moved()),
        rx.cond(RemoteState.notice != "", rx.text(RemoteState.notice, size="2", role="status", id="remote-notice")),
        rx.cond(
            RemoteState.error != "",
            rx.callout(RemoteState.error, icon="triangle-alert", color_scheme="red", role="alert", id="remote-error"),
        ),
        rx.cond(WorkspaceState.can_edit, _form()),
        width="100%",
        spacing="2",
        margin_top="16px",
        id="remote-section",
    )
