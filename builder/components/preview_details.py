"""How the preview runs (its runner and why, the command that started it), behind a small "i" in the Preview tab's
toolbar: two lines of machine words above every preview took a phone's screen and told a person who makes apps
nothing they need to act on. The warning that a preview runs without a sandbox stays in view (panels.py)."""

import reflex as rx

from builder.state.preview import PreviewPaneState

MUTED = rx.color("gray", 11)


def _why_runner() -> rx.Component:
    return rx.cond(
        PreviewPaneState.preview_runner_reason != "",
        rx.text(
            rx.text.strong(PreviewPaneState.preview_runner, " runner: "),
            PreviewPaneState.preview_runner_reason,
            size="1",
            id="preview-runner-reason",
        ),
    )


def _started_with() -> rx.Component:
    return rx.cond(
        PreviewPaneState.preview_command != "",
        rx.text(
            "Started with ",
            rx.code(PreviewPaneState.preview_command, variant="ghost", word_break="break-all"),
            " from ",
            PreviewPaneState.preview_command_from,
            ".",
            size="1",
            id="preview-started-with",
        ),
    )


def preview_details() -> rx.Component:
    """The "i" button and what it opens; nothing while the preview has nothing to say of how it runs."""
    return rx.cond(
        (PreviewPaneState.preview_runner_reason != "") | (PreviewPaneState.preview_command != ""),
        rx.popover.root(
            rx.popover.trigger(
                rx.icon_button(
                    rx.icon("info", size=14),
                    size="1",
                    variant="ghost",
                    color_scheme="gray",
                    title="How this preview runs",
                    aria_label="How this preview runs",
                    id="preview-details",
                ),
            ),
            rx.popover.content(
                rx.vstack(
                    rx.text("How this preview runs", weight="bold", size="2"),
                    _why_runner(),
                    _started_with(),
                    rx.link("What can this machine run?", href="/doctor", size="1", id="preview-doctor-link"),
                    spacing="2",
                    color=MUTED,
                ),
                max_width="min(360px, 90vw)",
                id="preview-details-box",
            ),
        ),
    )
