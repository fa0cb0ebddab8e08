"""Who has a project open right now: one entry per open page (browser tab), kept alive by its page's heartbeat.

A page joins when it opens the project, says where it moves (tab, file, a generation it asked for), beats every
HEARTBEAT_S and leaves when its socket goes. A page that never says goodbye (a crashed browser, a killed worker) drops
out once its entry is TTL_S old. Watchers (every open page, through PresenceState) get the project's list each time it
changes. This is one process's presence; builder.cluster.presence shares it between the workers on one Redis.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import time
from collections import defaultdict
from collections.abc import AsyncGenerator
from typing import get_args

from builder.schemas import MAX_SHOWN_NAME, PresenceColour, PresenceInfo
from builder.services.access import Actor
from builder.settings import settings

HEARTBEAT_S = 5.0
# Three beats missed: the page is gone (a beat can be late under load without the person flickering away).
TTL_S = 15.0

# Radix colours that read well as an avatar's background in light and dark themes, in a fixed order.
COLOURS: tuple[PresenceColour, ...] = get_args(PresenceColour)
# The same colours as hex, for a person's cursor and its label in the editor: Radix's step 11 (light), dark enough for
# white text on it.
CURSOR_HEX: dict[PresenceColour, str] = {
    "tomato": "#d13415",
    "blue": "#0d74ce",
    "grass": "#2a7e3b",
    "violet": "#6550b9",
    "amber": "#ab6400",
    "cyan": "#107d98",
    "pink": "#c2298a",
    "teal": "#008573",
    "indigo": "#3a5bc7",
    "orange": "#cc4e00",
    "jade": "#208368",
    "plum": "#953ea3",
}


def colour_for(key: str) -> PresenceColour:
    """The same colour for the same key (a person's id, a guest's tab) on every worker and every day."""
    return COLOURS[int.from_bytes(hashlib.sha256(key.encode()).digest()[:4], "big") % len(COLOURS)]


def shown_name(actor: Actor) -> str:
    """The name other people see for this person: their account's name (its email without one), "Guest" without
    accounts. Never what a page says about itself."""
    if settings.auth_mode == "none":
        return "Guest"
    return " ".join((actor.name or actor.email).split())[:MAX_SHOWN_NAME] or "?"


def initials_of(name: str) -> str:
    """ "Ada Lovelace" -> "AL", "ada@x.org" -> "A", "" -> "?"."""
    words = name.split("@")[0].replace(".", " ").replace("_", " ").split()
    return "".join(word[0] for word in words[:2]).upper() or "?"


class PresenceService:
    """One process's presence: the entries in a dict, the watchers woken through events."""

    def __init__(self, ttl_s: float = TTL_S) -> None:
        self.ttl_s = ttl_s
        # project -> session -> (entry, when it expires on time.monotonic's clock)
        self._entries: dict[str, dict[str, tuple[PresenceInfo, float]]] = defaultdict(dict)
        self._watchers: dict[str, set[asyncio.Event]] = defaultdict(set)

    async def put(self, project_id: str, entry: PresenceInfo) -> None:
        """The page is there, at this place (its follower's join and heartbeats); watchers hear it when it changed."""
        before = self._entries[project_id].get(entry.session)
        self._entries[project_id][entry.session] = (entry, time.monotonic() + self.ttl_s)
        if before is None or before[0] != entry:
            self._wake(project_id)

    async def move(self, project_id: str, entry: PresenceInfo) -> bool:
        """The page is at this place now, if it is still present: False (and nothing kept) once it left or expired.

        A move comes from whatever the person did last (a tab, a file, the end of a generation they asked for), in a
        task of its own that can finish after the page's follower said goodbye; kept, it would show a closed tab until
        its TTL. Only the follower, which alone leaves, joins (put)."""
        current = self._entries[project_id].get(entry.session)
        if current is None or current[1] <= time.monotonic():
            return False
        await self.put(project_id, entry)
        return True

    async def leave(self, project_id: str, session: str) -> None:
        if self._entries[project_id].pop(session, None) is not None:
            self._wake(project_id)

    async def here(self, project_id: str) -> list[PresenceInfo]:
        """The project's open pages, first come first; entries whose heartbeat stopped are dropped (and said)."""
        now, entries = time.monotonic(), self._entries[project_id]
        expired = [session for session, (_, until) in entries.items() if until <= now]
        for session in expired:
            del entries[session]
        if expired:
            self._wake(project_id)
        return sorted((entry for entry, _ in entries.values()), key=lambda e: (e.since, e.session))

    async def looked_up(self, project_id: str) -> list[PresenceInfo] | None:
        """The list for a watcher: `here`, or None when it cannot be read now (the shared presence's Redis away)."""
        return await self.here(project_id)

    async def watch(self, project_id: str) -> AsyncGenerator[list[PresenceInfo]]:
        """The project's list now, then each time it changes (an entry that expires counts: the list is read again
        every third of the TTL, as no event says so)."""
        woken = asyncio.Event()
        self._watchers[project_id].add(woken)
        try:
            last: list[PresenceInfo] | None = None
            while True:
                woken.clear()
                people = await self.looked_up(project_id)
                if people is not None and people != last:
                    last = people
                    yield people
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(self.ttl_s / 3):
                        await woken.wait()
        finally:
            self._watchers[project_id].discard(woken)
            if not self._watchers[project_id]:
                del self._watchers[project_id]

    def _wake(self, project_id: str) -> None:
        """This process's watchers of the project read the list again."""
        for woken in self._watchers.get(project_id, ()):
            woken.set()

    async def close(self) -> None:
        """Nothing to let go of in one process; the shared presence stops listening."""
