"""The plan in the conversation: its parts and numbered acceptance checks, editable in place, a box to ask the model
for changes, and Build this. Edits are kept with the project as each field is left. A planner that asks first shows
its questions here as a small form (options to pick, or words to type) with one Continue; the plan then lists the
answers under "You told us"."""

import reflex as rx

from builder.components.agent_approvals import agent_approvals
from builder.components.questions import QuestionForm, question_form
from builder.state.conversation import ConversationState
from builder.state.plan import PlanState
from builder.state.workspace import WorkspaceState


def _part(label: str, part: str, value: rx.Var[str], rows: str) -> rx.Component:
    return rx.vstack(
        rx.text(label, size="1", weight="bold", color=rx.color("gray", 11), as_="label", html_for=f"plan-{part}"),
        rx.text_area(
            value=value,
            on_change=lambda text: PlanState.set_part(part, text),
            on_blur=PlanState.save,
            rows=rows,
            size="1",
            width="100%",
            id=f"plan-{part}",
            read_only=~WorkspaceState.can_edit,
        ),
        spacing="1",
        width="100%",
    )


def _check_row(check: rx.Var[str], index: rx.Var[int]) -> rx.Component:
    number = index.to(int) + 1
    return rx.hstack(
        rx.text(number, ".", size="2", weight="bold", min_width="20px", padding_top="4px", color=rx.color("violet", 11)),
        rx.text_area(
            value=check,
            on_change=lambda text: PlanState.set_check(index, text),
            on_blur=PlanState.save,
            rows="2",
            size="1",
            flex="1",
            aria_label="Acceptance check " + number.to_string(),
            class_name="plan-check-text",
        ),
        rx.vstack(
            rx.icon_button(
                rx.icon("arrow-up", size=12),
                size="1",
                variant="ghost",
                on_click=PlanState.move_check(index, -1),
                disabled=index == 0,
                aria_label="Move check up",
                class_name="plan-check-up",
            ),
            rx.icon_button(
                rx.icon("arrow-down", size=12),
                size="1",
                variant="ghost",
                on_click=PlanState.move_check(index, 1),
                disabled=index == PlanState.checks.length() - 1,
                aria_label="Move check down",
                class_name="plan-check-down",
            ),
            rx.icon_button(
                rx.icon("trash-2", size=12),
                size="1",
                variant="ghost",
                color_scheme="red",
                on_click=PlanState.delete_check(index),
                aria_label="Delete check",
                class_name="plan-check-delete",
            ),
            spacing="1",
        ),
        align="start",
        spacing="2",
        width="100%",
        class_name="plan-check",
    )


def _checks() -> rx.Component:
    return rx.vstack(
        rx.text("Acceptance checks", size="1", weight="bold", color=rx.color("gray", 11)),
        rx.text("What a visitor does, and what they then see.", size="1", color=rx.color("gray", 10)),
        rx.foreach(PlanState.checks, _check_row),
        rx.form(
            rx.hstack(
                rx.input(
                    value=PlanState.new_check,
                    on_change=PlanState.set_new_check,
                    placeholder="Add a check, e.g. \u201cbook Friday 10:00: it appears in the list\u201d",
                    size="1",
                    flex="1",
                    id="plan-new-check",
                    aria_label="A new acceptance check",
                ),
                rx.button(rx.icon("plus", size=12), "Add", size="1", variant="soft", type="submit", id="plan-add-check"),
                width="100%",
                spacing="2",
            ),
            on_submit=lambda _: PlanState.add_check,
            reset_on_submit=False,
            width="100%",
        ),
        spacing="2",
        width="100%",
        id="plan-checks",
    )


def _revise() -> rx.Component:
    return rx.form(
        rx.hstack(
            rx.input(
                value=PlanState.revision,
                on_change=PlanState.set_revision,
                placeholder="Ask for changes, e.g. \u201clet people cancel a booking\u201d",
                size="1",
                flex="1",
                id="plan-revision",
                aria_label="Ask the model to change the plan",
            ),
            rx.button(
                "Revise",
                size="1",
                variant="soft",
                type="submit",
                loading=PlanState.busy == "revise",
                disabled=PlanState.revision.length() == 0,
                id="plan-revise",
            ),
            width="100%",
            spacing="2",
        ),
        on_submit=lambda _: PlanState.revise,
        reset_on_submit=False,
        width="100%",
    )


def _questions() -> rx.Component:
    """The planner's questions, answered before it plans."""
    return question_form(
        QuestionForm(
            questions=PlanState.asking,
            choose=PlanState.choose,
            set_own=PlanState.set_own,
            submit=PlanState.answer_questions,
            note=PlanState.note_words,
            busy=PlanState.busy == "answer",
            disabled=~WorkspaceState.can_edit | (PlanState.busy != ""),
            form_id="plan-questions",
            note_id="plan-note",
            button_id="plan-continue",
            name="plan-question",
        )
    )


def _told() -> rx.Component:
    """The answers the plan was drafted with."""
    return rx.cond(
        PlanState.told.length() > 0,
        rx.vstack(
            rx.text("You told us", size="1", weight="bold", color=rx.color("gray", 11)),
            rx.el.ul(
                rx.foreach(
                    PlanState.told,
                    lambda told: rx.el.li(rx.text(told.question, " ", rx.text.strong(told.chosen), size="2")),
                ),
                class_name="plan-told-list",
            ),
            spacing="1",
            width="100%",
            id="plan-told",
        ),
    )


