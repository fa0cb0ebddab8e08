"""Generations running in the background, one at a time per project, with followers.

The workspace page starts a generation and follows its events; closing the page does not stop
it, and reopening the page picks up the running one from its first event.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import AsyncIterator, Callable, Coroutine
from typing import Any

from builder.errors import GenerationBusy
from builder.generation.engine import GenerationEvent

Publish = Callable[[GenerationEvent], None]

log = logging.getLogger(__name__)


class GenerationHub:
    # One process's generations; SharedGenerationHub (builder.cluster) is every worker's.
    shared = False

    def __init__(self) -> None:
        self._tasks: dict[str, asyncio.Task[GenerationEvent]] = {}
        self._events: dict[str, list[GenerationEvent]] = defaultdict(list)
        # None in a follower's queue: the generation's task is over, whatever it published last.
        self._listeners: dict[str, set[asyncio.Queue[GenerationEvent | None]]] = defaultdict(set)

    def _running_here(self, project_id: str) -> bool:
        task = self._tasks.get(project_id)
        return task is not None and not task.done()

    async def running(self, project_id: str) -> bool:
        """Whether a generation of the project runs (in this process; a shared hub: in any worker)."""
        return self._running_here(project_id)

    async def start(self, project_id: str, run: Callable[[Publish], Coroutine[Any, Any, GenerationEvent]]) -> None:
        """Run `run(publish)` in the background; what it publishes reaches the project's followers."""
        if await self.running(project_id):
            raise GenerationBusy("This project is already being generated; wait for it to finish.")
        self._run(project_id, run)

    def _run(
        self, project_id: str, run: Callable[[Publish], Coroutine[Any, Any, GenerationEvent]]
    ) -> asyncio.Task[GenerationEvent]:
        self._events[project_id] = []
        task = asyncio.create_task(run(lambda event: self._publish(project_id, event)), name=f"generate-{project_id}")
        task.add_done_callback(lambda _: self._ended(project_id))
        self._tasks[project_id] = task
        return task

    async def cancel(self, project_id: str) -> bool:
        """Stop the project's running generation (it still ends with its done or error event); False if none runs."""
        return self._cancel_here(project_id)

    def _cancel_here(self, project_id: str) -> bool:
        task = self._tasks.get(project_id)
        if task is None or task.done():
            return False
        task.cancel()
        return True

    def _publish(self, project_id: str, event: GenerationEvent) -> None:
        self._events[project_id].append(event)
        for queue in self._listeners[project_id]:
            queue.put_nowait(event)

    def _ended(self, project_id: str) -> None:
        for queue in self._listeners[project_id]:
            queue.put_nowait(None)

    async def follow(self, project_id: str) -> AsyncIterator[GenerationEvent]:
        """The running generation's events from its start; ends with its done or error event, or with its task (a
        follower never waits on a generation that is over, even one that ended without saying so)."""
        if not self._running_here(project_id) and not self._events.get(project_id):
            return
        queue: asyncio.Queue[GenerationEvent | None] = asyncio.Queue()
        self._listeners[project_id].add(queue)
        try:
            for event in list(self._events[project_id]):
                queue.put_nowait(event)
            if not self._running_here(project_id):
                queue.put_nowait(None)
            while (event := await queue.get()) is not None:
                yield event
                if event.type in ("done", "error"):
                    return
        finally:
            self._listeners[project_id].discard(queue)

    async def wait(self, project_id: str) -> GenerationEvent | None:
        task = self._tasks.get(project_id)
        return await task if task else None
