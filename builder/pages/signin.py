"""Sign in, sign up (the first admin, an invitation, or open sign-up) and set a new password from a reset link.

Each form posts to /api/auth/... through assets/forja_auth.js: the answer sets the session cookie
(HttpOnly, so no page script could) and the page loads again where the person was going.
"""

from typing import Literal

import reflex as rx

from builder.components.layout import top_bar
from builder.state.signin import SignInState


def field(label: str, name: str, kind: Literal["text", "email", "password"] = "text", **props) -> rx.Component:
    return rx.el.label(
        rx.text(label, size="2", weight="medium"),
        rx.input(name=name, type=kind, size="3", width="100%", id=f"auth-{name}", **props),
        class_name="auth-field",
    )


def form_error() -> rx.Component:
    return rx.el.p("", data_forja_auth_error="", hidden=True, role="alert", class_name="auth-error")


def auth_card(*children: rx.Component) -> rx.Component:
    return rx.vstack(
        top_bar(),
        rx.center(
            rx.card(rx.vstack(*children, spacing="4", width="100%"), size="4", class_name="auth-card"),
            padding="3em 1em",
            width="100%",
        ),
        spacing="0",
        min_height="100vh",
        background=rx.color("gray", 2),
    )


def submit(label: str) -> rx.Component:
    return rx.button(label, type="submit", size="3", width="100%", id="auth-submit")


def login_page() -> rx.Component:
    return auth_card(
        rx.heading("Sign in to Forja", size="6"),
        rx.el.form(
            rx.vstack(
                field("Email", "email", "email", auto_complete="username", required=True, auto_focus=True),
                field("Password", "password", "password", auto_complete="current-password", required=True),
                rx.el.input(type="hidden", name="next", value=SignInState.next_path),
                form_error(),
                submit("Sign in"),
                spacing="3",
                width="100%",
            ),
            action="/api/auth/sign-in",
            data_forja_auth="",
            id="sign-in-form",
        ),
        rx.cond(
            SignInState.mode == "setup",
            rx.callout.root(
                rx.callout.icon(rx.icon("user-plus")),
                rx.callout.text("This Forja has no accounts yet. ", rx.link("Make the admin account", href="/signup"), " first."),
            ),
            rx.cond(
                SignInState.mode == "open",
                rx.text("New here? ", rx.link("Make an account", href="/signup"), size="2"),
                rx.text("New here? Ask an admin of this Forja for an invitation link.", size="2", color=rx.color("gray", 11)),
            ),
        ),
        rx.text(
            "Forgot your password? An admin of this Forja can give you a link to set a new one.",
            size="1",
            color=rx.color("gray", 11),
        ),
    )


def signup_page() -> rx.Component:
    return auth_card(
        rx.heading(SignInState.signup_title, size="6"),
        rx.cond(
            SignInState.mode == "setup",
            rx.text(
                "The first account is this Forja's admin: it can invite people, set their limits, and keeps the projects "
                "made before accounts. Forja printed a setup code in its log when it started; copy it here.",
                size="2",
                color=rx.color("gray", 11),
            ),
        ),
        rx.cond(
            SignInState.invite_broken,
            rx.callout(
                "This invitation link was used already or has expired. Ask the admin who sent it for a new one.",
                icon="triangle-alert",
                color_scheme="red",
            ),
        ),
        rx.cond(
            SignInState.signup_open,
            rx.el.form(
                rx.vstack(
                    field("Your name", "name", auto_complete="name", required=True, auto_focus=True),
                    field(
                        "Email",
                        "email",
                        "email",
                        auto_complete="username",
                        required=True,
                        default_value=SignInState.invite_email,
                    ),
                    field("Password (8 characters or more)", "password", "password", auto_complete="new-password", required=True),
                    rx.cond(
                        SignInState.mode == "setup",
                        field("Setup code from Forja's log", "setup_code", auto_complete="off", required=True),
                    ),
                    rx.el.input(type="hidden", name="invite", value=SignInState.invite),
                    rx.el.input(type="hidden", name="next", value=SignInState.next_path),
                    form_error(),
                    submit("Make my account"),
                    spacing="3",
                    width="100%",
                ),
                action="/api/auth/sign-up",
                data_forja_auth="",
                id="sign-up-form",
            ),
            rx.cond(
                ~SignInState.invite_broken,
                rx.text(
                    rx.cond(
                        SignInState.mode == "closed",
                        "Sign-up on this Forja is closed: an admin makes accounts.",
                        "Sign-up on this Forja is by invitation: ask an admin for a link.",
                    ),
                    size="2",
                    color=rx.color("gray", 11),
                ),
            ),
        ),
        rx.text("Have an account? ", rx.link("Sign in", href="/login"), size="2"),
    )


def reset_page() -> rx.Component:
    return auth_card(
        rx.heading("Set a new password", size="6"),
        rx.text("Your other sign-ins end when you set it.", size="2", color=rx.color("gray", 11)),
        rx.el.form(
            rx.vstack(
                field("New password (8 characters or more)", "password", "password", auto_complete="new-password", required=True),
                rx.el.input(type="hidden", name="token", value=SignInState.reset_token),
                form_error(),
                submit("Set password and sign in"),
                spacing="3",
                width="100%",
            ),
            action="/api/auth/reset",
            data_forja_auth="",
            id="reset-form",
        ),
    )
