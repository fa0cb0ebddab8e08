"""The workspace's right-hand tabs: Preview, Code and Logs."""

import reflex as rx

from builder.components.connect_model import needs_model_note
from builder.components.file_tree import file_tree
from builder.components.monaco import monaco_editor
from builder.components.preview_details import preview_details
from builder.components.preview_frame import forja_preview
from builder.components.run_settings import run_settings_dialog
from builder.components.share_dialog import share_dialog
from builder.logview import LogEntry
from builder.state.conversation import ConversationState
from builder.state.editor import EditorState
from builder.state.logs import LogsState
from builder.state.preview import PreviewPaneState
from builder.state.select import SelectState
from builder.state.workspace import WorkspaceState

LEVEL_COLORS = {"error": "red", "warning": "amber", "info": "gray", "debug": "gray"}


def code_panel() -> rx.Component:
    toolbar = rx.hstack(
        rx.text(EditorState.selected_path, size="2", font_family="monospace", id="editor-path"),
        rx.cond(
            EditorState.unsaved_count > 0,
            rx.badge(EditorState.unsaved_count, " unsaved", color_scheme="orange", variant="soft", id="unsaved-badge"),
        ),
        rx.spacer(),
        rx.cond(EditorState.notice != "", rx.text(EditorState.notice, size="2", color=rx.color("green", 11), id="save-notice")),
        rx.cond(
            WorkspaceState.can_edit,
            rx.button(
                rx.icon("save", size=14),
                "Save",
                rx.el.kbd("Ctrl+S", class_name="save-shortcut", id="save-shortcut"),
                size="1",
                on_click=EditorState.save,
                loading=EditorState.saving,
                disabled=EditorState.unsaved_count == 0,
                id="save-button",
            ),
            rx.cond(
                WorkspaceState.role != "",
                rx.badge(rx.icon("eye", size=12), "Read only", variant="soft", color_scheme="gray", id="read-only-badge"),
            ),
        ),
        align="center",
        padding_x="12px",
        height="40px",
        border_bottom=f"1px solid {rx.color('gray', 5)}",
        width="100%",
        flex_shrink="0",
    )
    editor = rx.cond(
        EditorState.binary_note != "",
        binary_view(),
        rx.cond(
            EditorState.selected_path != "",
            monaco_editor(
                value=EditorState.editor_value,
                path=EditorState.selected_path,
                language=EditorState.editor_language,
                revision=EditorState.editor_revision,
                read_only=~WorkspaceState.can_edit,
                room=EditorState.collab_room,
                reveal=EditorState.reveal,
                # Monaco has its own themes: follow the page's light or dark mode.
                theme=rx.color_mode_cond("forja-light", "forja-dark"),
                on_change=EditorState.edit.debounce(400),
                on_save=EditorState.save_from_editor,
            ),
            rx.center(rx.text("Pick a file on the left.", color=rx.color("gray", 11)), height="100%"),
        ),
    )
    return rx.hstack(
        file_tree(),
        rx.vstack(
            toolbar, rx.box(editor, flex="1", width="100%", min_height="0"), spacing="0", height="100%", flex="1", min_width="0"
        ),
        spacing="0",
        height="100%",
        width="100%",
        class_name="code-panel",
    )


def binary_view() -> rx.Component:
    """A file of bytes in the Code tab: the picture itself when it is one, its name, kind and size, and Download."""
    return rx.center(
        rx.vstack(
            rx.cond(
                EditorState.image_src != "",
                rx.image(src=EditorState.image_src, alt=EditorState.selected_path, class_name="binary-picture"),
                rx.icon("file", size=40, color=rx.color("gray", 9)),
            ),
            rx.text(EditorState.binary_note, color=rx.color("gray", 11), size="2", id="binary-note"),
            rx.button(
                rx.icon("download", size=14),
                "Download",
                size="1",
                variant="soft",
                on_click=EditorState.download,
                id="binary-download",
            ),
            align="center",
            spacing="3",
            max_width="100%",
        ),
        height="100%",
        padding="24px",
        class_name="binary-view",
        id="binary-view",
    )


