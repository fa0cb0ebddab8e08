"""Records of an app's data: the rows of its collections (builder/services/app_rows.py decides who may reach which).
Every read and write names the project, the scope and the collection, so no query reaches another app's rows."""

from __future__ import annotations

from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import ColumnElement, delete, func
from sqlalchemy import select as sa_select
from sqlmodel import col, select

from builder.models import AppDataChange, AppDataRow, utcnow
from builder.store.base import StoreBase


def _of(project_id: str, scope: str, collection: str) -> tuple[ColumnElement[bool], ...]:
    return (col(AppDataRow.project_id) == project_id, col(AppDataRow.scope) == scope, col(AppDataRow.collection) == collection)


def _change(row: AppDataRow, kind: str) -> AppDataChange:
    """The log line a change stream reads (builder/store/app_changes.py), written in the write's own transaction."""
    return AppDataChange(
        project_id=row.project_id, scope=row.scope, collection=row.collection, row_id=row.id, owner=row.owner, kind=kind
    )


class ListedRow(NamedTuple):
    """A row as a list reads it: its columns only, since building an ORM object of each of a page's rows costs more
    than the query (the list is the data API's most asked request)."""

    id: str
    owner: str | None
    created_at: datetime
    updated_at: datetime
    data: dict[str, Any]


class AppRowRecords(StoreBase):
    async def data_rows(
        self,
        project_id: str,
        scope: str,
        collection: str,
        owner: tuple[str | None] | None,
        fields: dict[str, str],
        offset: int,
        limit: int,
    ) -> list[ListedRow]:
        """The collection's rows, newest first: only those of `owner` when given (a 1-tuple: None names rows made by
        no one signed in), only those whose top-level text `fields` equal the values given."""
        query = sa_select(
            col(AppDataRow.id),
            col(AppDataRow.owner),
            col(AppDataRow.created_at),
            col(AppDataRow.updated_at),
            col(AppDataRow.data),
        ).where(*_of(project_id, scope, collection))
        if owner is not None:
            query = query.where(col(AppDataRow.owner).is_(None) if owner[0] is None else col(AppDataRow.owner) == owner[0])
        for field, value in fields.items():
            query = query.where(col(AppDataRow.data)[field].as_string() == value)
        query = query.order_by(col(AppDataRow.created_at).desc(), col(AppDataRow.id).desc()).offset(offset).limit(limit)
        async with self._sessions() as session:
            return [ListedRow(*values) for values in (await (await session.connection()).execute(query)).all()]

    async def data_row(self, project_id: str, scope: str, collection: str, row_id: str) -> AppDataRow | None:
        query = select(AppDataRow).where(*_of(project_id, scope, collection), col(AppDataRow.id) == row_id)
        async with self._sessions() as session:
            return (await session.exec(query)).first()

    async def data_collections(self, project_id: str, scope: str) -> list[tuple[str, int]]:
        """Each collection of the app that holds rows, by name, with how many."""
        query = (
            select(AppDataRow.collection, func.count())
            .where(col(AppDataRow.project_id) == project_id, col(AppDataRow.scope) == scope)
            .group_by(col(AppDataRow.collection))
            .order_by(col(AppDataRow.collection))
        )
        async with self._sessions() as session:
            return [(name, count) for name, count in (await session.exec(query)).all()]

    async def data_row_count(self, project_id: str, scope: str) -> int:
        query = (
            select(func.count())
            .select_from(AppDataRow)
            .where(col(AppDataRow.project_id) == project_id, col(AppDataRow.scope) == scope)
        )
        async with self._sessions() as session:
            return (await session.exec(query)).one()

    async def add_data_row(
        self, project_id: str, scope: str, collection: str, owner: str | None, data: dict[str, Any]
    ) -> AppDataRow:
        row = AppDataRow(project_id=project_id, scope=scope, collection=collection, owner=owner, data=data)
        async with self._sessions() as session, session.begin():
            await self._project(session, project_id)
            session.add(row)
            session.add(_change(row, "create"))
        return row

    async def set_data_row(self, row: AppDataRow, data: dict[str, Any]) -> AppDataRow | None:
        """The row with its data replaced by `data` (the service merged it first, where asked); None when it was deleted
        meanwhile."""
        async with self._sessions() as session, session.begin():
            found = await session.get(AppDataRow, row.id)
            if found is None:
                return None
            found.data, found.updated_at = data, utcnow()
            session.add(found)
            session.add(_change(found, "update"))
        return found

    async def remove_data_row(self, row: AppDataRow) -> None:
        async with self._sessions() as session, session.begin():
            gone = await session.exec(delete(AppDataRow).where(col(AppDataRow.id) == row.id))
            if gone.rowcount:
                session.add(_change(row, "delete"))
