"""The admin page's usage over time: a bar chart per measure for the last 30 days, and the same numbers as a table
(a chart tells nothing to a screen reader)."""

from typing import Any, Literal

import reflex as rx

from builder.components.admin_layout import admin_section, admin_table
from builder.state.admin import AdminState
from builder.state.admin_rows import DayRow

TICK = {"fontSize": 11, "fill": "var(--gray-10)"}
TOOLTIP = {
    "background": "var(--color-panel-solid)",
    "border": "1px solid var(--gray-a6)",
    "borderRadius": "var(--radius-2)",
    "fontSize": "12px",
}


def _chart(title: str, key: str, color: Literal["orange", "amber", "blue", "teal"]) -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.hstack(
                rx.text(title, size="2", color=rx.color("gray", 11)),
                rx.spacer(),
                rx.text(AdminState.totals[key], size="4", weight="bold", class_name="admin-total"),
                align="baseline",
                width="100%",
            ),
            rx.recharts.bar_chart(
                rx.recharts.cartesian_grid(vertical=False, stroke=rx.color("gray", 4)),
                rx.recharts.x_axis(
                    data_key="day", tick=TICK, tick_line=False, stroke=rx.color("gray", 6), interval="preserveStartEnd"
                ),
                rx.recharts.y_axis(tick=TICK, tick_line=False, axis_line=False, width=56, allow_decimals=key == "cost"),
                rx.recharts.graphing_tooltip(
                    cursor={"fill": "var(--gray-a3)"},
                    content_style=TOOLTIP,
                    label_style={"color": "var(--gray-12)"},
                    item_style={"color": "var(--gray-12)"},
                ),
                rx.recharts.bar(
                    data_key=key, name=title, fill=rx.color(color, 9), radius=[3, 3, 0, 0], is_animation_active=False
                ),
                data=AdminState.usage.to(list[dict[str, Any]]),
                height=170,
                margin={"top": 8, "right": 4, "left": 0, "bottom": 0},
                bar_category_gap="18%",
            ),
            spacing="2",
            width="100%",
        ),
        class_name="admin-chart",
        id=f"chart-{key}",
    )


def _day(row: DayRow) -> rx.Component:
    return rx.table.row(
        rx.table.row_header_cell(row.date, white_space="nowrap"),
        rx.table.cell(row.tokens_text, class_name="admin-number"),
        rx.table.cell(row.cost_text, class_name="admin-number"),
        rx.table.cell(row.generations, class_name="admin-number"),
        rx.table.cell(row.previews, class_name="admin-number"),
        class_name="usage-day",
    )


def usage_section() -> rx.Component:
    return admin_section(
        "Usage over time",
        "admin-usage",
        "The last 30 days (UTC), everyone's together: model tokens and their estimated cost, generations (each repair "
        "round counts) and previews started.",
        rx.grid(
            _chart("Model tokens", "tokens", "orange"),
            _chart("Estimated cost (US$)", "cost", "amber"),
            _chart("Generations", "generations", "blue"),
            _chart("Previews started", "previews", "teal"),
            columns=rx.breakpoints(initial="1", md="2"),
            spacing="3",
            width="100%",
        ),
        rx.el.details(
            rx.el.summary("The numbers per day", class_name="admin-summary"),
            rx.cond(
                AdminState.busy_days.length() > 0,
                admin_table(
                    ["Day", "Tokens", "Cost", "Generations", "Previews"],
                    rx.foreach(AdminState.busy_days, _day),
                    "usage-table",
                    "The numbers per day",
                    numbers=("Tokens", "Cost", "Generations", "Previews"),
                ),
                rx.text("Nothing was used in these 30 days.", size="2", color=rx.color("gray", 11)),
            ),
            class_name="admin-details",
        ),
    )
