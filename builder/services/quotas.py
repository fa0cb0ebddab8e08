"""Quotas per person on a server with accounts: model tokens and cost a day, previews at once, projects, storage,
published apps live and publish build minutes a day; and the pool of share links' previews, which are nobody's.

Each limit is the person's own value (an admin sets it) or else the server's default (the admin
page's, else the FORJA_QUOTA_* setting); 0 is no limit. Work past a limit is refused before it
starts, with a sentence that names the limit and what to do. Without accounts there are none.
Storage counts every version's files and each project's git repository on disk (builder/git/mirror.py measures it
after each change; a push's own bytes are counted before it is taken).

Anyone with a share link may start its preview, so those previews never count against their project owner (a stranger
could otherwise spend the owner's quota, or be refused because of it): they share FORJA_SHARE_PREVIEWS, with or
without accounts.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from builder.errors import QuotaExceeded, SharePreviewsBusy
from builder.filetree import human_size
from builder.generation.budget import Allowance
from builder.models import LOCAL_USER_ID, Role, User
from builder.publish.addresses import APP_PREVIEW
from builder.schemas import QuotaSet, QuotaUse
from builder.services.access import Actor
from builder.services.preview_access import private
from builder.services.preview_hub import PreviewHub
from builder.settings import settings
from builder.store import ProjectStore
from builder.wording import plural
from preview_runtime.runner import PreviewInfo, PreviewState

DEFAULTS_KEY = "quota_defaults"
MB = 1024 * 1024


def midnight() -> datetime:
    """The start of today (UTC): daily quotas count from here."""
    return datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


def env_defaults() -> QuotaSet:
    return QuotaSet(
        tokens_day=settings.quota_tokens_day,
        cost_day_usd=settings.quota_cost_day_usd,
        previews=settings.quota_previews,
        projects=settings.quota_projects,
        storage_mb=settings.quota_storage_mb,
        published_apps=settings.quota_published_apps,
        build_minutes_day=settings.quota_build_minutes_day,
    )


def use(name: str, label: str, used: float, limit: float, form: str, unit: str = "", size: int | None = None) -> QuotaUse:
    """One quota in words: "12,300 of 1,000,000 tokens today", or without a limit "12,300 tokens today". `size`: the
    use in bytes, for a quota counted in MB (said as "1.2 MB of 500 MB")."""
    if size is not None:
        said, cap = human_size(size), human_size(int(limit * MB))
    else:
        said, cap = form.format(used), form.format(limit)
    return QuotaUse(name=name, label=label, used=used, limit=limit, shown=f"{said} of {cap}{unit}" if limit else f"{said}{unit}")


def own_quotas(user: User) -> QuotaSet:
    """The quotas an admin set for this person (empty fields: the defaults)."""
    return QuotaSet(
        tokens_day=user.quota_tokens_day,
        cost_day_usd=user.quota_cost_day_usd,
        previews=user.quota_previews,
        projects=user.quota_projects,
        storage_mb=user.quota_storage_mb,
        published_apps=user.quota_published_apps,
        build_minutes_day=user.quota_build_minutes_day,
    )


@dataclass(frozen=True)
class Limits:
    """One person's quotas, resolved (0: no limit)."""

    tokens_day: int
    cost_day_usd: float
    previews: int
    projects: int
    storage_mb: int
    published_apps: int
    build_minutes_day: int

    def as_set(self) -> QuotaSet:
        return QuotaSet.model_validate(dataclasses.asdict(self))


