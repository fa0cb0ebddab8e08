"""The Preview tab's Run settings button and dialog: the project's own start command and app folder."""

import reflex as rx

from builder.state.run_settings import ROOT, RunSettingsState
from builder.state.workspace import WorkspaceState


def _folder_item(folder: rx.Var[str]) -> rx.Component:
    return rx.select.item(rx.cond(folder == ROOT, "The project's root", folder), value=folder)


def run_settings_dialog() -> rx.Component:
    return rx.dialog.root(
        # Opened through on_open_change, as the Share dialog is: a click handler would wrap the trigger in a <div>.
        rx.dialog.trigger(
            rx.icon_button(
                rx.icon("settings-2", size=14),
                size="1",
                variant="soft",
                disabled=WorkspaceState.current_version == 0,
                title="Run settings: how the preview starts",
                aria_label="Run settings",
                id="run-settings-button",
            )
        ),
        rx.dialog.content(
            rx.dialog.title("Run settings"),
            rx.dialog.description(
                "How this project's previews start. Leave both as they are and Forja works it out from the project's files.",
                size="2",
            ),
            rx.vstack(
                rx.text("App folder", as_="label", html_for="run-settings-folder", size="2", weight="medium"),
                rx.select.root(
                    rx.select.trigger(id="run-settings-folder", width="100%", aria_label="App folder"),
                    rx.select.content(rx.foreach(RunSettingsState.folders, _folder_item)),
                    value=RunSettingsState.folder,
                    on_change=RunSettingsState.set_folder,
                    disabled=~WorkspaceState.can_edit,
                ),
                rx.text("Start command", as_="label", html_for="run-settings-command", size="2", weight="medium"),
                rx.input(
                    value=RunSettingsState.command,
                    on_change=RunSettingsState.set_command,
                    placeholder="Detected from the project (for example: python main.py)",
                    font_family="monospace",
                    width="100%",
                    read_only=~WorkspaceState.can_edit,
                    id="run-settings-command",
                ),
                rx.text(
                    "One shell line, run in the app folder. $PORT and $HOST say where the app must listen.",
                    size="1",
                    color=rx.color("gray", 11),
                ),
                rx.cond(
                    RunSettingsState.error != "",
                    rx.text(RunSettingsState.error, color=rx.color("red", 11), size="2", id="run-settings-error"),
                ),
                spacing="2",
                width="100%",
                margin_top="12px",
            ),
            rx.flex(
                rx.dialog.close(rx.button("Cancel", variant="soft", color_scheme="gray")),
                rx.cond(
                    WorkspaceState.can_edit,
                    rx.button("Save and restart", on_click=RunSettingsState.save, id="run-settings-save"),
                ),
                justify="end",
                gap="8px",
                margin_top="16px",
                wrap="wrap",
            ),
            max_width="560px",
        ),
        open=RunSettingsState.open_dialog,
        on_open_change=RunSettingsState.set_open,
    )
