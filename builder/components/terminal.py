"""The Terminal tab: a shell inside the running preview's sandbox, on xterm.js (assets/forja_terminal.jsx, bundled
from npm with its CSS), and what brings the files the shell changed into the Code tab as unsaved drafts."""

import reflex as rx

from builder.state.editor import EditorState
from builder.state.preview import PreviewPaneState
from builder.state.workspace import WorkspaceState


class ForjaTerminal(rx.NoSSRComponent):
    library = "$/public/forja_terminal.jsx"
    tag = "ForjaTerminal"
    lib_dependencies: list[str] = ["@xterm/xterm@6.0.0", "@xterm/addon-fit@0.11.0"]

    project_id: rx.Var[str]
    font_size: rx.Var[int]


forja_terminal = ForjaTerminal.create


def _not_running() -> rx.Component:
    in_browser = PreviewPaneState.preview_mode == "webcontainer"
    return rx.center(
        rx.vstack(
            rx.icon("square-terminal", size=32, color=rx.color("gray", 9)),
            rx.text(
                rx.cond(
                    in_browser,
                    "The preview runs in your browser (WebContainer): a terminal opens in a preview that runs on the server.",
                    rx.cond(
                        PreviewPaneState.preview_coming,
                        "The preview is starting: the terminal opens a shell inside its sandbox as soon as it runs.",
                        "No preview is running. The terminal opens a shell inside the running preview's sandbox, "
                        "with its files, limits and network rules.",
                    ),
                ),
                size="2",
                color=rx.color("gray", 11),
                text_align="center",
                id="terminal-not-running",
            ),
            rx.cond(PreviewPaneState.preview_coming, rx.spinner(size="2")),
            rx.cond(
                ~in_browser & ~PreviewPaneState.preview_coming,
                rx.button(
                    rx.icon("play", size=14),
                    "Start the preview",
                    size="2",
                    on_click=PreviewPaneState.start_preview,
                    id="terminal-start-preview",
                ),
            ),
            align="center",
            spacing="3",
            max_width="440px",
            padding="16px",
        ),
        flex="1",
        width="100%",
    )


def terminal_panel() -> rx.Component:
    running = (PreviewPaneState.preview_mode == "server") & (PreviewPaneState.preview_state == "running")
    toolbar = rx.hstack(
        rx.icon("square-terminal", size=14, flex_shrink="0"),
        rx.text(
            "Shell in the preview's sandbox",
            rx.cond(PreviewPaneState.preview_runner != "", rx.fragment(" (", PreviewPaneState.preview_runner, ")")),
            size="1",
            color=rx.color("gray", 11),
            truncate=True,
            class_name="terminal-caption",
        ),
        rx.spacer(),
        rx.cond(
            EditorState.terminal_note != "",
            rx.text(EditorState.terminal_note, size="1", color=rx.color("gray", 11), id="terminal-note", truncate=True),
        ),
        rx.button(
            rx.icon("file-down", size=14),
            "Bring files to Code",
            size="1",
            variant="soft",
            on_click=EditorState.bring_from_terminal,
            loading=EditorState.bringing,
            disabled=~running,
            title="The files the shell changed become unsaved drafts in the Code tab; Save makes them a version.",
            id="terminal-bring-files",
        ),
        align="center",
        spacing="2",
        padding_x="12px",
        height="40px",
        border_bottom=f"1px solid {rx.color('gray', 5)}",
        width="100%",
        flex_shrink="0",
    )
    return rx.vstack(
        toolbar,
        rx.cond(
            running,
            rx.box(
                forja_terminal(project_id=WorkspaceState.project_id, font_size=13),
                class_name="terminal-frame",
            ),
            _not_running(),
        ),
        spacing="0",
        height="100%",
        width="100%",
        id="terminal-panel",
    )
