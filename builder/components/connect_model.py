"""What to do when no model is connected: offline starters build and make plain edits, a model does the rest.

Shown instead of a one-entry Model menu, and where a "Fix this" button would be: a person learns what is missing
and who can add it, rather than finding a control silently gone. An admin is sent to the admin page's Models section;
anyone else is told to ask the person who runs this Forja. No setting, command or address: those are the admin's.
"""

from typing import Literal

import reflex as rx

from builder.state.auth import AuthState
from builder.state.conversation import ConversationState

MODELS_SECTION = "/admin#admin-models"


def how_to_connect(size: Literal["1", "2"] = "2") -> rx.Component:
    """Who can connect a model, in words: the admin page for an admin, the person who runs Forja for anyone else."""
    return rx.cond(
        AuthState.is_admin,
        rx.link("Connect one on the admin page.", href=MODELS_SECTION, size=size, class_name="connect-model-admin"),
        rx.text("Ask the person who runs this Forja to connect one.", as_="span", size=size, class_name="connect-model-ask"),
    )


def models_link() -> rx.Component:
    """After words that tell an admin to connect a model themselves: where they do it."""
    return rx.link("Open the Models section.", href=MODELS_SECTION, class_name="models-link")


def connect_model_help() -> rx.Component:
    """A "Connect a model" link that opens what a model adds, and who can connect one."""
    return rx.popover.root(
        rx.popover.trigger(
            rx.button(rx.icon("plug", size=12), "Connect a model", variant="ghost", size="1", class_name="connect-model")
        ),
        rx.popover.content(
            rx.vstack(
                rx.text("Connect a model", weight="bold", size="2"),
                rx.text(
                    "Offline starters build from templates and make plain edits. To have any app you describe "
                    "written, and changes made in your words, Forja needs an AI model: Claude, OpenAI, or one "
                    "running on your own computer.",
                    size="2",
                ),
                how_to_connect(),
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
