"""The Account page `/account`: who you are, your password, your API and git tokens, and your usage against your
limits."""

import reflex as rx

from builder.components.confirm import confirm
from builder.components.layout import top_bar
from builder.components.usage_meters import usage_meter
from builder.pages.signin import field, form_error
from builder.state.account import AccountState, GitTokenRow, TokenRow
from builder.state.auth import AuthState


def section(title: str, description: str, *children: rx.Component, **props) -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.heading(title, size="4"),
            rx.text(description, size="2", color=rx.color("gray", 11)),
            *children,
            spacing="3",
            width="100%",
        ),
        size="3",
        width="100%",
        class_name="account-section",
        **props,
    )


def who_you_are() -> rx.Component:
    return rx.card(
        rx.hstack(
            rx.avatar(fallback=AuthState.user_initial, size="5", radius="full"),
            rx.vstack(
                rx.heading(AuthState.user_name, size="5", id="account-name"),
                rx.text(AuthState.user_email, size="2", color=rx.color("gray", 11), id="account-email"),
                rx.badge(
                    rx.cond(AuthState.is_admin, "Admin of this Forja", "Member"),
                    color_scheme=rx.cond(AuthState.is_admin, "orange", "gray"),
                    variant="soft",
                    id="account-role",
                ),
                spacing="1",
                min_width="0",
            ),
            align="center",
            spacing="4",
        ),
        size="3",
        width="100%",
    )


def password_form() -> rx.Component:
    return section(
        "Password",
        "Changing it signs you out everywhere else; this browser stays signed in.",
        rx.el.form(
            rx.vstack(
                field("Current password", "current", "password", auto_complete="current-password", required=True),
                field("New password (8 characters or more)", "new", "password", auto_complete="new-password", required=True),
                form_error(),
                rx.el.p("", data_forja_auth_done="", hidden=True, role="status", class_name="auth-done", id="password-done"),
                rx.button("Change password", type="submit", id="password-submit"),
                spacing="3",
                width="100%",
                align="start",
            ),
            action="/api/auth/password",
            data_forja_auth="",
            data_forja_done="Password changed; your other sign-ins ended.",
            id="password-form",
            class_name="account-form",
        ),
    )


def token_row(row: TokenRow) -> rx.Component:
    return rx.hstack(
        rx.icon("key-round", size=16, color=rx.color("gray", 10), flex_shrink="0"),
        rx.vstack(
            rx.hstack(
                rx.text(row.name, size="2", weight="medium", truncate=True),
                rx.code(row.hint, "\u2026", size="1", variant="ghost"),
                align="center",
                spacing="2",
                min_width="0",
            ),
            rx.text("Made ", row.created, " \u00b7 last used ", row.last_used, size="1", color=rx.color("gray", 11)),
            spacing="1",
            flex="1",
            min_width="0",
        ),
        confirm(
            rx.button("Revoke", size="1", variant="soft", color_scheme="red", class_name="revoke-token"),
            "Revoke \u201c" + row.name + "\u201d?",
            "Scripts and CLIs that use it stop working at once. This cannot be undone; you can make a new token.",
            "Revoke",
            AccountState.revoke_token(row.id),
            "confirm-revoke-token",
            color_scheme="red",
        ),
        align="center",
        spacing="3",
        width="100%",
        class_name="token-row",
        data_name=row.name,
    )


def new_token_dialog() -> rx.Component:
    """The token in full, this once; with how to use it from the CLI and from any HTTP client."""
    cli = "python -m builder projects --server " + AccountState.server_url + " --token " + AccountState.new_token
    curl = "curl -H 'Authorization: Bearer " + AccountState.new_token + "' " + AccountState.server_url + "/api/projects"
    return rx.dialog.root(
        rx.dialog.content(
            rx.dialog.title("Your new token: ", AccountState.new_token_name),
            rx.dialog.description("Copy it now: Forja keeps only a fingerprint of it and cannot show it again.", size="2"),
            rx.hstack(
                rx.input(
                    value=AccountState.new_token,
                    read_only=True,
                    flex="1",
                    font_family="monospace",
                    id="new-token",
                    aria_label="Your new token",
                ),
                rx.button(
                    rx.icon("copy", size=14),
                    "Copy",
                    on_click=[rx.set_clipboard(AccountState.new_token), rx.toast("Token copied.")],
                    id="copy-token",
                ),
                width="100%",
                margin_top="12px",
            ),
            rx.text("From the command line:", size="2", weight="medium", margin_top="16px"),
            rx.el.pre(cli, class_name="token-usage", id="token-cli"),
            rx.text("From any HTTP client, as a header:", size="2", weight="medium", margin_top="8px"),
            rx.el.pre(curl, class_name="token-usage", id="token-curl"),
            rx.text(
                "Whoever has it acts as you on this Forja. Revoke it here when you no longer need it.",
                size="1",
                color=rx.color("gray", 11),
                margin_top="8px",
            ),
            rx.flex(rx.dialog.close(rx.button("Done", id="token-done")), justify="end", margin_top="16px"),
            max_width="640px",
        ),
        open=AccountState.new_token != "",
        on_open_change=AccountState.close_token_dialog,
    )


