"""Owners' confirmations of review findings: a finding they say is meant, with their reason, for as long as its file
stays as it was."""

from __future__ import annotations

from sqlmodel import col, select

from builder.models import FindingConfirmation, utcnow
from builder.store.base import StoreBase


class ConfirmationRecords(StoreBase):
    async def confirm_finding(self, project_id: str, fingerprint: str, digest: str, reason: str, user_id: str | None) -> None:
        """Keep the confirmation (replacing an earlier one of the same finding)."""
        async with self._sessions() as session, session.begin():
            await self._project(session, project_id)
            row = await session.get(FindingConfirmation, (project_id, fingerprint))
            if row is None:
                row = FindingConfirmation(project_id=project_id, fingerprint=fingerprint, reason=reason)
            row.digest, row.reason, row.user_id, row.created_at = digest, reason, user_id, utcnow()
            session.add(row)

    async def confirmations(self, project_id: str) -> dict[str, FindingConfirmation]:
        """The project's confirmations by fingerprint."""
        return (await self.confirmations_of([project_id]))[project_id]

    async def confirmations_of(self, project_ids: list[str]) -> dict[str, dict[str, FindingConfirmation]]:
        """Each of these projects' confirmations by fingerprint, in one query."""
        found: dict[str, dict[str, FindingConfirmation]] = {project_id: {} for project_id in project_ids}
        if not project_ids:
            return found
        async with self._sessions() as session:
            rows = await session.exec(select(FindingConfirmation).where(col(FindingConfirmation.project_id).in_(project_ids)))
            for row in rows.all():
                found[row.project_id][row.fingerprint] = row
        return found
