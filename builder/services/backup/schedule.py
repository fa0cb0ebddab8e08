"""The backups the server takes by itself every FORJA_BACKUP_EVERY_HOURS into FORJA_BACKUP_DIR, keeping the newest
FORJA_BACKUP_KEEP, and what the admin page says of the last one.

What was taken is read from the folder itself (the archives' names and sizes), so it holds across restarts and needs
nothing in the database. A backup runs on a thread of its own, started by the sweep when one is due: the sweep never
waits for it, and a second is not started while one runs.
"""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from pydantic import BaseModel

from builder.services.backup.take import KEY_SUFFIX, SUFFIX, take_backup
from builder.settings import settings
from preview_runtime.common import human_size

log = logging.getLogger(__name__)

PATTERN = f"forja-backup-*{SUFFIX}"


def backups_folder() -> Path:
    data_dir = settings.data_dir
    return settings.backup_dir or data_dir.with_name(f"{data_dir.name}-backups")


class LastBackup(BaseModel):
    path: Path
    bytes: int
    taken_at: datetime


def _archives() -> list[Path]:
    """The folder's archives, oldest first (their names say when)."""
    return sorted(backups_folder().glob(PATTERN))


def last_backup() -> LastBackup | None:
    """The newest archive in the folder. Blocking (it lists the folder)."""
    for path in reversed(_archives()):
        try:
            stat = path.stat()
        except FileNotFoundError:  # deleted meanwhile
            continue
        return LastBackup(path=path, bytes=stat.st_size, taken_at=datetime.fromtimestamp(stat.st_mtime, UTC))
    return None


def prune() -> list[Path]:
    """Delete all but the newest FORJA_BACKUP_KEEP archives (and a key file beside one); those deleted."""
    gone = _archives()[: -settings.backup_keep]
    for path in gone:
        path.unlink(missing_ok=True)
        path.with_name(path.name.removesuffix(SUFFIX) + KEY_SUFFIX).unlink(missing_ok=True)
    return gone


def _due(last: LastBackup | None, now: float) -> bool:
    return last is None or now - last.taken_at.timestamp() >= settings.backup_every_hours * 3600


class BackupSchedule:
    def __init__(self) -> None:
        self._running: asyncio.Task[None] | None = None
        self.failure = ""  # why the last scheduled backup failed; "" once one succeeds

    def start_when_due(self) -> None:
        """Start a backup in the background when the schedule is on and the last one is old enough."""
        if not settings.backup_every_hours or (self._running is not None and not self._running.done()):
            return
        self._running = asyncio.create_task(self._take_when_due())

    async def _take_when_due(self) -> None:
        try:
            if _due(await asyncio.to_thread(last_backup), time.time()):
                folder = backups_folder()
                result = await asyncio.to_thread(take_backup, folder)
                await asyncio.to_thread(prune)
                self.failure = ""
                log.info("took the scheduled backup %s (%s)", result.path, human_size(result.bytes))
        except Exception as exc:  # logged and shown on the admin page; the next sweep tries again
            self.failure = str(exc) or type(exc).__name__
            log.exception("the scheduled backup failed; trying again at the next sweep")

    async def settled(self) -> None:
        """Wait for a backup under way to end (when the server stops)."""
        if self._running is not None:
            await asyncio.gather(self._running, return_exceptions=True)

    def words(self) -> tuple[Literal["ok", "off", "problem"], str]:
        """The admin page's state and sentence for the backups: ok, off or problem, and the last one. Blocking."""
        last = last_backup()
        taken = (
            f"The last backup was taken {last.taken_at:%Y-%m-%d %H:%M} UTC: {human_size(last.bytes)}, in {last.path}."
            if last is not None
            else "No backup has been taken yet."
        )
        if not settings.backup_every_hours:
            return "off", f"Off (FORJA_BACKUP_EVERY_HOURS is 0): take them with python -m builder backup. {taken}"
        every = f"Every {settings.backup_every_hours} h into {backups_folder()}, the newest {settings.backup_keep} kept."
        if self.failure:
            return "problem", f"The last scheduled backup failed: {self.failure}. {every} {taken}"
        if last is not None and _due(last, time.time() - settings.backup_every_hours * 3600):
            return "problem", f"The last backup is older than twice the schedule. {every} {taken}"
        return "ok", f"{every} {taken}"