def _plan_parts() -> rx.Component:
    return rx.fragment(
        rx.input(
            value=PlanState.title,
            on_change=lambda text: PlanState.set_part("title", text),
            on_blur=PlanState.save,
            size="2",
            width="100%",
            id="plan-title",
            aria_label="The app's name",
            read_only=~WorkspaceState.can_edit,
            class_name="plan-title",
        ),
        _told(),
        _part("In short", "summary", PlanState.summary, "2"),
        _part("Pages, and what a person can do on each", "pages", PlanState.pages, "4"),
        _part("Data it keeps", "data", PlanState.data, "2"),
        _checks(),
        rx.cond(
            WorkspaceState.can_edit,
            rx.vstack(
                rx.cond(PlanState.provider != "offline", _revise()),
                rx.cond(
                    PlanState.note != "",
                    rx.callout(PlanState.note_words, icon="info", size="1", color_scheme="amber", id="plan-note"),
                ),
                rx.button(
                    rx.icon("hammer", size=14),
                    "Build this",
                    size="2",
                    width="100%",
                    on_click=PlanState.build,
                    loading=PlanState.busy == "build",
                    disabled=WorkspaceState.generating | (PlanState.busy != ""),
                    id="build-plan",
                ),
                spacing="2",
                width="100%",
            ),
        ),
    )


def plan_card() -> rx.Component:
    """The project's plan that waits to be built, or its questions that wait for answers (nothing when there is
    none)."""
    asking = PlanState.asking.length() > 0
    return rx.cond(
        PlanState.plan_id != "",
        rx.card(
            rx.vstack(
                rx.hstack(
                    rx.badge(rx.icon("list-checks", size=12), "Plan", color_scheme="violet", variant="soft"),
                    rx.text(
                        rx.cond(
                            asking,
                            "A few questions first, so the plan fits what you want.",
                            "Read it, change anything, then build it.",
                        ),
                        size="1",
                        color=rx.color("gray", 11),
                    ),
                    align="center",
                    spacing="2",
                ),
                rx.cond(asking, _questions(), _plan_parts()),
                spacing="3",
                width="100%",
            ),
            width="100%",
            id="plan-card",
            class_name="plan-card",
        ),
    )


def _needs_model_item(label: str, value: str, name: str, why: str) -> rx.Component:
    """A mode that needs a model: marked unavailable, saying why on hover, while only the offline starters are set
    up. Radix's segmented control enables every item whatever it is given, so choosing one says why instead
    (PlanState.set_mode)."""
    offline = ~ConversationState.has_model
    return rx.segmented_control.item(
        label,
        value=value,
        aria_label=name,
        custom_attrs={
            "aria-disabled": rx.cond(offline, "true", "false"),
            "title": rx.cond(offline, f"{why}: connect one first (Connect a model, above).", ""),
        },
    )


def engine_choice() -> rx.Component:
    """Who builds the next request: Forja's own model, or a coding agent (OpenCode, Codex) that works in the project's
    sandbox (its change is checked, repaired and saved as one version all the same). The project's setting; below it,
    why the agent cannot work with the project's model, when it cannot."""
    return rx.vstack(
        rx.hstack(
            rx.text("Built by", size="1", color=rx.color("gray", 11)),
            rx.select.root(
                rx.select.trigger(aria_label="What builds the next request"),
                rx.select.content(
                    rx.select.item("Forja", value="forja"),
                    rx.select.item("OpenCode", value="opencode"),
                    rx.select.item("Codex", value="codex"),
                ),
                value=ConversationState.engine,
                on_change=ConversationState.set_engine,
                size="1",
            ),
            align="center",
            spacing="2",
            width="100%",
            title="OpenCode and Codex are coding agents that edit your app's files; Forja then checks, fixes and saves what they did",
        ),
        rx.cond(
            ConversationState.engine_note != "",
            rx.text(ConversationState.engine_note, size="1", color=rx.color("amber", 11), id="engine-note"),
        ),
        spacing="1",
        width="100%",
        id="engine-choice",
    )


def mode_choice() -> rx.Component:
    """In the follow-up box: what the next request does: build it, plan it first, ask about the project, add an
    acceptance check, or let the agent work on it in steps (with its Approve changes switch)."""
    return rx.vstack(
        rx.segmented_control.root(
            rx.segmented_control.item("Build", value="build"),
            # Short words, so five fit a phone's width and the conversation's; the full names are what is read out.
            rx.segmented_control.item("Plan", value="plan", aria_label="Plan first"),
            rx.segmented_control.item("Ask", value="ask"),
            # Offline these two can only refuse after the request is typed: they say why before, on hover.
            _needs_model_item("Check", "check", "Add check", "Adding a check in words needs a model"),
            _needs_model_item("Agent", "agent", "Agent", "Agent mode needs a model that can use tools"),
            value=PlanState.mode,
            on_change=PlanState.set_mode,
            size="1",
            width="100%",
            id="followup-mode",
            aria_label="What the request does",
        ),
        rx.cond(
            PlanState.mode == "agent",
            rx.hstack(
                rx.text(
                    "Works in steps: reads, edits, runs the tests, opens the page. Saved as one version.",
                    size="1",
                    color=rx.color("gray", 11),
                    flex="1",
                ),
                rx.el.label(
                    rx.switch(
                        checked=ConversationState.approve_changes,
                        on_change=ConversationState.set_approve_changes,
                        size="1",
                        id="approve-changes",
                    ),
                    rx.text("Approve changes", size="1", weight="medium"),
                    class_name="approve-switch",
                    title="Show each run's change for you to accept or reject before it becomes a version",
                ),
                align="center",
                spacing="2",
                width="100%",
                id="agent-options",
            ),
        ),
        rx.cond(PlanState.mode == "agent", agent_approvals()),
        rx.cond(PlanState.mode == "build", engine_choice()),
        spacing="2",
        width="100%",
    )
