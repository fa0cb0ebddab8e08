"""The Environment dialog (from the project menu): the app's own variables by name, public ones marked; editors add,
replace and remove them. Values are typed here and never shown again."""

import reflex as rx

from builder.app_secrets import MAX_NAME, MAX_VALUE_BYTES
from builder.components.confirm import confirm
from builder.state.app_env import EnvRow, EnvState
from builder.state.workspace import WorkspaceState


def env_row(row: EnvRow) -> rx.Component:
    return rx.hstack(
        rx.vstack(
            rx.hstack(
                rx.code(row.name, size="2", class_name="env-name"),
                rx.cond(row.public, rx.badge("public: built into the page", color_scheme="amber", variant="soft")),
                align="center",
                spacing="2",
                wrap="wrap",
            ),
            rx.text("set ", row.when, size="1", color=rx.color("gray", 11)),
            spacing="1",
            min_width="0",
            flex="1",
        ),
        rx.cond(
            WorkspaceState.can_edit,
            rx.hstack(
                rx.button("Replace", size="1", variant="soft", on_click=EnvState.replace(row.name), class_name="env-replace"),
                rx.button(
                    rx.icon("trash-2", size=14),
                    size="1",
                    variant="soft",
                    color_scheme="red",
                    on_click=EnvState.remove(row.name),
                    aria_label="Remove " + row.name,
                    class_name="env-remove",
                ),
                spacing="2",
            ),
        ),
        align="center",
        width="100%",
        class_name="env-row",
        data_name=row.name,
    )


def _add_form() -> rx.Component:
    return rx.form(
        rx.vstack(
            rx.text("Add or replace a variable", size="2", weight="bold"),
            rx.hstack(
                rx.input(
                    value=EnvState.new_name,
                    on_change=EnvState.set_new_name,
                    placeholder="NAME",
                    max_length=MAX_NAME,
                    font_family="monospace",
                    aria_label="The variable's name",
                    # Named, as a form's control should be (Reflex deprecates one with an id only); the save reads the
                    # name from EnvState, which this input controls.
                    name="name",
                    id="env-name",
                    flex="1",
                    min_width="140px",
                ),
                # Uncontrolled: its text goes with the submit only, and the save clears it once it is saved (EnvState's
                # docstring); a refused one stays, so the person fixes the name without typing the value again.
                rx.input(
                    name="value",
                    type="password",
                    placeholder="value",
                    max_length=MAX_VALUE_BYTES,
                    auto_complete="off",
                    aria_label="The variable's value",
                    id="env-value",
                    flex="2",
                    min_width="140px",
                ),
                rx.button("Save", type="submit", id="env-save"),
                width="100%",
                wrap="wrap",
            ),
            rx.text(EnvState.public_words, size="1", color=rx.color("gray", 11), id="env-public-words"),
            width="100%",
            spacing="2",
        ),
        on_submit=EnvState.save,
        width="100%",
    )


def _data_part() -> rx.Component:
    """Where the app keeps its data, and the preview's reset (asked first: it cannot be undone)."""
    return rx.vstack(
        rx.text("Data", size="2", weight="bold"),
        rx.text(
            "This app's server keeps its data in its own database (DATABASE_URL) and its /data folder. They outlive new "
            "versions, restarts and rollbacks; the preview's and the published app's are apart.",
            size="1",
            color=rx.color("gray", 11),
        ),
        rx.cond(
            WorkspaceState.can_edit,
            confirm(
                rx.button("Reset preview data", size="1", variant="soft", color_scheme="red", id="data-reset"),
                "Reset the preview's data?",
                "Everything the preview's app stored (its database and /data folder) is removed for good, and a running "
                "preview restarts. The published app's data stays.",
                "Reset preview data",
                EnvState.reset_data,
                "data-reset-confirm",
                color_scheme="red",
            ),
        ),
        width="100%",
        spacing="2",
        id="data-part",
    )


def env_dialog() -> rx.Component:
    return rx.dialog.root(
        rx.dialog.content(
            rx.dialog.title("Environment"),
            rx.dialog.description(EnvState.intro, size="2", id="env-intro"),
            rx.vstack(
                rx.cond(
                    EnvState.rows.length() > 0,
                    rx.vstack(rx.foreach(EnvState.rows, env_row), width="100%", spacing="2", id="env-list"),
                    rx.text("No variables yet.", size="2", color=rx.color("gray", 11), id="env-empty"),
                ),
                rx.cond(
                    WorkspaceState.can_edit,
                    _add_form(),
                    rx.text(
                        "Only the project's editors and owner set variables.",
                        size="2",
                        color=rx.color("gray", 11),
                        id="env-view-only",
                    ),
                ),
                # Only an app with a server of its own has a database and a /data folder.
                rx.cond(EnvState.has_server, _data_part()),
                rx.cond(
                    EnvState.env_error != "",
                    rx.callout(
                        EnvState.env_error, icon="triangle-alert", color_scheme="red", role="alert", width="100%", id="env-error"
                    ),
                ),
                rx.cond(
                    EnvState.notice != "",
                    rx.callout(EnvState.notice, icon="check", color_scheme="green", width="100%", id="env-notice"),
                ),
                width="100%",
                spacing="4",
                margin_top="12px",
            ),
            rx.flex(rx.dialog.close(rx.button("Done", variant="soft", color_scheme="gray")), justify="end", margin_top="16px"),
            max_width="600px",
        ),
        open=EnvState.open_dialog,
        on_open_change=EnvState.set_open,
    )
