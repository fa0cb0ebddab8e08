"""The admin page's live apps with open review findings: how many of each severity, when the review ran, and the
owner's reason when the live release went out despite a critical one."""

import reflex as rx

from builder.components.admin_layout import admin_section, admin_table
from builder.review.findings import Severity
from builder.review.shown import SEVERITY_BADGES
from builder.state.admin import AdminState
from builder.state.admin_rows import LiveFindingsRow


def _counts(row: LiveFindingsRow) -> rx.Component:
    """A badge per severity found, worst first, in words and its colour (the Publish dialog's)."""
    counts = {Severity.critical: row.critical, Severity.high: row.high, Severity.medium: row.medium, Severity.low: row.low}
    return rx.hstack(
        *[
            rx.cond(count != "", rx.badge(count, color_scheme=SEVERITY_BADGES[severity][1], variant="soft"))
            for severity, count in counts.items()
        ],
        spacing="1",
        class_name="finding-counts",
    )


def _reason(row: LiveFindingsRow) -> rx.Component:
    return rx.cond(
        row.reason != "",
        rx.vstack(
            rx.badge("Yes, despite a critical problem", color_scheme="red", variant="outline"),
            rx.text("\u201c", row.reason, "\u201d", size="1", color=rx.color("gray", 11)),
            spacing="1",
        ),
        rx.text("No", size="2"),
    )


def _app(row: LiveFindingsRow) -> rx.Component:
    return rx.table.row(
        rx.table.row_header_cell(
            rx.vstack(
                rx.link(row.name, href="/p/" + row.project_id, weight="medium"),
                rx.link(row.url, href=row.url, is_external=True, size="1", class_name="admin-app-link"),
                spacing="2",
            )
        ),
        rx.table.cell(row.owner),
        rx.table.cell(_counts(row)),
        rx.table.cell(row.reviewed),
        rx.table.cell(_reason(row), class_name="admin-reason"),
        class_name="admin-finding-app",
        data_project=row.project_id,
    )


def reviews_section() -> rx.Component:
    return admin_section(
        "Live apps with open problems",
        "admin-reviews",
        "Apps serving now whose latest review found problems that still hold: their owner has not confirmed them, and "
        "the files they point at have not changed since. The worst first.",
        rx.cond(
            AdminState.live_findings.length() > 0,
            admin_table(
                ["App and its address", "Owner", "Open problems", "Reviewed", "Published anyway"],
                rx.foreach(AdminState.live_findings, _app),
                "reviews-table",
                "Live apps with open problems",
            ),
            rx.text(
                "No live app has an open problem: the latest review of each found nothing, or its owner confirmed what it found.",
                size="2",
                color=rx.color("gray", 11),
                id="no-live-findings",
            ),
        ),
    )
