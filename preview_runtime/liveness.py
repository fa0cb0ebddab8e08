"""Whether each running preview's app still answers through the proxy: a preview is reported running only while it
does. The proxy's own outages are traefik.py's (the manager reports them as reconnecting); this is one app gone quiet
behind a proxy that answers: a dev server hung in a loop, stopped, or waiting on something that never comes.

Each running preview is asked every ASK_EVERY_S for a path no app has (any answer of the app's own, a 404 included,
is an answer: preview_headers.app_answered), so that no page is rendered for the question; it counts as silent after
MISSES questions in a row got none, and as answering at the first answer after that.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

log = logging.getLogger(__name__)

ASK_EVERY_S = 10.0
MISSES = 2  # in a row: a dev server restarting for a save is back before the second question
ALIVE_PATH = "/.forja-alive"


class AnswerWatch:
    """Asks the running previews `asked()` names whether they answer (`answers`), and tells `changed` when one goes
    silent or answers again."""

    def __init__(
        self,
        answers: Callable[[str], Awaitable[bool]],
        asked: Callable[[], list[str]],
        changed: Callable[[str, bool], None],
        every_s: float = ASK_EVERY_S,
    ) -> None:
        self._answers = answers
        self._asked = asked
        self._changed = changed
        self.every_s = every_s
        self._misses: dict[str, int] = {}
        self.silent: set[str] = set()

    def forget(self, preview_id: str) -> None:
        """The preview stopped, parked or started again: what it did before says nothing of it now."""
        self._misses.pop(preview_id, None)
        self.silent.discard(preview_id)

    async def check(self) -> None:
        asked = self._asked()
        for gone in set(self._misses) - set(asked):
            self.forget(gone)
        answered = await asyncio.gather(*(self._answers(preview_id) for preview_id in asked))
        for preview_id, answers in zip(asked, answered, strict=True):
            if answers:
                self._misses.pop(preview_id, None)
                if preview_id in self.silent:
                    self.silent.discard(preview_id)
                    self._changed(preview_id, True)
                continue
            self._misses[preview_id] = misses = self._misses.get(preview_id, 0) + 1
            if misses >= MISSES and preview_id not in self.silent:
                self.silent.add(preview_id)
                self._changed(preview_id, False)

    async def run_forever(self) -> None:
        while True:
            await asyncio.sleep(self.every_s)
            try:
                await self.check()
            except Exception:
                log.exception("asking the previews whether they answer failed")
