"""Reviews as kept: each run over a version (what it read, how long it took) with its findings."""

from __future__ import annotations

from sqlalchemy import func
from sqlmodel import col, select

from builder.models import Project, Review, ReviewFinding, Version, VersionFile
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
        return (await self.latest_reviews([project_id])).get(project_id)

    async def latest_reviews(self, project_ids: list[str]) -> dict[str, tuple[Review, int, list[ReviewFinding]]]:
        """Each of these projects' newest review that has one, with its version's number and its findings (in the order
        kept), in two queries."""
        if not project_ids:
            return {}
        newest = select(func.max(Review.id)).where(col(Review.project_id).in_(project_ids)).group_by(col(Review.project_id))
        query = select(Review, Version.number).join(Version, col(Version.id) == col(Review.version_id))
        async with self._sessions() as session:
            reviews = (await session.exec(query.where(col(Review.id).in_(newest)))).all()
            found: dict[int, list[ReviewFinding]] = {review.id: [] for review, _ in reviews if review.id is not None}
            rows = await session.exec(
                select(ReviewFinding).where(col(ReviewFinding.review_id).in_(list(found))).order_by(col(ReviewFinding.id))
            )
            for row in rows.all():
                found[row.review_id].append(row)
        return {review.project_id: (review, number, found[review.id or 0]) for review, number in reviews}

    async def current_manifests(self, project_ids: list[str]) -> dict[str, tuple[int, dict[str, str]]]:
        """Each of these projects' current version: its number and its tree as {path: blob hash}, in one query."""
        if not project_ids:
            return {}
        query = (
            select(Project.id, Version.number, VersionFile.path, VersionFile.blob_hash)
            .join(Version, col(Version.id) == col(Project.current_version_id))
            .outerjoin(VersionFile, col(VersionFile.version_id) == col(Version.id))
            .where(col(Project.id).in_(project_ids))
        )
        manifests: dict[str, tuple[int, dict[str, str]]] = {}
        async with self._sessions() as session:
            for project_id, number, path, digest in (await session.exec(query)).all():
                _, manifest = manifests.setdefault(project_id, (number, {}))
                if path is not None:
                    manifest[path] = digest
        return manifests
