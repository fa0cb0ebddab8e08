"""Share links: an unguessable URL that shows one saved version of a project to anyone who has it.

A link may instead open the project's published app, with no preview at all: the live app (its address, whatever it
serves after later publishes), or one release, pinned, on a host of its own (`<name>--r<N>.<apps domain>`) that the
edge serves only while such a link works. Revocation and expiry are the same for every kind of link.

Only the SHA-256 of a link's token is stored; the token itself is shown once, when the link is
made. A link keeps showing the version it was made for after the project moves on. Unknown,
malformed and deleted-project links all get the same 404 answer, so a link tells nothing about
what exists; revoked and expired links get a 410 that says which.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import secrets
import time
from datetime import UTC, datetime, timedelta
from typing import Literal
from urllib.parse import urlsplit

from pydantic import BaseModel
from sqlalchemy import or_
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from builder.db import session_factory
from builder.errors import InvalidInput, NotFound, ShareGone
from builder.models import Project, PublishedApp, Release, ShareLink, Version, utcnow
from builder.publish.addresses import app_url, release_label
from builder.services.previews import VersionPreviewService
from builder.services.publishing import PublishService
from builder.settings import settings
from builder.store import ProjectStore, stored_number

log = logging.getLogger(__name__)

SHARE_DEFAULT_DAYS = 7
"""How long a link works when its maker does not say."""


"""How often running share previews are checked against their links' expiry."""

SHARE_MAX_DAYS = 3650
TOKEN_BYTES = 32  # secrets.token_urlsafe(32): 43 characters

# A link whose app runs answers the same page to every visitor for this long without asking the store, the preview or
# the app again (a link passed around a group chat gets many visits at once). A revocation here drops it at once; another
# worker's page follows within this.
PAGE_TTL_S = 5.0

GONE_MESSAGE = "This link does not exist. Ask the person who sent it for a new one."
REVOKED_MESSAGE = "This link was turned off by its owner."
EXPIRED_MESSAGE = "This link has expired. Ask for a new one."

_TOKEN = re.compile(r"^[A-Za-z0-9_-]{32,128}$")
_DURATION = re.compile(r"^\s*(\d+)\s*([smhdw]?)\s*$")
_UNIT_SECONDS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}

Never = Literal["never"]
# What a link opens: a preview of its version (a dev server), the published app as it is live, or one release, pinned.
ShareKind = Literal["preview", "live", "release"]
NOT_LIVE = "This project has no live app: publish it first, or share a preview of a version."


class ShareCreated(BaseModel):
    id: int
    url: str
    token: str
    version: int
    expires_at: datetime | None
    target: ShareKind = "preview"
    release: int | None = None  # the release a pinned link opens


class ShareTarget(BaseModel):
    share_id: int
    project_id: str
    version: int
    expires_at: datetime | None = None
    target: ShareKind = "preview"
    address: str = ""  # live and release links: where the app answers; "" when it has no address now
    release: int | None = None
    kept: bool = True  # release links: its built files are still there (False once pruned)


class ShareInfo(BaseModel):
    id: int
    project_id: str
    version: int | None
    created_at: datetime
    expires_at: datetime | None
    revoked: bool
    revoked_at: datetime | None = None
    expired: bool
    url: str  # without the token, which is never shown again after creation
    target: ShareKind = "preview"
    release: int | None = None


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def share_url(token: str, page_url: str = "") -> str:
    """The link to give out: on FORJA_PUBLIC_URL when set, else on the address the person is using.

    Without a public URL, Forja only knows it listens on e.g. 127.0.0.1; a person who opened it at
    http://localhost:8000 (or by the machine's name) expects links on that same address.
    """
    return f"{share_base(page_url)}/s/{token}"


