"""The conversation's entries: a prompt, a version, a check (its acceptance checks, screenshot and "Fix this"), an
answer with the places it relies on, an agent run's steps, its change waiting for approval and its questions (the
plan's form), an error."""

import reflex as rx

from builder.components.connect_model import models_link, needs_model_note
from builder.components.history_panel import diff_file
from builder.components.questions import QuestionForm, question_form
from builder.state.conversation import ConversationState
from builder.state.editor import EditorState
from builder.state.views import AcceptanceRow, ChatEntry, StepRow
from builder.state.workspace import WorkspaceState


def acceptance_row(row: AcceptanceRow) -> rx.Component:
    """One acceptance check: passed or failed, what it tried, why it failed, and the page at its end."""
    return rx.hstack(
        rx.cond(
            row.passed,
            rx.icon("circle-check", size=16, color=rx.color("green", 10), flex_shrink="0", aria_label="Passed"),
            rx.icon("circle-x", size=16, color=rx.color("red", 10), flex_shrink="0", aria_label="Failed"),
        ),
        rx.vstack(
            rx.text(row.title, size="1", weight="medium"),
            rx.cond(row.message != "", rx.text(row.message, size="1", color=rx.color("gray", 11), class_name="acceptance-why")),
            spacing="0",
            flex="1",
            min_width="0",
        ),
        rx.cond(
            row.image != "",
            rx.link(
                rx.image(src=row.image, alt="The page at the end of this check", class_name="acceptance-shot"),
                href=row.image,
                is_external=True,
                flex_shrink="0",
            ),
        ),
        align="start",
        spacing="2",
        width="100%",
        class_name="acceptance-check",
        data_passed=rx.cond(row.passed, "true", "false"),
    )


def step_row(row: StepRow) -> rx.Component:
    """One agent step: done or went wrong, what it did, more on it folded, and the page it opened."""
    mark = rx.cond(
        row.ok,
        rx.icon("circle-check", size=14, color=rx.color("green", 10), flex_shrink="0", aria_label="Done"),
        rx.icon("circle-x", size=14, color=rx.color("red", 10), flex_shrink="0", aria_label="Went wrong"),
    )
    label = rx.text(row.number, ". ", row.label, size="1", class_name="agent-step-label")
    return rx.hstack(
        mark,
        rx.vstack(
            rx.cond(
                row.detail != "",
                rx.el.details(
                    rx.el.summary(label),
                    rx.el.pre(row.detail, class_name="agent-step-detail"),
                    class_name="agent-step-more",
                ),
                label,
            ),
            spacing="0",
            flex="1",
            min_width="0",
        ),
        rx.cond(
            row.image != "",
            rx.link(
                rx.image(src=row.image, alt="The page this step opened", class_name="acceptance-shot"),
                href=row.image,
                is_external=True,
                flex_shrink="0",
            ),
        ),
        align="start",
        spacing="2",
        width="100%",
        class_name="agent-step",
        data_ok=rx.cond(row.ok, "true", "false"),
    )


def approval(entry: ChatEntry) -> rx.Component:
    """An agent run's change waiting for the person: its files' diffs folded, then Accept and Reject."""
    return rx.vstack(
        rx.el.details(
            rx.el.summary("Show the change"),
            rx.box(rx.foreach(entry.diff, diff_file), margin_top="8px", class_name="approval-diff"),
            class_name="approval-more",
        ),
        rx.cond(
            WorkspaceState.can_edit,
            rx.hstack(
                rx.button(
                    rx.icon("check", size=14),
                    "Accept",
                    size="1",
                    on_click=ConversationState.accept_change(entry.run_id),
                    disabled=WorkspaceState.generating,
                    id="accept-change",
                ),
                rx.button(
                    rx.icon("x", size=14),
                    "Reject",
                    size="1",
                    variant="soft",
                    color_scheme="gray",
                    on_click=ConversationState.reject_change(entry.run_id),
                    disabled=WorkspaceState.generating,
                    id="reject-change",
                ),
                spacing="2",
            ),
        ),
        spacing="2",
        margin_top="8px",
        width="100%",
    )


def agent_questions() -> rx.Component:
    """The questions of the agent run that waits for answers, as the plan's form; Continue starts the run that goes on."""
    return rx.box(
        question_form(
            QuestionForm(
                questions=ConversationState.agent_asking,
                choose=ConversationState.choose_answer,
                set_own=ConversationState.set_own_answer,
                submit=ConversationState.answer_agent,
                note=ConversationState.asking_note,
                busy=WorkspaceState.generating,
                disabled=~WorkspaceState.can_edit | WorkspaceState.generating,
                form_id="agent-questions",
                note_id="agent-questions-note",
                button_id="agent-continue",
                name="agent-question",
            )
        ),
        margin_top="10px",
        width="100%",
    )


