"""Quotas as a person sees them: a meter per quota (the Account page) and the note pages show near a limit."""

import reflex as rx

from builder.state.account import Meter


def usage_meter(meter: Meter) -> rx.Component:
    return rx.vstack(
        rx.hstack(
            rx.text(meter.label, size="2", weight="medium"),
            rx.spacer(),
            rx.text(meter.shown, size="2", color=rx.color("gray", 11), class_name="usage-shown"),
            align="baseline",
            width="100%",
            wrap="wrap",
        ),
        rx.cond(
            meter.limited,
            rx.fragment(
                rx.progress(
                    value=meter.percent,
                    max=100,
                    color_scheme=meter.tone,  # pyright: ignore[reportArgumentType]
                    size="2",
                    aria_label=meter.label,
                    class_name="usage-bar",
                ),
                rx.text(meter.at_limit, size="1", color=rx.color("gray", 11)),
            ),
            rx.text("No limit on this Forja.", size="1", color=rx.color("gray", 11)),
        ),
        spacing="2",
        width="100%",
        class_name="usage-meter",
        data_name=meter.name,
        data_tone=meter.tone,
    )


def quota_callout(note: rx.Var[str], full: rx.Var[bool], **props) -> rx.Component:
    """Amber from 80% of a quota, red once one is used up; the Account page has the details."""
    return rx.cond(
        note != "",
        rx.callout.root(
            rx.callout.icon(rx.icon("gauge")),
            rx.callout.text(note, " ", rx.link("See your usage and limits", href="/account", id="quota-note-link")),
            color_scheme=rx.cond(full, "red", "amber"),
            size="1",
            class_name="quota-note",
            data_full=rx.cond(full, "true", "false"),
            id="quota-note",
            **props,
        ),
    )
