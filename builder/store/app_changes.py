"""Records of the changes to an app's data that its change streams read (builder/services/app_changes.py): each names
the row, its owner and what happened, in id order. Written by app_rows.py in the write's transaction; pruned by age."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from sqlalchemy import delete, func
from sqlmodel import col, select

from builder.models import AppDataChange, AppDataRow
from builder.store.base import StoreBase


class AppChangeRecords(StoreBase):
    async def data_changes(self, project_id: str, scope: str, collection: str, after: int, limit: int) -> list[AppDataChange]:
        """The collection's changes with an id above `after`, oldest first (one range of ix_appdatachange_stream)."""
        query = (
            select(AppDataChange)
            .where(
                col(AppDataChange.project_id) == project_id,
                col(AppDataChange.scope) == scope,
                col(AppDataChange.collection) == collection,
                col(AppDataChange.id) > after,
            )
            .order_by(col(AppDataChange.id))
            .limit(limit)
        )
        async with self._sessions() as session:
            return list((await session.exec(query)).all())

    async def last_data_change(self) -> int:
        """The highest change id of all apps (0 for none): where a new stream starts."""
        async with self._sessions() as session:
            return (await session.exec(select(func.max(AppDataChange.id)))).one() or 0

    async def data_rows_by_id(self, project_id: str, scope: str, collection: str, ids: Collection[str]) -> list[AppDataRow]:
        if not ids:
            return []
        query = select(AppDataRow).where(
            col(AppDataRow.project_id) == project_id,
            col(AppDataRow.scope) == scope,
            col(AppDataRow.collection) == collection,
            col(AppDataRow.id).in_(list(ids)),
        )
        async with self._sessions() as session:
            return list((await session.exec(query)).all())

    async def prune_data_changes(self, before: datetime) -> int:
        async with self._sessions() as session, session.begin():
            result = await session.exec(delete(AppDataChange).where(col(AppDataChange.at) < before))
            return result.rowcount
