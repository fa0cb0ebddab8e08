"""How much one person may push in an hour: FORJA_GIT_PUSHES_PER_HOUR pushes and FORJA_GIT_PUSH_MB_PER_HOUR of what
git received, counted over the last hour from the pushes git kept (mirror.py records each; a refused push leaves
nothing and counts for nothing). With accounts only, as the quotas: without them only this machine may push. A refusal says when the person
may push again: once enough of their pushes of the last hour are an hour old."""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from builder.filetree import human_size
from builder.git.trees import PushRefused
from builder.models import LOCAL_USER_ID, utcnow
from builder.services.access import Actor
from builder.settings import settings
from builder.store import ProjectStore

HOUR = timedelta(hours=1)
MB = 1024 * 1024


def in_words(wait: timedelta) -> str:
    minutes = max(1, math.ceil(wait.total_seconds() / 60))
    return f"in {minutes} minute{'s' if minutes != 1 else ''}"


def free_at(pushes: list[tuple[datetime, int]], size: int, cap: int) -> datetime:
    """When enough of `pushes` (oldest first) are an hour old for `size` more bytes to fit in `cap`."""
    used = sum(bytes_ for _, bytes_ in pushes)
    for at, bytes_ in pushes:
        used -= bytes_
        if used + size <= cap:
            return at + HOUR
    return pushes[-1][0] + HOUR


class PushCaps:
    def __init__(self, store: ProjectStore) -> None:
        self._store = store

    @staticmethod
    def counted(actor: Actor) -> str | None:
        """Whose pushes these are, for the caps: the person's id; None without accounts (the pushes go uncounted)."""
        return actor.user_id if settings.auth_mode == "password" and actor.user_id != LOCAL_USER_ID else None

    async def check(self, actor: Actor, size: int) -> None:
        """PushRefused when a push of `size` bytes would take the person past either cap."""
        most, cap = settings.git_pushes_per_hour, settings.git_push_mb_per_hour * MB
        person = self.counted(actor)
        if person is None or not (most or cap):
            return
        now = utcnow()
        pushes = await self._store.git_pushes(person, now - HOUR)
        if most and len(pushes) >= most:
            wait = pushes[len(pushes) - most][0] + HOUR - now
            times = f"{len(pushes)} time{'s' if len(pushes) != 1 else ''}"
            raise PushRefused(
                f"You pushed {times} in the last hour, the most this Forja takes; nothing was saved. Push again {in_words(wait)}."
            )
        if not cap:
            return
        if size > cap:
            raise PushRefused(
                f"This push is {human_size(size)}, more than the {human_size(cap)} this Forja takes from one person in "
                "an hour; nothing was saved. Push fewer commits at a time, or smaller files."
            )
        used = sum(bytes_ for _, bytes_ in pushes)
        if used + size > cap:
            wait = free_at(pushes, size, cap) - now
            raise PushRefused(
                f"You pushed {human_size(used)} in the last hour; this push's {human_size(size)} would pass the "
                f"{human_size(cap)} this Forja takes from one person in an hour, so nothing was saved. Push again "
                f"{in_words(wait)}."
            )
