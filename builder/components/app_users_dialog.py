"""The Users dialog (from the project menu and the Publish dialog): the people who signed up to the published app, or
in the preview (a choice at its top: their accounts are apart), with their role and whether they may sign in; the owner
makes them admin, turns them off and on, and removes them (asked first). For the published app it lets anyone sign up
or only the people the owner invites, invites them by email (or says plainly that this Forja cannot send email), and
lists the invitations still waiting, each of which the owner may withdraw."""

import reflex as rx

from builder.components.app_dialogs import messages, scope_choice
from builder.components.confirm import confirm
from builder.state.app_users import AppUserRow, AppUsersState, InvitedRow

MUTED = rx.color("gray", 11)


def _badges(row: AppUserRow) -> rx.Component:
    return rx.hstack(
        rx.cond(
            row.admin,
            rx.badge("Admin", color_scheme="orange", variant="soft", class_name="app-user-role"),
            rx.badge("User", color_scheme="gray", variant="soft", class_name="app-user-role"),
        ),
        rx.cond(row.off, rx.badge("Turned off", color_scheme="red", variant="soft", class_name="app-user-off")),
        rx.text("joined ", row.joined, size="1", color=MUTED),
        align="center",
        spacing="2",
        wrap="wrap",
    )


def _actions(row: AppUserRow) -> rx.Component:
    return rx.hstack(
        rx.cond(
            row.admin,
            rx.button(
                "Make user", size="1", variant="soft", on_click=AppUsersState.make_user(row.id), class_name="app-user-make-user"
            ),
            rx.button(
                "Make admin",
                size="1",
                variant="soft",
                on_click=AppUsersState.make_admin(row.id),
                class_name="app-user-make-admin",
            ),
        ),
        rx.cond(
            row.off,
            rx.button(
                "Turn on",
                size="1",
                variant="soft",
                color_scheme="green",
                on_click=AppUsersState.turn_on(row.id),
                class_name="app-user-on",
            ),
            rx.button(
                "Turn off",
                size="1",
                variant="soft",
                color_scheme="gray",
                on_click=AppUsersState.turn_off(row.id),
                class_name="app-user-off-button",
            ),
        ),
        confirm(
            rx.button(
                rx.icon("trash-2", size=14),
                size="1",
                variant="soft",
                color_scheme="red",
                aria_label="Remove " + row.email,
                class_name="app-user-remove",
            ),
            "Remove " + row.email + "?",
            "Their account on your app is deleted and they are signed out. They can sign up again, as someone new.",
            "Remove",
            AppUsersState.remove(row.id),
            "app-user-remove-confirm",
            color_scheme="red",
        ),
        spacing="2",
        flex_shrink="0",
    )


def app_user_row(row: AppUserRow) -> rx.Component:
    return rx.flex(
        rx.vstack(
            rx.text(row.email, size="2", weight="medium", class_name="app-user-email", word_break="break-all"),
            _badges(row),
            spacing="1",
            min_width="0",
            flex="1 1 14em",
        ),
        _actions(row),
        align="center",
        spacing="2",
        wrap="wrap",
        width="100%",
        padding_y="8px",
        border_bottom=f"1px solid {rx.color('gray', 4)}",
        class_name="app-user-row",
        data_email=row.email,
    )


def _empty() -> rx.Component:
    return rx.cond(
        AppUsersState.scope == "preview",
        rx.text(
            "Nobody has signed up in the preview yet. Use your app's sign-up page in the Preview tab: those accounts are "
            "for trying your app out, and only work there.",
            size="2",
            color=MUTED,
            id="app-users-empty",
        ),
        _empty_live(),
    )


def _empty_live() -> rx.Component:
    return rx.cond(
        AppUsersState.sign_up_url != "",
        rx.vstack(
            rx.text("Nobody has signed up yet.", size="2", weight="medium"),
            rx.text("People make an account on your app's sign-up page:", size="2", color=MUTED),
            rx.link(
                AppUsersState.sign_up_url,
                href=AppUsersState.sign_up_url,
                is_external=True,
                size="2",
                word_break="break-all",
                id="app-sign-up-link",
            ),
            spacing="1",
            width="100%",
            id="app-users-empty",
        ),
        rx.text(
            "Publish your app first: people sign up on its own address, and they show here.",
            size="2",
            color=MUTED,
            id="app-users-empty",
        ),
    )


