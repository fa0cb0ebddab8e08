"""The Reflex app: pages, plus the HTTP API and isolation headers in front of them."""

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

import reflex as rx

from builder import outages
from builder.api import API_GUARDS, api
from builder.api.mcp import endpoint as mcp_endpoint
from builder.app_secrets import load_key
from builder.composition import get_services
from builder.data_folder import second_server, server_lock
from builder.draining import drain_on_sigterm
from builder.errors import ForjaError, NotSignedIn
from builder.pages.account import account_page
from builder.pages.admin import admin_page
from builder.pages.doctor import doctor_page
from builder.pages.home import home_page
from builder.pages.signin import login_page, reset_page, signup_page
from builder.pages.workspace import workspace_page
from builder.publish.addresses import apps_suffix, cookie_scope
from builder.settings import settings
from builder.state.account import AccountState
from builder.state.admin import AdminState
from builder.state.admin_mcp import AdminMcpState
from builder.state.admin_models import AdminModelsState
from builder.state.auth import AuthState, sign_in_page
from builder.state.home import HomeState
from builder.state.machine import MachineState
from builder.state.project_actions import ProjectActionsState
from builder.state.signin import SignInState
from builder.state.workspace import WorkspaceState
from preview_runtime.folder_lock import FolderHeld
from preview_runtime.local.environment import make_undumpable

# One threshold for Forja and its libraries: at INFO, httpx alone logs every request the previews' proxy checks make.
logging.basicConfig(level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
log = logging.getLogger("builder")


def plain_error(exception: Exception) -> rx.event.EventSpec:
    """Refusals say why (a sign-in that ended goes to the sign-in page), and so do outages (builder/outages.py, said
    once in the log); anything else is ours: log the stack trace, tell the person what happened and what to do, in
    words."""
    if isinstance(exception, NotSignedIn):
        return rx.redirect(sign_in_page(exception.come_back_to))
    if isinstance(exception, ForjaError):
        return rx.toast.error(exception.message, position="top-center", id="refused")
    if (refused := outages.refusal(exception)) is not None:  # the database or Redis away, a full disk: no bug of ours
        return rx.toast.error(refused.message, position="top-center", id="refused")
    log.error("unhandled error in an event handler", exc_info=exception)
    return rx.toast.error(
        "Something went wrong on Forja's side.",
        description="Your saved work is safe. Reload the page and try again; if it keeps happening, check Forja's log.",
        position="top-center",
        id="backend_error",
    )


@contextlib.asynccontextmanager
async def running_services() -> AsyncIterator[None]:
    """Open the store and the preview proxy at start-up (taking back previews that outlived a
    restart, closing generations that did not), and stop the proxy and previews' processes on the way out."""
    # Before any preview runs: an unsandboxed one runs as Forja's user, which could otherwise read Forja's keys
    # from /proc/<Forja's pid>/environ.
    make_undumpable()
    folder = server_lock()
    try:
        folder.take()  # for this process's life: only this server runs previews from its data folder
    except FolderHeld as exc:
        # The run command refuses before its build (builder.launch.run); this is for a server started another way.
        log.critical("%s", second_server(exc.holder))
        raise SystemExit(1) from None
    services = await get_services()
    # A bad FORJA_SECRET_KEY shows at the server's start, and a key file it makes is logged then (a CLI command makes
    # one only when it stores a value).
    await asyncio.to_thread(load_key)
    if code := await services.accounts.setup_code():
        log.warning(
            "This Forja has accounts (FORJA_AUTH=password) and none is made yet. Make the admin account at %s/signup "
            "with the setup code %s (or run: python -m builder user create --admin EMAIL).",
            settings.page_url,  # the address the run command says Forja runs at
            code,
        )
    # An app's script that can set a cookie Forja reads (apps on a parent of Forja's name, over plain HTTP) is a
    # deployment's mistake, said once at the start as doctor says it.
    cookies_ok, cookies = cookie_scope(settings.base_url, apps_suffix(), settings.public_url.startswith("https://"))
    if not cookies_ok:
        log.warning("Published apps and Forja's cookies: %s", cookies)
    try:  # its own: a command beside the server must not take the apps' sockets from under it
        await services.app_data.resume()
    except Exception:  # each app's next start opens its relay again
        log.exception("could not relay to the apps' databases again")
    await services.generations.interrupt_abandoned()
    await services.publishing.interrupt_abandoned()  # not those another worker builds: their publish's lease is alive
    try:
        await services.preview_hub.manager()
        await services.app_domains.load()
    except Exception:
        log.exception("previews could not start; projects still open, the Preview tab will say why")
    sweep = asyncio.create_task(services.run_sweeps(), name="sweeps")
    drain_on_sigterm(settings.drain_seconds)
    try:
        yield
    finally:
        sweep.cancel()
        await services.close()
        folder.release()


app = rx.App(
    api_transformer=[api, *API_GUARDS],
    backend_exception_handler=plain_error,
    stylesheets=["/forja.css", "/palette.css"],
    head_components=[rx.script(src="/forja_keys.js"), rx.script(src="/forja_auth.js")],
)
app.register_lifespan_task(running_services)
app.register_lifespan_task(mcp_endpoint.running)
app.add_page(
    home_page,
    route="/",
    title="Forja",
    on_load=[AuthState.require, HomeState.load, ProjectActionsState.load_trash, MachineState.follow_docker],
)
app.add_page(
    doctor_page,
    route="/doctor",
    title="Forja: what this machine can run",
    on_load=[AuthState.require, MachineState.load_report, MachineState.follow_docker],
)
app.add_page(
    workspace_page,
    route="/p/[project_id]",
    # The project's name first: with several projects open, the browser's tabs tell them apart.
    title=rx.cond(WorkspaceState.project_name != "", WorkspaceState.project_name + " \u00b7 Forja", "Forja"),
    on_load=[AuthState.require, WorkspaceState.load],
)
app.add_page(account_page, route="/account", title="Your account \u00b7 Forja", on_load=[AuthState.require, AccountState.load])
app.add_page(
    admin_page,
    route="/admin",
    title="Admin \u00b7 Forja",
    on_load=[AuthState.require, AdminState.load, AdminModelsState.load, AdminMcpState.load],
)
app.add_page(login_page, route="/login", title="Sign in \u00b7 Forja", on_load=SignInState.load)
app.add_page(signup_page, route="/signup", title="Make an account \u00b7 Forja", on_load=SignInState.load)
app.add_page(reset_page, route="/reset", title="Set a new password \u00b7 Forja", on_load=SignInState.load)