def check_result(entry: ChatEntry) -> rx.Component:
    """Under a check: its acceptance checks, the page as the browser saw it, and "Fix this" while its problems are the
    latest."""
    return rx.fragment(
        rx.cond(
            entry.acceptance,
            rx.vstack(
                rx.foreach(entry.acceptance, acceptance_row),
                spacing="2",
                margin_top="8px",
                width="100%",
                class_name="acceptance-checks",
            ),
        ),
        rx.cond(
            entry.image != "",
            rx.link(
                rx.image(
                    src=entry.image,
                    alt="The app as Forja's check saw it",
                    width="100%",
                    aspect_ratio="16 / 10",
                    object_fit="cover",
                    object_position="top",
                    border_radius="6px",
                    border=f"1px solid {rx.color('gray', 5)}",
                ),
                href=entry.image,
                is_external=True,
                display="block",
                margin_top="8px",
                class_name="check-screenshot",
            ),
        ),
        rx.cond(
            entry.fixable & WorkspaceState.can_edit,
            rx.cond(
                ConversationState.provider != "offline",
                rx.button(
                    rx.icon("wrench", size=14),
                    "Fix this",
                    size="1",
                    margin_top="8px",
                    on_click=ConversationState.fix_this,
                    disabled=WorkspaceState.generating,
                    id="fix-this",
                ),
                needs_model_note("Fixing these problems needs a model; offline starters cannot repair an app."),
            ),
        ),
    )


def chat_message(entry: ChatEntry) -> rx.Component:
    return rx.text(
        entry.message,
        rx.cond(entry.links_models, rx.fragment(" ", models_link()), rx.fragment()),
        size="2",
        margin_top="6px",
        white_space="pre-wrap",
        weight=rx.cond(entry.kind == "check", "medium", "regular"),
        class_name="chat-message",
    )


def chat_entry(entry: ChatEntry) -> rx.Component:
    return rx.box(
        rx.hstack(
            rx.badge(
                rx.cond(entry.kind == "check", "Check", entry.author),
                color_scheme=entry.tone,
                variant="soft",
            ),
            rx.spacer(),
            rx.text(entry.time, size="1", color=rx.color("gray", 11)),
            align="center",
            width="100%",
        ),
        rx.cond(
            entry.long,
            # Folded without a round trip: the open <details> before the text unfolds it in CSS.
            rx.flex(
                rx.el.details(
                    rx.el.summary(
                        rx.el.span("Show all", class_name="when-folded"), rx.el.span("Show less", class_name="when-open")
                    ),
                    class_name="show-all",
                ),
                chat_message(entry),
                direction="column",
                class_name="chat-long",
            ),
            chat_message(entry),
        ),
        rx.cond(
            entry.detail != "",
            rx.text(entry.detail, size="1", color=rx.color("gray", 11), margin_top="4px", white_space="pre-wrap"),
        ),
        rx.cond(
            entry.pictures,
            rx.flex(
                rx.foreach(
                    entry.pictures,
                    lambda src: rx.link(
                        rx.image(src=src, alt="A picture sent with this message", class_name="sent-picture"),
                        href=src,
                        is_external=True,
                    ),
                ),
                wrap="wrap",
                gap="6px",
                margin_top="8px",
                class_name="sent-pictures",
            ),
        ),
        rx.cond(
            entry.links,
            rx.flex(
                rx.foreach(
                    entry.links,
                    lambda link: rx.el.button(
                        rx.icon("file-code", size=14, flex_shrink="0"),
                        rx.el.span(link.label, class_name="code-link-label"),
                        on_click=EditorState.open_at(link.path, link.line),
                        title="Open in the Code tab: " + link.label,
                        type="button",
                        class_name="code-link",
                    ),
                ),
                direction="column",
                gap="4px",
                margin_top="8px",
                width="100%",
            ),
        ),
        rx.cond(entry.kind == "check", check_result(entry)),
        rx.cond(
            entry.steps,
            rx.vstack(rx.foreach(entry.steps, step_row), spacing="1", margin_top="8px", width="100%", class_name="agent-steps"),
        ),
        rx.cond(entry.kind == "approval", approval(entry)),
        rx.cond((entry.kind == "questions") & (entry.run_id == ConversationState.asking_run), agent_questions()),
        padding="10px 12px",
        border_radius="10px",
        background=f"var(--{entry.tone}-2)",
        border=f"1px solid {rx.color('gray', 4)}",
        width="100%",
        class_name="chat-entry",
        data_kind=entry.kind,
    )
