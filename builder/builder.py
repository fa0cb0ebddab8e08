"""The Reflex app: pages, plus the HTTP API and isolation headers in front of them."""

import logging

import reflex as rx

from builder.api import api, isolate
from builder.pages.home import home_page
from builder.pages.workspace import workspace_page
from builder.state.home import HomeState
from builder.state.workspace import WorkspaceState

logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")

app = rx.App(
    api_transformer=[api, isolate],
)
app.add_page(home_page, route="/", title="Forja: describe an app, get it running", on_load=HomeState.load)
app.add_page(workspace_page, route="/p/[project_id]", title="Forja workspace", on_load=WorkspaceState.load)
