"""Workspace page state (`/p/<id>`): the project the page shows, its tab and the page-wide error.

Each part of the page (conversation, editor, preview, logs) is a substate of WorkspaceState in
its own module, so it shares the project id and a change in one part sends only that part's
vars. Thin on purpose: every change goes through builder.services.
"""

from __future__ import annotations

import dataclasses

import reflex as rx

from builder.composition import Services
from builder.errors import NotFound
from builder.generation.who_connects import for_reader, tells_admin
from builder.models import ProjectRole
from builder.schemas import PRESENCE_TABS, ProjectDetail
from builder.services.access import Actor, Permission
from builder.state.auth import Allowed, for_project
from builder.state.tab_memory import remember


@dataclasses.dataclass(frozen=True)
class Loaded:
    """A refresh's reading of the project, for each part to show its share of."""

    project: ProjectDetail
    # For reading the project: the person's right to see it was checked.
    services: Services
    # The page moved to another project: what a part kept of the last one goes.
    switched: bool
    # The current version is not the one the page showed.
    new_version: bool
    # Who the page is for.
    actor: Actor


class WorkspaceState(rx.State):
    project_id: rx.Field[str] = rx.field("")
    project_name: rx.Field[str] = rx.field("")
    stack: rx.Field[str] = rx.field("")
    current_version: rx.Field[int] = rx.field(0)
    not_found: rx.Field[str] = rx.field("")
    # The project opens on its app; PreviewPaneState.opened then shows the tab the person last chose in it, if any.
    tab: rx.Field[str] = rx.field("preview")
    # The tab last chosen in each project, in this browser (tab_memory.py reads it: the browser may hold anything).
    # Synced: two tabs of one browser write the same key, and neither may drop the other's choices.
    chosen_tabs: rx.Field[str] = rx.field(rx.LocalStorage("", name="forja.tabs", sync=True))
    error: rx.Field[str] = rx.field("")
    # A generation runs: the conversation, the editor and the Logs tab's fix buttons all wait for it.
    generating: rx.Field[bool] = rx.field(False)
    # The person's role in the project: a viewer's page offers no changes (the services refuse them anyway).
    role: rx.Field[str] = rx.field("")
    # The person is this Forja's admin (or accounts are off): told to connect a model themselves, not to ask.
    admin: rx.Field[bool] = rx.field(False)

    @rx.var
    def can_edit(self) -> bool:
        return self.role in (ProjectRole.owner.value, ProjectRole.editor.value)

    @rx.var
    def is_owner(self) -> bool:
        return self.role == ProjectRole.owner.value

    @rx.var
    def error_words(self) -> str:
        """The page-wide error as this person can act on it (who_connects.py)."""
        return for_reader(self.error, self.admin)

    @rx.var
    def error_links_models(self) -> bool:
        return tells_admin(self.error_words)

    @rx.event
    async def load(self):
        """The page opened a project: show it, then each part follows what keeps changing."""
        if not await self._refresh(self._page_project()):
            return
        for part in await self._parts():
            if (follow := await part._on_open()) is not None:
                yield follow

    def _page_project(self) -> str:
        """The project of the page that sent this event: /p/<project_id> (builder.py). It differs from project_id
        while a page that came from another project is loading it. (RouterData.page, which held the route's arguments,
        is deprecated.)"""
        return self.router.url.path.removeprefix("/p/").strip("/")

    async def _parts(self) -> list[WorkspaceState]:
        """The parts of the page: this state's substates, always in the same order."""
        parts = [await self.get_state(part) for part in sorted(WorkspaceState.get_substates(), key=lambda s: s.get_name())]
        return [part for part in parts if isinstance(part, WorkspaceState)]

    async def _refresh(self, project_id: str) -> bool:
        """Reload everything the page shows from the services; False if the project is gone."""
        try:
            allowed = await for_project(self, project_id, Permission.view)
            project = await allowed.services.projects.get(project_id)
        except NotFound as exc:
            self.not_found = str(exc)
            return False
        switched = project.id != self.project_id
        loaded = Loaded(
            project, allowed.services, switched, (project.current_version or 0) != self.current_version, allowed.actor
        )
        self.role = allowed.role.value if allowed.role is not None else ""
        self.admin = allowed.actor.is_admin
        self.not_found = ""
        if loaded.switched:
            self.error = ""
        self.project_id = project.id
        self.project_name = project.name
        self.stack = ", ".join(project.stack)
        self.current_version = project.current_version or 0
        for part in await self._parts():
            await part._show(loaded)
        return True

    @rx.event
    async def show_new_version(self) -> None:
        """A version saved elsewhere (the API, the CLI, a git push, another person's page): the page shows it."""
        if self.project_id and self.project_id == self._page_project():
            await self._refresh(self.project_id)

    async def _show(self, loaded: Loaded) -> None:
        """Each part overrides this to show its share of a refresh."""

    async def _on_open(self) -> rx.event.EventCallback[()] | rx.event.EventSpec | None:
        """A part that follows something as it changes overrides this to return its background event (or what the page
        must do once it is open)."""
        return None

    async def _place_changed(self) -> None:
        """The person changed tab or file, or asked for a generation or saw it end: the parts that tell the others
        where this page is (PresenceState) say so. Only those parts are loaded, not every part of the page."""
        for part in WorkspaceState.get_substates():
            if issubclass(part, WorkspaceState) and part._on_place is not WorkspaceState._on_place:
                moving = await self.get_state(part)
                if isinstance(moving, WorkspaceState):
                    await moving._on_place()

    async def _on_place(self) -> None:
        """A part that tells the others where this page is overrides this."""

    async def allowed(self, need: Permission = Permission.view) -> Allowed:
        """The services, once the person's role in the page's project is checked for `need` (every event checks
        again: a role can change, or the person sign out, while the page stays open)."""
        if not self.project_id:
            raise NotFound("Open a project first.")
        return await for_project(self, self.project_id, need)

    @rx.event
    async def set_tab(self, tab: str) -> None:
        # An event any client can send with any value: only the page's own tabs are shown (and told to the others).
        if tab not in PRESENCE_TABS:
            return
        self._switch_to(tab)
        await self._place_changed()

    def _switch_to(self, tab: str) -> None:
        """Show `tab` and keep it as this project's tab, whether the person chose it or what they did took them there
        (a place in an answer, Fix this): the project opens again on the tab last seen in it."""
        self.tab = tab
        if self.project_id and self.project_id == self._page_project():  # not a click that came before the page's project loaded
            self.chosen_tabs = remember(self.chosen_tabs, self.project_id, tab)
