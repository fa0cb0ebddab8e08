"""Storage for items: one SQLite file, so data survives restarts without a database server.

Routes call these functions and never write SQL themselves, so this module can be swapped for
another database later. In Forja it lives in the app's /data folder (DATABASE_URL), so it outlives new versions.
"""

from __future__ import annotations

import os
import sqlite3
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field


def _database_path() -> Path:
    """The SQLite file: the one Forja gives the app (DATABASE_URL, in its /data folder, which outlives every new
    version), else one in DATA_DIR, else instance/ beside the code when it runs on its own."""
    url = os.environ.get("DATABASE_URL", "")
    if url.startswith("sqlite:///"):
        return Path(url.removeprefix("sqlite:///"))
    if os.environ.get("DATABASE_PATH"):
        return Path(os.environ["DATABASE_PATH"])
    return Path(os.environ.get("DATA_DIR") or Path(__file__).resolve().parent.parent / "instance") / "app.sqlite3"


DB_PATH = _database_path()


class ItemCreate(BaseModel):
    model_config = ConfigDict(str_strip_whitespace=True)

    text: str = Field(min_length=1, max_length=200)


class ItemUpdate(BaseModel):
    model_config = ConfigDict(str_strip_whitespace=True)

    text: str | None = Field(default=None, min_length=1, max_length=200)
    done: bool | None = None


class Item(BaseModel):
    id: str
    text: str
    done: bool
    created_at: float


@contextmanager
def connect() -> Iterator[sqlite3.Connection]:
    DB_PATH.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(DB_PATH)
    conn.row_factory = sqlite3.Row
    try:
        with conn:  # commits on success, rolls back on error
            yield conn
    finally:
        conn.close()


def init_db() -> None:
    with connect() as conn:
        conn.execute(
            "CREATE TABLE IF NOT EXISTS items ("
            " id TEXT PRIMARY KEY, text TEXT NOT NULL, done INTEGER NOT NULL DEFAULT 0, created_at REAL NOT NULL)"
        )


def _item(row: sqlite3.Row) -> Item:
    return Item(id=row["id"], text=row["text"], done=bool(row["done"]), created_at=row["created_at"])


def list_items() -> list[Item]:
    with connect() as conn:
        return [_item(r) for r in conn.execute("SELECT * FROM items ORDER BY created_at DESC")]


def get_item(item_id: str) -> Item | None:
    with connect() as conn:
        row = conn.execute("SELECT * FROM items WHERE id = ?", (item_id,)).fetchone()
    return _item(row) if row else None


def create_item(data: ItemCreate) -> Item:
    item = Item(id=uuid.uuid4().hex, text=data.text, done=False, created_at=time.time())
    with connect() as conn:
        conn.execute("INSERT INTO items VALUES (?, ?, ?, ?)", (item.id, item.text, item.done, item.created_at))
    return item


def update_item(item_id: str, data: ItemUpdate) -> Item | None:
    changes = data.model_dump(exclude_none=True)
    if changes:
        with connect() as conn:
            assignments = ", ".join(f"{column} = ?" for column in changes)  # column names come from the model
            conn.execute(f"UPDATE items SET {assignments} WHERE id = ?", (*changes.values(), item_id))
    return get_item(item_id)


def delete_item(item_id: str) -> bool:
    with connect() as conn:
        return conn.execute("DELETE FROM items WHERE id = ?", (item_id,)).rowcount > 0
