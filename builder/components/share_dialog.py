"""The Share button and its dialog."""

import reflex as rx

from builder.components.confirm import confirm
from builder.state.share import EXPIRY_CHOICES, ShareRow, ShareState
from builder.state.workspace import WorkspaceState


def link_row(row: ShareRow) -> rx.Component:
    return rx.hstack(
        rx.text(row.opens, size="2", weight="medium"),
        rx.text(row.created, size="1", color=rx.color("gray", 11)),
        rx.badge(row.status, color_scheme=rx.cond(row.active, "green", "gray"), variant="soft"),
        rx.spacer(),
        rx.cond(
            row.active & WorkspaceState.can_edit,
            confirm(
                rx.button("Turn off", size="1", variant="soft", color_scheme="red", class_name="revoke-share"),
                "Turn this link off?",
                "Anyone who opens it will see that it was turned off. This cannot be undone; you can make a new link.",
                "Turn off",
                ShareState.revoke(row.id),
                "confirm-revoke",
                color_scheme="red",
            ),
        ),
        align="center",
        width="100%",
        class_name="share-row",
    )


def kind_choice(value: str, *label: rx.Component | str) -> rx.Component:
    return rx.text(
        rx.flex(rx.radio_group.item(value=value, id=f"share-kind-{value}"), rx.box(*label), spacing="2", align="start"),
        as_="label",
        size="2",
    )


def kind_choices() -> rx.Component:
    """What the link opens, once the project has a live app: its preview, the live app, or this release, pinned."""
    hint = {"size": "1", "color": rx.color("gray", 11), "as_": "div"}
    return rx.radio_group.root(
        rx.flex(
            kind_choice(
                "preview",
                rx.text("A preview of version ", WorkspaceState.current_version, as_="div"),
                rx.text("Runs its dev server; shows exactly this version.", **hint),
            ),
            kind_choice(
                "live",
                rx.text("The published app", as_="div"),
                rx.text("Its address, built for production; follows later publishes and rollbacks.", **hint),
            ),
            kind_choice(
                "release",
                rx.text("Release ", ShareState.live_release, ", pinned", as_="div"),
                rx.text("The release live now, at an address of its own; later publishes do not change it.", **hint),
            ),
            direction="column",
            spacing="2",
        ),
        value=ShareState.kind,
        on_change=ShareState.set_kind,
        aria_label="What the link opens",
        id="share-kind",
        margin_top="12px",
    )


def share_dialog() -> rx.Component:
    return rx.dialog.root(
        # Opened through on_open_change: a click handler on the button would make Reflex wrap it in a <div> that takes
        # the trigger's role and ARIA attributes.
        rx.dialog.trigger(
            rx.button(
                rx.icon("share-2", size=14),
                "Share",
                size="1",
                disabled=WorkspaceState.current_version == 0,
                id="share-button",
            )
        ),
        rx.dialog.content(
            rx.dialog.title("Share a live link"),
            rx.dialog.description(
                rx.match(
                    ShareState.kind,
                    (
                        "live",
                        rx.fragment(
                            "Anyone with the link opens the published app, built for production, in any browser, without "
                            "an account. It follows later publishes."
                        ),
                    ),
                    (
                        "release",
                        rx.fragment(
                            "Anyone with the link opens release ",
                            ShareState.live_release,
                            " of the published app, in any browser, without an account. Later publishes do not alter it.",
                        ),
                    ),
                    rx.fragment(
                        "Anyone with the link sees version ",
                        WorkspaceState.current_version,
                        " running, in any browser, without an account. Later changes do not alter it.",
                    ),
                ),
                size="2",
            ),
            rx.cond(WorkspaceState.can_edit & (ShareState.live_release > 0), kind_choices()),
            rx.cond(
                WorkspaceState.can_edit,
                rx.hstack(
                    rx.text("Link works for", size="2"),
                    rx.select.root(
                        rx.select.trigger(aria_label="Link works for"),
                        rx.select.content(*[rx.select.item(label, value=value) for value, label in EXPIRY_CHOICES.items()]),
                        value=ShareState.expires,
                        on_change=ShareState.set_expires,
                        size="2",
                    ),
                    rx.spacer(),
                    rx.button("Create link", on_click=ShareState.create, id="create-share"),
                    align="center",
                    width="100%",
                    margin_y="12px",
                ),
                rx.text(
                    "Only the project's editors and owner make and turn off links.",
                    size="2",
                    color=rx.color("gray", 11),
                    margin_y="12px",
                    id="share-view-only",
                ),
            ),
            rx.cond(
                ShareState.link != "",
                rx.hstack(
                    rx.input(
                        value=ShareState.link,
                        read_only=True,
                        flex="1",
                        font_family="monospace",
                        id="share-link",
                        aria_label="The link",
                    ),
                    rx.button(
                        rx.icon("copy", size=14), "Copy", on_click=[rx.set_clipboard(ShareState.link), rx.toast("Link copied.")]
                    ),
                    width="100%",
                ),
            ),
            rx.cond(ShareState.error != "", rx.text(ShareState.error, color=rx.color("red", 11), size="2")),
            rx.cond(
                ShareState.links.length() > 0,
                rx.vstack(
                    rx.text("Links made so far", size="2", weight="bold", margin_top="12px"),
                    rx.foreach(ShareState.links, link_row),
                    width="100%",
                    spacing="2",
                ),
            ),
            rx.flex(rx.dialog.close(rx.button("Done", variant="soft", color_scheme="gray")), justify="end", margin_top="16px"),
            max_width="560px",
        ),
        open=ShareState.open_dialog,
        on_open_change=ShareState.set_open,
    )
