"""/admin: this Forja's people, invitations and quotas (with accounts), the models it builds with, the teams' MCP servers its agent may use, its usage over time, the previews running,
the published apps (and those live with open review findings) and its health. Anyone but an admin gets a plain refusal (and the services refuse them anyway)."""

import reflex as rx

from builder.components.admin_apps import apps_section
from builder.components.admin_mcp import mcp_section
from builder.components.admin_models import models_section
from builder.components.admin_people import invitations_section, quotas_section, users_section
from builder.components.admin_reviews import reviews_section
from builder.components.admin_server import evals_section, health_section, previews_section
from builder.components.admin_usage import usage_section
from builder.components.layout import top_bar
from builder.state.admin import AdminState

ACCOUNT_SECTIONS = [("People", "admin-users"), ("Invitations", "admin-invitations"), ("Quotas", "admin-quotas")]
SERVER_SECTIONS = [
    ("Models", "admin-models"),
    ("MCP servers", "admin-mcp"),
    ("Usage", "admin-usage"),
    ("Previews", "admin-previews"),
    ("Apps", "admin-apps"),
    ("Problems", "admin-reviews"),
    ("Health", "admin-health"),
]


def _jump(label: str, anchor: str) -> rx.Component:
    return rx.link(label, href=f"#{anchor}", size="2", class_name="admin-jump")


def _header() -> rx.Component:
    return rx.vstack(
        rx.hstack(
            rx.heading("Admin", size="7", as_="h1"),
            rx.spacer(),
            rx.button(rx.icon("refresh-cw", size=14), "Refresh", variant="soft", on_click=AdminState.refresh, id="admin-refresh"),
            align="center",
            width="100%",
        ),
        rx.el.nav(
            rx.cond(AdminState.accounts, rx.fragment(*[_jump(*section) for section in ACCOUNT_SECTIONS])),
            *[_jump(*section) for section in SERVER_SECTIONS],
            class_name="admin-nav",
            aria_label="Sections",
        ),
        rx.cond(
            ~AdminState.accounts,
            rx.callout(
                "This Forja has no accounts (FORJA_AUTH=none): you are its one user. With FORJA_AUTH=password it has "
                "people, invitations and quotas, managed here.",
                icon="info",
                color_scheme="gray",
                size="1",
                width="100%",
            ),
        ),
        spacing="3",
        width="100%",
    )


def _refused() -> rx.Component:
    return rx.center(
        rx.card(
            rx.vstack(
                rx.icon("shield-x", size=28, color=rx.color("gray", 10)),
                rx.heading("Only admins of this Forja can open this page", size="5", as_="h1", text_align="center"),
                rx.text(
                    "If you need something changed (a quota, a role), ask one of its admins.",
                    size="2",
                    color=rx.color("gray", 11),
                    text_align="center",
                ),
                rx.link("Back to your projects", href="/", size="2"),
                align="center",
                spacing="3",
            ),
            size="4",
            max_width="480px",
            id="admin-refused",
        ),
        padding="3em 1em",
        width="100%",
    )


def admin_page() -> rx.Component:
    return rx.vstack(
        top_bar(
            rx.spacer(),
            rx.link("Home", href="/", size="2", color=rx.color("gray", 11)),
            rx.link("This machine", href="/doctor", size="2", color=rx.color("gray", 11), class_name="admin-top-link"),
        ),
        rx.cond(
            AdminState.loaded,
            rx.cond(
                AdminState.allowed,
                rx.vstack(
                    _header(),
                    rx.cond(AdminState.accounts, rx.fragment(users_section(), invitations_section(), quotas_section())),
                    models_section(),
                    mcp_section(),
                    usage_section(),
                    previews_section(),
                    apps_section(),
                    reviews_section(),
                    evals_section(),
                    health_section(),
                    spacing="5",
                    width="100%",
                    class_name="admin-page",
                ),
                _refused(),
            ),
            rx.center(rx.spinner(size="3"), padding="4em", width="100%"),
        ),
        align="center",
        spacing="0",
        min_height="100vh",
        background=rx.color("gray", 2),
    )