def _invited_row(row: InvitedRow) -> rx.Component:
    return rx.flex(
        rx.text(row.email, size="2", word_break="break-all", class_name="app-invited-email"),
        rx.text("until ", row.until, size="1", color=MUTED, white_space="nowrap"),
        rx.spacer(),
        rx.button(
            "Withdraw",
            size="1",
            variant="soft",
            color_scheme="gray",
            on_click=AppUsersState.withdraw(row.id),
            aria_label="Withdraw the invitation of " + row.email,
            class_name="app-invited-withdraw",
        ),
        align="center",
        spacing="2",
        wrap="wrap",
        width="100%",
        class_name="app-invited-row",
        data_email=row.email,
    )


def _invited() -> rx.Component:
    """The invitations not used yet: a withdrawn one's link refuses sign-up."""
    return rx.cond(
        AppUsersState.invited.length() > 0,
        rx.vstack(
            rx.text("Invited", size="2", weight="medium"),
            rx.foreach(AppUsersState.invited, _invited_row),
            width="100%",
            spacing="1",
            id="app-invited-list",
        ),
    )


def _invitations() -> rx.Component:
    """Who may sign up, and an invitation by email; shown once the app is published (people sign up on its address)."""
    no_email = rx.callout(
        "This Forja cannot send email yet: you cannot invite people, and your app's people get no link to confirm "
        "their email or to choose a new password. Ask the admin of this Forja to set up email.",
        icon="mail-x",
        color_scheme="amber",
        width="100%",
        id="app-users-no-email",
    )
    invite_form = rx.form(
        rx.hstack(
            rx.input(
                placeholder="name@example.com",
                type="email",
                value=AppUsersState.invite_email,
                on_change=AppUsersState.set_invite_email,
                aria_label="Email to invite",
                flex="1",
                id="app-invite-email",
            ),
            rx.button(rx.icon("send", size=14), "Invite", type="submit", id="app-invite-button"),
            spacing="2",
            wrap="wrap",
            width="100%",
        ),
        on_submit=AppUsersState.invite,
        reset_on_submit=False,
        width="100%",
    )
    return rx.cond(
        (AppUsersState.app_url != "") & (AppUsersState.scope == "live"),
        rx.vstack(
            rx.hstack(
                rx.switch(
                    checked=AppUsersState.invite_only,
                    on_change=AppUsersState.set_invite_only,
                    aria_label="Only people I invite can make an account",
                    id="app-invite-only",
                ),
                rx.text("Only people I invite can make an account", size="2", as_="label", html_for="app-invite-only"),
                align="center",
                spacing="2",
            ),
            rx.cond(AppUsersState.can_email, invite_form, no_email),
            _invited(),
            width="100%",
            spacing="2",
            padding_top="8px",
            border_top=f"1px solid {rx.color('gray', 4)}",
        ),
    )


def app_users_dialog() -> rx.Component:
    return rx.dialog.root(
        rx.dialog.content(
            rx.dialog.title("People who use your app"),
            rx.dialog.description(
                "Everyone with an account on your app. An admin can see and change what everyone saved in it; someone "
                "turned off is signed out and cannot sign in until you turn them on.",
                size="2",
            ),
            rx.vstack(
                scope_choice(AppUsersState.scope, AppUsersState.set_scope, "app-users-scope", "Whose people"),
                rx.cond(
                    AppUsersState.rows.length() > 0,
                    rx.vstack(rx.foreach(AppUsersState.rows, app_user_row), width="100%", spacing="0", id="app-users-list"),
                    _empty(),
                ),
                _invitations(),
                messages(AppUsersState.error, AppUsersState.notice, "app-users"),
                width="100%",
                spacing="4",
                margin_top="12px",
            ),
            rx.flex(rx.dialog.close(rx.button("Done", variant="soft", color_scheme="gray")), justify="end", margin_top="16px"),
            max_width="640px",
        ),
        open=AppUsersState.open_dialog,
        on_open_change=AppUsersState.set_open,
    )
