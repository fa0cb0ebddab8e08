"""The admin page's MCP servers section: add a team's server (a name, and its address with a token if it needs one, or
the command that starts it with its environment values), list its tools, tick those the agent may use, remove it. A
token is typed into a password field, and neither it nor the values are shown again."""

import reflex as rx

from builder.components.admin_layout import admin_section
from builder.state.admin_mcp import AdminMcpState, McpServerRow, McpToolRow


def _form() -> rx.Component:
    return rx.form(
        rx.vstack(
            rx.text("Add a server", size="3", weight="bold"),
            rx.grid(
                rx.el.label(
                    rx.text("Name", size="2", weight="medium"),
                    rx.input(name="name", id="mcp-name", width="100%", placeholder="tickets"),
                    class_name="admin-model-label",
                ),
                rx.el.label(
                    rx.text("Address", size="2", weight="medium"),
                    rx.input(name="url", id="mcp-url", width="100%", placeholder="https://tools.example.com/mcp"),
                    class_name="admin-model-label",
                ),
                rx.el.label(
                    rx.text("Token", size="2", weight="medium"),
                    rx.input(
                        type="password",
                        name="token",
                        id="mcp-token",
                        auto_complete="off",
                        width="100%",
                        placeholder="If it needs one",
                    ),
                    class_name="admin-model-label",
                ),
                columns=rx.breakpoints(initial="1", md="3"),
                spacing="3",
                width="100%",
            ),
            rx.grid(
                rx.el.label(
                    rx.text("Or the command that starts it", size="2", weight="medium"),
                    rx.input(
                        name="command",
                        id="mcp-command",
                        width="100%",
                        placeholder="npx -y @modelcontextprotocol/server-everything",
                    ),
                    class_name="admin-model-label",
                ),
                rx.el.label(
                    rx.text("Its environment values", size="2", weight="medium"),
                    rx.text_area(
                        name="env",
                        id="mcp-env",
                        width="100%",
                        rows="2",
                        placeholder="One NAME=value a line, if it needs any",
                    ),
                    class_name="admin-model-label",
                ),
                columns=rx.breakpoints(initial="1", md="2"),
                spacing="3",
                width="100%",
            ),
            rx.text(
                "A command runs in a sandbox of its own, which reaches only the package registries, for each run that "
                "uses it. The token and the environment values are kept encrypted and never shown again.",
                size="1",
                color=rx.color("gray", 11),
            ),
            rx.button(rx.icon("plus", size=14), "Add", type="submit", loading=AdminMcpState.saving, id="mcp-add"),
            spacing="3",
            width="100%",
        ),
        on_submit=AdminMcpState.add,
        id="mcp-form",
        width="100%",
    )


def _tool(tool: McpToolRow) -> rx.Component:
    return rx.el.label(
        rx.checkbox(
            checked=tool.allowed,
            on_change=lambda on: AdminMcpState.tick(tool.server_id, tool.name, on),
            class_name="mcp-tool-tick",
        ),
        rx.vstack(
            rx.hstack(
                rx.text(tool.name, size="2", weight="medium"),
                rx.cond(tool.changes_things, rx.badge("Changes things", color_scheme="amber", variant="soft", size="1")),
                spacing="2",
                wrap="wrap",
            ),
            rx.text(tool.description, size="1", color=rx.color("gray", 11)),
            spacing="0",
        ),
        class_name="mcp-tool",
    )


def _server(row: McpServerRow) -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.flex(
                rx.text(row.name, weight="bold", size="3"),
                rx.spacer(),
                rx.hstack(
                    rx.button(
                        rx.icon("list", size=14),
                        "List tools",
                        size="1",
                        variant="soft",
                        loading=AdminMcpState.listing == row.id,
                        on_click=AdminMcpState.list_tools(row.id),
                        class_name="mcp-list-tools",
                    ),
                    rx.button(
                        "Remove",
                        size="1",
                        variant="soft",
                        color_scheme="red",
                        on_click=AdminMcpState.remove(row.id),
                        class_name="mcp-remove",
                    ),
                    spacing="2",
                ),
                align="center",
                spacing="2",
                wrap="wrap",
                width="100%",
            ),
            rx.text(row.where, " \u00b7 ", row.secrets, size="2", class_name="model-where"),
            rx.text(row.added, size="1", color=rx.color("gray", 11)),
            rx.cond(
                row.listed,
                rx.vstack(
                    rx.text("The agent may use the ticked tools:", size="2"),
                    rx.foreach(row.tools, _tool),
                    spacing="2",
                    width="100%",
                ),
                rx.text("No tools listed yet: press List tools.", size="1", color=rx.color("gray", 11)),
            ),
            spacing="2",
            width="100%",
        ),
        width="100%",
        class_name="admin-mcp-server",
    )


def mcp_section() -> rx.Component:
    return admin_section(
        "MCP servers",
        "admin-mcp",
        "Your team's tool servers the agent can use while it changes an app: a ticket tracker, a design library, an "
        "internal API. The agent uses only the tools ticked here. A tool that changes things runs only when the "
        "person who starts the run allows it.",
        rx.cond(
            AdminMcpState.error != "",
            rx.callout(AdminMcpState.error, icon="triangle-alert", color_scheme="red", size="1", width="100%", id="mcp-error"),
        ),
        rx.cond(
            AdminMcpState.rows.length() > 0,
            rx.vstack(rx.foreach(AdminMcpState.rows, _server), spacing="2", width="100%", id="admin-mcp-list"),
            rx.text("No server is added yet.", size="2", color=rx.color("gray", 11), id="admin-no-mcp"),
        ),
        _form(),
    )
