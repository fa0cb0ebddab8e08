"""Monaco editor, bundled from npm by assets/monaco_editor.jsx (no CDN)."""

import reflex as rx


class MonacoEditor(rx.NoSSRComponent):
    library = "$/public/monaco_editor.jsx"
    tag = "ForjaEditor"
    lib_dependencies: list[str] = ["@monaco-editor/react@4.7.0", "monaco-editor@0.55.1"]

    value: rx.Var[str]
    path: rx.Var[str]
    language: rx.Var[str]
    read_only: rx.Var[bool]
    revision: rx.Var[int]

    on_change: rx.EventHandler[lambda path, text: [path, text]]
    on_save: rx.EventHandler[lambda path, text: [path, text]]


monaco_editor = MonacoEditor.create
