"""The admin page's Models section: connect a model (a provider, its key, an address for an OpenAI-compatible server,
the model), test it, make it the default, remove it. A key is typed into a password field and never shown again."""

import reflex as rx

from builder.components.admin_layout import admin_section
from builder.state.admin_models import KINDS, AdminModelsState, ModelRow


def _field(label: str, control: rx.Component, hint: str = "") -> rx.Component:
    return rx.vstack(
        rx.el.label(rx.text(label, size="2", weight="medium"), control, class_name="admin-model-label"),
        rx.cond(hint != "", rx.text(hint, size="1", color=rx.color("gray", 11))),
        spacing="1",
        width="100%",
    )


def _form() -> rx.Component:
    return rx.form(
        rx.vstack(
            rx.text("Connect a model", size="3", weight="bold"),
            rx.radio_group.root(
                rx.flex(
                    *[
                        rx.el.label(rx.radio_group.item(value=value), rx.text(label, size="2"), class_name="admin-model-kind")
                        for value, label in KINDS
                    ],
                    direction=rx.breakpoints(initial="column", sm="row"),
                    spacing=rx.breakpoints(initial="2", sm="5"),
                ),
                value=AdminModelsState.kind,
                on_change=AdminModelsState.set_kind,
                name="kind",
                id="model-kind",
                aria_label="Provider",
            ),
            rx.grid(
                _field(
                    "Key",
                    rx.input(
                        type="password",
                        name="api_key",
                        id="model-key",
                        auto_complete="off",
                        width="100%",
                        placeholder=rx.cond(
                            AdminModelsState.kind == "anthropic", "sk-ant-...", "sk-... (none for a local server)"
                        ),
                    ),
                    "Kept encrypted; never shown again.",
                ),
                rx.cond(
                    AdminModelsState.kind == "openai",
                    _field(
                        "Address",
                        rx.input(name="base_url", id="model-url", width="100%", placeholder="http://127.0.0.1:11434/v1"),
                        "Empty for OpenAI itself; a server's address for Ollama, LM Studio, vLLM, OpenRouter...",
                    ),
                ),
                _field(
                    "Model", rx.input(name="model", id="model-name", width="100%", placeholder=AdminModelsState.model_placeholder)
                ),
                columns=rx.breakpoints(initial="1", md="3"),
                spacing="3",
                width="100%",
            ),
            rx.cond(
                AdminModelsState.error != "",
                rx.callout(
                    AdminModelsState.error, icon="triangle-alert", color_scheme="red", size="1", width="100%", id="model-error"
                ),
            ),
            rx.button(rx.icon("plug", size=14), "Connect", type="submit", loading=AdminModelsState.saving, id="model-connect"),
            spacing="3",
            width="100%",
        ),
        on_submit=AdminModelsState.add,
        id="model-form",
        width="100%",
    )


def _connection(row: ModelRow) -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.flex(
                rx.hstack(
                    rx.text(row.label, weight="bold", size="3"),
                    rx.cond(row.is_default, rx.badge("Default", color_scheme="green", variant="soft")),
                    align="center",
                    spacing="2",
                ),
                rx.spacer(),
                rx.hstack(
                    rx.button(
                        rx.icon("activity", size=14),
                        "Test it",
                        size="1",
                        variant="soft",
                        loading=AdminModelsState.testing == row.id,
                        on_click=AdminModelsState.test(row.id),
                        class_name="model-test",
                    ),
                    rx.cond(
                        row.is_default,
                        rx.fragment(),
                        rx.button(
                            "Make default",
                            size="1",
                            variant="soft",
                            color_scheme="gray",
                            on_click=AdminModelsState.make_default(row.id),
                            class_name="model-default",
                        ),
                    ),
                    rx.button(
                        "Remove",
                        size="1",
                        variant="soft",
                        color_scheme="red",
                        on_click=AdminModelsState.remove(row.id),
                        class_name="model-remove",
                    ),
                    spacing="2",
                    wrap="wrap",
                ),
                align="center",
                spacing="2",
                wrap="wrap",
                width="100%",
            ),
            rx.text(row.model, " \u00b7 ", row.where, " \u00b7 ", row.key, size="2", class_name="model-where"),
            rx.text(row.added, size="1", color=rx.color("gray", 11)),
            rx.cond(
                row.environment_wins,
                rx.text(
                    "Not used: the server's environment sets this provider (its settings win).",
                    size="1",
                    color=rx.color("amber", 11),
                ),
            ),
            rx.cond(
                row.unused,
                rx.text(
                    "Not used: another ",
                    row.label,
                    " connection is (the default one, else the newest). Make this one the default to use it.",
                    size="1",
                    color=rx.color("amber", 11),
                    class_name="model-unused",
                ),
            ),
            rx.cond(
                row.tested != "",
                rx.callout(
                    row.tested,
                    icon=rx.cond(row.answered, "circle-check", "circle-x"),
                    color_scheme=rx.cond(row.answered, "green", "red"),
                    size="1",
                    class_name="model-tested",
                ),
            ),
            spacing="2",
            width="100%",
        ),
        width="100%",
        class_name="admin-model",
        data_model=row.label,
    )


def models_section() -> rx.Component:
    return admin_section(
        "Models",
        "admin-models",
        "The AI models Forja builds apps with. Without one, it builds only from its offline starters. A model "
        "connected here is used at once; the default one is used by every project that has not picked another.",
        rx.cond(
            AdminModelsState.rows.length() > 0,
            rx.vstack(rx.foreach(AdminModelsState.rows, _connection), spacing="2", width="100%", id="admin-model-list"),
            rx.text("No model is connected yet.", size="2", color=rx.color("gray", 11), id="admin-no-models"),
        ),
        _form(),
    )
