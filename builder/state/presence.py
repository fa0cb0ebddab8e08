"""Who else has the project open: the header's avatars, and following a generation someone else asked for.

Each open page is one entry in the presence service (builder.cluster.presence), named after the signed-in person (a
"Guest" with a colour of the tab's own without accounts). `follow_presence` runs while the page is open: it joins,
shows the others as they come, move and go, beats so the entry stays, and leaves as soon as the page's socket is gone
(a closed tab). When another page asks for a generation, it starts following it here too, so the new prompt shows on
every page at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import secrets
import time
from datetime import UTC, datetime

import reflex as rx

from builder.cluster.presence import HEARTBEAT_S, PresenceService
from builder.errors import FileTreeError
from builder.filetree import normalize_path
from builder.schemas import PRESENCE_TABS, PresenceInfo, PresenceTab
from builder.services.access import Actor
from builder.services.presence import colour_for, initials_of, shown_name
from builder.services.projects import ProjectService
from builder.settings import settings
from builder.state.connected import page_connected
from builder.state.conversation import ConversationState
from builder.state.editor import EditorState
from builder.state.history import HistoryState
from builder.state.workspace import WorkspaceState

# How often the follower looks whether the page's socket is still there: a closed tab leaves within a second.
CONNECTED_CHECK_S = 0.3
# How often an open page looks whether a version was saved elsewhere (the API, the CLI, a push, another page).
VERSION_CHECK_S = 1.0
# Avatars the header shows before "+N" (a phone's header has room for three).
SHOWN_AVATARS = 3
TAB_WORDS: dict[PresenceTab, str] = {
    "preview": "Preview",
    "code": "Code",
    "logs": "Logs",
    "history": "History",
    "chat": "Chat",
    "terminal": "Terminal",
}


@dataclasses.dataclass
class Person:
    """Another open page of the project, as its avatar shows it."""

    session: str
    name: str
    initials: str
    colour: str
    where: str
    generating: bool


def person_of(entry: PresenceInfo) -> Person:
    where = TAB_WORDS[entry.tab]
    if entry.tab == "code" and entry.file:
        where = f"{where} \u00b7 {entry.file}"
    return Person(entry.session, entry.name, entry.initials, entry.colour, where, entry.generating)


def tab_of(value: str) -> PresenceTab:
    """The page's tab, as presence names it (WorkspaceState.set_tab keeps to these)."""
    for tab in PRESENCE_TABS:
        if tab == value:
            return tab
    return "code"


def shown_file(path: str) -> str:
    """The open file as the others see it: a file name as Forja allows them, or nothing (a page's events may name any
    path, and a project with no version yet opens whichever it is told)."""
    try:
        return normalize_path(path) if path else ""
    except FileTreeError:
        return ""


class PresenceState(WorkspaceState):
    # Everyone else with the project open (this page is not listed), first come first.
    people: rx.Field[list[Person]] = rx.field(default_factory=list)
    _session: str = ""
    _since: str = ""
    _follow_token: int = 0

    @rx.var
    def shown_people(self) -> list[Person]:
        return self.people[:SHOWN_AVATARS]

    @rx.var
    def more_people(self) -> int:
        return max(0, len(self.people) - SHOWN_AVATARS)

    @rx.var
    def people_names(self) -> str:
        return ", ".join(person.name for person in self.people)

    async def _on_open(self) -> rx.event.EventCallback[()]:
        return PresenceState.follow_presence

    async def _on_place(self) -> None:
        if self._session:
            allowed = await self.allowed()
            # A move, never a join: a closed tab's generation that ends after its follower left must not bring it back.
            await allowed.services.presence.move(self.project_id, await self._entry(allowed.actor))

    async def _entry(self, actor: Actor) -> PresenceInfo:
        """This page's entry, from where the page is now."""
        editor = await self.get_state(EditorState)
        conversation = await self.get_state(ConversationState)
        guest = settings.auth_mode == "none"
        name = shown_name(actor)
        return PresenceInfo(
            session=self._session,
            user_id=actor.user_id,
            name=name,
            initials=initials_of(name),
            # A guest is each tab: their colour tells two tabs apart.
            colour=colour_for(self._session if guest else actor.user_id),
            tab=tab_of(self.tab),
            file=shown_file(editor.selected_path) if self.tab == "code" else "",
            generating=conversation._asked and self.generating,  # pyright: ignore[reportPrivateUsage] (a part's own flag)
            since=datetime.fromisoformat(self._since),
        )

    @rx.event(background=True)
    async def follow_presence(self):
        """While the page is open: be present, show the others, start following a generation another page asked for."""
        async with self:
            self._follow_token += 1
            previous, project_id = self._session, self.project_id
            self._session = secrets.token_urlsafe(12)
            self._since = datetime.now(UTC).isoformat()
            token, session, client = self._follow_token, self._session, self.router.session.client_token
            allowed = await self.allowed()
            entry = await self._entry(allowed.actor)
        presence = allowed.services.presence
        if previous:
            # The page was loaded again: its last follower's entry goes now, not when that follower notices.
            await presence.leave(project_id, previous)
        await presence.put(project_id, entry)
        changes: asyncio.Queue[list[PresenceInfo]] = asyncio.Queue()

        async def pump() -> None:
            async for people in presence.watch(project_id):
                changes.put_nowait(people)

        pumping = asyncio.create_task(pump())
        beaten = looked = time.monotonic()
        try:
            while await page_connected(client):
                if time.monotonic() - looked >= VERSION_CHECK_S:
                    looked = time.monotonic()
                    if await self._saved_elsewhere(allowed.services.projects, project_id):
                        yield [WorkspaceState.show_new_version, HistoryState.show_new_version]
                people: list[PresenceInfo] | None = None
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(CONNECTED_CHECK_S):
                        people = await changes.get()
                if people is None and time.monotonic() - beaten < HEARTBEAT_S:
                    continue
                async with self:
                    if self._follow_token != token or self.project_id != project_id:
                        return
                    if people is not None:
                        self.people = [person_of(entry) for entry in people if entry.session != session]
                    follow = any(entry.generating for entry in people or []) and not self.generating
                    entry = await self._entry(allowed.actor)
                if time.monotonic() - beaten >= HEARTBEAT_S:
                    beaten = time.monotonic()
                    await presence.put(project_id, entry)
                if follow:
                    yield ConversationState.follow_generation
        finally:
            pumping.cancel()
            await asyncio.shield(self._leave(presence, project_id, session))

    async def _saved_elsewhere(self, projects: ProjectService, project_id: str) -> bool:
        """Whether the project's current version is not the one the page shows, and no generation of the page's own
        is bringing it (its follower shows what it saves)."""
        number = await projects.current_number(project_id)
        async with self:
            return self.project_id == project_id and number != self.current_version and not self.generating

    @staticmethod
    async def _leave(presence: PresenceService, project_id: str, session: str) -> None:
        await presence.leave(project_id, session)
