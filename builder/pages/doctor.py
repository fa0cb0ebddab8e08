"""/doctor: what this machine can run, per preview runner, and what to do about the rest."""

import reflex as rx

from builder.components.layout import top_bar
from builder.state.machine import CheckRow, MachineState, RunnerRow


def ready_badge(ready: rx.Var[bool] | bool, yes: str, no: str) -> rx.Component:
    return rx.cond(ready, rx.badge(yes, color_scheme="green", variant="soft"), rx.badge(no, color_scheme="red", variant="soft"))


def report_row(name: rx.Var[str] | str, badge: rx.Component, text: rx.Var[str] | str, class_name: str) -> rx.Component:
    """One line per item: its name and state, then the sentence, which wraps (a table would not fit a phone)."""
    return rx.vstack(
        rx.hstack(rx.text(name, weight="bold"), badge, align="center", spacing="2"),
        rx.text(text, size="2", color=rx.color("gray", 11), word_break="break-word"),
        spacing="1",
        padding="10px 14px",
        width="100%",
        border_top=f"1px solid {rx.color('gray', 4)}",
        class_name=class_name,
    )


def runner_row(row: RunnerRow) -> rx.Component:
    badge = rx.cond(
        row.known, ready_badge(row.ready, "ready", "not ready"), rx.badge("unknown", color_scheme="gray", variant="soft")
    )
    return report_row(row.name, badge, row.reason, "doctor-runner")


def check_row(row: CheckRow) -> rx.Component:
    return report_row(row.name, ready_badge(row.ok, "ok", "missing"), row.detail, "doctor-check")


def section(title: str, rows: rx.Component) -> rx.Component:
    return rx.card(
        rx.vstack(rx.heading(title, size="3", padding="10px 14px"), rows, spacing="0", width="100%"),
        padding="0",
        width="100%",
    )


def verdict() -> rx.Component:
    """For a person who is not an admin: whether previews can run here, in place of the report."""
    return rx.cond(
        MachineState.usable,
        rx.callout(MachineState.verdict, icon="circle-check", color_scheme="green", width="100%", id="doctor-verdict"),
        rx.callout(MachineState.verdict, icon="circle-alert", color_scheme="red", width="100%", id="doctor-verdict"),
    )


def doctor_page() -> rx.Component:
    return rx.vstack(
        top_bar(rx.spacer(), rx.link("Home", href="/", size="2", color=rx.color("gray", 11))),
        rx.vstack(
            rx.heading("What this machine can run", size="6"),
            rx.cond(
                MachineState.verdict == "",
                rx.text("The same report as ", rx.code("python -m builder doctor"), ".", size="2", color=rx.color("gray", 11)),
            ),
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
                rx.cond(
                    MachineState.verdict != "",
                    verdict(),
                    rx.vstack(
                        rx.callout(
                            rx.cond(
                                MachineState.auto == "none",
                                rx.text("No preview can run here now: ", MachineState.auto_reason),
                                rx.text(
                                    "New previews run in the ",
                                    rx.text.strong(MachineState.auto),
                                    " runner: ",
                                    MachineState.auto_reason,
                                ),
                            ),
                            icon="info",
                            color_scheme=rx.cond(MachineState.usable, "gray", "red"),
                            width="100%",
                            id="doctor-auto",
                        ),
                        section("Preview runners", rx.foreach(MachineState.runners, runner_row)),
                        section("What Forja uses", rx.foreach(MachineState.checks, check_row)),
                        spacing="4",
                        width="100%",
                    ),
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
