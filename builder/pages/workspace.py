"""Workspace `/p/<id>`: the conversation on the left, Preview | Code | Logs on the right."""

import reflex as rx

from builder.components.layout import error_callout, top_bar
from builder.components.panels import code_panel, logs_panel, preview_panel
from builder.state.workspace import ChatEntry, WorkspaceState


def chat_entry(entry: ChatEntry) -> rx.Component:
    return rx.box(
        rx.hstack(
            rx.badge(
                entry.author, color_scheme=rx.match(entry.author, ("You", "blue"), ("Forja AI", "orange"), "gray"), variant="soft"
            ),
            rx.text("version ", entry.number, size="1", color=rx.color("gray", 10)),
            rx.spacer(),
            rx.text(entry.time, size="1", color=rx.color("gray", 9)),
            align="center",
            width="100%",
        ),
        rx.text(entry.message, size="2", margin_top="6px"),
        rx.text(entry.changes, size="1", color=rx.color("gray", 10), margin_top="4px"),
        padding="10px 12px",
        border_radius="10px",
        background=rx.color("gray", 1),
        border=f"1px solid {rx.color('gray', 4)}",
        width="100%",
        class_name="chat-entry",
    )


def conversation() -> rx.Component:
    return rx.vstack(
        rx.text("Conversation", weight="bold", size="2", padding="12px 14px 0"),
        rx.auto_scroll(
            rx.vstack(rx.foreach(WorkspaceState.chat, chat_entry), spacing="2", width="100%"),
            flex="1",
            width="100%",
            padding="8px 14px",
        ),
        rx.box(
            rx.text_area(
                placeholder="Ask for a change (AI editing is not available in this version of Forja yet)",
                disabled=True,
                rows="3",
                width="100%",
                aria_label="Ask for a change",
            ),
            padding="12px 14px",
            border_top=f"1px solid {rx.color('gray', 5)}",
            width="100%",
        ),
        spacing="0",
        width="360px",
        min_width="280px",
        height="100%",
        border_right=f"1px solid {rx.color('gray', 5)}",
        background=rx.color("gray", 2),
        flex_shrink="0",
    )


def tab_button(label: str, value: str, icon: str) -> rx.Component:
    active = WorkspaceState.tab == value
    return rx.button(
        rx.icon(icon, size=14),
        label,
        variant=rx.cond(active, "solid", "soft"),
        color_scheme=rx.cond(active, "orange", "gray"),
        size="2",
        on_click=WorkspaceState.set_tab(value),
        id=f"tab-{value}",
        role="tab",
        aria_selected=rx.cond(active, "true", "false"),
    )


def work_area() -> rx.Component:
    return rx.vstack(
        rx.hstack(
            tab_button("Preview", "preview", "monitor"),
            tab_button("Code", "code", "code"),
            tab_button("Logs", "logs", "scroll-text"),
            role="tablist",
            spacing="2",
            padding="8px 12px",
            border_bottom=f"1px solid {rx.color('gray', 5)}",
            width="100%",
            flex_shrink="0",
        ),
        rx.box(error_callout(WorkspaceState.error), padding_x="12px", width="100%"),
        rx.box(
            rx.match(
                WorkspaceState.tab,
                ("preview", preview_panel()),
                ("logs", logs_panel()),
                code_panel(),
            ),
            flex="1",
            width="100%",
            min_height="0",
        ),
        spacing="0",
        flex="1",
        min_width="0",
        height="100%",
        background=rx.color("gray", 1),
    )


def not_found() -> rx.Component:
    return rx.center(
        rx.vstack(
            rx.heading("Project not found", size="6"),
            rx.text(WorkspaceState.not_found, color=rx.color("gray", 11)),
            rx.link(rx.button("Back to your projects"), href="/"),
            align="center",
            spacing="3",
        ),
        flex="1",
        width="100%",
    )


def workspace_page() -> rx.Component:
    return rx.vstack(
        top_bar(
            rx.text("/", color=rx.color("gray", 8)),
            rx.text(WorkspaceState.project_name, weight="medium", id="project-name"),
            rx.cond(WorkspaceState.stack != "", rx.badge(WorkspaceState.stack, color_scheme="orange", variant="soft")),
            rx.cond(
                WorkspaceState.current_version > 0,
                rx.badge("v", WorkspaceState.current_version, variant="outline", id="version-badge"),
            ),
            rx.spacer(),
            rx.link(
                rx.button(rx.icon("download", size=14), "Export .zip", size="2", variant="soft"),
                href="/api/projects/" + WorkspaceState.project_id + "/export",
                is_external=False,
            ),
        ),
        rx.cond(
            WorkspaceState.not_found != "",
            not_found(),
            rx.hstack(conversation(), work_area(), spacing="0", width="100%", flex="1", min_height="0"),
        ),
        spacing="0",
        height="100vh",
        width="100%",
        overflow="hidden",
    )
