"""Monaco editor, bundled from npm by assets/monaco_editor.jsx (no CDN)."""

import reflex as rx
from reflex.event import passthrough_event_spec


class MonacoEditor(rx.NoSSRComponent):
    library = "$/public/monaco_editor.jsx"
    tag = "ForjaEditor"
    lib_dependencies: list[str] = [
        "@monaco-editor/react@4.7.0",
        "monaco-editor@0.55.1",
        # Co-editing (assets/monaco_collab.js): the open file bound to its Yjs room.
        "yjs@13.6.33",
        "y-websocket@3.1.0",
        "y-monaco@0.1.6",
    ]

    value: rx.Var[str]
    path: rx.Var[str]
    language: rx.Var[str]
    read_only: rx.Var[bool]
    revision: rx.Var[int]
    theme: rx.Var[str]
    # The project's co-editing rooms (/api/projects/{id}/collab); empty: the file is not shared.
    room: rx.Var[str]
    # "path:line:nonce": show and select that line once the file is open (an answer's place).
    reveal: rx.Var[str]

    # Both hand over (path, text): the editor's model is keyed on the path.
    on_change: rx.EventHandler[passthrough_event_spec(str, str)]
    on_save: rx.EventHandler[passthrough_event_spec(str, str)]


monaco_editor = MonacoEditor.create
