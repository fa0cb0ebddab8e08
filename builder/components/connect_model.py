"""What to do when no model is set up: offline starters build and make plain edits, a model does the rest.

Shown instead of a one-entry Model menu, and where a "Fix this" button would be: a person learns what is missing
and how to add it, rather than finding a control silently gone. The settings are the README's.
"""

from typing import Literal

import reflex as rx

from builder.state.conversation import ConversationState

# (setting, what it connects): the README's Configuration table.
MODEL_SETTINGS = (
    ("ANTHROPIC_API_KEY=sk-ant-...", "Claude"),
    ("OPENAI_API_KEY=sk-...", "OpenAI, or any OpenAI-compatible service"),
)
OLLAMA_SETTINGS = ("OPENAI_BASE_URL=http://127.0.0.1:11434/v1", "FORJA_OPENAI_MODEL=llama3.1")


def setting(text: str) -> rx.Component:
    return rx.code(text, size="1", variant="soft", class_name="model-setting")


def connect_model_help() -> rx.Component:
    """A "Connect a model" link that opens how to, in a few lines, with the doctor page one click further."""
    return rx.popover.root(
        rx.popover.trigger(
            rx.button(rx.icon("plug", size=12), "Connect a model", variant="ghost", size="1", class_name="connect-model")
        ),
        rx.popover.content(
            rx.vstack(
                rx.text("Connect a model", weight="bold", size="2"),
                rx.text(
                    "Offline starters build from templates and make plain edits. For anything else, set one of these "
                    "where Forja runs, then restart it:",
                    size="2",
                ),
                *(
                    rx.vstack(setting(text), rx.text(what, size="1", color=rx.color("gray", 11)), spacing="1")
                    for text, what in MODEL_SETTINGS
                ),
                rx.vstack(
                    rx.hstack(*(setting(text) for text in OLLAMA_SETTINGS), spacing="1", wrap="wrap"),
                    rx.text("Ollama on this machine: no key, any model you pulled", size="1", color=rx.color("gray", 11)),
                    spacing="1",
                ),
                rx.link("What can this machine run?", href="/doctor", size="2", id="connect-model-doctor"),
                spacing="3",
            ),
            max_width="min(380px, calc(100vw - 24px))",
            id="connect-model-help",
        ),
    )


def offline_model_label() -> rx.Component:
    """The Model line with only the offline starters to pick: a plain label, not a menu of one."""
    return rx.hstack(
        rx.text("Offline starters", size="1", weight="medium", id="offline-model"),
        connect_model_help(),
        align="center",
        # Radix's ghost button reaches out by its padding: the wider gap keeps the label clear of its hover.
        spacing="4",
    )


def needs_model_note(what: str, justify: Literal["start", "center"] = "start") -> rx.Component:
    """Where a fix button would be offline: that it needs a model, and how to connect one (or pick one, if set up)."""
    return rx.hstack(
        rx.text(
            what,
            rx.cond(ConversationState.has_model, " Pick a model in the Model menu below.", ""),
            size="1",
            color=rx.color("gray", 11),
        ),
        rx.cond(ConversationState.has_model, rx.fragment(), connect_model_help()),
        align="center",
        justify=justify,
        spacing="2",
        wrap="wrap",
        margin_top="8px",
        class_name="needs-model",
    )
