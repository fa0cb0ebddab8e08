"""The Publish dialog's own-domain part: the domain and where it stands (Waiting for the record, Proved, Live), the
TXT record that proves it the owner's and the CNAME that points it here, each to copy, Check and Remove."""

from typing import Literal

import reflex as rx

from builder.state.app_domain import AppDomainState
from builder.state.publish import PublishState
from builder.state.workspace import WorkspaceState

STATUS_BADGES: dict[str, tuple[str, Literal["amber", "red", "blue", "green"]]] = {
    "waiting": ("Waiting for the record", "amber"),
    "taken": ("Taken by another app", "red"),
    "proved": ("Proved", "blue"),
    "live": ("Live", "green"),
}


def _field(label: str, value: rx.Var[str] | str, id_: str, *copy: rx.Component) -> rx.Component:
    return rx.hstack(
        rx.text(label, size="1", color=rx.color("gray", 11), width="3.5em", flex_shrink="0"),
        rx.code(value, size="1", color_scheme="gray", word_break="break-all", flex="1", min_width="0", id=id_),
        *copy,
        align="center",
        width="100%",
    )


def _copyable(label: str, value: rx.Var[str] | str, what: str, id_: str) -> rx.Component:
    copy = rx.icon_button(
        rx.icon("copy", size=12),
        size="1",
        variant="soft",
        aria_label=f"Copy the {what}",
        on_click=[rx.set_clipboard(value), rx.toast(f"The {what} is copied.")],
    )
    return _field(label, value, id_, copy)


def _record(
    title: str, done: rx.Var[bool] | bool, kind: str, name: rx.Var[str] | str, value: rx.Var[str] | str, key: str
) -> rx.Component:
    """One DNS record to make, in the words a domain provider's DNS page uses (type, name, value)."""
    return rx.vstack(
        rx.hstack(
            rx.cond(done, rx.icon("circle-check", size=16, color=rx.color("green", 11)), rx.icon("circle", size=16)),
            rx.text(title, size="2", weight="medium"),
            align="center",
            spacing="2",
        ),
        _field("Type", kind, f"{key}-type", rx.box(width="var(--space-5)", flex_shrink="0")),  # lined up with the rows below
        _copyable("Name", name, f"{kind} record's name", f"{key}-name"),
        _copyable("Value", value, f"{kind} record's value", f"{key}-value"),
        width="100%",
        spacing="1",
        padding="var(--space-2) var(--space-3)",
        border=f"1px solid {rx.color('gray', 6)}",
        border_radius="var(--radius-3)",
        id=f"{key}-record",
    )


def _shown() -> rx.Component:
    badge = rx.match(
        AppDomainState.status,
        *[
            (status, rx.badge(label, color_scheme=color, variant="soft", id="domain-status"))
            for status, (label, color) in STATUS_BADGES.items()
        ],
        rx.fragment(),
    )
    proved = (AppDomainState.status == "proved") | (AppDomainState.status == "live")
    return rx.vstack(
        rx.hstack(
            rx.text(AppDomainState.domain, size="2", font_family="monospace", word_break="break-all", id="app-domain"),
            badge,
            align="center",
            wrap="wrap",
        ),
        rx.text(AppDomainState.detail, size="1", color=rx.color("gray", 11), id="domain-detail"),
        rx.text(
            "On your domain provider's DNS page, add these two records. If the provider adds your domain to names by "
            "itself, type only the part of the name before it.",
            size="1",
        ),
        _record("1. Show it's yours", proved, "TXT", AppDomainState.proof_name, AppDomainState.proof_value, "proof"),
        _record(
            "2. Point it at your app",
            AppDomainState.status == "live",
            "CNAME",
            AppDomainState.record_name,
            AppDomainState.record_value,
            "cname",
        ),
        rx.hstack(
            rx.button(
                rx.cond(AppDomainState.checking, rx.spinner(size="1"), rx.icon("refresh-cw", size=14)),
                "Check",
                size="2",
                variant="soft",
                on_click=AppDomainState.check,
                disabled=AppDomainState.checking,
                id="check-domain",
            ),
            rx.cond(
                WorkspaceState.is_owner,
                rx.button(
                    "Remove", size="2", variant="soft", color_scheme="red", on_click=AppDomainState.remove, id="remove-domain"
                ),
            ),
        ),
        width="100%",
        spacing="2",
    )


def _add() -> rx.Component:
    return rx.hstack(
        rx.input(
            value=AppDomainState.new_domain,
            on_change=AppDomainState.set_new_domain,
            placeholder="shop.example.com",
            flex="1 1 200px",
            font_family="monospace",
            id="new-domain",
            aria_label="A domain of yours for the app",
        ),
        rx.button("Add domain", variant="soft", on_click=AppDomainState.add, id="add-domain"),
        width="100%",
        wrap="wrap",
    )


def domain_panel() -> rx.Component:
    """The app at a domain of its owner's, once published: for the owner to add, for everyone to see where it stands."""
    return rx.cond(
        (PublishState.url != "") & (WorkspaceState.is_owner | (AppDomainState.domain != "")),
        rx.vstack(
            rx.text("Your own domain", size="2", weight="bold"),
            rx.cond(AppDomainState.domain != "", _shown(), _add()),
            rx.cond(
                AppDomainState.error != "",
                rx.callout(
                    AppDomainState.error, icon="triangle-alert", color_scheme="red", role="alert", width="100%", id="domain-error"
                ),
            ),
            width="100%",
            spacing="2",
        ),
    )
