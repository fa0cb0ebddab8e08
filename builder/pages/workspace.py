"""Workspace `/p/<id>`: the conversation on the left, Preview | Code | Logs | History (| Terminal) on the right.

Below Radix's `md` breakpoint (64em, 1024 px: phones, tablets held upright) one pane shows at a
time: `WorkspaceState.tab` says which (the desktop tabs' values plus "chat"), a bottom tab bar
changes it, and assets/forja.css hides the other panes by the body's `data-pane`.
"""

import reflex as rx

from builder.components.app_data_dialog import app_data_dialog
from builder.components.app_users_dialog import app_users_dialog
from builder.components.attachments import attach_button, attachments_row
from builder.components.chat import chat_entry
from builder.components.clone_dialog import clone_dialog
from builder.components.connect_model import models_link, offline_model_label
from builder.components.download import download_button
from builder.components.env_dialog import env_dialog
from builder.components.history_panel import history_panel
from builder.components.layout import error_callout, top_bar
from builder.components.panels import code_panel, logs_panel, preview_panel
from builder.components.people_dialog import people_dialog
from builder.components.plan_view import mode_choice, plan_card
from builder.components.presence import present_people
from builder.components.project_menu import project_menu
from builder.components.publish_dialog import publish_dialog
from builder.components.terminal import terminal_panel
from builder.components.usage_meters import quota_callout
from builder.state.account import WorkspaceQuotaState
from builder.state.conversation import ConversationState
from builder.state.history import HistoryState
from builder.state.plan import PlanState
from builder.state.preview import PreviewPaneState
from builder.state.select import SelectState
from builder.state.workspace import WorkspaceState


def picked_chip() -> rx.Component:
    """The element picked in the preview's Select mode: the next follow-up is about it."""
    return rx.cond(
        SelectState.picked_label != "",
        rx.hstack(
            rx.icon("crosshair", size=14, flex_shrink="0"),
            rx.vstack(
                rx.text(SelectState.picked_title, size="1", weight="medium", class_name="picked-chip-line", id="picked-label"),
                rx.cond(
                    SelectState.picked_place != "",
                    rx.text(
                        SelectState.picked_place, size="1", class_name="picked-chip-line picked-chip-place", id="picked-place"
                    ),
                ),
                spacing="0",
                flex="1",
                min_width="0",
            ),
            rx.cond(
                SelectState.picked_leaf,
                rx.icon_button(
                    rx.icon("pencil", size=12),
                    size="1",
                    variant="ghost",
                    on_click=SelectState.edit_picked_text,
                    title="Edit its text in the preview (Enter saves, Esc cancels)",
                    aria_label="Edit its text in the preview",
                    id="picked-edit",
                ),
            ),
            rx.icon_button(
                rx.icon("x", size=12),
                size="1",
                variant="ghost",
                color_scheme="gray",
                on_click=SelectState.clear_picked,
                aria_label="Forget the picked element",
                id="picked-clear",
            ),
            align="center",
            spacing="2",
            width="100%",
            class_name="picked-chip",
            title=SelectState.picked_label,
            id="picked-chip",
        ),
    )


def follow_up_box() -> rx.Component:
    return rx.vstack(
        rx.hstack(
            rx.text("Model", size="1", color=rx.color("gray", 11)),
            rx.cond(
                ConversationState.has_model,
                rx.select.root(
                    rx.select.trigger(variant="ghost", id="provider-select", aria_label="Model"),
                    rx.select.content(
                        rx.foreach(ConversationState.provider_options, lambda o: rx.select.item(o.label, value=o.value)),
                    ),
                    value=ConversationState.provider,
                    on_change=ConversationState.set_provider,
                    size="1",
                ),
                offline_model_label(),
            ),
            align="center",
            spacing="2",
            width="100%",
        ),
        mode_choice(),
        picked_chip(),
        attachments_row(in_project=True),
        rx.form(
            rx.hstack(
                attach_button("followup"),
                rx.text_area(
                    value=ConversationState.followup,
                    on_change=ConversationState.set_followup,
                    placeholder=rx.cond(
                        PlanState.mode == "agent",
                        "A change for the agent, e.g. \u201cthe total is wrong after a cancel: fix it and make the "
                        "tests pass\u201d",
                        rx.cond(
                            PlanState.mode == "ask",
                            "Ask about the project, e.g. \u201cwhere is the price computed?\u201d",
                            rx.cond(
                                PlanState.mode == "check",
                                "A check in words, e.g. \u201cbook Sunday 10:00: it says the shop is closed\u201d",
                                rx.cond(
                                    ConversationState.offline_follow_up,
                                    "Offline: rename, recolour or change texts, e.g. \u201ccall it Luna Bakery\u201d, "
                                    "\u201cmake it green\u201d",
                                    rx.cond(
                                        WorkspaceState.current_version > 0,
                                        "Ask for a change, e.g. \u201cadd a contact form\u201d",
                                        "Describe the app you want",
                                    ),
                                ),
                            ),
                        ),
                    ),
                    rows="3",
                    width="100%",
                    disabled=WorkspaceState.generating,
                    aria_label="Ask for a change",
                    id="followup",
                    enter_key_submit=True,
                ),
                rx.icon_button(
                    rx.icon("arrow-up", size=16),
                    type="submit",
                    loading=WorkspaceState.generating | (PlanState.busy == "plan") | (PlanState.busy == "ask"),
                    disabled=ConversationState.followup.length() == 0,
                    aria_label="Send",
                    id="send-followup",
                ),
                align="end",
                width="100%",
            ),
            on_submit=PlanState.submit_followup,
            reset_on_submit=False,
            width="100%",
        ),
        spacing="2",
        padding="10px 14px 12px",
        border_top=f"1px solid {rx.color('gray', 5)}",
        width="100%",
    )


