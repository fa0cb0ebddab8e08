"""Reviews as kept: each run over a version (what it read, how long it took) with its findings."""

from __future__ import annotations

from sqlmodel import col, select

from builder.models import Review, ReviewFinding, Version
from builder.store.base import StoreBase


class ReviewRecords(StoreBase):
    async def add_review(self, review: Review, findings: list[ReviewFinding]) -> Review:
        """Keep a review and its findings (made together, or not at all)."""
        async with self._sessions() as session, session.begin():
            await self._project(session, review.project_id)
            session.add(review)
            await session.flush()
            assert review.id is not None
            for finding in findings:
                finding.review_id = review.id
                session.add(finding)
        return review

    async def latest_review(self, project_id: str) -> tuple[Review, int, list[ReviewFinding]] | None:
        """The project's newest review, with its version's number and its findings (in the order kept)."""
        query = (
            select(Review, Version.number)
            .join(Version, col(Version.id) == col(Review.version_id))
            .where(Review.project_id == project_id)
            .order_by(col(Review.id).desc())
            .limit(1)
        )
        async with self._sessions() as session:
            row = (await session.exec(query)).first()
            if row is None:
                return None
            review, number = row
            findings = await session.exec(
                select(ReviewFinding).where(ReviewFinding.review_id == review.id).order_by(col(ReviewFinding.id))
            )
            return review, number, list(findings.all())
