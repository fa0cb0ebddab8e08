"""The Publish button and its dialog: the app's own address, its releases, rename, roll back, take down (its own domain
in domain_panel.py)."""

from typing import Literal

import reflex as rx

from builder.components.confirm import confirm
from builder.components.domain_panel import domain_panel
from builder.review.shown import SEVERITY_BADGES, FindingRow
from builder.state.app_data_panel import AppDataState
from builder.state.app_users import AppUsersState
from builder.state.publish import PublishState, ReleaseRow
from builder.state.workspace import WorkspaceState

STATE_BADGES: dict[str, tuple[str, Literal["green", "gray", "amber"]]] = {
    "live": ("Live", "green"),
    "unpublished": ("Taken down", "gray"),
    "none": ("Not live yet", "amber"),
}


def release_row(row: ReleaseRow) -> rx.Component:
    return rx.hstack(
        rx.vstack(
            rx.hstack(
                rx.text("Release ", row.number, size="2", weight="medium"),
                rx.text("version ", row.version, size="1", color=rx.color("gray", 11)),
                rx.cond(row.live, rx.badge("live", color_scheme="green", variant="soft")),
                rx.cond(row.state == "failed", rx.badge("failed", color_scheme="red", variant="soft")),
                rx.cond(row.state == "blocked", rx.badge("stopped by the review", color_scheme="amber", variant="soft")),
                rx.cond(row.state == "pruned", rx.badge("files removed", color_scheme="gray", variant="soft")),
                align="center",
                spacing="2",
                wrap="wrap",
            ),
            rx.text(row.when, " \u00b7 ", row.detail, size="1", color=rx.color("gray", 11), class_name="release-detail"),
            spacing="1",
            min_width="0",
            flex="1",
        ),
        rx.cond(
            row.can_go_live & WorkspaceState.can_edit,
            rx.button(
                rx.cond(row.newer, rx.icon("redo-2", size=14), rx.icon("undo-2", size=14)),
                rx.cond(row.newer, "Make live again", "Roll back"),
                size="1",
                variant="soft",
                on_click=PublishState.rollback(row.number),
                class_name="rollback-release",
            ),
        ),
        align="center",
        width="100%",
        class_name="release-row",
        data_release=row.number,
    )


def _address() -> rx.Component:
    badge = rx.match(
        PublishState.app_state,
        *[
            (state, rx.badge(label, color_scheme=color, variant="soft", id="app-state"))
            for state, (label, color) in STATE_BADGES.items()
        ],
        rx.fragment(),
    )
    return rx.cond(
        PublishState.url != "",
        rx.vstack(
            rx.hstack(rx.text("Its address", size="2", weight="bold"), badge, align="center", spacing="2"),
            rx.hstack(
                rx.code(
                    PublishState.url,
                    variant="outline",
                    color_scheme="gray",
                    size="2",
                    # The whole address, on as many lines as it takes: a phone showed a field's first 14 characters.
                    word_break="break-all",
                    flex="1 1 16em",
                    display="flex",
                    align_items="center",
                    min_height="var(--space-6)",
                    padding="0.2em 0.6em",
                    id="app-address",
                ),
                # Together: on a phone they go under the address.
                rx.hstack(
                    rx.button(
                        rx.icon("copy", size=14),
                        "Copy",
                        variant="soft",
                        on_click=[rx.set_clipboard(PublishState.url), rx.toast("Address copied.")],
                    ),
                    rx.link(
                        rx.button(rx.icon("external-link", size=14), "Open", variant="soft"),
                        href=PublishState.url,
                        is_external=True,
                        id="open-app",
                    ),
                    # The people who signed up to it and what it keeps: its owner manages them (the Users and Data dialogs).
                    rx.cond(
                        WorkspaceState.is_owner,
                        rx.button(
                            rx.icon("users", size=14),
                            "People",
                            variant="soft",
                            on_click=[PublishState.set_open(False), AppUsersState.set_open(True)],
                            id="open-app-users",
                        ),
                    ),
                    rx.cond(
                        WorkspaceState.is_owner,
                        rx.button(
                            rx.icon("database", size=14),
                            "Data",
                            variant="soft",
                            on_click=[PublishState.set_open(False), AppDataState.set_open(True)],
                            id="open-app-data",
                        ),
                    ),
                    wrap="wrap",  # four buttons are wider than a phone
                ),
                width="100%",
                wrap="wrap",
            ),
            width="100%",
            spacing="2",
        ),
    )


def _risk(sentence: rx.Var[str]) -> rx.Component:
    return rx.el.li(rx.text(sentence, size="2"), class_name="rules-risk")


