"""SQLite under the asyncio engine with one trip to aiosqlite's thread per statement.

SQLAlchemy's aiosqlite adapter makes four trips for each statement: it opens a cursor, executes, fetches the rows and
closes the cursor, each a hand-over to aiosqlite's thread and back through the event loop (about 0.2 ms each on a busy
2-core machine). A version's save, 8 statements, took 25 trips, most of its 5.5 ms. Here one function on that thread
does all four, and the adapter keeps what SQLAlchemy reads afterwards (the description, the row count, the last row
id, the rows). It relies on aiosqlite's `_execute` (how aiosqlite's own methods reach its thread) and on SQLAlchemy's
adapter classes, both pinned in requirements.txt; tests/unit/test_sqlite_async.py checks what it relies on.
"""

from __future__ import annotations

import sqlite3
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import aiosqlite
from sqlalchemy.dialects.sqlite.aiosqlite import (
    AsyncAdapt_aiosqlite_connection,
    AsyncAdapt_aiosqlite_cursor,
    AsyncAdapt_aiosqlite_dbapi,
)
from sqlalchemy.util.concurrency import await_

Outcome = tuple[Any, int, int | None, list[Any]]  # description, rowcount, lastrowid, rows


def _run(connection: sqlite3.Connection, operation: str, parameters: Any, many: bool) -> Outcome:
    """On aiosqlite's thread: the statement, all it answers, and its cursor closed."""
    cursor = connection.cursor()
    try:
        if many:
            cursor.executemany(operation, parameters)
        elif parameters is None:
            cursor.execute(operation)
        else:
            cursor.execute(operation, parameters)
        rows = cursor.fetchall() if cursor.description else []
        return cursor.description, cursor.rowcount, cursor.lastrowid, rows
    finally:
        cursor.close()


@dataclass(slots=True)
class Results:
    """What a statement's cursor answered, kept where SQLAlchemy's adapter reads its cursor's attributes."""

    description: Any = None
    rowcount: int = -1
    lastrowid: int | None = None
    arraysize: int = 1


class OneTripCursor(AsyncAdapt_aiosqlite_cursor):
    """A cursor of SQLAlchemy's adapter that holds no aiosqlite cursor: each statement's results come back whole."""

    __slots__ = ()

    def __init__(self, adapt_connection: AsyncAdapt_aiosqlite_connection) -> None:
        self._adapt_connection = adapt_connection
        self._connection = adapt_connection._connection
        self._rows = deque()
        self._soft_closed_memoized = {}
        self._cursor = Results()  # pyright: ignore[reportAttributeAccessIssue]

    async def _trip(self, operation: Any, parameters: Any, many: bool) -> None:
        async with self._adapt_connection._execute_mutex:
            connection: aiosqlite.Connection = self._connection  # pyright: ignore[reportAssignmentType]
            outcome: Outcome = await connection._execute(_run, connection._conn, operation, parameters, many)  # pyright: ignore[reportPrivateUsage]
        description, rowcount, lastrowid, rows = outcome
        self._cursor = Results(description, rowcount, lastrowid, self._cursor.arraysize)  # pyright: ignore[reportAttributeAccessIssue]
        self._rows = deque(rows)

    async def _execute_async(self, operation: Any, parameters: Any) -> None:
        await self._trip(operation, parameters, many=False)

    async def _executemany_async(self, operation: Any, seq_of_parameters: Sequence[Any]) -> None:
        await self._trip(operation, seq_of_parameters, many=True)

    async def _async_soft_close(self) -> None:
        """Nothing of aiosqlite's is open between statements."""

    def close(self) -> None:
        self._rows.clear()


class OneTripConnection(AsyncAdapt_aiosqlite_connection):
    __slots__ = ()
    _cursor_cls = OneTripCursor

    def rollback(self) -> None:
        """No trip when no transaction is open: sqlite3's own rollback does nothing then (it asks the same
        `sqlite3_get_autocommit` as `in_transaction`), and a read leaves none open, yet a session rolls back twice as it
        ends (its transaction, then the pool's reset), two of a read's three trips."""
        connection: sqlite3.Connection | None = self._connection._connection  # pyright: ignore[reportAttributeAccessIssue]
        if connection is not None and connection.in_transaction:
            super().rollback()


class OneTripDbapi(AsyncAdapt_aiosqlite_dbapi):
    """What `create_async_engine(..., module=...)` takes for a sqlite+aiosqlite URL."""

    def __init__(self) -> None:
        super().__init__(aiosqlite, sqlite3)

    def connect(self, *arg: Any, **kw: Any) -> OneTripConnection:
        connection = self.aiosqlite.connect(*arg, **kw)
        connection._thread.daemon = True  # as SQLAlchemy's own: a thread left behind never holds up the exit
        return OneTripConnection(self, await_(connection))
