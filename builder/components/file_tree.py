"""The Code tab's file tree: folders fold, the open file is highlighted, drafts get a dot."""

import reflex as rx

from builder.state.editor import EditorState
from builder.state.views import TreeRow


def tree_row(row: TreeRow) -> rx.Component:
    selected = row.path == EditorState.selected_path
    return rx.hstack(
        rx.cond(
            row.is_dir,
            rx.cond(row.expanded, rx.icon("chevron-down", size=14), rx.icon("chevron-right", size=14)),
            rx.icon("file", size=14, color=rx.color("gray", 9)),
        ),
        rx.text(row.name, size="2", class_name="tree-name"),
        rx.cond(
            EditorState.drafts.contains(row.path),
            rx.box(width="7px", height="7px", border_radius="50%", background=rx.color("orange", 9), title="unsaved"),
        ),
        spacing="1",
        align="center",
        padding_left=f"calc({row.depth} * 14px + 8px)",
        padding_y="3px",
        padding_right="8px",
        cursor="pointer",
        width="100%",
        background=rx.cond(selected, rx.color("orange", 4), "transparent"),
        _hover={"background": rx.cond(selected, rx.color("orange", 4), rx.color("gray", 3))},
        on_click=rx.cond(row.is_dir, EditorState.toggle_folder(row.path), EditorState.open_file(row.path)),
        data_path=row.path,
        role="treeitem",
        # Reachable with Tab; Enter and Space act as a click (assets/forja_keys.js).
        tab_index=0,
        aria_selected=selected,
        class_name=rx.cond(row.is_dir, "tree-folder", "tree-file"),
    )


def file_tree() -> rx.Component:
    return rx.box(
        rx.foreach(EditorState.rows, tree_row),
        role="tree",
        aria_label="Files",
        id="file-tree",
        width="240px",
        min_width="180px",
        height="100%",
        overflow_y="auto",
        padding_y="6px",
        border_right=f"1px solid {rx.color('gray', 5)}",
        background=rx.color("gray", 1),
        flex_shrink="0",
    )
