"""The admin page's published apps: each app's address, project, owner, live release, size and state."""

from typing import Literal

import reflex as rx

from builder.components.admin_layout import admin_section, admin_table
from builder.state.admin import AdminState
from builder.state.admin_rows import AppRow


def _state(row: AppRow) -> rx.Component:
    def badge(color: Literal["green", "gray", "amber"]) -> rx.Component:
        return rx.badge(row.state_label, color_scheme=color, variant="soft", class_name="admin-state")

    return rx.fragment(rx.match(row.state, ("live", badge("green")), ("unpublished", badge("gray")), badge("amber")))


def _app(row: AppRow) -> rx.Component:
    return rx.table.row(
        rx.table.row_header_cell(
            rx.cond(
                row.state == "live",
                rx.link(row.name, href=row.url, is_external=True, weight="medium", class_name="admin-app-link"),
                rx.text(row.name, weight="medium"),
            )
        ),
        rx.table.cell(rx.link(row.project, href="/p/" + row.project_id)),
        rx.table.cell(row.owner),
        rx.table.cell(row.release, white_space="nowrap"),
        rx.table.cell(row.size, class_name="admin-number"),
        rx.table.cell(row.disk, class_name="admin-number app-disk"),
        rx.table.cell(_state(row)),
        class_name="admin-app",
        data_app=row.name,
    )


def apps_section() -> rx.Component:
    return admin_section(
        "Published apps",
        "admin-apps",
        "Every app published from this Forja, at its own address: the release it serves, and what its kept releases "
        "take on disk (rollbacks need them).",
        rx.cond(
            AdminState.apps.length() > 0,
            admin_table(
                ["App", "Project", "Owner", "Live release", "Size", "On disk", "State"],
                rx.foreach(AdminState.apps, _app),
                "apps-table",
                "Published apps",
                numbers=("Size", "On disk"),
            ),
            rx.text("No app is published yet.", size="2", color=rx.color("gray", 11), id="no-apps"),
        ),
    )