def log_text(entry: LogEntry) -> rx.Component:
    """A line as it is; an error with its traceback or stack as its first line, the rest one click away."""
    return rx.cond(
        entry.more != "",
        rx.el.details(
            rx.el.summary(entry.head, class_name="log-head"),
            rx.el.pre(entry.more, class_name="log-more"),
            class_name="log-group",
        ),
        rx.text(entry.head, white_space="pre-wrap", word_break="break-word"),
    )


def log_line(entry: LogEntry) -> rx.Component:
    return rx.hstack(
        rx.text(entry.time, color=rx.color("gray", 11), flex_shrink="0"),
        rx.text(
            entry.level.upper(),
            color=rx.match(entry.level, ("error", rx.color("red", 11)), ("warning", rx.color("amber", 11)), rx.color("gray", 11)),
            width="5.5em",
            flex_shrink="0",
            weight="bold",
        ),
        rx.text(entry.source, color=rx.color("blue", 11), width="7.5em", flex_shrink="0", truncate=True),
        rx.box(log_text(entry), flex="1", min_width="0"),
        rx.cond(
            (entry.level == "error")
            & (ConversationState.provider != "offline")
            & (entry.source != "generate")
            & WorkspaceState.can_edit,
            rx.button(
                rx.icon("wrench", size=12),
                "Fix this error",
                size="1",
                variant="soft",
                color_scheme="red",
                on_click=LogsState.fix_error(entry.text),
                disabled=WorkspaceState.generating,
                class_name="fix-error",
            ),
        ),
        spacing="3",
        font_family="monospace",
        font_size="12.5px",
        padding_x="12px",
        padding_y="1px",
        width="100%",
        background=rx.match(entry.level, ("error", rx.color("red", 2)), ("warning", rx.color("amber", 2)), "transparent"),
        class_name="log-line",
        data_level=entry.level,
    )


def logs_panel() -> rx.Component:
    return rx.vstack(
        rx.hstack(
            rx.text(LogsState.line_count, " lines", size="2", color=rx.color("gray", 11)),
            rx.spacer(),
            rx.cond(
                (LogsState.hidden_requests > 0) | LogsState.show_requests,
                rx.el.label(
                    # Radix draws a button: the label around it does not name it for a screen reader.
                    rx.checkbox(
                        checked=LogsState.show_requests,
                        on_change=LogsState.toggle_requests,
                        id="show-requests",
                        aria_label="Show requests",
                    ),
                    rx.cond(
                        LogsState.show_requests,
                        "Show requests",
                        rx.fragment("Show requests (", LogsState.hidden_requests, " hidden)"),
                    ),
                    class_name="show-requests",
                ),
            ),
            rx.button(
                rx.icon("copy", size=14),
                "Copy",
                size="1",
                variant="soft",
                on_click=LogsState.copy_logs,
                id="copy-logs",
            ),
            align="center",
            padding_x="12px",
            height="40px",
            width="100%",
            border_bottom=f"1px solid {rx.color('gray', 5)}",
            flex_shrink="0",
        ),
        rx.auto_scroll(
            rx.cond(
                LogsState.entries.length() > 0,
                rx.foreach(LogsState.entries, log_line),
                rx.text(
                    "Nothing logged yet. Imports, saves and preview output appear here.",
                    color=rx.color("gray", 11),
                    padding="12px",
                ),
            ),
            id="logs",
            flex="1",
            width="100%",
            padding_y="6px",
            # It scrolls: focusable, so a keyboard can scroll it, and named as what it is.
            tab_index=0,
            role="log",
            aria_label="Logs",
        ),
        spacing="0",
        height="100%",
        width="100%",
    )


