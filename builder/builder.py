"""The Reflex app: pages, plus the HTTP API and isolation headers in front of them."""

import logging

import reflex as rx

from builder.api import api, isolate
from builder.pages.home import home_page
from builder.pages.workspace import workspace_page
from builder.state.home import HomeState
from builder.state.workspace import WorkspaceState

logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
log = logging.getLogger("builder")


def plain_error(exception: Exception) -> rx.event.EventSpec:
    """Log the stack trace for us; tell the person what happened and what to do, in words."""
    log.error("unhandled error in an event handler", exc_info=exception)
    return rx.toast.error(
        "Something went wrong on Forja's side.",
        description="Your saved work is safe. Reload the page and try again; if it keeps happening, check Forja's log.",
        position="top-center",
        id="backend_error",
    )


app = rx.App(api_transformer=[api, isolate], backend_exception_handler=plain_error)
app.add_page(home_page, route="/", title="Forja: describe an app, get it running", on_load=HomeState.load)
app.add_page(workspace_page, route="/p/[project_id]", title="Forja workspace", on_load=WorkspaceState.load)
