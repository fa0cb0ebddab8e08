"""Apps' custom domains: a claim (a name its owner asked for, with the value its TXT record must hold), and the domain
proved theirs, which alone is routed.

A claim is not unique: several apps may ask for one name, and the first whose record is seen gets it (the proved
`domain` column is unique, so two proofs at once cannot both win). A name already proved by one app is refused to the
others' claims.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, or_, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select

from builder.errors import NameTaken, NotFound
from builder.models import Project, PublishedApp, utcnow
from builder.store.base import StoreBase


@dataclass(frozen=True)
class DomainClaim:
    """A name an app asked for and the value its TXT record must hold."""

    project_id: str
    domain: str
    token: str


def taken(domain: str) -> NameTaken:
    return NameTaken(f"{domain} is already the domain of another app on this Forja.")


class DomainRecords(StoreBase):
    async def app_domains(self) -> dict[str, str]:
        """Every proved custom domain with the name of the app it serves (apps of trashed projects left out)."""
        query = (
            select(PublishedApp.domain, PublishedApp.name)
            .join(Project, col(Project.id) == col(PublishedApp.project_id))
            .where(col(PublishedApp.domain).is_not(None), col(Project.deleted_at).is_(None))
        )
        async with self._sessions() as session:
            return {domain: name for domain, name in (await session.exec(query)).all() if domain}

    async def claim_app_domain(self, project_id: str, domain: str, token: str) -> None:
        """Ask for `domain` for the app, to be proved with `token` (its proved domain, if another, is routed no more);
        the app's own domain or claim again is a no-op. NameTaken when another app proved it."""
        async with self._sessions() as session, session.begin():
            app = await session.get(PublishedApp, project_id)
            if app is None:
                raise NotFound("This project is not published yet: publish it first, then give it a domain.")
            if domain in (app.domain, app.domain_claim):
                return  # asked again: the same value, so a record made for it still proves it
            other = select(PublishedApp.project_id).where(PublishedApp.domain == domain, PublishedApp.project_id != project_id)
            if (await session.exec(other)).first() is not None:
                raise taken(domain)
            app.domain, app.domain_claim, app.domain_token = None, domain, token
            app.domain_claimed_at, app.domain_checked_at, app.updated_at = utcnow(), None, utcnow()
            session.add(app)

    async def prove_app_domain(self, project_id: str, domain: str) -> bool:
        """The claim is proved: the app's domain from now on (False when the claim changed meanwhile). NameTaken when
        another app proved it first."""
        try:
            async with self._sessions() as session, session.begin():
                result = await session.exec(
                    update(PublishedApp)
                    .where(col(PublishedApp.project_id) == project_id, col(PublishedApp.domain_claim) == domain)
                    .values(domain=domain, domain_claim=None, domain_checked_at=utcnow(), updated_at=utcnow())
                )
                return bool(result.rowcount)
        except IntegrityError:
            raise taken(domain) from None

    async def domain_owner(self, domain: str) -> str | None:
        """The project whose app proved `domain`, if any."""
        async with self._sessions() as session:
            return (await session.exec(select(PublishedApp.project_id).where(PublishedApp.domain == domain))).first()

    async def clear_app_domain(self, project_id: str) -> bool:
        """Forget the app's domain, proved or claimed, and its value; False when it had none."""
        async with self._sessions() as session, session.begin():
            result = await session.exec(
                update(PublishedApp)
                .where(
                    col(PublishedApp.project_id) == project_id,
                    or_(col(PublishedApp.domain).is_not(None), col(PublishedApp.domain_claim).is_not(None)),
                )
                .values(domain=None, domain_claim=None, domain_token=None, domain_claimed_at=None, domain_checked_at=None)
            )
            return bool(result.rowcount)

    async def take_due_claims(
        self, now: datetime, first: timedelta, often: timedelta, rarely: timedelta, until: timedelta, limit: int
    ) -> list[DomainClaim]:
        """Claims of apps not in the trash that are due for a look: never looked at, or last looked at `often` ago in
        their `first` period, `rarely` ago after it, none older than `until`; at most `limit`. Each is marked looked at
        now, only if no other worker marked it first (the one that does is the one that looks)."""
        due = and_(
            col(PublishedApp.domain_claim).is_not(None),
            col(PublishedApp.domain_claimed_at) > now - until,
            or_(
                col(PublishedApp.domain_checked_at).is_(None),
                and_(col(PublishedApp.domain_claimed_at) > now - first, col(PublishedApp.domain_checked_at) < now - often),
                col(PublishedApp.domain_checked_at) < now - rarely,
            ),
        )
        query = (
            select(PublishedApp.project_id, PublishedApp.domain_claim, PublishedApp.domain_token)
            .join(Project, col(Project.id) == col(PublishedApp.project_id))
            .where(due, col(Project.deleted_at).is_(None))
            .limit(limit)
        )
        taken_now: list[DomainClaim] = []
        async with self._sessions() as session, session.begin():
            for project_id, domain, token in (await session.exec(query)).all():
                # Still due: another worker that marked it meanwhile made it not due.
                mark = update(PublishedApp).where(col(PublishedApp.project_id) == project_id, due).values(domain_checked_at=now)
                if domain and token and (await session.exec(mark)).rowcount:
                    taken_now.append(DomainClaim(project_id, domain, token))
        return taken_now
