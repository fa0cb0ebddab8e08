"""A project's own variables as kept: names in clear, values as the ciphertext builder/app_secrets.py made."""

from __future__ import annotations

from sqlmodel import col, select

from builder.errors import InvalidInput
from builder.models import AppEnvVar, utcnow
from builder.store.base import StoreBase


class AppEnvRecords(StoreBase):
    async def env_vars(self, project_id: str) -> list[AppEnvVar]:
        """The project's variables by name (their values encrypted)."""
        async with self._sessions() as session:
            rows = await session.exec(select(AppEnvVar).where(AppEnvVar.project_id == project_id).order_by(col(AppEnvVar.name)))
            return list(rows.all())

    async def set_env_var(
        self, project_id: str, name: str, ciphertext: str, public: bool, user_id: str | None, most: int
    ) -> None:
        """Add or replace one variable; InvalidInput when it would be the project's `most`+1th."""
        async with self._sessions() as session, session.begin():
            await self._project(session, project_id)
            row = await session.get(AppEnvVar, (project_id, name))
            if row is None:
                count = len((await session.exec(select(AppEnvVar.name).where(AppEnvVar.project_id == project_id))).all())
                if count >= most:
                    raise InvalidInput(f"A project holds at most {most} variables: remove one first.")
                row = AppEnvVar(project_id=project_id, name=name, value=ciphertext)
            row.value, row.public, row.updated_by, row.updated_at = ciphertext, public, user_id, utcnow()
            session.add(row)

    async def unset_env_var(self, project_id: str, name: str) -> bool:
        """Remove one variable; False when the project had none of that name."""
        async with self._sessions() as session, session.begin():
            await self._project(session, project_id)
            row = await session.get(AppEnvVar, (project_id, name))
            if row is None:
                return False
            await session.delete(row)
            return True