def _data_rules() -> rx.Component:
    """Above the publish button: what the version's data rules let people do to the app's data, or why they cannot be
    read (a publish of it is then refused with the same sentence)."""
    return rx.cond(
        PublishState.rules_error != "",
        rx.callout.root(
            rx.callout.icon(rx.icon("triangle-alert")),
            rx.callout.text(
                rx.text.strong("Your app's data rules cannot be read, so this version cannot be published. "),
                PublishState.rules_error,
            ),
            color_scheme="red",
            width="100%",
            id="rules-error",
        ),
        rx.cond(
            PublishState.rules_risks.length() > 0,
            rx.callout.root(
                rx.callout.icon(rx.icon("shield-alert")),
                rx.vstack(
                    rx.callout.text(rx.text.strong("Check your app's data rules before you publish")),
                    rx.el.ul(
                        rx.foreach(PublishState.rules_risks, _risk), margin="0", padding_left="1.2em", list_style_type="disc"
                    ),
                    rx.callout.text(
                        "Rules that let anyone add, change or delete rows stop the publish until they are changed, or "
                        "until the project's owner publishes anyway and says why. The others can go live as they are. "
                        "To change them, ask in the chat."
                    ),
                    spacing="2",
                ),
                color_scheme="amber",
                width="100%",
                id="rules-risks",
            ),
        ),
    )


def _finding(row: FindingRow, index: rx.Var[int]) -> rx.Component:
    badge = rx.match(
        row.severity,
        *[
            (severity.value, rx.badge(label, color_scheme=color, variant="soft"))
            for severity, (label, color) in SEVERITY_BADGES.items()
        ],
        rx.fragment(),
    )
    return rx.hstack(
        rx.vstack(
            rx.hstack(
                badge,
                rx.cond(row.confirmed, rx.badge("You confirmed it", color_scheme="gray", variant="outline")),
                spacing="2",
                wrap="wrap",
            ),
            rx.text(row.message, size="2"),
            rx.cond(row.where != "", rx.text(row.where, size="1", color=rx.color("gray", 11), word_break="break-word")),
            spacing="1",
            min_width="0",
            flex="1 1 16em",
        ),
        rx.cond(
            WorkspaceState.can_edit,
            rx.button(
                rx.icon("wand-sparkles", size=14),
                "Fix this",
                size="1",
                variant="soft",
                on_click=PublishState.fix_finding(index),
                class_name="fix-finding",
            ),
        ),
        align="start",
        width="100%",
        wrap="wrap",
        padding_y="8px",
        border_top=f"1px solid {rx.color('gray', 5)}",
        class_name="review-finding",
    )


def _publish_anyway() -> rx.Component:
    """Its owner only: publish with the problems, saying why (kept with the release)."""
    return rx.cond(
        PublishState.override_open,
        rx.vstack(
            rx.text("Why publish it as it is?", size="2", weight="bold"),
            rx.text_area(
                value=PublishState.override_reason,
                on_change=PublishState.set_override_reason,
                placeholder="For example: it is a test key that opens nothing.",
                max_length=500,
                rows="2",
                width="100%",
                aria_label="Why publish it as it is",
                id="override-reason",
            ),
            rx.cond(
                PublishState.override_error != "",
                rx.text(PublishState.override_error, size="2", color=rx.color("red", 11), role="alert", id="override-error"),
            ),
            rx.text(
                "It goes live with these problems; your reason is kept with the release.", size="1", color=rx.color("gray", 11)
            ),
            rx.hstack(
                rx.button(
                    rx.cond(PublishState.building, rx.spinner(size="1"), rx.icon("rocket", size=14)),
                    "Publish anyway",
                    color_scheme="red",
                    on_click=PublishState.publish_anyway,
                    disabled=PublishState.building,
                    id="publish-anyway-now",
                ),
                rx.button("Cancel", variant="soft", color_scheme="gray", on_click=PublishState.set_override_open(False)),
                wrap="wrap",
            ),
            width="100%",
            spacing="2",
        ),
        rx.button(
            "Publish anyway...",
            variant="soft",
            color_scheme="red",
            on_click=PublishState.set_override_open(True),
            id="publish-anyway",
        ),
    )


def _findings() -> rx.Component:
    """A publish the review stopped: what it found, worst first, each with Fix this; its owner can publish anyway."""
    return rx.cond(
        PublishState.findings.length() > 0,
        rx.vstack(
            rx.text("What the review found", size="2", weight="bold"),
            rx.vstack(rx.foreach(PublishState.findings, _finding), width="100%", spacing="0"),
            rx.cond(
                WorkspaceState.is_owner,
                _publish_anyway(),
                rx.text(
                    "Only the project's owner can publish it anyway. Fix the problems, or ask the owner.",
                    size="1",
                    color=rx.color("gray", 11),
                    id="owner-only",
                ),
            ),
            width="100%",
            spacing="2",
            id="review-findings",
        ),
    )


