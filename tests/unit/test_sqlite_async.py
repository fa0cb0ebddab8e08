"""The SQLite adapter of the asyncio engine (builder/sqlite_async.py): what SQLAlchemy reads of a cursor, in one trip
to aiosqlite's thread per statement."""

from __future__ import annotations

from pathlib import Path

import aiosqlite
import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from builder.db import create_engine


@pytest.fixture
def trips(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The name of each function handed to aiosqlite's thread."""
    made: list[str] = []
    real = aiosqlite.Connection._execute  # pyright: ignore[reportPrivateUsage]

    async def counted(self: aiosqlite.Connection, fn, *args, **kwargs):
        made.append(getattr(fn, "__name__", repr(fn)))
        return await real(self, fn, *args, **kwargs)

    monkeypatch.setattr(aiosqlite.Connection, "_execute", counted)
    return made


async def test_rows_counts_ids_and_errors_come_back_in_one_trip_each(tmp_path: Path, trips: list[str]) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'one.sqlite3'}")
    try:
        async with engine.begin() as connection:
            await connection.execute(text("CREATE TABLE item (id INTEGER PRIMARY KEY, name TEXT UNIQUE, n INTEGER)"))
            trips.clear()
            inserted = await connection.execute(text("INSERT INTO item (name, n) VALUES ('a', 1)"))
            assert trips == ["_run"]
            assert inserted.lastrowid == 1
            await connection.execute(
                text("INSERT INTO item (name, n) VALUES (:name, :n)"), [{"name": "b", "n": 2}, {"name": "c", "n": 3}]
            )
            updated = await connection.execute(text("UPDATE item SET n = n + 10 WHERE n >= 2"))
            assert updated.rowcount == 2
            trips.clear()
            rows = await connection.execute(text("SELECT name, n FROM item ORDER BY id"))
            assert trips == ["_run"]
            assert list(rows.keys()) == ["name", "n"]
            assert rows.all() == [("a", 1), ("b", 12), ("c", 13)]
            many = await connection.execute(text("SELECT id FROM item ORDER BY id"))
            assert many.fetchmany(2) == [(1,), (2,)] and many.fetchall() == [(3,)]
        with pytest.raises(IntegrityError):
            async with engine.begin() as connection:
                await connection.execute(text("INSERT INTO item (name, n) VALUES ('a', 5)"))
        async with engine.connect() as connection:  # the failed transaction left nothing behind
            assert (await connection.execute(text("SELECT count(*) FROM item"))).scalar() == 3
    finally:
        await engine.dispose()


async def test_a_read_ends_without_a_trip_and_a_write_left_open_is_still_rolled_back(tmp_path: Path, trips: list[str]) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'one.sqlite3'}")
    try:
        async with engine.begin() as connection:
            await connection.execute(text("CREATE TABLE item (id INTEGER PRIMARY KEY, name TEXT)"))
            await connection.execute(text("INSERT INTO item (name) VALUES ('kept')"))
        async with engine.connect() as connection:  # the pool's connection is open: only the read and its end count
            trips.clear()
            assert (await connection.execute(text("SELECT count(*) FROM item"))).scalar() == 1
        assert trips == ["_run"]  # no rollback for a transaction that a read never opened, nor the pool's reset
        async with engine.connect() as connection:
            await connection.execute(text("INSERT INTO item (name) VALUES ('dropped')"))
            trips.clear()
        assert "rollback" in trips  # a connection closed without commit
        async with engine.connect() as connection:
            assert (await connection.execute(text("SELECT name FROM item"))).scalars().all() == ["kept"]
    finally:
        await engine.dispose()