def share_base(page_url: str) -> str:
    if settings.public_url or not page_url:
        return settings.base_url
    parts = urlsplit(page_url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return settings.base_url
    return f"{parts.scheme}://{parts.netloc.rsplit('@', 1)[-1]}"


def _aware(value: datetime | None) -> datetime | None:
    """SQLite hands datetimes back without a zone; they were stored as UTC."""
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


def parse_expires(value: str | int | timedelta | None) -> timedelta | Never | None:
    """'7d', '24h', '30d', '90m', 'never', or a number of seconds -> a lifetime; None means the default.

    Raises ValueError with a plain message for anything else.
    """
    if value is None or isinstance(value, timedelta):
        return value
    if isinstance(value, bool):
        raise ValueError("expires_in must be like 7d, 24h, 30d, never, or a number of seconds.")
    if isinstance(value, int):
        seconds = value
    else:
        text = value.strip().lower()
        if text == "never":
            return "never"
        match = _DURATION.match(text)
        if not match:
            raise ValueError(f"Cannot read {value!r} as a lifetime: use 7d, 24h, 30d, never, or a number of seconds.")
        seconds = int(match.group(1)) * _UNIT_SECONDS[match.group(2)]
    if seconds <= 0:
        raise ValueError("A link's lifetime must be positive (or 'never').")
    if seconds > SHARE_MAX_DAYS * 86400:
        raise ValueError(f"A link can last at most {SHARE_MAX_DAYS} days; use 'never' for no end date.")
    return timedelta(seconds=seconds)


def kind_of(link: ShareLink) -> ShareKind:
    return "live" if link.follows_live else "release" if link.release_id is not None else "preview"


def _info(link: ShareLink, numbers: dict[int, int], releases: dict[int, int]) -> ShareInfo:
    expires_at = _aware(link.expires_at)
    assert link.id is not None
    return ShareInfo(
        id=link.id,
        project_id=link.project_id,
        version=numbers.get(link.version_id) if link.version_id is not None else None,
        created_at=_aware(link.created_at) or link.created_at,
        expires_at=expires_at,
        revoked=link.revoked_at is not None,
        revoked_at=_aware(link.revoked_at),
        expired=expires_at is not None and expires_at <= utcnow(),
        url=f"{settings.base_url}/s/…",
        target=kind_of(link),
        release=releases.get(link.release_id) if link.release_id is not None else None,
    )


async def _numbers(session: AsyncSession, project_id: str) -> dict[int, int]:
    rows = await session.exec(select(Version.id, Version.number).where(Version.project_id == project_id))
    return {version_id: number for version_id, number in rows if version_id is not None}


async def _release_numbers(session: AsyncSession, project_id: str) -> dict[int, int]:
    rows = await session.exec(select(Release.id, Release.number).where(Release.project_id == project_id))
    return {release_id: number for release_id, number in rows if release_id is not None}


class ShareService:
    def __init__(self, store: ProjectStore, previews: VersionPreviewService, publishing: PublishService) -> None:
        self._store = store
        self._previews = previews
        self._publishing = publishing
        self._sessions = session_factory(store.engine)
        # token -> (until, what it opens, the page): see PAGE_TTL_S.
        self._pages: dict[str, tuple[float, ShareTarget, bytes]] = {}

    def cached_page(self, token: str) -> bytes | None:
        """The page of a link whose app ran a moment ago, if it is still fresh."""
        kept = self._pages.get(token)
        if kept is None or kept[0] < time.monotonic():
            self._pages.pop(token, None)
            return None
        return kept[2]

    def keep_page(self, token: str, target: ShareTarget, page: bytes) -> None:
        """Keep the page of a link whose app runs, for PAGE_TTL_S (never past the link's own end)."""
        ttl = PAGE_TTL_S
        if target.expires_at is not None:
            ttl = min(ttl, (target.expires_at - utcnow()).total_seconds())
        if len(self._pages) > 10_000:  # visits of many links: start again rather than grow
            self._pages.clear()
        self._pages[token] = (time.monotonic() + ttl, target, page)

    def _drop_pages(self, share_id: int | None = None, project_id: str | None = None) -> None:
        self._pages = {
            token: kept
            for token, kept in self._pages.items()
            if kept[1].share_id != share_id and (project_id is None or kept[1].project_id != project_id)
        }

    async def create(
        self,
        project_id: str,
        version: int | None = None,
        expires_in: timedelta | Never | None = None,
        page_url: str = "",
        target: ShareKind = "preview",
        release: int | None = None,
    ) -> ShareCreated:
        """A new link, valid SHARE_DEFAULT_DAYS unless told otherwise, to a preview of one version (default: the current
        one), or to the published app: `live` (its address, following later publishes) or `release` (one release,
        pinned; default: the one live now).

        `page_url` is the address the person asked from; the link is on its host (see share_url).
        """
        if isinstance(expires_in, timedelta) and expires_in <= timedelta(0):
            raise ValueError("A link's lifetime must be positive (or 'never').")
        if target != "preview" and version is not None:
            raise InvalidInput("A link to the published app opens what was published: give a release, not a version.")
        if target != "release" and release is not None:
            raise InvalidInput("Only a link to a release names one.")
        project = await self._store.get_project(project_id)  # NotFound for unknown and trashed projects
        pinned = await self._published(project_id, target, release) if target != "preview" else None
        number = version if version is not None else project.current_version
        if pinned is None and number is None:
            raise NotFound(f"Project {project_id} has no files yet; there is nothing to share.")
        if pinned is None and not stored_number(number):
            raise NotFound(f"Project {project_id} has no version {number}.")
        token = secrets.token_urlsafe(TOKEN_BYTES)
        now = utcnow()
        if expires_in == "never":
            expires_at = None
        else:
            expires_at = now + (expires_in if isinstance(expires_in, timedelta) else timedelta(days=SHARE_DEFAULT_DAYS))
        async with self._sessions() as session, session.begin():
            if pinned is not None:
                found = await session.get(Version, pinned.version_id)
            else:
                query = select(Version).where(Version.project_id == project_id, Version.number == number)
                found = (await session.exec(query)).first()
            if found is None or found.id is None:
                raise NotFound(f"Project {project_id} has no version {number}.")
            link = ShareLink(
                project_id=project_id,
                version_id=found.id,
                token_hash=hash_token(token),
                created_at=now,
                expires_at=expires_at,
                follows_live=target == "live",
                release_id=pinned.id if pinned is not None and target == "release" else None,
            )
            session.add(link)
            await session.flush()
            assert link.id is not None
            share_id, shown = link.id, found.number
        return ShareCreated(
            id=share_id,
            url=share_url(token, page_url),
            token=token,
            version=shown,
            expires_at=expires_at,
            target=target,
            release=pinned.number if pinned is not None and target == "release" else None,
        )

    async def _published(self, project_id: str, target: ShareKind, number: int | None) -> Release:
        """The release a link to the published app starts from: the live one, or (pinned) `number`, which must still
        have its files; InvalidInput, in words, when there is none."""
        app = await self._publishing.app(project_id)
        if app is None or app.state != "live" or app.live_release is None:
            raise InvalidInput(NOT_LIVE)
        if target == "live" or number is None:
            number = app.live_release
        if not stored_number(number):
            raise NotFound(f"Project {project_id} has no release {number}.")
        found = await self._store.release(project_id, number)  # NotFound for no such release
        if target == "release":
            if found.kind == "server":  # its own host would need a sandbox of its own beside the live one's
                raise InvalidInput(
                    f"Release {number} is a server app's: a link opens the live app, not one release pinned (roll back to "
                    "it to serve it again)."
                )
            if not self._publishing.release_kept(project_id, found):
                raise InvalidInput(f"Release {number} cannot be shared: its files are gone (failed or pruned).")
            if app is None or release_label(app.name, number) is None:
                raise InvalidInput("This app's name is too long for a release's own address; rename it to share one.")
        return found

    async def resolve(self, token: str) -> ShareTarget:
        """The project and version a token opens, or ShareGone (404 for anything unknown, 410 revoked/expired)."""
        if not isinstance(token, str) or not _TOKEN.match(token):
            raise ShareGone(404, GONE_MESSAGE)
        digest = hash_token(token)
        async with self._sessions() as session:
            link = (await session.exec(select(ShareLink).where(ShareLink.token_hash == digest))).first()
            if link is None or not hmac.compare_digest(link.token_hash.encode(), digest.encode()):
                raise ShareGone(404, GONE_MESSAGE)
            project = await session.get(Project, link.project_id)
            if project is None or project.deleted_at is not None:
                raise ShareGone(404, GONE_MESSAGE)
            version_id = link.version_id if link.version_id is not None else project.current_version_id
            found = await session.get(Version, version_id) if version_id is not None else None
            if found is None:
                raise ShareGone(404, GONE_MESSAGE)
            if link.revoked_at is not None:
                raise ShareGone(410, REVOKED_MESSAGE)
            expires_at = _aware(link.expires_at)
            expired = expires_at is not None and expires_at <= utcnow()
            assert link.id is not None
            target = ShareTarget(share_id=link.id, project_id=link.project_id, version=found.number, expires_at=expires_at)
            if kind_of(link) != "preview" and not expired:
                target = await self._app_target(session, link, target)
        if expired:
            # The sweep would end its preview within seconds; the first visit after the expiry does it now.
            await self.end_unshared_previews(target.project_id)
            raise ShareGone(410, EXPIRED_MESSAGE)
        return target

    async def _app_target(self, session: AsyncSession, link: ShareLink, target: ShareTarget) -> ShareTarget:
        """Where a link to the published app goes now: the app's address (it answers 410 itself once taken down), or
        the pinned release's own host, with whether its files are still kept."""
        app = await session.get(PublishedApp, link.project_id)
        if app is None:  # cannot be: links to apps are made of published ones, and apps are not deleted
            return target.model_copy(update={"target": kind_of(link)})
        if link.follows_live:
            live = await session.get(Release, app.live_release_id) if app.live_release_id is not None else None
            shown = await session.get(Version, live.version_id) if live is not None else None
            update = {"target": "live", "address": app_url(app.name)}
            return target.model_copy(update=update | ({"version": shown.number} if shown is not None else {}))
        release = await session.get(Release, link.release_id)
        if release is None:
            raise ShareGone(404, GONE_MESSAGE)
        label = release_label(app.name, release.number)
        return target.model_copy(
            update={
                "target": "release",
                "release": release.number,
                "address": app_url(label) if label is not None else "",
                "kept": label is not None and self._publishing.release_kept(link.project_id, release),
            }
        )

    async def links(self, project_id: str) -> list[ShareInfo]:
        """The project's links, newest first, revoked and expired ones included (flagged)."""
        await self._store.get_project(project_id)
        async with self._sessions() as session:
            links = (
                await session.exec(
                    select(ShareLink)
                    .where(ShareLink.project_id == project_id)
                    .order_by(col(ShareLink.created_at).desc(), col(ShareLink.id).desc())
                )
            ).all()
            numbers = await _numbers(session, project_id)
            releases = await _release_numbers(session, project_id)
            return [_info(link, numbers, releases) for link in links]

    async def project_of(self, share_id: int) -> str:
        """The project a link shows (NotFound for no such link); the caller checks the person may know it."""
        async with self._sessions() as session:
            link = await session.get(ShareLink, share_id) if stored_number(share_id) else None
        if link is None:
            raise NotFound(f"There is no share link {share_id}.")
        return link.project_id

    async def revoke(self, share_id: int) -> ShareInfo:
        """Turn a link off for good; revoking it again changes nothing."""
        async with self._sessions() as session, session.begin():
            link = await session.get(ShareLink, share_id) if stored_number(share_id) else None
            if link is None:
                raise NotFound(f"There is no share link {share_id}.")
            if link.revoked_at is None:
                link.revoked_at = utcnow()
                session.add(link)
            self._drop_pages(share_id=share_id)
            await session.flush()
            numbers = await _numbers(session, link.project_id)
            info = _info(link, numbers, await _release_numbers(session, link.project_id))
        if info.target == "release":
            self._publishing.forget_pinned()  # its release's host stops answering at once here
        await self.end_unshared_previews(info.project_id)
        return info

    async def end_unshared_previews(self, project_id: str | None = None) -> list[tuple[str, int]]:
        """Stop the share previews (of one project, or all) that no working link opens any more.

        A preview keeps answering on its own address whatever the link page says, so a revoked or
        expired link, or a trashed project, must take its preview down, not only its page. Several
        links may show one version: its preview ends with the last of them. Returns what was stopped.
        """
        if project_id is not None:
            self._drop_pages(project_id=project_id)
        running = self._previews.running_here(project_id)
        if not running:
            return []
        now = utcnow()
        async with self._sessions() as session:
            live = await session.exec(
                select(ShareLink.project_id, Version.number)
                .join(Version, col(Version.id) == col(ShareLink.version_id))
                .join(Project, col(Project.id) == col(ShareLink.project_id))
                .where(
                    col(ShareLink.release_id).is_(None),  # links to the published app run no preview
                    col(ShareLink.follows_live).is_(False),
                    col(ShareLink.revoked_at).is_(None),
                    col(Project.deleted_at).is_(None),
                    or_(col(ShareLink.expires_at).is_(None), col(ShareLink.expires_at) > now),
                )
            )
            wanted = {(row[0], row[1]) for row in live.all()}
        stopped = [(p, v) for p, v in running if (p, v) not in wanted]
        for project, version in stopped:
            self._drop_pages(project_id=project)
            await self._previews.stop(project, version)
            log.info("stopped the share preview of %s version %d: no working link shows it", project, version)
        return stopped
