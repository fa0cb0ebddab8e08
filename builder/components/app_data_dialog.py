"""The Data dialog (from the project menu and the Publish dialog): what the published app, or its preview (a choice at
its top: their data are apart), keeps in each collection; a collection's rows, newest first, with who made each and
when; the owner changes a row's data in a box, deletes a row (asked first) and downloads the collection as CSV."""

import reflex as rx

from builder.components.app_dialogs import messages, scope_choice
from builder.components.confirm import confirm
from builder.components.download import download_button
from builder.state.app_data_panel import AppDataState, CollectionRow, DataRow
from builder.state.workspace import WorkspaceState

MUTED = rx.color("gray", 11)
LINE = f"1px solid {rx.color('gray', 4)}"


def _collection(row: CollectionRow) -> rx.Component:
    return rx.button(
        rx.text(row.name, size="2", weight="medium", font_family="monospace", word_break="break-all"),
        rx.spacer(),
        rx.text(row.rows, rx.cond(row.rows == 1, " row", " rows"), size="2", color=MUTED, white_space="nowrap"),
        rx.icon("chevron-right", size=16, color=MUTED, flex_shrink="0"),
        on_click=AppDataState.open_collection(row.name),
        variant="ghost",
        color_scheme="gray",
        width="100%",
        height="auto",
        padding="10px 8px",
        margin="0",
        border_bottom=LINE,
        border_radius="0",
        justify_content="start",
        class_name="app-data-collection",
        data_name=row.name,
    )


def _collections() -> rx.Component:
    return rx.cond(
        AppDataState.collections.length() > 0,
        rx.vstack(rx.foreach(AppDataState.collections, _collection), width="100%", spacing="0", id="app-data-collections"),
        rx.text(
            rx.cond(
                AppDataState.scope == "preview",
                "Nothing is saved in the preview yet. What you save while trying your app out in the Preview tab shows "
                "here, apart from the published app's.",
                "Nothing is saved in your published app yet. What people save in it shows here.",
            ),
            size="2",
            color=MUTED,
            id="app-data-empty",
        ),
    )


def _editor() -> rx.Component:
    return rx.vstack(
        rx.text_area(
            value=AppDataState.draft,
            on_change=AppDataState.set_draft,
            font_family="monospace",
            rows="8",
            width="100%",
            aria_label="The row's data, as JSON",
            id="app-data-draft",
        ),
        rx.cond(
            AppDataState.draft_error != "",
            rx.callout(
                AppDataState.draft_error,
                icon="triangle-alert",
                color_scheme="red",
                role="alert",
                size="1",
                width="100%",
                id="app-data-draft-error",
            ),
        ),
        rx.hstack(
            rx.button("Cancel", size="1", variant="soft", color_scheme="gray", on_click=AppDataState.cancel_edit),
            rx.button("Save", size="1", on_click=AppDataState.save, id="app-data-save"),
            justify="end",
            width="100%",
        ),
        width="100%",
        spacing="2",
    )


def _actions(row: DataRow) -> rx.Component:
    return rx.hstack(
        rx.button(
            rx.icon("pencil", size=14),
            size="1",
            variant="soft",
            on_click=AppDataState.edit(row.id),
            aria_label="Edit the row made " + row.made,
            class_name="app-data-edit",
        ),
        confirm(
            rx.button(
                rx.icon("trash-2", size=14),
                size="1",
                variant="soft",
                color_scheme="red",
                aria_label="Delete the row made " + row.made,
                class_name="app-data-delete",
            ),
            "Delete this row?",
            "It is gone for good from " + AppDataState.collection + ", for everyone using your app.",
            "Delete",
            AppDataState.delete(row.id),
            "app-data-delete-confirm",
            color_scheme="red",
        ),
        spacing="2",
        flex_shrink="0",
    )


def _row(row: DataRow) -> rx.Component:
    return rx.vstack(
        rx.flex(
            rx.vstack(
                rx.text(row.text, size="2", font_family="monospace", overflow_wrap="anywhere", class_name="app-data-text"),
                rx.text(
                    rx.el.span(row.who, overflow_wrap="anywhere", class_name="app-data-who"),
                    " \u00b7 ",
                    rx.el.span(row.made, white_space="nowrap"),
                    size="1",
                    color=MUTED,
                ),
                spacing="1",
                min_width="0",
                flex="1 1 0",
            ),
            rx.cond(AppDataState.editing != row.id, _actions(row)),
            align="start",
            spacing="3",
            width="100%",
        ),
        rx.cond(AppDataState.editing == row.id, _editor()),
        width="100%",
        spacing="2",
        padding_y="8px",
        border_bottom=LINE,
        class_name="app-data-row",
        data_id=row.id,
    )


def _rows() -> rx.Component:
    return rx.vstack(
        rx.flex(
            rx.button(
                rx.icon("chevron-left", size=14),
                "All collections",
                size="1",
                variant="ghost",
                on_click=AppDataState.back,
                id="app-data-back",
            ),
            rx.spacer(),
            download_button(
                "download",
                "Download CSV",
                "/api/projects/"
                + WorkspaceState.project_id
                + "/app-data/"
                + AppDataState.collection
                + "/csv?scope="
                + AppDataState.scope,
                element_id="app-data-csv",
            ),
            align="center",
            spacing="2",
            width="100%",
        ),
        rx.heading(AppDataState.collection, size="3", font_family="monospace", word_break="break-all"),
        rx.cond(
            AppDataState.rows.length() > 0,
            rx.vstack(rx.foreach(AppDataState.rows, _row), width="100%", spacing="0", id="app-data-rows"),
            rx.text("No rows are left here.", size="2", color=MUTED, id="app-data-no-rows"),
        ),
        rx.cond(
            AppDataState.next_offset >= 0,
            rx.button("Show more", size="1", variant="soft", on_click=AppDataState.more, id="app-data-more"),
        ),
        width="100%",
        spacing="3",
    )


def app_data_dialog() -> rx.Component:
    return rx.dialog.root(
        rx.dialog.content(
            rx.dialog.title("Your app's data"),
            rx.dialog.description(
                "What your app keeps, collection by collection, whoever saved it. You can change or delete any row; the "
                "app's own rules do not limit you here.",
                size="2",
            ),
            rx.vstack(
                scope_choice(AppDataState.scope, AppDataState.set_scope, "app-data-scope", "Whose data"),
                rx.cond(AppDataState.collection == "", _collections(), _rows()),
                messages(AppDataState.error, AppDataState.notice, "app-data"),
                width="100%",
                spacing="4",
                margin_top="12px",
            ),
            rx.flex(rx.dialog.close(rx.button("Done", variant="soft", color_scheme="gray")), justify="end", margin_top="16px"),
            max_width="640px",
        ),
        open=AppDataState.open_dialog,
        on_open_change=AppDataState.set_open,
    )
