"""/doctor: what this machine can run, per preview runner, and what to do about the rest."""

import reflex as rx

from builder.components.layout import top_bar
from builder.state.machine import CheckRow, MachineState, RunnerRow


def ready_badge(ready: rx.Var[bool] | bool, yes: str, no: str) -> rx.Component:
    return rx.cond(ready, rx.badge(yes, color_scheme="green", variant="soft"), rx.badge(no, color_scheme="red", variant="soft"))


def runner_row(row: RunnerRow) -> rx.Component:
    return rx.table.row(
        rx.table.row_header_cell(rx.text(row.name, weight="bold")),
        rx.table.cell(ready_badge(row.ready, "ready", "not ready")),
        rx.table.cell(rx.text(row.reason, size="2")),
        class_name="doctor-runner",
    )


def check_row(row: CheckRow) -> rx.Component:
    return rx.table.row(
        rx.table.row_header_cell(rx.text(row.name, weight="bold")),
        rx.table.cell(ready_badge(row.ok, "ok", "missing")),
        rx.table.cell(rx.text(row.detail, size="2", word_break="break-word")),
        class_name="doctor-check",
    )


def table(header: str, rows: rx.Component) -> rx.Component:
    return rx.table.root(
        rx.table.header(
            rx.table.row(
                rx.table.column_header_cell(header, width="9em"),
                rx.table.column_header_cell("", width="7em"),
                rx.table.column_header_cell(""),
            )
        ),
        rx.table.body(rows),
        variant="surface",
        width="100%",
    )


def doctor_page() -> rx.Component:
    return rx.vstack(
        top_bar(rx.spacer(), rx.link("Home", href="/", size="2", color=rx.color("gray", 11))),
        rx.vstack(
            rx.heading("What this machine can run", size="6"),
            rx.text("The same report as ", rx.code("python -m builder doctor"), ".", size="2", color=rx.color("gray", 11)),
            rx.cond(
                MachineState.docker_note != "",
                rx.callout(
                    MachineState.docker_note,
                    icon="container",
                    color_scheme=rx.cond(MachineState.docker_failed, "red", "blue"),
                    width="100%",
                    id="doctor-docker-note",
                ),
            ),
            rx.cond(
                MachineState.checked,
                rx.vstack(
                    rx.callout(
                        rx.text(
                            "New previews run in the ",
                            rx.text.strong(MachineState.auto),
                            " runner: ",
                            MachineState.auto_reason,
                        ),
                        icon="info",
                        color_scheme=rx.cond(MachineState.usable, "gray", "red"),
                        width="100%",
                        id="doctor-auto",
                    ),
                    table("Runner", rx.foreach(MachineState.runners, runner_row)),
                    table("Forja needs", rx.foreach(MachineState.checks, check_row)),
                    spacing="4",
                    width="100%",
                ),
                rx.spinner(size="3"),
            ),
            spacing="4",
            padding="2em 1.25em",
            width="100%",
            max_width="900px",
            align="start",
        ),
        align="center",
        spacing="0",
        min_height="100vh",
        background=rx.color("gray", 2),
    )
