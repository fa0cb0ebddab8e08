"""Each app's own PostgreSQL database as kept: its name, and its role's password as the ciphertext
builder/app_secrets.py made."""

from __future__ import annotations

from sqlalchemy.exc import IntegrityError
from sqlmodel import select

from builder.models import AppDatabase
from builder.store.base import StoreBase


class AppDataRecords(StoreBase):
    async def app_database(self, project_id: str, scope: str) -> AppDatabase | None:
        async with self._sessions() as session:
            return await session.get(AppDatabase, (project_id, scope))

    async def app_databases(self) -> list[AppDatabase]:
        """Every app database Forja made (to relay to them again after a restart)."""
        async with self._sessions() as session:
            return list((await session.exec(select(AppDatabase))).all())

    async def keep_app_database(self, project_id: str, scope: str, name: str, ciphertext: str) -> AppDatabase:
        """Record the database made for the app and scope; the one recorded first when another worker was quicker."""
        try:
            async with self._sessions() as session, session.begin():
                await self._project(session, project_id)
                row = AppDatabase(project_id=project_id, scope=scope, name=name, password=ciphertext)
                session.add(row)
            return row
        except IntegrityError:
            found = await self.app_database(project_id, scope)
            if found is None:
                raise
            return found

    async def drop_app_database(self, project_id: str, scope: str) -> None:
        async with self._sessions() as session, session.begin():
            row = await session.get(AppDatabase, (project_id, scope))
            if row is not None:
                await session.delete(row)
