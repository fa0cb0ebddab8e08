"""Change streams of an app's data: each open stream polls the change log in the database (one indexed range query a
second) and sends the viewer the changes the rules let them read (builder/app_backend/changes.py decides which).

The log is in the database, not in a process's memory, so a stream hears the writes of every Forja process on it.
A stream re-asks who its viewer is now and then (`still`) and ends when the answer changed (signed out, turned off,
another role, a new release with other rules): the browser reconnects, as the viewer it is now, where it left off.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from collections.abc import AsyncGenerator, Awaitable, Callable
from datetime import timedelta

from builder.app_backend.changes import Cursor, event, hears
from builder.app_backend.identity import AppViewer
from builder.app_backend.rules import DataRules, read_filter
from builder.errors import LimitReached
from builder.models import utcnow
from builder.services.app_data import Scope
from builder.services.app_rows import refusal, row_out
from builder.store import ProjectStore

log = logging.getLogger(__name__)

POLL_S = 1.0
HEARTBEAT_S = 15.0  # a comment line, so proxies and the browser keep a quiet stream open
RECHECK_S = 10.0  # how soon a stream ends after its viewer signs out
MAX_STREAMS = 100  # open streams per app in one Forja process
PAGE = 200  # changes read per poll
KEEP = timedelta(minutes=10)  # how long a change stays in the log: a browser reconnecting within it misses nothing
PRUNE_EVERY_S = 60.0


class AppChangeService:
    def __init__(self, store: ProjectStore) -> None:
        self._store = store
        self._open: Counter[str] = Counter()
        self._pruned = 0.0

    async def prune(self) -> None:
        """Forget changes older than KEEP, at most once a PRUNE_EVERY_S in this process (any process may)."""
        if time.monotonic() - self._pruned < PRUNE_EVERY_S:
            return
        self._pruned = time.monotonic()
        gone = await self._store.prune_data_changes(utcnow() - KEEP)
        if gone:
            log.debug("app data change log: %s old changes pruned", gone)

    def take_slot(self, project_id: str) -> Callable[[], None]:
        """Room for one more open stream of the app (and the call that gives it back), or LimitReached (429) in words."""
        if self._open[project_id] >= MAX_STREAMS:
            raise LimitReached(
                f"This app has {MAX_STREAMS} live updates open already; close a tab of it, or try again in a minute."
            )
        self._open[project_id] += 1

        def give_back() -> None:
            self._open[project_id] -= 1
            if not self._open[project_id]:
                del self._open[project_id]

        return give_back

    async def now(self) -> int:
        """Where a new stream starts reading the log: after every change made before it opened."""
        return await self._store.last_data_change()

    def check_open(self, rules: DataRules, collection: str, viewer: AppViewer) -> None:
        """Refused (in words, as a list would be) when `viewer` may read no row of `collection`."""
        if read_filter(rules, collection, viewer) == "none":
            raise refusal(rules, collection, "read", viewer)

    async def stream(
        self,
        project_id: str,
        scope: Scope,
        rules: DataRules,
        collection: str,
        viewer: AppViewer,
        after: int,
        still: Callable[[], Awaitable[bool]],
    ) -> AsyncGenerator[str]:
        """The events for `viewer`, from the change after `after` (`now()` when the stream opened), until `still()`
        says otherwise."""
        cursor = Cursor(after)
        yield "retry: 2000\n\n"
        checked = beat = time.monotonic()
        while True:
            changes = await self._store.data_changes(project_id, scope, collection, cursor.floor, PAGE)
            now = time.monotonic()
            new = [change for change in changes if change.id is not None and cursor.fresh(change.id, now)]
            heard = [change for change in new if hears(rules, collection, viewer, change.owner)]
            wanted = {change.row_id for change in heard if change.kind != "delete"}
            rows = {row.id: row for row in await self._store.data_rows_by_id(project_id, scope, collection, wanted)}
            for change in heard:
                assert change.id is not None
                if change.kind == "delete":
                    yield event(change.id, "delete", {"id": change.row_id})
                elif (row := rows.get(change.row_id)) is not None:
                    yield event(change.id, "create" if change.kind == "create" else "update", row_out(row).model_dump())
                beat = now
            full = len(changes) == PAGE
            cursor.settle(now, full=full and not new)
            if now - checked >= RECHECK_S:
                if not await still():
                    return
                checked = now
            if full and new:
                continue  # more waiting: read on before sleeping
            await self.prune()
            if now - beat >= HEARTBEAT_S:
                yield ": still here\n\n"
                beat = now
            await asyncio.sleep(POLL_S)
