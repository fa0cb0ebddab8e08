"""The signed-in person at the right of the top bar: their account, the admin page, signing out."""

import reflex as rx

from builder.state.auth import AuthState


def sign_out_form() -> rx.Component:
    return rx.el.form(
        rx.el.button(rx.icon("log-out", size=14), "Sign out", type="submit", class_name="menu-form-button", id="sign-out"),
        rx.el.p("", data_forja_auth_error="", hidden=True, role="alert", class_name="auth-error"),
        action="/api/auth/sign-out",
        data_forja_auth="",
    )


def user_menu() -> rx.Component:
    """Empty without accounts (FORJA_AUTH=none): the laptop's one user has nothing to sign out of."""
    return rx.cond(
        AuthState.user_email != "",
        rx.menu.root(
            rx.menu.trigger(
                rx.button(
                    # The name beside it says who: the initial would only be read out before it.
                    rx.avatar(fallback=AuthState.user_initial, size="1", radius="full", aria_hidden="true"),
                    rx.text(AuthState.user_name, size="2", class_name="user-menu-name"),
                    rx.icon("chevron-down", size=14),
                    variant="ghost",
                    color_scheme="gray",
                    id="user-menu",
                ),
            ),
            rx.menu.content(
                rx.text(AuthState.user_email, size="1", color=rx.color("gray", 11), class_name="user-menu-email"),
                rx.menu.item(rx.icon("user", size=14), "Account", on_select=rx.redirect("/account"), id="menu-account"),
                rx.cond(
                    AuthState.is_admin,
                    rx.menu.item(rx.icon("shield", size=14), "Admin", on_select=rx.redirect("/admin"), id="menu-admin"),
                ),
                rx.menu.separator(),
                sign_out_form(),
                align="end",
            ),
        ),
    )
