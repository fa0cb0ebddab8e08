"""The History tab: the project's plans and every version on the left, what a version changed on the right, and Restore."""

import reflex as rx

from builder.components.confirm import confirm
from builder.components.download import download_button
from builder.state.history import HistoryRow, HistoryState, PlanRow
from builder.state.views import DiffFileView, DiffLine
from builder.state.workspace import WorkspaceState


def version_row(row: HistoryRow) -> rx.Component:
    selected = row.number == HistoryState.selected
    return rx.box(
        rx.hstack(
            rx.text("v", row.number, weight="bold", size="2"),
            rx.badge(
                row.author,
                variant="soft",
                color_scheme=rx.cond(row.author == "You", "blue", rx.cond(row.author == "Forja AI", "orange", "gray")),
            ),
            rx.spacer(),
            rx.text(row.time, size="1", color=rx.color("gray", 11)),
            align="center",
            width="100%",
        ),
        rx.text(row.message, size="1", color=rx.color("gray", 11), margin_top="4px", trim="both", line_clamp=2),
        rx.text(row.changes, " changed", size="1", color=rx.color("gray", 11), margin_top="2px"),
        # Everyone whose changes a co-edited Save holds.
        rx.cond(row.authors != "", rx.text(row.authors, size="1", color=rx.color("gray", 11), class_name="history-authors")),
        padding="8px 12px",
        cursor="pointer",
        background=rx.cond(selected, rx.color("orange", 3), "transparent"),
        border_bottom=f"1px solid {rx.color('gray', 4)}",
        on_click=HistoryState.select(row.number),
        class_name="history-row",
        data_version=row.number,
        # Reachable with Tab; Enter and Space act as a click (assets/forja_keys.js).
        role="button",
        tab_index=0,
        aria_current=rx.cond(selected, "true", "false"),
    )


def plan_row(row: PlanRow) -> rx.Component:
    """A plan of the project, with its acceptance checks, above the versions."""
    return rx.box(
        rx.hstack(
            rx.icon("list-checks", size=14, color=rx.color("violet", 11)),
            rx.text(row.title, weight="bold", size="2", trim="both", flex="1", min_width="0", truncate=True),
            rx.badge(row.status, variant="soft", color_scheme=rx.cond(row.built, "green", "violet")),
            align="center",
            width="100%",
        ),
        rx.text("Plan · ", row.time, size="1", color=rx.color("gray", 11), margin_top="2px"),
        rx.vstack(
            rx.foreach(row.checks, lambda check: rx.text(check, size="1", color=rx.color("gray", 11))),
            spacing="0",
            margin_top="4px",
        ),
        padding="8px 12px",
        border_bottom=f"1px solid {rx.color('gray', 4)}",
        background=rx.color("violet", 2),
        class_name="history-plan",
        data_plan=row.id,
    )


def diff_line(line: DiffLine) -> rx.Component:
    return rx.box(
        line.text,
        white_space="pre",
        padding_x="10px",
        background=rx.match(
            line.kind, ("add", rx.color("green", 3)), ("remove", rx.color("red", 3)), ("hunk", rx.color("blue", 2)), "transparent"
        ),
        color=rx.match(line.kind, ("hunk", rx.color("blue", 11)), ("meta", rx.color("gray", 11)), rx.color("gray", 12)),
    )


def diff_file(file: DiffFileView) -> rx.Component:
    return rx.box(
        rx.hstack(
            rx.badge(
                file.status,
                color_scheme=rx.cond(file.status == "added", "green", rx.cond(file.status == "removed", "red", "amber")),
                variant="soft",
            ),
            rx.text(file.path, font_family="monospace", size="2", weight="medium"),
            rx.spacer(),
            rx.text(file.summary, size="1", color=rx.color("gray", 11)),
            align="center",
            padding="6px 10px",
            background=rx.color("gray", 2),
            border_bottom=f"1px solid {rx.color('gray', 4)}",
        ),
        # Long lines scroll sideways; focusable, so a keyboard can scroll them too.
        rx.box(
            rx.foreach(file.lines, diff_line),
            font_family="monospace",
            font_size="12px",
            overflow_x="auto",
            padding_y="4px",
            tab_index=0,
            role="group",
            aria_label=file.path,
        ),
        border=f"1px solid {rx.color('gray', 5)}",
        border_radius="8px",
        overflow="hidden",
        margin_bottom="12px",
        class_name="diff-file",
    )


def history_panel() -> rx.Component:
    toolbar = rx.hstack(
        rx.text(HistoryState.totals, size="2", color=rx.color("gray", 11), id="diff-totals"),
        rx.spacer(),
        rx.text("Compare with", size="1", color=rx.color("gray", 11)),
        rx.select.root(
            rx.select.trigger(variant="soft", aria_label="Compare with"),
            rx.select.content(
                rx.select.item("its parent", value="parent"),
                rx.foreach(
                    HistoryState.rows, lambda r: rx.select.item("version " + r.number.to_string(), value=r.number.to_string())
                ),
            ),
            value=HistoryState.against,
            on_change=HistoryState.compare_with,
            size="1",
        ),
        download_button(
            "download",
            "Download .zip",
            f"/api/projects/{WorkspaceState.project_id}/versions/{HistoryState.selected}/export",
            element_id="download-version",
        ),
        download_button(
            "git-branch",
            "All versions as git",
            "/api/projects/" + WorkspaceState.project_id + "/export.bundle",
            title="A git bundle with one commit per version: git clone project.bundle",
            element_id="download-bundle",
        ),
        rx.button(
            rx.icon("copy-plus", size=14),
            "Copy as new project",
            size="1",
            variant="soft",
            on_click=HistoryState.duplicate,
            id="fork-version",
        ),
        rx.cond(
            WorkspaceState.can_edit,
            confirm(
                rx.button(
                    rx.icon("history", size=14),
                    "Restore this version",
                    size="1",
                    loading=HistoryState.restoring,
                    disabled=HistoryState.selected == WorkspaceState.current_version,
                    id="restore-version",
                ),
                f"Restore version {HistoryState.selected}?",
                "Its files become the current ones, saved as a new version. Later versions stay in History.",
                "Restore",
                HistoryState.restore,
                "confirm-restore",
            ),
        ),
        align="center",
        spacing="2",
        border_bottom=f"1px solid {rx.color('gray', 5)}",
        width="100%",
        flex_shrink="0",
        class_name="history-toolbar",
    )
    return rx.hstack(
        rx.box(
            rx.foreach(HistoryState.plans, plan_row),
            rx.foreach(HistoryState.rows, version_row),
            width="280px",
            height="100%",
            overflow_y="auto",
            border_right=f"1px solid {rx.color('gray', 5)}",
            flex_shrink="0",
        ),
        rx.vstack(
            toolbar,
            rx.cond(
                HistoryState.message != "",
                rx.callout(HistoryState.message, icon="info", size="1", margin="8px 12px 0", id="history-message"),
            ),
            rx.box(
                rx.foreach(HistoryState.files, diff_file),
                flex="1",
                width="100%",
                overflow_y="auto",
                padding="12px",
                min_height="0",
            ),
            spacing="0",
            height="100%",
            flex="1",
            min_width="0",
        ),
        spacing="0",
        height="100%",
        width="100%",
    )
