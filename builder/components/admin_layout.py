"""What the admin page's sections share: a titled card, a table that scrolls inside it, a state badge, a link
shown once."""

from typing import Literal

import reflex as rx

from builder.state.admin import AdminState


def admin_section(title: str, anchor: str, description: str, *children: rx.Component) -> rx.Component:
    return rx.el.section(
        rx.card(
            rx.vstack(
                rx.heading(title, size="4", as_="h2"),
                rx.text(description, size="2", color=rx.color("gray", 11)),
                *children,
                spacing="3",
                width="100%",
            ),
            size=rx.breakpoints(initial="2", sm="3"),
            width="100%",
        ),
        id=anchor,
        class_name="admin-section",
        aria_label=title,
    )


def admin_table(headers: list[str], body: rx.Component, table_id: str, label: str, numbers: tuple[str, ...] = ()) -> rx.Component:
    """A table whose columns keep their width: on a narrow screen it scrolls sideways inside its box, not the page.
    The columns named in `numbers` are right-aligned, heading and figures alike.

    The box is what scrolls (not Radix's own scroll area inside it), and it takes the keyboard's focus, so a table of
    figures with nothing to tab to can still be scrolled without a mouse; `label` names it when it is focused.
    """
    return rx.box(
        rx.table.root(
            rx.table.header(
                rx.table.row(
                    *[
                        rx.table.column_header_cell(header, class_name="admin-number" if header in numbers else "")
                        for header in headers
                    ]
                )
            ),
            rx.table.body(body),
            variant="surface",
            size="1",
            id=table_id,
        ),
        class_name="admin-table",
        tab_index=0,
        role="group",
        aria_label=label,
    )


def state_badge(state: rx.Var[str] | str) -> rx.Component:
    """ok, off or problem (health), and a preview's own states."""

    def badge(color: Literal["green", "gray", "red", "amber"]) -> rx.Component:
        return rx.badge(state, color_scheme=color, variant="soft", class_name="admin-state")

    return rx.fragment(
        rx.match(
            state,
            ("ok", badge("green")),
            ("running", badge("green")),
            ("off", badge("gray")),
            ("parked", badge("gray")),
            ("problem", badge("red")),
            badge("amber"),
        )
    )


def link_shown_once(kind: str) -> rx.Component:
    """A link made just now (an invitation, a password reset): shown only here, with a copy button."""
    return rx.cond(
        (AdminState.link != "") & (AdminState.link_kind == kind),
        rx.callout.root(
            rx.vstack(
                rx.hstack(
                    rx.icon("link", size=16, flex_shrink="0"),
                    rx.text(AdminState.link_for, size="2", weight="medium", flex="1"),
                    rx.icon_button(
                        rx.icon("x", size=14),
                        variant="ghost",
                        size="1",
                        on_click=AdminState.hide_link,
                        aria_label="Hide the link",
                    ),
                    align="center",
                    width="100%",
                ),
                rx.hstack(
                    rx.input(
                        value=AdminState.link,
                        read_only=True,
                        flex="1",
                        font_family="monospace",
                        id=f"{kind}-link",
                        aria_label="The link",
                    ),
                    rx.button(
                        rx.icon("copy", size=14),
                        "Copy",
                        on_click=[rx.set_clipboard(AdminState.link), rx.toast("Link copied.")],
                        id=f"copy-{kind}-link",
                    ),
                    width="100%",
                ),
                rx.text(
                    "Shown only now: copy it and hand it on. Forja keeps no copy it could show again.",
                    size="1",
                    color=rx.color("gray", 11),
                ),
                spacing="2",
                width="100%",
            ),
            color_scheme="green",
            width="100%",
            class_name="admin-link",
        ),
    )
