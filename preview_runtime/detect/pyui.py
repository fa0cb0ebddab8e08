"""Python UI frameworks, told by what the entry file imports and how it builds or launches the app, whatever its name.

The entry file is a top-level (or src/) .py that imports the framework and builds the app the way its docs show:
Streamlit (any such script), Gradio (`gr.Blocks`/`gr.Interface`... and `.launch()`), NiceGUI (`ui.run()`),
Shiny (`App(app_ui, server)`, or Shiny Express), Dash (`Dash(...)` and `app.run()`), Panel (`.servable()` or
`pn.serve()`). Each is started with its own CLI or environment variables on $HOST:$PORT, without touching the
person's files; NiceGUI has no such way (its NICEGUI_PORT is internal, overwritten by ui.run), so it runs on its
own port and the runner follows it there (listening.py: each preview has a network namespace or container of its own).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from preview_runtime.detect.command import HOST, PORT

# Files people launch first, before the alphabetical rest.
PREFERRED = ("app.py", "main.py", "server.py", "streamlit_app.py", "wsgi.py", "asgi.py", "run.py")


@dataclass(frozen=True)
class Server:
    """How to start the project's server, and for people where that came from."""

    framework: str
    argv: list[str]
    port: int  # where it listens when it ignores $PORT
    source: str  # "Gradio app in demo.py"
    needs: list[str] = field(default_factory=list)  # packages the command needs that the project may not list
    env: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def _imports(module: str) -> re.Pattern[str]:
    return re.compile(rf"^\s*(?:import {module}\b|from {module}[\s.])", re.MULTILINE)


_GRADIO_APP = re.compile(r"\b(?:Blocks|Interface|ChatInterface|TabbedInterface)\(")
_LAUNCH = re.compile(r"\.launch\(")
_NICEGUI_RUN = re.compile(r"\bui\.run\(")
_SHINY_APP = re.compile(r"^(\w+)\s*=\s*(?:shiny\.)?App\(", re.MULTILINE)
_SHINY_EXPRESS = re.compile(r"^\s*(?:from shiny\.express\b|from shiny import express\b|import shiny\.express\b)", re.MULTILINE)
_DASH_APP = re.compile(r"\bDash\(")
_RUN = re.compile(r"\.run(?:_server)?\(")
_SERVABLE = re.compile(r"\.servable\(")
_PANEL_SERVE = re.compile(r"\b(?:pn|panel)\.serve\(")


def _streamlit(path: str, text: str) -> Server | None:
    argv = ["streamlit", "run", path, "--server.port", PORT, "--server.address", HOST]
    argv += ["--server.headless", "true", "--browser.gatherUsageStats", "false"]
    return Server("Streamlit", argv, 8501, f"Streamlit script {path}", ["streamlit"])


def _gradio(path: str, text: str) -> Server | None:
    if not (_GRADIO_APP.search(text) and _LAUNCH.search(text)):
        return None
    # launch() reads these when its arguments do not name an address; analytics would only wait on a blocked network.
    env = {"GRADIO_SERVER_NAME": HOST, "GRADIO_SERVER_PORT": PORT, "GRADIO_ANALYTICS_ENABLED": "False"}
    return Server("Gradio", ["python", path], 7860, f"Gradio app in {path}", ["gradio"], env)


def _nicegui(path: str, text: str) -> Server | None:
    if not _NICEGUI_RUN.search(text):
        return None
    note = "NiceGUI takes its port only from ui.run(...): the preview goes where it listens (8080 unless the file says)."
    return Server("NiceGUI", ["python", path], 8080, f"NiceGUI app in {path}", ["nicegui"], notes=[note])


def _shiny(path: str, text: str) -> Server | None:
    if match := _SHINY_APP.search(text):
        target = path if match.group(1) == "app" else f"{path}:{match.group(1)}"
    elif _SHINY_EXPRESS.search(text):
        target = path
    else:
        return None
    # No --reload: its reload signal comes over a websocket on a second port, which the preview does not route.
    argv = ["shiny", "run", "--host", HOST, "--port", PORT, target]
    return Server("Shiny", argv, 8000, f"Shiny app in {path}", ["shiny"])


def _dash(path: str, text: str) -> Server | None:
    if not (_DASH_APP.search(text) and _RUN.search(text)):
        return None
    # app.run() reads HOST and PORT from the environment when its arguments do not name them (the runner sets both).
    return Server("Dash", ["python", path], 8050, f"Dash app in {path}", ["dash"])


def _panel(path: str, text: str) -> Server | None:
    # The preview's host is known only to the proxy in front: Bokeh's websocket takes any origin (this variable
    # applies to `panel serve` and to pn.serve() alike); the gate in front decides who reaches the preview.
    env = {"BOKEH_ALLOW_WS_ORIGIN": "*"}
    if _SERVABLE.search(text):
        argv = ["panel", "serve", path, "--port", PORT, "--address", HOST]
        return Server("Panel", argv, 5006, f"Panel app in {path}", ["panel"], env)
    if _PANEL_SERVE.search(text):
        return Server("Panel", ["python", path], 5006, f"Panel app in {path} (pn.serve)", ["panel"], env)
    return None


# In this order when one file imports several (a Dash or Gradio app may plot with another library).
FRAMEWORKS: tuple[tuple[re.Pattern[str], Callable[[str, str], Server | None]], ...] = (
    (_imports("gradio"), _gradio),
    (_imports("nicegui"), _nicegui),
    (_imports("shiny"), _shiny),
    (_imports("dash"), _dash),
    (_imports("panel"), _panel),
    (_imports("streamlit"), _streamlit),
)


def ui_server(sources: Mapping[str, str]) -> Server | None:
    """The UI framework app of the first entry file that builds one: top-level files first, then src/."""
    entries = [p for p in sources if "/" not in p or (p.startswith("src/") and p.count("/") == 1)]
    for path in sorted(entries, key=lambda p: (p.count("/"), p.rsplit("/", 1)[-1] not in PREFERRED, p)):
        text = sources[path]
        for imports, build in FRAMEWORKS:
            if imports.search(text) and (server := build(path, text)) is not None:
                return server
    return None
