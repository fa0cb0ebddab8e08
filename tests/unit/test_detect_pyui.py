"""Python UI frameworks (preview_runtime/detect/pyui.py): the entry file is told by what it imports and how it
builds or launches the app, whatever its name; each runs on $HOST:$PORT through its own CLI or variables.

The files are shaped like each framework's getting-started page; tests/integration/test_corpus.py runs real ones.
"""

from __future__ import annotations

import pytest

from preview_runtime.detect import detect
from preview_runtime.plan import plan_for

GRADIO = b"""import gradio as gr

def greet(name):
    return "Hello " + name + "!"

with gr.Blocks() as demo:
    name = gr.Textbox(label="Name")
    output = gr.Textbox(label="Output Box")
    gr.Button("Greet").click(fn=greet, inputs=name, outputs=output)

demo.launch()
"""
GRADIO_ENV = 'GRADIO_SERVER_NAME="$HOST" GRADIO_SERVER_PORT="$PORT" GRADIO_ANALYTICS_ENABLED=False'
NICEGUI = (
    b"from nicegui import ui\n\nui.label('Hello NiceGUI!')\nui.button('Click me', on_click=lambda: ui.notify('Hi'))\n\nui.run()\n"
)
SHINY = b"""from shiny import App, render, ui

app_ui = ui.page_fluid(ui.input_slider("n", "N", 0, 100, 20), ui.output_text_verbatim("txt"))

def server(input, output, session):
    @render.text
    def txt():
        return f"n*2 is {input.n() * 2}"

app = App(app_ui, server)
"""
SHINY_EXPRESS = b'from shiny.express import input, render, ui\n\nui.input_slider("n", "N", 0, 100, 20)\n'
DASH = b"""from dash import Dash, html, dcc, callback, Output, Input

app = Dash(__name__)
app.layout = [html.H1(children="Title of Dash App"), dcc.Dropdown(["a", "b"], "a", id="dropdown-selection")]

if __name__ == "__main__":
    app.run(debug=True)
"""
PANEL_SERVABLE = b"import panel as pn\n\npn.extension()\npn.panel('Hello Panel').servable()\n"
PANEL_SERVE = b"import panel as pn\n\nif __name__ == '__main__':\n    pn.serve(pn.panel('Hello'), port=5007, show=False)\n"
STREAMLIT = b"import streamlit as st\n\nst.title('Dashboard')\n"


def test_gradio_app_in_any_file_runs_on_the_address_given_through_its_variables() -> None:
    (found,) = detect({"requirements.txt": b"gradio==5.9.1\n", "demo.py": GRADIO, "helpers.py": b"import os\n"})
    assert (found.framework, found.source, found.port) == ("Gradio", "Gradio app in demo.py", 7860)
    assert found.dev.shell() == f"{GRADIO_ENV} python demo.py"
    plan = plan_for({"requirements.txt": b"gradio==5.9.1\n", "demo.py": GRADIO})
    assert plan.install == "python -m pip install -r requirements.txt" and plan.has_server


def test_gradio_in_src_with_nothing_listed_installs_the_framework() -> None:
    interface = b"import gradio as gr\n\ngr.Interface(fn=lambda x: x, inputs='text', outputs='text').launch()\n"
    plan = plan_for({"requirements.txt": b"numpy\n", "src/chat.py": interface})
    assert plan.framework == "Gradio" and plan.dev == f"{GRADIO_ENV} python src/chat.py"
    assert plan.install == "python -m pip install -r requirements.txt gradio"
    alone = plan_for({"chat.py": interface})
    assert alone.install == "python -m pip install gradio"


def test_a_gradio_app_mounted_in_fastapi_runs_as_the_fastapi_app() -> None:
    main = b"import gradio as gr\nfrom fastapi import FastAPI\n\napp = FastAPI()\nio = gr.Interface(lambda x: x, 'textbox', 'textbox')\napp = gr.mount_gradio_app(app, io, path='/gradio')\n"
    (found,) = detect({"requirements.txt": b"fastapi\ngradio\n", "main.py": main})
    assert found.framework == "FastAPI" and found.source == "FastAPI app in main.py"


