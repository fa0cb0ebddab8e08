"""The admin page's sections about people: accounts, invitations and the default quotas."""

import reflex as rx

from builder.components.admin_layout import admin_section, admin_table, link_shown_once
from builder.components.confirm import confirm
from builder.state.admin import AdminState
from builder.state.admin_rows import QUOTA_FIELDS, QUOTA_LABELS, InvitationRow, PersonRow

ROLES = ["member", "admin"]


def _role_select(row: PersonRow) -> rx.Component:
    return rx.select.root(
        rx.select.trigger(aria_label="Role of " + row.name),
        rx.select.content(*[rx.select.item(role, value=role) for role in ROLES]),
        value=row.role,
        on_change=lambda role: AdminState.set_role(row.id, role),
        # Another admin changes yours: a slip here would lock you out of this page.
        disabled=row.is_you,
        size="1",
    )


def _disable_button(row: PersonRow) -> rx.Component:
    return rx.cond(
        row.disabled,
        rx.button("Enable", size="1", variant="soft", color_scheme="green", on_click=AdminState.set_disabled(row.id, False)),
        confirm(
            rx.button("Disable", size="1", variant="soft", color_scheme="red", disabled=row.is_you, class_name="disable-user"),
            "Disable " + row.name + "?",
            "They are signed out everywhere at once and their API tokens stop working. Their projects stay, and you can "
            "enable the account again.",
            "Disable",
            AdminState.set_disabled(row.id, True),
            "confirm-disable",
            color_scheme="red",
        ),
    )


def _person(row: PersonRow) -> rx.Component:
    return rx.table.row(
        rx.table.row_header_cell(
            rx.vstack(
                rx.hstack(
                    rx.text(row.name, weight="medium"),
                    rx.cond(row.is_you, rx.badge("you", variant="outline", color_scheme="gray")),
                    spacing="2",
                    align="center",
                ),
                rx.text(row.email, size="1", color=rx.color("gray", 11)),
                spacing="0",
            )
        ),
        rx.table.cell(_role_select(row)),
        rx.table.cell(
            rx.cond(
                row.disabled,
                rx.badge("disabled", color_scheme="red", variant="soft"),
                rx.badge("active", color_scheme="green", variant="soft"),
            )
        ),
        rx.table.cell(row.last_sign_in, white_space="nowrap"),
        rx.table.cell(row.projects, class_name="admin-number"),
        rx.table.cell(row.storage, class_name="admin-number"),
        rx.table.cell(row.tokens_today, class_name="admin-number user-tokens"),
        rx.table.cell(row.cost_today, class_name="admin-number user-cost"),
        rx.table.cell(
            rx.hstack(
                rx.button("Quotas", size="1", variant="soft", on_click=AdminState.open_quotas(row.id), class_name="edit-quotas"),
                rx.button("Reset link", size="1", variant="soft", color_scheme="gray", on_click=AdminState.reset_link(row.id)),
                _disable_button(row),
                spacing="2",
                wrap="nowrap",
            )
        ),
        class_name="admin-user",
        data_email=row.email,
    )


def _quota_input(name: str, value: rx.Var[str] | str, on_change, placeholder: rx.Var[str] | str, hint: rx.Var[str] | str = ""):
    return rx.el.label(
        rx.text(QUOTA_LABELS[name], size="2", weight="medium"),
        rx.input(
            value=value,
            on_change=on_change,
            placeholder=placeholder,
            input_mode="decimal" if name == "cost_day_usd" else "numeric",
            width="100%",
            name=name,
        ),
        rx.cond(hint != "", rx.text(hint, size="1", color=rx.color("gray", 11))),
        class_name="admin-quota-field",
    )


