"""The People button of the workspace and its dialog: the project's members; its owners add, change and remove them."""

import reflex as rx

from builder.components.confirm import confirm
from builder.state.auth import AuthState
from builder.state.members import ADD_ROLES, ROLE_LABELS, MemberRow, PeopleState
from builder.state.workspace import WorkspaceState


def role_choice(row: MemberRow) -> rx.Component:
    """An owner changes anyone's role here (the service keeps one owner at least); others see it."""
    return rx.cond(
        WorkspaceState.is_owner,
        rx.select.root(
            rx.select.trigger(variant="soft", aria_label="Role of " + row.name, class_name="member-role"),
            rx.select.content(*[rx.select.item(label, value=value) for value, label in ROLE_LABELS.items()]),
            value=row.role,
            on_change=lambda role: PeopleState.change_role(row.user_id, role),
            size="1",
        ),
        rx.badge(
            rx.match(row.role, *ROLE_LABELS.items(), row.role),
            variant="soft",
            color_scheme=rx.cond(row.role == "owner", "orange", "gray"),
            class_name="member-role",
        ),
    )


def member_row(row: MemberRow) -> rx.Component:
    return rx.hstack(
        rx.avatar(fallback=row.name[:1].upper(), size="2", radius="full", flex_shrink="0"),
        rx.vstack(
            rx.text(row.name, rx.cond(row.you, " (you)", ""), size="2", weight="medium", truncate=True, width="100%"),
            rx.text(row.email, size="1", color=rx.color("gray", 11), truncate=True, width="100%"),
            spacing="0",
            flex="1",
            min_width="0",
        ),
        role_choice(row),
        rx.cond(
            WorkspaceState.is_owner & ~row.you,
            confirm(
                rx.icon_button(
                    rx.icon("user-minus", size=14),
                    size="1",
                    variant="ghost",
                    color_scheme="red",
                    aria_label="Remove " + row.name,
                    title="Remove from this project",
                    class_name="remove-member",
                ),
                "Remove " + row.name + "?",
                "They no longer see this project or change it. Versions they made stay in its history.",
                "Remove",
                PeopleState.remove(row.user_id),
                "confirm-remove-member",
                color_scheme="red",
            ),
        ),
        align="center",
        spacing="3",
        width="100%",
        class_name="member-row",
        data_email=row.email,
    )


def add_form() -> rx.Component:
    return rx.form(
        rx.flex(
            rx.input(
                value=PeopleState.email,
                on_change=PeopleState.set_email,
                placeholder="teammate@example.org",
                type="email",
                aria_label="Email of the person to add",
                flex="1",
                min_width="200px",
                id="people-email",
            ),
            rx.select.root(
                rx.select.trigger(aria_label="Their role", id="people-role"),
                rx.select.content(*[rx.select.item(label, value=value) for value, label in ADD_ROLES.items()]),
                value=PeopleState.role,
                on_change=PeopleState.set_role,
            ),
            rx.button(rx.icon("user-plus", size=14), "Add", type="submit", id="people-add"),
            spacing="2",
            wrap="wrap",
            width="100%",
        ),
        on_submit=PeopleState.add,
        reset_on_submit=False,
        width="100%",
    )


def leave_button() -> rx.Component:
    return confirm(
        rx.button(rx.icon("log-out", size=14), "Leave this project", variant="soft", color_scheme="red", id="people-leave"),
        "Leave this project?",
        "It disappears from your projects. Its owner can add you again.",
        "Leave",
        PeopleState.leave,
        "confirm-leave",
        color_scheme="red",
    )


def people_dialog() -> rx.Component:
    """Only with accounts: without them the one local user owns everything and there is nobody to add."""
    return rx.cond(
        AuthState.accounts_on,
        rx.dialog.root(
            # Opened through on_open_change: a click handler on the button would make Reflex wrap it in a <div> that
            # takes the trigger's role and ARIA attributes.
            rx.dialog.trigger(
                rx.button(
                    rx.icon("users", size=14),
                    rx.el.span("People", class_name="people-word"),
                    size="2",
                    variant="soft",
                    color_scheme="gray",
                    aria_label="People of this project",
                    id="people-button",
                )
            ),
            rx.dialog.content(
                rx.dialog.title("People of this project"),
                rx.dialog.description(
                    rx.cond(
                        WorkspaceState.is_owner,
                        "Editors change the project; viewers see it, its history and its preview.",
                        "The owner chooses who works on this project.",
                    ),
                    size="2",
                ),
                rx.vstack(
                    rx.foreach(PeopleState.members, member_row),
                    spacing="3",
                    width="100%",
                    margin_y="16px",
                    id="people-list",
                ),
                rx.cond(WorkspaceState.is_owner, add_form()),
                rx.cond(
                    PeopleState.error != "",
                    rx.text(PeopleState.error, color=rx.color("red", 11), size="2", margin_top="8px", id="people-error"),
                ),
                rx.cond(
                    PeopleState.notice != "",
                    rx.text(PeopleState.notice, color=rx.color("green", 11), size="2", margin_top="8px", id="people-notice"),
                ),
                rx.flex(
                    rx.cond(~WorkspaceState.is_owner, leave_button()),
                    rx.spacer(),
                    rx.dialog.close(rx.button("Done", variant="soft", color_scheme="gray")),
                    margin_top="16px",
                    width="100%",
                ),
                max_width="560px",
                class_name="people-dialog",
            ),
            open=PeopleState.open_dialog,
            on_open_change=PeopleState.set_open,
        ),
    )