def viewer_note() -> rx.Component:
    """In place of the follow-up box for a viewer: what they may do, and whom to ask for more."""
    return rx.hstack(
        rx.icon("eye", size=16, flex_shrink="0", color=rx.color("gray", 10)),
        rx.text(
            "You can view this project. Ask its owner to make you an editor to change it.",
            size="2",
            color=rx.color("gray", 11),
        ),
        align="center",
        spacing="2",
        padding="12px 14px",
        border_top=f"1px solid {rx.color('gray', 5)}",
        width="100%",
        id="viewer-note",
    )


def conversation() -> rx.Component:
    return rx.vstack(
        rx.hstack(
            rx.text("Conversation", weight="bold", size="2"),
            rx.spacer(),
            rx.cond(
                ConversationState.usage_line != "",
                rx.text(ConversationState.usage_line, size="1", color=rx.color("gray", 11), id="project-usage"),
            ),
            align="center",
            padding="12px 14px 0",
            width="100%",
        ),
        rx.auto_scroll(
            rx.vstack(
                rx.foreach(
                    ConversationState.chat,
                    lambda entry, at: rx.fragment(
                        chat_entry(entry), rx.cond(at == ConversationState.plan_request_at, plan_card())
                    ),
                ),
                spacing="2",
                width="100%",
            ),
            rx.cond(ConversationState.plan_request_at < 0, plan_card()),
            rx.cond(
                WorkspaceState.generating,
                rx.hstack(
                    rx.spinner(size="1"),
                    rx.text(ConversationState.progress, size="2", id="progress", flex="1"),
                    rx.cond(
                        WorkspaceState.can_edit,
                        rx.button(
                            rx.icon("square", size=12),
                            "Stop",
                            size="1",
                            variant="soft",
                            color_scheme="gray",
                            on_click=ConversationState.stop_generation,
                            id="stop-generation",
                        ),
                    ),
                    align="center",
                    padding="10px 2px",
                    width="100%",
                ),
            ),
            flex="1",
            width="100%",
            padding="8px 14px",
        ),
        rx.cond(
            WorkspaceQuotaState.quota_note != "",
            rx.box(
                quota_callout(WorkspaceQuotaState.quota_note, WorkspaceQuotaState.quota_full), padding="0 14px 8px", width="100%"
            ),
        ),
        rx.cond(
            WorkspaceState.can_edit,
            follow_up_box(),
            rx.cond(WorkspaceState.role != "", viewer_note()),
        ),
        spacing="0",
        width="360px",
        min_width="280px",
        height="100%",
        border_right=f"1px solid {rx.color('gray', 5)}",
        background=rx.color("gray", 2),
        flex_shrink="0",
        class_name="conversation-pane",
    )


def tab_button(label: str, value: str, icon: str, *also: rx.event.EventCallback[()]) -> rx.Component:
    active = WorkspaceState.tab == value
    return rx.button(
        rx.icon(icon, size=14),
        label,
        variant=rx.cond(active, "solid", "soft"),
        color_scheme=rx.cond(active, "orange", "gray"),
        size="2",
        on_click=[WorkspaceState.set_tab(value), *also],
        id=f"tab-{value}",
        role="tab",
        aria_selected=rx.cond(active, "true", "false"),
    )


# The phone's bottom bar: every pane, Chat first; the same events as the desktop tabs.
PHONE_TABS = (
    ("Chat", "chat", "message-square"),
    ("Preview", "preview", "monitor"),
    ("Code", "code", "code"),
    ("Logs", "logs", "scroll-text"),
    ("History", "history", "history"),
)
# Only for those who may change the project (WorkspaceState.can_edit).
PHONE_EDITOR_TABS = (("Terminal", "terminal", "square-terminal"),)