def tokens_section() -> rx.Component:
    return section(
        "API tokens",
        "For the CLI and scripts: a token acts as you, without your password. For git, use a git token (below).",
        rx.form(
            rx.flex(
                rx.input(
                    value=AccountState.token_name,
                    on_change=AccountState.set_token_name,
                    placeholder="What it is for, e.g. laptop CLI",
                    max_length=100,
                    aria_label="Name of the new token",
                    flex="1",
                    min_width="200px",
                    id="token-name",
                ),
                rx.button(rx.icon("plus", size=14), "Make a token", type="submit", id="make-token"),
                spacing="2",
                wrap="wrap",
                width="100%",
            ),
            on_submit=AccountState.create_token,
            reset_on_submit=False,
            width="100%",
        ),
        rx.cond(
            AccountState.token_error != "",
            rx.text(AccountState.token_error, color=rx.color("red", 11), size="2", id="token-error"),
        ),
        rx.cond(
            AccountState.tokens.length() > 0,
            rx.vstack(rx.foreach(AccountState.tokens, token_row), spacing="3", width="100%", id="token-list"),
            rx.text("You have no tokens.", size="2", color=rx.color("gray", 11), id="no-tokens"),
        ),
        new_token_dialog(),
    )


def git_token_row(row: GitTokenRow) -> rx.Component:
    return rx.hstack(
        rx.icon("git-branch", size=16, color=rx.color("gray", 10), flex_shrink="0"),
        rx.vstack(
            rx.link(row.project_name, href="/p/" + row.project_id, size="2", weight="medium", truncate=True, max_width="100%"),
            rx.hstack(
                rx.badge(
                    rx.cond(row.can_push, "Clone and push", "Clone only"),
                    color_scheme=rx.cond(row.can_push, "orange", "gray"),
                    variant="soft",
                ),
                rx.code(row.hint, "\u2026", size="1", variant="ghost"),
                align="center",
                spacing="2",
                wrap="wrap",
            ),
            rx.text(
                rx.cond(row.name != "", row.name + " \u00b7 ", ""),
                "Made ",
                row.created,
                " \u00b7 expires ",
                row.expires,
                " \u00b7 last used ",
                row.last_used,
                size="1",
                color=rx.color("gray", 11),
            ),
            spacing="1",
            flex="1",
            min_width="0",
        ),
        confirm(
            rx.button("Revoke", size="1", variant="soft", color_scheme="red", class_name="revoke-git-token"),
            "Revoke the git token for \u201c" + row.project_name + "\u201d?",
            "git stops cloning, fetching and pushing with it at once. This cannot be undone; the project's Clone dialog "
            "makes a new one.",
            "Revoke",
            AccountState.revoke_git_token(row.id),
            "confirm-revoke-git-token",
            color_scheme="red",
        ),
        align="center",
        spacing="3",
        width="100%",
        class_name="git-token-row",
        data_project=row.project_id,
    )


def git_tokens_section() -> rx.Component:
    return section(
        "Git tokens",
        "Each lets git clone one project (and push, if you chose so) and stops working on the day it expires. A "
        "project's Clone dialog makes them.",
        rx.cond(
            AccountState.git_tokens.length() > 0,
            rx.vstack(rx.foreach(AccountState.git_tokens, git_token_row), spacing="3", width="100%", id="git-token-list"),
            rx.text("You have no git tokens that still work.", size="2", color=rx.color("gray", 11), id="no-git-tokens"),
        ),
        id="git-tokens",
    )


def failed_sign_ins_note() -> rx.Component:
    """Someone tried the account's password (and Forja slowed them down): said at the top of the page."""
    return rx.cond(
        AccountState.failed_sign_ins != "",
        rx.callout(AccountState.failed_sign_ins, icon="shield-alert", color_scheme="amber", width="100%", id="failed-sign-ins"),
    )


def usage_section() -> rx.Component:
    return section(
        "Usage and limits",
        "What you used of your quotas on this Forja. Ask an admin if you need more.",
        rx.vstack(rx.foreach(AccountState.meters, usage_meter), spacing="4", width="100%", id="usage-meters"),
    )


def no_accounts() -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.heading("There are no accounts on this Forja", size="5"),
            rx.text(
                "It runs without sign-in (FORJA_AUTH=none): everyone who opens it is the same local user, every project "
                "is theirs, and the API needs no token. To have accounts, passwords and limits, start Forja with "
                "FORJA_AUTH=password.",
                size="2",
                color=rx.color("gray", 11),
            ),
            rx.link(rx.button("Back to your projects", variant="soft"), href="/"),
            spacing="3",
            align="start",
        ),
        size="3",
        width="100%",
        id="no-accounts",
    )


def account_page() -> rx.Component:
    return rx.vstack(
        top_bar(
            rx.text("/", color=rx.color("gray", 11), class_name="crumb-slash"), rx.text("Account", weight="medium"), rx.spacer()
        ),
        rx.vstack(
            rx.cond(
                AccountState.accounts_on,
                rx.fragment(
                    who_you_are(),
                    failed_sign_ins_note(),
                    usage_section(),
                    tokens_section(),
                    git_tokens_section(),
                    password_form(),
                ),
                rx.cond(AccountState.loaded, no_accounts()),
            ),
            spacing="4",
            width="100%",
            max_width="720px",
            padding="2em 1em 3em",
            class_name="account-page",
        ),
        spacing="0",
        align="center",
        min_height="100vh",
        background=rx.color("gray", 2),
    )
