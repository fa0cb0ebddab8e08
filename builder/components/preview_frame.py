"""The Preview tab's frame and the in-browser WebContainer runner (assets/forja_preview.jsx)."""

import reflex as rx
from reflex.event import passthrough_event_spec


class ForjaPreview(rx.NoSSRComponent):
    library = "$/public/forja_preview.jsx"
    tag = "ForjaPreview"
    lib_dependencies: list[str] = ["@webcontainer/api@1.6.1"]

    project_id: rx.Var[str]
    url: rx.Var[str]
    open_url: rx.Var[str]
    reloads: rx.Var[int]
    hot_reload: rx.Var[bool]
    mode: rx.Var[str]
    run: rx.Var[int]
    version: rx.Var[int]
    install: rx.Var[list[str]]
    dev: rx.Var[list[str]]
    port: rx.Var[int]
    boot_timeout_ms: rx.Var[int]
    client_id: rx.Var[str]

    on_ready: rx.EventHandler[passthrough_event_spec(str)]
    on_fallback: rx.EventHandler[passthrough_event_spec(str)]
    on_failed: rx.EventHandler[passthrough_event_spec(str)]

    # Select mode (builder/state/select.py): on or off, an "Edit text" ask, and what the frame reports (JSON).
    selecting: rx.Var[bool]
    select_edit: rx.Var[str]
    on_picked: rx.EventHandler[passthrough_event_spec(str)]
    on_text_typed: rx.EventHandler[passthrough_event_spec(str)]


forja_preview = ForjaPreview.create