def phone_tab(label: str, value: str, icon: str) -> rx.Component:
    active = WorkspaceState.tab == value
    also = {"preview": [PreviewPaneState.open], "history": [HistoryState.open]}.get(value, [])
    return rx.el.button(
        rx.icon(icon, size=20),
        rx.el.span(label),
        on_click=[WorkspaceState.set_tab(value), *also],
        id=f"phone-tab-{value}",
        role="tab",
        type="button",
        aria_selected=rx.cond(active, "true", "false"),
        class_name="phone-tab",
    )


def phone_tab_bar() -> rx.Component:
    """Below `md`: a bar at the bottom, in reach of a thumb, that picks the one pane shown."""
    return rx.el.nav(
        *(phone_tab(*tab) for tab in PHONE_TABS),
        *(rx.cond(WorkspaceState.can_edit, phone_tab(*tab)) for tab in PHONE_EDITOR_TABS),
        role="tablist",
        aria_label="Panes",
        id="phone-tabs",
        class_name="phone-tabs",
    )


def work_area() -> rx.Component:
    return rx.vstack(
        rx.hstack(
            tab_button("Preview", "preview", "monitor", PreviewPaneState.open),
            tab_button("Code", "code", "code"),
            tab_button("Logs", "logs", "scroll-text"),
            tab_button("History", "history", "history", HistoryState.open),
            # A shell in the preview's sandbox changes the app: editors and the owner only.
            rx.cond(WorkspaceState.can_edit, tab_button("Terminal", "terminal", "square-terminal")),
            role="tablist",
            spacing="2",
            padding="8px 12px",
            border_bottom=f"1px solid {rx.color('gray', 5)}",
            width="100%",
            flex_shrink="0",
            id="desktop-tabs",
        ),
        rx.box(
            error_callout(
                WorkspaceState.error_words, after=rx.cond(WorkspaceState.error_links_models, models_link(), rx.fragment())
            ),
            padding_x="12px",
            width="100%",
        ),
        # The preview stays mounted behind the other tabs: a running app (and its WebContainer)
        # keeps its state while the person reads the code or the logs.
        rx.box(
            preview_panel(),
            display=rx.cond(WorkspaceState.tab == "preview", "flex", "none"),
            flex="1",
            width="100%",
            min_height="0",
        ),
        rx.cond(
            WorkspaceState.tab != "preview",
            rx.box(
                rx.match(
                    WorkspaceState.tab,
                    ("logs", logs_panel()),
                    ("terminal", rx.cond(WorkspaceState.can_edit, terminal_panel(), code_panel())),
                    ("history", rx.box(history_panel(), class_name="history-pane", height="100%", width="100%")),
                    code_panel(),
                ),
                flex="1",
                width="100%",
                min_height="0",
            ),
        ),
        spacing="0",
        flex="1",
        min_width="0",
        height="100%",
        background=rx.color("gray", 1),
        class_name="work-area",
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
        id="not-found",
    )


def workspace_page() -> rx.Component:
    return rx.vstack(
        top_bar(
            rx.text("/", color=rx.color("gray", 11), class_name="crumb-slash"),
            rx.text(WorkspaceState.project_name, weight="medium", id="project-name", truncate=True, min_width="0"),
            project_menu(),
            rx.cond(
                WorkspaceState.stack != "",
                rx.badge(WorkspaceState.stack, color_scheme="orange", variant="soft", class_name="stack-badge"),
            ),
            rx.cond(
                WorkspaceState.current_version > 0,
                rx.badge("v", WorkspaceState.current_version, variant="outline", id="version-badge"),
            ),
            rx.spacer(),
            present_people(),
            publish_dialog(),
            people_dialog(),
            env_dialog(),
            app_users_dialog(),
            app_data_dialog(),
            clone_dialog(),
            download_button(
                "download", "Export .zip", "/api/projects/" + WorkspaceState.project_id + "/export", "2", element_id="export-zip"
            ),
            class_name="workspace-header",
        ),
        rx.cond(
            WorkspaceState.not_found != "",
            not_found(),
            rx.fragment(
                rx.hstack(
                    conversation(),
                    work_area(),
                    spacing="0",
                    width="100%",
                    flex="1",
                    min_height="0",
                    class_name="workspace-body",
                    data_pane=WorkspaceState.tab,
                ),
                phone_tab_bar(),
            ),
        ),
        spacing="0",
        height="100vh",
        width="100%",
        overflow="hidden",
        class_name="workspace-page",
    )
