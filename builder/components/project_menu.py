"""The workspace's project menu (rename, duplicate, environment, clone, the app's people and data, trash) and the home page's
trash list."""

import reflex as rx

from builder.state.app_data_panel import AppDataState
from builder.state.app_env import EnvState
from builder.state.app_users import AppUsersState
from builder.state.clone import CloneState
from builder.state.project_actions import ProjectActionsState, TrashRow
from builder.state.remote import RemoteState
from builder.state.workspace import WorkspaceState


def project_menu() -> rx.Component:
    return rx.fragment(
        rx.menu.root(
            rx.menu.trigger(
                rx.icon_button(rx.icon("ellipsis", size=16), variant="ghost", aria_label="Project menu", id="project-menu")
            ),
            rx.menu.content(
                # What the person's role allows, and no more: the services would refuse the rest.
                rx.cond(
                    WorkspaceState.can_edit,
                    rx.menu.item("Rename...", on_click=ProjectActionsState.start_rename, id="menu-rename"),
                ),
                rx.menu.item("Duplicate", on_click=ProjectActionsState.duplicate, id="menu-duplicate"),
                rx.menu.item("Environment...", on_click=EnvState.set_open(True), id="menu-env"),
                rx.menu.item("Clone with git...", on_click=[CloneState.set_open(True), RemoteState.load], id="menu-clone"),
                rx.cond(
                    WorkspaceState.is_owner,
                    rx.menu.item("People who use your app...", on_click=AppUsersState.set_open(True), id="menu-app-users"),
                ),
                rx.cond(
                    WorkspaceState.is_owner,
                    rx.menu.item("Your app's data...", on_click=AppDataState.set_open(True), id="menu-app-data"),
                ),
                rx.cond(
                    WorkspaceState.is_owner,
                    rx.fragment(
                        rx.menu.separator(),
                        rx.menu.item(
                            "Move to trash...", color="red", on_click=ProjectActionsState.set_trash_open(True), id="menu-trash"
                        ),
                    ),
                ),
            ),
        ),
        rx.dialog.root(
            rx.dialog.content(
                rx.dialog.title("Rename project"),
                rx.form(
                    rx.vstack(
                        rx.input(
                            value=ProjectActionsState.new_name,
                            on_change=ProjectActionsState.set_new_name,
                            width="100%",
                            id="rename-input",
                            aria_label="The project's new name",
                        ),
                        rx.cond(
                            ProjectActionsState.error != "",
                            rx.text(ProjectActionsState.error, color=rx.color("red", 11), size="2"),
                        ),
                        rx.hstack(
                            rx.dialog.close(rx.button("Cancel", variant="soft", color_scheme="gray", type="button")),
                            rx.button("Rename", type="submit", id="rename-save"),
                            justify="end",
                            width="100%",
                        ),
                        spacing="3",
                    ),
                    on_submit=ProjectActionsState.rename,
                    reset_on_submit=False,
                ),
                max_width="420px",
            ),
            open=ProjectActionsState.rename_open,
            on_open_change=ProjectActionsState.set_rename_open,
        ),
        _trash_dialog(),
    )


def _trash_dialog() -> rx.Component:
    """Asked before the project goes to the trash: what comes back within the trash's days, and what then goes for good."""
    return rx.alert_dialog.root(
        rx.alert_dialog.content(
            rx.alert_dialog.title("Move this project to the trash?"),
            rx.alert_dialog.description(
                "You can restore it from the home page for 30 days. Then it is deleted for good, and with it its app's "
                "data: its databases and /data folders, the preview's and the published app's.",
                size="2",
            ),
            rx.flex(
                rx.alert_dialog.cancel(rx.button("Cancel", variant="soft", color_scheme="gray", class_name="confirm-cancel")),
                rx.alert_dialog.action(
                    rx.button("Move to trash", on_click=ProjectActionsState.move_to_trash, color_scheme="red", id="trash-confirm")
                ),
                spacing="3",
                justify="end",
                margin_top="16px",
            ),
            max_width="420px",
            class_name="confirm-dialog",
        ),
        open=ProjectActionsState.trash_open,
        on_open_change=ProjectActionsState.set_trash_open,
    )


def trash_row(row: TrashRow) -> rx.Component:
    return rx.hstack(
        rx.text(row.name, size="2", weight="medium"),
        rx.text("deleted ", row.deleted, " \u00b7 gone for good on ", row.purge, size="1", color=rx.color("gray", 11)),
        rx.spacer(),
        rx.button(
            "Restore", size="1", variant="soft", on_click=ProjectActionsState.restore(row.id), class_name="restore-project"
        ),
        align="center",
        width="100%",
        class_name="trash-row",
    )


def trash_list() -> rx.Component:
    return rx.cond(
        ProjectActionsState.trash.length() > 0,
        rx.vstack(
            rx.heading("Trash", size="3"),
            rx.text(
                "Projects stay here for 30 days, then go for good with their apps' data (databases and /data folders).",
                size="1",
                color=rx.color("gray", 11),
            ),
            rx.foreach(ProjectActionsState.trash, trash_row),
            width="100%",
            max_width="960px",
            spacing="2",
            align="start",
        ),
    )
