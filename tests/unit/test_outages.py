"""What counts as something Forja needs being away (builder/outages.py), and how it is said: once as it goes, once as it
comes back, and as a 503 or a 507 in words; anything else is a bug, left as it is. The outages themselves, with real
Redis, PostgreSQL and a full disk, are tests/integration/test_faults.py's."""

from __future__ import annotations

import errno
import sqlite3
from collections.abc import Iterator

import psycopg
import pytest
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError
from sqlalchemy.exc import IntegrityError, OperationalError, ProgrammingError

from builder import outages
from builder.errors import DiskFull, NotAnswering


def wrapped(kind: type[OperationalError | ProgrammingError | IntegrityError], orig: Exception) -> Exception:
    """A driver's error as SQLAlchemy raises it."""
    return kind("SELECT 1", {}, orig)


@pytest.fixture(autouse=True)
def answering() -> Iterator[None]:
    """Each test starts with every dependency answering (the notes are the process's)."""
    yield
    outages.REDIS.answered()
    outages.DATABASE.answered()


@pytest.mark.parametrize(
    ("error", "away"),
    [
        (RedisConnectionError("Error 111 connecting to 127.0.0.1:6379. Connection refused."), outages.REDIS),
        (wrapped(OperationalError, psycopg.OperationalError("connection failed: Connection refused")), outages.DATABASE),
        (wrapped(OperationalError, sqlite3.OperationalError("database is locked")), outages.DATABASE),
        (ResponseError("WRONGTYPE Operation against a key holding the wrong kind of value"), None),
        (wrapped(OperationalError, sqlite3.OperationalError("no such table: project")), None),
        (wrapped(ProgrammingError, psycopg.ProgrammingError("syntax error")), None),
        (wrapped(IntegrityError, sqlite3.IntegrityError("UNIQUE constraint failed")), None),
        (OSError(errno.ECONNREFUSED, "Connection refused"), None),
        (ValueError("a bug"), None),
    ],
)
def test_what_is_an_outage_and_what_is_a_bug(error: Exception, away: outages.Outage | None) -> None:
    assert outages.outage_of(error) is away
    refusal = outages.refusal(error)
    if away is None:
        assert refusal is None
    else:
        assert isinstance(refusal, NotAnswering) and refusal.status == 503 and refusal.message == away.refusal
        assert refusal.headers() == {"Retry-After": "5"}


@pytest.mark.parametrize(
    "error",
    [
        OSError(errno.ENOSPC, "No space left on device"),
        OSError(errno.EDQUOT, "Disk quota exceeded"),
        wrapped(OperationalError, sqlite3.OperationalError("database or disk is full")),
    ],
)
def test_a_full_disk_is_a_507_in_words(error: Exception) -> None:
    assert outages.disk_full(error) and outages.outage_of(error) is None
    refusal = outages.refusal(error)
    assert isinstance(refusal, DiskFull) and refusal.status == 507
    assert refusal.message.startswith("There is no room left on Forja's disk, so this could not be done")
    assert outages.said(error) == "there is no room left on Forja's disk"


def test_an_outage_is_said_once_as_it_goes_and_once_as_it_comes_back(caplog: pytest.LogCaptureFixture) -> None:
    down = RedisConnectionError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")
    for _ in range(5):
        assert outages.noted(down)
    outages.REDIS.answered()
    outages.REDIS.answered()
    said = [(record.levelname, record.getMessage()) for record in caplog.records]
    assert [level for level, _ in said] == ["ERROR", "WARNING"]
    assert said[0][1].startswith("Redis does not answer (ConnectionError: Error 111 connecting")
    assert said[1][1].startswith("Redis answers again, after ")
    assert not [record for record in caplog.records if record.exc_info]
    assert outages.said(down) == "Forja's workers cannot reach each other now"


def test_what_rides_out_an_outage_and_what_does_not() -> None:
    with outages.ridden_out():
        raise RedisConnectionError("gone")
    with pytest.raises(ValueError, match="a bug"), outages.ridden_out():
        raise ValueError("a bug")


def test_the_page_says_an_outage_in_words_and_logs_no_traceback(caplog: pytest.LogCaptureFixture) -> None:
    """An event handler of the page that meets the database away (builder.builder.plain_error)."""
    from builder.builder import plain_error  # the Reflex app: imported only here

    toast = str(plain_error(wrapped(OperationalError, psycopg.OperationalError("connection failed"))))
    assert "Forja cannot reach its database right now. Your saved work is safe; try again in a moment." in toast
    assert "Something went wrong" not in toast
    assert not [record for record in caplog.records if record.exc_info]
    assert "Something went wrong on Forja's side." in str(plain_error(ValueError("a bug")))