def test_nicegui_runs_its_file_and_the_preview_follows_its_own_port() -> None:
    (found,) = detect({"requirements.txt": b"nicegui\n", "main.py": NICEGUI})
    assert (found.framework, found.dev.shell(), found.port) == ("NiceGUI", "python main.py", 8080)
    assert found.source == "NiceGUI app in main.py" and "ui.run" in found.notes[0]
    with_fastapi = b"from fastapi import FastAPI\nfrom nicegui import ui\n\napp = FastAPI()\nui.run_with(app)\n"
    (mounted,) = detect({"requirements.txt": b"nicegui\nfastapi\n", "main.py": with_fastapi})
    assert mounted.framework == "FastAPI"


@pytest.mark.parametrize(
    ("name", "text", "target"),
    [
        ("dashboard.py", SHINY, "dashboard.py"),
        ("dashboard.py", SHINY.replace(b"app = App(", b"my_app = App("), "dashboard.py:my_app"),
        ("express_app.py", SHINY_EXPRESS, "express_app.py"),
    ],
)
def test_shiny_runs_through_shiny_run_on_the_given_address(name: str, text: bytes, target: str) -> None:
    (found,) = detect({"requirements.txt": b"shiny\n", name: text})
    assert found.framework == "Shiny" and found.source == f"Shiny app in {name}"
    assert found.dev.shell() == f'shiny run --host "$HOST" --port "$PORT" {target}'


def test_dash_runs_its_script_which_reads_host_and_port_from_the_environment() -> None:
    (found,) = detect({"requirements.txt": b"dash\n", "index.py": DASH, "assets/style.css": b""})
    assert (found.framework, found.dev.shell(), found.source) == ("Dash", "python index.py", "Dash app in index.py")
    assert found.dev.env == {} and found.port == 8050


def test_panel_servable_runs_through_panel_serve_and_pn_serve_through_its_script() -> None:
    (servable,) = detect({"requirements.txt": b"panel\n", "explore.py": PANEL_SERVABLE})
    assert servable.framework == "Panel" and servable.source == "Panel app in explore.py"
    assert servable.dev.shell() == 'BOKEH_ALLOW_WS_ORIGIN=\'*\' panel serve explore.py --port "$PORT" --address "$HOST"'
    (serve,) = detect({"requirements.txt": b"panel\n", "serve_it.py": PANEL_SERVE})
    assert serve.dev.shell() == "BOKEH_ALLOW_WS_ORIGIN='*' python serve_it.py"


def test_the_entry_is_the_file_that_builds_the_app_not_a_helper_that_imports_the_framework() -> None:
    helper = b"import gradio as gr\n\ndef textbox():\n    return gr.Textbox(label='Name')\n"
    (found,) = detect({"requirements.txt": b"gradio\n", "components.py": helper, "run_demo.py": GRADIO})
    assert found.source == "Gradio app in run_demo.py"
    # Streamlit's pages/ import it too: only a top-level or src/ script is the entry.
    (pages,) = detect({"requirements.txt": b"streamlit\n", "pages/1_Plots.py": STREAMLIT, "src/home.py": STREAMLIT})
    assert pages.source == "Streamlit script src/home.py"
    assert pages.dev.argv[:3] == ["streamlit", "run", "src/home.py"]


def test_a_top_level_app_py_is_preferred_to_other_entries() -> None:
    (found,) = detect({"requirements.txt": b"dash\nnicegui\n", "app.py": DASH, "other.py": NICEGUI})
    assert found.framework == "Dash" and found.source == "Dash app in app.py"


def test_other_servers_say_where_their_command_came_from() -> None:
    flask = b"from flask import Flask\napp = Flask(__name__)\n"
    assert detect({"requirements.txt": b"flask\n", "web.py": flask})[0].source == "Flask app in web.py"
    assert detect({"manage.py": b"", "requirements.txt": b"Django\n"})[0].source == "Django's manage.py"
    procfile = detect({"Procfile": b"web: gunicorn app:app\n", "requirements.txt": b"gunicorn\n"})[0]
    assert procfile.source == "the web line in Procfile"  # declared.py reads it, for any stack
    script = detect({"serve.py": b"if __name__ == '__main__':\n    pass\n"})[0]
    assert script.source == "serve.py, a script that runs itself"
