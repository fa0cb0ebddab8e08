"""The models an admin connected, as kept: their keys as the ciphertext builder/app_secrets.py made."""

from __future__ import annotations

from sqlalchemy import update
from sqlmodel import col, select

from builder.models import ModelConnection
from builder.store.base import StoreBase


class ModelConnectionRecords(StoreBase):
    async def model_connections(self) -> list[ModelConnection]:
        """Every connection, the oldest first."""
        async with self._sessions() as session:
            rows = await session.exec(select(ModelConnection).order_by(col(ModelConnection.id)))
            return list(rows.all())

    async def add_model_connection(self, row: ModelConnection) -> ModelConnection:
        """Keep `row`; the first connection is the default one."""
        async with self._sessions() as session, session.begin():
            first = (await session.exec(select(ModelConnection.id).limit(1))).first() is None
            row.is_default = row.is_default or first
            if row.is_default:
                await session.exec(update(ModelConnection).values(is_default=False))
            session.add(row)
            await session.flush()
            await session.refresh(row)
            return row

    async def default_model_connection(self, connection_id: int) -> bool:
        """Make this connection the default one; False when there is none of that id."""
        async with self._sessions() as session, session.begin():
            if await session.get(ModelConnection, connection_id) is None:
                return False
            await session.exec(update(ModelConnection).values(is_default=col(ModelConnection.id) == connection_id))
            return True

    async def remove_model_connection(self, connection_id: int) -> bool:
        """Remove a connection (the newest left becomes the default if it was); False when there is none of that id."""
        async with self._sessions() as session, session.begin():
            row = await session.get(ModelConnection, connection_id)
            if row is None:
                return False
            await session.delete(row)
            await session.flush()
            if row.is_default:
                newest = (await session.exec(select(ModelConnection).order_by(col(ModelConnection.id).desc()))).first()
                if newest is not None:
                    newest.is_default = True
                    session.add(newest)
            return True
