"""The admin page's sections about the server itself: the previews running now, its evaluation runs, its health."""

import reflex as rx

from builder.components.admin_layout import admin_section, admin_table, state_badge
from builder.components.confirm import confirm
from builder.state.admin import AdminState
from builder.state.admin_rows import EvalRow, HealthRow, PreviewRow


def _preview(row: PreviewRow) -> rx.Component:
    return rx.table.row(
        rx.table.row_header_cell(rx.link(row.project, href="/p/" + row.project_id, weight="medium")),
        rx.table.cell(row.owner),
        rx.table.cell(row.runner),
        rx.table.cell("v", row.version),
        rx.table.cell(state_badge(row.state)),
        rx.table.cell(row.age, white_space="nowrap"),
        rx.table.cell(row.memory, class_name="admin-number preview-memory"),
        rx.table.cell(
            confirm(
                rx.button("Stop", size="1", variant="soft", color_scheme="red", class_name="stop-preview"),
                "Stop the preview of " + row.project + "?",
                "Whoever has it open sees it stop. Its project is not changed; a preview starts again when someone opens it.",
                "Stop",
                AdminState.stop_preview(row.id),
                "confirm-stop",
                color_scheme="red",
            )
        ),
        class_name="admin-preview",
    )


def previews_section() -> rx.Component:
    return admin_section(
        "Active previews",
        "admin-previews",
        "Every app this Forja runs now: people's previews, share links' and Forja's own checks.",
        rx.cond(
            AdminState.previews.length() > 0,
            admin_table(
                ["Project", "Owner", "Runner", "Version", "State", "Running for", "Memory", ""],
                rx.foreach(AdminState.previews, _preview),
                "previews-table",
                "Active previews",
                numbers=("Memory",),
            ),
            rx.text("No preview is running.", size="2", color=rx.color("gray", 11), id="no-previews"),
        ),
    )


def _eval(row: EvalRow) -> rx.Component:
    return rx.table.row(
        rx.table.row_header_cell(rx.link(row.started, href=row.report, is_external=True, weight="medium")),
        rx.table.cell(row.suite),
        rx.table.cell(row.what),
        rx.table.cell(row.passed, white_space="nowrap"),
        rx.table.cell(row.cost, class_name="admin-number"),
        class_name="admin-eval",
    )


def evals_section() -> rx.Component:
    return admin_section(
        "Evaluations",
        "admin-evals",
        "Suites of app tasks run through Forja and graded in a browser (python -m builder eval); each opens its report.",
        rx.cond(
            AdminState.evals.length() > 0,
            admin_table(
                ["Started", "Suite", "Model", "Passed", "Cost"],
                rx.foreach(AdminState.evals, _eval),
                "evals-table",
                "Evaluation runs",
                numbers=("Cost",),
            ),
            rx.text(
                "No evaluation has run here. python -m builder eval --suite forja-smoke runs one.",
                size="2",
                color=rx.color("gray", 11),
                id="no-evals",
            ),
        ),
    )


def _check(row: HealthRow) -> rx.Component:
    return rx.vstack(
        rx.hstack(
            rx.text(row.name, weight="medium", size="2", class_name="admin-check-name"), state_badge(row.state), align="center"
        ),
        rx.text(row.detail, size="2", color=rx.color("gray", 11), class_name="admin-detail"),
        spacing="1",
        width="100%",
        class_name="admin-check",
        data_check=row.name,
    )


def health_section() -> rx.Component:
    return admin_section(
        "Health",
        "admin-health",
        "Whether the parts Forja needs answer now, and the reason when one does not.",
        rx.cond(
            AdminState.health_checked,
            rx.vstack(
                rx.callout.root(
                    rx.callout.icon(rx.cond(AdminState.health_ok, rx.icon("circle-check"), rx.icon("triangle-alert"))),
                    rx.callout.text(
                        rx.cond(AdminState.health_ok, "Everything Forja needs answers. ", "Something needs a look. "),
                        AdminState.previews_line,
                        " Generations running now: ",
                        AdminState.generations_running,
                        ".",
                    ),
                    color_scheme=rx.cond(AdminState.health_ok, "green", "red"),
                    width="100%",
                    id="health-summary",
                ),
                rx.foreach(AdminState.health, _check),
                spacing="3",
                width="100%",
            ),
            rx.hstack(rx.spinner(size="2"), rx.text("Checking...", size="2"), align="center"),
        ),
    )