def _quotas_dialog() -> rx.Component:
    return rx.dialog.root(
        rx.dialog.content(
            rx.dialog.title("Quotas of ", AdminState.quota_user_name),
            rx.dialog.description(
                "Leave a field empty for the default (shown in it); 0 means no limit.", size="2", margin_bottom="12px"
            ),
            rx.grid(
                *[
                    _quota_input(
                        name,
                        AdminState.quota_fields[name],
                        lambda value, name=name: AdminState.set_quota_field(name, value),
                        AdminState.quota_placeholders[name],
                    )
                    for name in QUOTA_FIELDS
                ],
                columns=rx.breakpoints(initial="1", sm="2"),
                spacing="3",
                width="100%",
            ),
            rx.flex(
                rx.dialog.close(rx.button("Cancel", variant="soft", color_scheme="gray")),
                rx.button("Save quotas", on_click=AdminState.save_quotas, id="save-quotas"),
                spacing="3",
                justify="end",
                margin_top="16px",
            ),
            max_width="520px",
            id="quotas-dialog",
        ),
        open=AdminState.quota_user != "",
        on_open_change=AdminState.close_quotas,
    )


def users_section() -> rx.Component:
    return admin_section(
        "People",
        "admin-users",
        "Everyone with an account on this Forja, what they hold and what they used today (UTC).",
        link_shown_once("reset"),
        admin_table(
            ["Person", "Role", "Status", "Last sign-in", "Projects", "Storage", "Tokens today", "Cost today", ""],
            rx.foreach(AdminState.people, _person),
            "users-table",
            "People",
            numbers=("Projects", "Storage", "Tokens today", "Cost today"),
        ),
        _quotas_dialog(),
    )


def _invitation(row: InvitationRow) -> rx.Component:
    return rx.hstack(
        rx.icon("mail", size=16, color=rx.color("gray", 10), flex_shrink="0"),
        rx.vstack(
            rx.text(row.email, size="2", weight="medium"),
            rx.text("Works until ", row.expires, size="1", color=rx.color("gray", 11)),
            spacing="0",
            flex="1",
            min_width="0",
        ),
        rx.button(
            "Withdraw", size="1", variant="soft", color_scheme="red", on_click=AdminState.withdraw(row.id), class_name="withdraw"
        ),
        align="center",
        width="100%",
        class_name="admin-invitation",
    )


def invitations_section() -> rx.Component:
    return admin_section(
        "Invitations",
        "admin-invitations",
        "A link that makes one account, for a week. Give an address to keep it to that person.",
        rx.flex(
            rx.input(
                value=AdminState.invite_email,
                on_change=AdminState.set_invite_email,
                placeholder="Their email (optional)",
                type="email",
                flex="1",
                min_width="12em",
                id="invite-email",
                aria_label="Email of the person invited (optional)",
            ),
            rx.select.root(
                rx.select.trigger(aria_label="Role of the new account"),
                rx.select.content(*[rx.select.item(f"as {role}", value=role) for role in ROLES]),
                value=AdminState.invite_role,
                on_change=AdminState.set_invite_role,
            ),
            rx.button(rx.icon("user-plus", size=14), "Make invitation link", on_click=AdminState.invite, id="invite-button"),
            spacing="2",
            wrap="wrap",
            width="100%",
        ),
        link_shown_once("invite"),
        rx.cond(
            AdminState.invitations.length() > 0,
            rx.vstack(
                rx.text("Open invitations", size="2", weight="bold"),
                rx.foreach(AdminState.invitations, _invitation),
                spacing="2",
                width="100%",
                id="open-invitations",
            ),
            rx.text("No open invitations.", size="2", color=rx.color("gray", 11)),
        ),
    )


def quotas_section() -> rx.Component:
    return admin_section(
        "Default quotas",
        "admin-quotas",
        "What each person may use, unless they have quotas of their own. 0 means no limit; empty goes back to the "
        "setting named under the field.",
        rx.grid(
            *[
                _quota_input(
                    name,
                    AdminState.defaults[name],
                    lambda value, name=name: AdminState.set_default(name, value),
                    "",
                    AdminState.default_hints[name],
                )
                for name in QUOTA_FIELDS
            ],
            columns=rx.breakpoints(initial="1", sm="2", md="3", lg="4"),
            spacing="3",
            width="100%",
            id="default-quotas",
        ),
        rx.button("Save defaults", on_click=AdminState.save_defaults, id="save-defaults"),
    )