def preview_panel() -> rx.Component:
    running = PreviewPaneState.preview_url != ""
    toolbar = rx.hstack(
        rx.icon_button(
            rx.icon("rotate-cw", size=14),
            size="1",
            variant="soft",
            disabled=~running,
            on_click=PreviewPaneState.reload_preview,
            title="Reload the preview",
            aria_label="Reload the preview",
            id="preview-reload",
        ),
        rx.cond(
            WorkspaceState.can_edit,
            rx.button(
                rx.icon("mouse-pointer-click", size=14),
                rx.el.span("Select", class_name="preview-select-word"),
                size="1",
                variant=rx.cond(SelectState.selecting, "solid", "soft"),
                color_scheme=rx.cond(SelectState.selecting, "violet", "gray"),
                disabled=~running,
                on_click=SelectState.toggle_select,
                title="Point at what to change: click an element to ask about it, double-click its text to edit it",
                aria_pressed=rx.cond(SelectState.selecting, "true", "false"),
                class_name="preview-select",
                id="preview-select",
            ),
        ),
        rx.input(
            value=PreviewPaneState.preview_url,
            placeholder="The preview's address appears here once it runs",
            read_only=True,
            size="1",
            flex="1",
            font_family="monospace",
            id="preview-address",
            aria_label="The preview's address",
        ),
        rx.cond(
            PreviewPaneState.preview_runner != "",
            rx.badge(
                PreviewPaneState.preview_where,
                variant="soft",
                color_scheme="gray",
                id="preview-runner",
                data_runner=PreviewPaneState.preview_runner,
            ),
        ),
        preview_details(),
        rx.link(
            rx.icon_button(
                rx.icon("external-link", size=14), size="1", variant="soft", disabled=~running, aria_label="Open in a new tab"
            ),
            href=rx.cond(PreviewPaneState.preview_open != "", PreviewPaneState.preview_open, PreviewPaneState.preview_url),
            is_external=True,
            title="Open in a new tab",
        ),
        run_settings_dialog(),
        share_dialog(),
        align="center",
        padding_x="12px",
        height="40px",
        width="100%",
        border_bottom=f"1px solid {rx.color('gray', 5)}",
        flex_shrink="0",
        spacing="2",
    )
    waiting = rx.center(
        rx.vstack(
            rx.cond(
                PreviewPaneState.preview_state == "failed",
                rx.icon("circle-alert", size=36, color=rx.color("red", 9)),
                rx.cond(
                    WorkspaceState.current_version > 0,
                    rx.spinner(size="3"),
                    rx.icon("monitor-play", size=40, color=rx.color("gray", 8)),
                ),
            ),
            rx.text(
                rx.cond(
                    WorkspaceState.current_version > 0,
                    PreviewPaneState.preview_message,
                    "The preview starts once the project has files.",
                ),
                text_align="center",
                id="preview-message",
            ),
            rx.cond(
                (PreviewPaneState.preview_mode == "webcontainer") & (PreviewPaneState.preview_state == "starting"),
                rx.button(
                    "Run it on the server instead",
                    size="2",
                    variant="soft",
                    on_click=PreviewPaneState.run_on_server,
                    id="preview-run-on-server",
                ),
            ),
            rx.cond(
                PreviewPaneState.preview_state == "failed",
                rx.hstack(
                    rx.button("Try again", size="2", on_click=PreviewPaneState.start_preview, id="preview-retry"),
                    rx.button("Show logs", size="2", variant="soft", on_click=WorkspaceState.set_tab("logs")),
                    # Refused packages are the app's own: the file that names them is what helps, not this machine.
                    rx.cond(
                        PreviewPaneState.packages_refused,
                        rx.cond(
                            WorkspaceState.can_edit,
                            rx.button(
                                "Open the code",
                                size="2",
                                variant="soft",
                                on_click=WorkspaceState.set_tab("code"),
                                id="preview-open-code",
                            ),
                        ),
                        rx.link(rx.button("Check this machine", size="2", variant="soft"), href="/doctor", id="preview-doctor"),
                    ),
                    rx.cond(
                        (ConversationState.provider != "offline") & ~PreviewPaneState.preview_refused & WorkspaceState.can_edit,
                        rx.button(
                            rx.icon("wrench", size=14),
                            rx.cond(PreviewPaneState.packages_refused, "Fix the packages", "Fix this error"),
                            size="2",
                            variant="soft",
                            color_scheme="red",
                            on_click=LogsState.fix_preview_error,
                        ),
                    ),
                    wrap="wrap",
                    justify="center",
                ),
            ),
            rx.cond(
                (PreviewPaneState.preview_state == "failed")
                & (ConversationState.provider == "offline")
                & ~PreviewPaneState.preview_refused
                & WorkspaceState.can_edit,
                needs_model_note("Fixing this error for you needs a model; offline, fix it in the Code tab.", justify="center"),
            ),
            align="center",
            spacing="3",
            max_width="480px",
        ),
        flex="1",
        width="100%",
        padding_x="16px",  # on a phone, the words do not touch the screen's edges
    )
    frame = forja_preview(
        project_id=WorkspaceState.project_id,
        url=PreviewPaneState.preview_url,
        open_url=PreviewPaneState.preview_open,
        reloads=PreviewPaneState.preview_reloads,
        hot_reload=PreviewPaneState.preview_hot_reload,
        mode=PreviewPaneState.preview_mode,
        run=PreviewPaneState.preview_run,
        version=WorkspaceState.current_version,
        install=PreviewPaneState.browser_install,
        dev=PreviewPaneState.browser_dev,
        port=PreviewPaneState.browser_port,
        boot_timeout_ms=PreviewPaneState.webcontainer_boot_timeout_ms,
        client_id=PreviewPaneState.webcontainer_client_id,
        on_ready=PreviewPaneState.webcontainer_ready,
        on_fallback=PreviewPaneState.webcontainer_fallback,
        on_failed=PreviewPaneState.webcontainer_failed,
        selecting=SelectState.selecting,
        select_edit=SelectState.edit_request,
        on_picked=SelectState.pick,
        on_text_typed=SelectState.text_typed,
    )
    select_bar = rx.cond(
        SelectState.selecting | (SelectState.select_notice != ""),
        rx.hstack(
            rx.cond(
                SelectState.select_failed,
                rx.icon("circle-alert", size=14, flex_shrink="0"),
                rx.icon("mouse-pointer-click", size=14, flex_shrink="0"),
            ),
            rx.text(
                rx.cond(
                    SelectState.select_notice != "",
                    SelectState.select_notice,
                    "Click an element to ask about it in the follow-up box; double-click its text to type over it "
                    "(Enter saves, Esc cancels).",
                ),
                size="1",
                flex="1",
                id="preview-select-notice",
            ),
            align="center",
            spacing="2",
            padding_x="12px",
            padding_y="5px",
            width="100%",
            class_name="preview-select-bar",
            data_failed=rx.cond(SelectState.select_failed, "true", "false"),
        ),
    )
    unsandboxed = rx.cond(
        PreviewPaneState.preview_unsandboxed & (PreviewPaneState.preview_mode == "server"),
        rx.callout(
            "This preview runs as your user on this machine WITHOUT a sandbox (FORJA_ALLOW_UNSANDBOXED): "
            "the app can read and change your files. Install bubblewrap or use Docker to sandbox it.",
            icon="triangle_alert",
            color_scheme="red",
            size="1",
            width="100%",
            id="preview-unsandboxed",
        ),
    )
    # The frame stays mounted while it starts, so a WebContainer can boot behind the waiting message.
    return rx.vstack(
        toolbar,
        select_bar,
        unsandboxed,
        frame,
        rx.cond(running, rx.fragment(), waiting),
        spacing="0",
        height="100%",
        width="100%",
    )