def _name_and_publish() -> rx.Component:
    return rx.cond(
        WorkspaceState.can_edit,
        rx.vstack(
            rx.text("Name (the start of its address)", size="2", weight="bold"),
            rx.hstack(
                rx.input(
                    value=PublishState.name,
                    on_change=PublishState.set_name,
                    id="app-name",
                    aria_label="The app's name, the start of its address",
                    flex="1",
                    min_width="160px",
                    max_length=63,
                    font_family="monospace",
                    disabled=(PublishState.url != "") & ~WorkspaceState.is_owner,
                ),
                rx.cond(
                    (PublishState.url != "") & WorkspaceState.is_owner,
                    rx.button("Rename", variant="soft", on_click=PublishState.rename, id="rename-app"),
                ),
                width="100%",
                wrap="wrap",
            ),
            rx.hstack(
                rx.button(
                    rx.cond(PublishState.building, rx.spinner(size="1"), rx.icon("rocket", size=14)),
                    rx.cond(
                        PublishState.building, "Building...", "Publish version " + WorkspaceState.current_version.to_string()
                    ),
                    on_click=PublishState.publish,
                    # Rules that cannot be read refuse the publish: the dialog says why above.
                    disabled=PublishState.building | (WorkspaceState.current_version == 0) | (PublishState.rules_error != ""),
                    id="publish-now",
                ),
                rx.cond(
                    PublishState.app_state == "live",
                    confirm(
                        rx.button("Take down", variant="soft", color_scheme="red", id="unpublish-app"),
                        "Take the app down?",
                        "Its address will say the app was unpublished, until you publish again. Its releases are kept.",
                        "Take down",
                        PublishState.unpublish,
                        "confirm-unpublish",
                        color_scheme="red",
                    ),
                ),
                rx.cond(
                    PublishState.building, rx.text("The build's output is in the Logs tab.", size="1", color=rx.color("gray", 11))
                ),
                align="center",
                width="100%",
                wrap="wrap",
            ),
            width="100%",
            spacing="2",
        ),
        rx.text("Only the project's editors and owner publish it.", size="2", color=rx.color("gray", 11), id="publish-view-only"),
    )


def publish_dialog() -> rx.Component:
    return rx.dialog.root(
        rx.dialog.trigger(
            rx.button(
                rx.icon("rocket", size=14),
                rx.el.span("Publish", class_name="publish-word"),
                size="1",
                disabled=WorkspaceState.current_version == 0,
                aria_label="Publish",
                id="publish-button",
            )
        ),
        rx.dialog.content(
            rx.dialog.title("Publish your app"),
            rx.dialog.description(
                "Builds the version for production and serves it at an address of its own: fast on any phone, with no dev "
                "server, for anyone who has the address. Every publish is a release you can roll back to.",
                size="2",
            ),
            rx.vstack(
                _address(),
                _data_rules(),
                _name_and_publish(),
                domain_panel(),
                rx.cond(
                    PublishState.error != "",
                    rx.vstack(
                        rx.callout(
                            PublishState.error,
                            icon="triangle-alert",
                            color_scheme="red",
                            role="alert",
                            width="100%",
                            id="publish-error",
                        ),
                        _findings(),
                        rx.cond(
                            PublishState.build_failed & WorkspaceState.can_edit,
                            rx.button(
                                rx.icon("wand-sparkles", size=14), "Fix this", on_click=PublishState.fix_build, id="fix-build"
                            ),
                        ),
                        width="100%",
                        spacing="2",
                    ),
                ),
                rx.cond(
                    PublishState.notice != "",
                    rx.callout(PublishState.notice, icon="check", color_scheme="green", width="100%", id="publish-notice"),
                ),
                rx.cond(
                    PublishState.releases.length() > 0,
                    rx.vstack(
                        rx.text("Releases", size="2", weight="bold"),
                        rx.foreach(PublishState.releases, release_row),
                        width="100%",
                        spacing="2",
                        id="releases",
                    ),
                ),
                width="100%",
                spacing="4",
                margin_top="12px",
            ),
            rx.flex(rx.dialog.close(rx.button("Done", variant="soft", color_scheme="gray")), justify="end", margin_top="16px"),
            max_width="600px",
        ),
        open=PublishState.open_dialog,
        on_open_change=PublishState.set_open,
    )