class QuotaService:
    def __init__(self, store: ProjectStore, previews: PreviewHub) -> None:
        self._store = store
        self._previews = previews

    @property
    def enabled(self) -> bool:
        return settings.auth_mode == "password"

    # -- the limits ------------------------------------------------------------------------------

    async def defaults(self) -> QuotaSet:
        """The server's defaults: the admin page's values over the FORJA_QUOTA_* settings."""
        stored = await self._store.setting(DEFAULTS_KEY)
        changed = QuotaSet.model_validate_json(stored) if stored else QuotaSet()
        return env_defaults().model_copy(update=changed.model_dump(exclude_none=True))

    async def set_defaults(self, values: QuotaSet) -> QuotaSet:
        """New defaults (the caller checked the admin role); empty fields go back to the settings' values."""
        await self._store.set_setting(DEFAULTS_KEY, json.dumps(values.model_dump()))
        return await self.defaults()

    async def limits(self, user_id: str) -> Limits:
        defaults = await self.defaults()
        user = await self._store.user(user_id)
        own = QuotaSet() if user is None else own_quotas(user)
        merged = defaults.model_copy(update=own.model_dump(exclude_none=True))
        return Limits(
            tokens_day=merged.tokens_day or 0,
            cost_day_usd=merged.cost_day_usd or 0.0,
            previews=merged.previews or 0,
            projects=merged.projects or 0,
            storage_mb=merged.storage_mb or 0,
            published_apps=merged.published_apps or 0,
            build_minutes_day=merged.build_minutes_day or 0,
        )

    def _limited(self, user_id: str | None) -> bool:
        return self.enabled and user_id is not None and user_id != LOCAL_USER_ID

    async def _raise(self, owner: str, limit: str) -> str:
        """Who can give the owner more: an admin raises their own limits on the admin page; anyone else asks one."""
        user = await self._store.user(owner)
        if user is not None and user.role == Role.admin:
            return f"raise {limit} on the admin page"
        return f"ask an admin to raise {limit}"

    # -- what the person sees --------------------------------------------------------------------

    async def usage(self, actor: Actor) -> list[QuotaUse]:
        """Each quota with what the person used of it: tokens and cost today, previews running, projects, storage,
        apps published and build minutes today."""
        if not self._limited(actor.user_id):
            return []
        limits = await self.limits(actor.user_id)
        today = await self._store.usage(since=midnight(), user_id=actor.user_id)
        tokens = today.input_tokens + today.output_tokens
        previews = await self._running_previews(actor.user_id)
        projects = await self._store.owned_projects(actor.user_id)
        storage = await self.storage_bytes(actor.user_id)
        apps = await self._store.live_apps_owned(actor.user_id)
        minutes = await self._build_minutes(actor.user_id)
        return [
            use("tokens_day", "Model tokens today", tokens, limits.tokens_day, "{:,}", " tokens today"),
            use("cost_day_usd", "Model cost today", round(today.cost_usd, 4), limits.cost_day_usd, "${:.2f}", " today"),
            use("previews", "Previews running", previews, limits.previews, "{}", " running"),
            use("projects", "Projects", projects, limits.projects, "{}"),
            use("storage_mb", "Storage", round(storage / MB, 2), limits.storage_mb, "{}", size=storage),
            use("published_apps", "Published apps", apps, limits.published_apps, "{}", " live"),
            use("build_minutes_day", "Publish builds today", minutes, limits.build_minutes_day, "{:g}", " minutes today"),
        ]

    # -- checks before work ----------------------------------------------------------------------

    async def allowance(self, user_id: str | None) -> Allowance | None:
        """The person's daily model quotas, for the budget check before each model request."""
        if not self._limited(user_id):
            return None
        assert user_id is not None
        limits = await self.limits(user_id)
        if not limits.tokens_day and not limits.cost_day_usd:
            return None
        return Allowance(user_id=user_id, tokens_day=limits.tokens_day, cost_day_usd=limits.cost_day_usd)

    async def check_new_project(self, owner: str, files: Mapping[str, bytes] | None = None) -> None:
        """QuotaExceeded when the person owns as many projects as they may, or the files would pass their storage."""
        if not self._limited(owner):
            return
        limits = await self.limits(owner)
        if limits.projects:
            owned = await self._store.owned_projects(owner)
            if owned >= limits.projects:
                raise QuotaExceeded(
                    f"You own {plural(owned, 'project')}, your limit on this Forja. Delete one you no longer need (empty the "
                    f"trash too: it counts), or {await self._raise(owner, 'your limit')}.",
                    "projects",
                    owned,
                    limits.projects,
                )
        if files:
            await self._check_storage(owner, limits, files)

    async def storage_bytes(self, user_id: str) -> int:
        """What the projects the person owns take: every version's files, each content once, and each project's git
        repository on disk (made when someone clones, pushes or links a remote)."""
        return sum(await self._store.storage(user_id))

    async def check_write(self, project_id: str, files: Mapping[str, bytes], git_bytes: int = 0) -> None:
        """QuotaExceeded when saving these files (and `git_bytes` more in the project's git repository: a push's)
        would take the project owner's storage past their limit."""
        if not self.enabled or not (files or git_bytes):
            return
        owner = (await self._store.owners([project_id])).get(project_id)
        if not self._limited(owner):
            return
        assert owner is not None
        await self._check_storage(owner, await self.limits(owner), files, git_bytes)

    async def _check_storage(self, owner: str, limits: Limits, files: Mapping[str, bytes], git_bytes: int = 0) -> None:
        if not limits.storage_mb:
            return
        adding = {hashlib.sha256(data).hexdigest(): len(data) for data in files.values()}
        stored, git = await self._store.storage(owner, adding)
        git += git_bytes
        after = stored + git
        if after > limits.storage_mb * MB:
            raise QuotaExceeded(
                f"This would store {human_size(after)} of files{' and git history' if git else ''}, past the "
                f"{human_size(limits.storage_mb * MB)} its owner may keep on this Forja. Nothing was saved. Delete old "
                f"projects (and empty the trash), or {await self._raise(owner, 'the storage limit')}.",
                "storage_mb",
                round(after / MB, 2),
                limits.storage_mb,
            )

    async def check_preview(self, project_id: str) -> None:
        """QuotaExceeded when the project owner has as many of their projects' previews running as they may."""
        if not self.enabled:
            return
        owner = (await self._store.owners([project_id])).get(project_id)
        if not self._limited(owner):
            return
        assert owner is not None
        limits = await self.limits(owner)
        if not limits.previews:
            return
        running = await self._running_previews(owner)
        if running >= limits.previews:
            raise QuotaExceeded(
                f"{running} previews of this project owner's apps are running, their limit on this Forja. Stop one "
                "(its Preview tab's Stop button) or wait: previews nobody looks at stop by themselves.",
                "previews",
                running,
                limits.previews,
            )

    async def check_publish(self, project_id: str) -> None:
        """QuotaExceeded, before a publish builds anything, when the project owner has as many apps live as they may
        (republishing one of them adds none) or used their build minutes today."""
        if not self.enabled:
            return
        owner = (await self._store.owners([project_id])).get(project_id)
        if not self._limited(owner):
            return
        assert owner is not None
        limits = await self.limits(owner)
        if limits.published_apps:
            live = await self._store.live_apps_owned(owner, besides=project_id)
            if live >= limits.published_apps:
                raise QuotaExceeded(
                    f"This project's owner has {live} published apps live, their limit on this Forja, so this one was "
                    "not published. Take one of the others down first (Publish, then Take down), or "
                    f"{await self._raise(owner, 'the limit')}.",
                    "published_apps",
                    live,
                    limits.published_apps,
                )
        if limits.build_minutes_day:
            minutes = await self._build_minutes(owner)
            if minutes >= limits.build_minutes_day:
                raise QuotaExceeded(
                    f"Publish builds of this project owner's apps took {minutes:g} of their {limits.build_minutes_day} "
                    "minutes today, their limit on this Forja, so nothing was built. Publish again after midnight "
                    f"(UTC), or {await self._raise(owner, 'the limit')}.",
                    "build_minutes_day",
                    minutes,
                    limits.build_minutes_day,
                )

    async def _build_minutes(self, user_id: str) -> float:
        return round(await self._store.build_seconds(user_id, midnight()) / 60, 1)

    async def check_share_preview(self, project_id: str) -> None:
        """SharePreviewsBusy when as many share links' previews run as FORJA_SHARE_PREVIEWS allows (`project_id`: the
        one asked for, which does not change the count)."""
        if not settings.share_previews:
            return
        running = sum(1 for info in await self._live_previews() if not private(info.preview_id))
        if running >= settings.share_previews:
            raise SharePreviewsBusy(
                "This app is busy right now: as many shared apps are running on this Forja as it runs at once. It "
                "starts as soon as one of them stops; try again in a few minutes."
            )

    async def _running_previews(self, user_id: str) -> int:
        live = [info for info in await self._live_previews() if private(info.preview_id)]
        owners = await self._store.owners(sorted({info.project_id for info in live}))
        return sum(1 for info in live if owners.get(info.project_id) == user_id)

    async def _live_previews(self) -> list[PreviewInfo]:
        # Parked previews hold no memory and run nothing: they count again once woken. Published server apps' sandboxes
        # are no previews: published apps have a quota of their own.
        idle = (PreviewState.failed, PreviewState.stopped, PreviewState.parked)
        return [
            entry.info
            for entry in await self._previews.everywhere()
            if entry.info.state not in idle and not entry.info.preview_id.startswith(APP_PREVIEW)
        ]
