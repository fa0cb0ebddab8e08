"""What Forja needs and cannot have right now: Redis or the database gone away (stopped, restarting), or no room left
on the disk. Not bugs: each is said in words to whoever asked (a 503 or a 507, builder/api/errors.py), and in the log
once when it starts and once when it ends, instead of a traceback per request and per retry of each background loop
(logs, presence, previews, leases, sweeps). Any other error stays what it was: a bug, with its traceback.

One worker is one process, so the notes are kept per process: every loop of the worker shares them.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import time
from collections.abc import Iterator

from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from builder.errors import DiskFull, ForjaError, NotAnswering

log = logging.getLogger(__name__)

NO_SPACE = frozenset({errno.ENOSPC, errno.EDQUOT})
# PostgreSQL's SQLSTATE for a full disk (disk_full); SQLite says it in its message.
PG_DISK_FULL = "53100"
# A full disk is said in the log at most this often (it has no "answers again" of its own).
DISK_SAID_EVERY_S = 60.0
_disk_said_at = -DISK_SAID_EVERY_S


class Outage:
    """One thing Forja needs, and whether it is away now: said once as it goes and once as it comes back."""

    def __init__(self, name: str, why: str, refusal: str, meanwhile: str) -> None:
        self.name = name  # as the log names it, for whoever runs Forja
        self.why = why  # what it means for a person, in their words (a project's log says it)
        self.refusal = refusal  # the sentence a person gets while it is away
        self.meanwhile = meanwhile  # what the log adds: what waits for it, what goes on
        self._since: float | None = None

    @property
    def said(self) -> str:
        """Its name at the start of a sentence."""
        return self.name[:1].upper() + self.name[1:]

    def failed(self, exc: BaseException) -> None:
        if self._since is None:
            self._since = time.monotonic()
            log.error("%s does not answer (%s: %s). %s", self.said, type(exc).__name__, _first_line(exc), self.meanwhile)

    def answered(self) -> None:
        if self._since is not None:
            log.warning("%s answers again, after %.0f s.", self.said, time.monotonic() - self._since)
            self._since = None


REDIS = Outage(
    "Redis",
    "Forja's workers cannot reach each other now",
    "Forja's workers cannot reach each other right now, so this cannot be done. Your saved work is safe; try again in a moment.",
    "Saves go on; what the workers share (log lines, who is here, which worker runs each preview) waits for it and "
    "comes back by itself.",
)
DATABASE = Outage(
    "the database",
    "Forja cannot reach its database now",
    "Forja cannot reach its database right now. Your saved work is safe; try again in a moment.",
    "Requests get a 503 in words until it answers; the connections are made again by themselves.",
)
NO_ROOM = (
    "There is no room left on Forja's disk, so this could not be done: what was saved before is kept as it was. Ask the "
    "person who runs Forja to free some space, then try again."
)


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [""])[0][:300]


def disk_full(exc: BaseException) -> bool:
    """A write refused for want of space: the OS's ENOSPC, SQLite's "database or disk is full", PostgreSQL's 53100."""
    if isinstance(exc, OSError) and exc.errno in NO_SPACE:
        return True
    if isinstance(exc, DBAPIError):
        orig = exc.orig
        return "disk is full" in str(orig) or getattr(orig, "sqlstate", None) == PG_DISK_FULL
    return False


def outage_of(exc: BaseException) -> Outage | None:
    """Which of Forja's dependencies `exc` says is away, if any."""
    if isinstance(exc, RedisConnectionError | RedisTimeoutError):
        return REDIS
    if isinstance(exc, PoolTimeout):
        return DATABASE
    if not isinstance(exc, DBAPIError) or disk_full(exc):
        return None
    if exc.connection_invalidated:
        return DATABASE
    driver = type(exc.orig).__module__
    if isinstance(exc, OperationalError | InterfaceError) and driver.startswith("psycopg"):
        return DATABASE  # refused, closed, shut down by an admin, cancelled
    if driver == "sqlite3" and any(words in str(exc.orig) for words in ("database is locked", "unable to open")):
        return DATABASE
    return None


def noted(exc: BaseException) -> bool:
    """Whether `exc` is an outage or a full disk (then said in the log, once per outage); False for anything else."""
    if (outage := outage_of(exc)) is not None:
        outage.failed(exc)
        return True
    if disk_full(exc):
        global _disk_said_at
        if time.monotonic() - _disk_said_at >= DISK_SAID_EVERY_S:  # each write refused would say it again
            _disk_said_at = time.monotonic()
            log.error("No room left on the disk: %s", _first_line(exc))
        return True
    return False


def said(exc: BaseException) -> str:
    """Why, in a person's words, of an outage or a full disk (`noted`)."""
    if disk_full(exc):
        return "there is no room left on Forja's disk"
    outage = outage_of(exc)
    return outage.why if outage is not None else "something Forja needs does not answer"


def refusal(exc: BaseException) -> ForjaError | None:
    """What to answer a person for `exc` when it is an outage or a full disk (noted in the log); None otherwise."""
    if not noted(exc):
        return None
    if disk_full(exc):
        return DiskFull(NO_ROOM)
    outage = outage_of(exc)
    assert outage is not None
    return NotAnswering(outage.refusal)


@contextlib.contextmanager
def ridden_out() -> Iterator[None]:
    """What the block does is best effort: an outage (or a full disk) ends it, noted; anything else is raised."""
    try:
        yield
    except Exception as exc:
        if not noted(exc):
            raise
