"""What an admin sees and changes on the admin page and under /api/admin: the people with their use of the server,
usage per day, the previews running, the published apps (and those live with open review findings), and the server's
health.

Every method takes the person asking and refuses anyone but an admin (Forbidden), whatever called it. Changes that
only mean something with accounts (people, invitations, quotas) are refused without them (FORJA_AUTH=none).
"""

from __future__ import annotations

import asyncio
import re
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Literal

import httpx
from pydantic import BaseModel, Field
from sqlalchemy.exc import SQLAlchemyError

from builder.errors import InvalidInput, NotFound
from builder.eval.report import RunRow, run_row
from builder.eval.results import run_folder, saved_runs
from builder.models import Role
from builder.publish.answers import app_info
from builder.publish.release_files import disk_bytes
from builder.review.findings import Severity
from builder.schemas import AccountLinkInfo, QuotaSet, RequestBody, UserInfo
from builder.services.access import Actor, require_admin
from builder.services.accounts import AccountService
from builder.services.backup.schedule import BackupSchedule
from builder.services.doctor import DoctorReport, DoctorService, RunnerReadiness
from builder.services.preview_hub import PreviewHub
from builder.services.preview_runners import wanted_runners, webcontainers_off
from builder.services.quotas import QuotaService, midnight
from builder.services.reviews import ReviewService
from builder.services.shares import share_base
from builder.settings import settings
from builder.store import ProjectStore
from preview_runtime.direct_http import direct_client
from preview_runtime.preview_headers import NOT_FOUND_MARKER
from preview_runtime.runner_choice import SERVER_RUNNERS

MAX_DAYS = 366
# What an evaluation run's folder holds that the admin page serves: its report, a comparison, a page's screenshot.
EVAL_RUN = re.compile(r"[0-9]{8}-[0-9]{6}-[0-9a-f]{4}")
EVAL_FILE = re.compile(r"(report|compare-[0-9]{8}-[0-9]{6}-[0-9a-f]{4})\.html|[a-z0-9][a-z0-9-]{0,80}\.jpg")
PROXY_TIMEOUT_S = 2.0
# The preview proxy's latest restarts the health check names.
PROXY_EVENTS_SHOWN = 4
# The machine's checks (doctor) start processes (bubblewrap, Chromium...); on a host that is too busy to finish them
# in this long, the page says so instead of waiting on.
MACHINE_CHECKS_S = 20.0


class DayUsage(BaseModel):
    day: str = Field(description="The UTC day, YYYY-MM-DD.")
    tokens: int = Field(description="Model input and output tokens.")
    cost_usd: float = Field(description="Estimated model cost; models of unknown price count as 0.")
    generations: int = Field(description="Generations started, each repair round counted.")
    previews: int = Field(description="Previews started (share links' and Forja's checks' too).")


class Person(UserInfo):
    """An account with what it holds and used today, and its quotas as they apply (its own, else the default)."""

    projects: int = Field(description="Projects owned, the trash included.")
    storage_bytes: int = Field(
        description="Stored files of those projects, all versions, each content once, and their git repositories on disk."
    )
    tokens_today: int
    cost_today_usd: float
    limits: QuotaSet = Field(description="The quotas that apply to this person (0: no limit).")


class UserChange(RequestBody):
    """What to change of an account; fields left out stay as they are."""

    role: Role | None = None
    disabled: bool | None = Field(default=None, description="true: the person's sign-ins and API tokens stop at once.")
    quotas: QuotaSet | None = Field(
        default=None, description="The person's own quotas, all seven; an empty (null) field means the server's default."
    )


class RunningPreview(BaseModel):
    preview_id: str
    project_id: str
    project_name: str
    owner_email: str = Field(description="The project owner's address; empty without accounts.")
    runner: str
    version: int
    state: str
    url: str
    started_at: datetime | None
    age_s: float | None
    memory_bytes: int | None = Field(description="What its processes use now; null when the runner cannot tell.")
    worker: str = Field(description="The Forja worker that runs it (its host, process and a random part).")


class PublishedAppRow(BaseModel):
    project_id: str
    project_name: str
    name: str = Field(description="The app's name, the first label of its address.")
    url: str
    owner_email: str = Field(description="The project owner's address; empty without accounts.")
    state: str = Field(description="live, unpublished (taken down), none (never built) or trashed (its project is).")
    live_release: int | None
    live_version: int | None
    live_size_bytes: int | None = Field(description="The live release's built files.")
    disk_bytes: int = Field(description="Every release the app keeps, with their compressed forms, on disk.")
    updated_at: datetime


class LiveAppFindings(BaseModel):
    """An app live now whose project's latest review has open findings: neither confirmed by its owner nor stale."""

    project_id: str
    project_name: str
    name: str = Field(description="The app's name, the first label of its address.")
    url: str
    owner_email: str = Field(description="The project owner's address; empty without accounts.")
    live_release: int
    critical: int = Field(description="Open critical findings; high, medium and low likewise.")
    high: int
    medium: int
    low: int
    reviewed_version: int = Field(description="The version the latest review read.")
    reviewed_at: datetime
    override_reason: str = Field(
        description="Why its owner published the live release despite a critical finding; empty when it went live without one."
    )


class HealthCheck(BaseModel):
    name: str
    state: Literal["ok", "off", "problem", "unknown"] = Field(
        description="off: turned off in the settings; unknown: this server cannot tell and has no evidence yet "
        "(WebContainers run in each visitor's browser)."
    )
    detail: str


def _state(readiness: RunnerReadiness, off: bool) -> Literal["ok", "off", "problem", "unknown"]:
    if readiness.ready:
        return "ok"
    if off:
        return "off"
    return "problem" if readiness.known else "unknown"


class ServerHealth(BaseModel):
    ok: bool = Field(description="The store and the preview proxy answer, and previews can run.")
    checks: list[HealthCheck]
    previews_runner: str = Field(description="The runner new previews get: docker, local, or none when none can run.")
    previews_reason: str = Field(description="Why that one.")
    generations_running: int


def _require_accounts() -> None:
    if settings.auth_mode != "password":
        raise InvalidInput(
            "This Forja has no accounts (FORJA_AUTH=none): there are no people, invitations or quotas to manage. "
            "Set FORJA_AUTH=password and restart Forja to have them."
        )


class AdminService:
    def __init__(
        self,
        store: ProjectStore,
        accounts: AccountService,
        quotas: QuotaService,
        previews: PreviewHub,
        doctor: DoctorService,
        reviews: ReviewService,
        backups: BackupSchedule,
    ) -> None:
        self._store = store
        self._backups = backups
        self._reviews = reviews
        self._accounts = accounts
        self._quotas = quotas
        self._previews = previews
        self._doctor = doctor

    # -- usage ---------------------------------------------------------------------------------

    async def usage_by_day(self, admin: Actor, days: int = 30) -> list[DayUsage]:
        """The last `days` UTC days, today included, oldest first; a day without use is there with zeros."""
        require_admin(admin)
        if not 1 <= days <= MAX_DAYS:
            raise InvalidInput(f"Ask for 1 to {MAX_DAYS} days of usage.")
        first = midnight() - timedelta(days=days - 1)
        model = await self._store.model_use_by_day(first)
        previews = await self._store.previews_by_day(first)
        rows = []
        for offset in range(days):
            day = (first + timedelta(days=offset)).strftime("%Y-%m-%d")
            use = model.get(day)
            rows.append(
                DayUsage(
                    day=day,
                    tokens=use.tokens if use else 0,
                    cost_usd=round(use.cost_usd, 6) if use else 0.0,
                    generations=use.generations if use else 0,
                    previews=previews.get(day, 0),
                )
            )
        return rows

    # -- people --------------------------------------------------------------------------------

    async def people(self, admin: Actor) -> list[Person]:
        """Everyone with an account, oldest first (none without accounts)."""
        require_admin(admin)
        return [await self._person(user) for user in await self._accounts.users()]

    async def person(self, admin: Actor, user_id: str) -> Person:
        require_admin(admin)
        return await self._person(await self._accounts.user(user_id))

    async def _person(self, user: UserInfo) -> Person:
        today = await self._store.usage(since=midnight(), user_id=user.id)
        limits = await self._quotas.limits(user.id)
        return Person(
            **user.model_dump(),
            projects=await self._store.owned_projects(user.id),
            storage_bytes=await self._quotas.storage_bytes(user.id),
            tokens_today=today.input_tokens + today.output_tokens,
            cost_today_usd=round(today.cost_usd, 6),
            limits=limits.as_set(),
        )

    async def change_user(self, admin: Actor, user_id: str, change: UserChange) -> Person:
        """Role, disabled and quotas, in that order; each refusal (the last admin, oneself) says why."""
        require_admin(admin)
        _require_accounts()
        if change.role is not None:
            await self._accounts.set_role(admin, user_id, change.role)
        if change.disabled is not None:
            await self._accounts.set_disabled(admin, user_id, change.disabled)
        if change.quotas is not None:
            await self._accounts.set_quotas(admin, user_id, change.quotas)
        return await self.person(admin, user_id)

    async def reset_link(self, admin: Actor, user_id: str, page_url: str) -> AccountLinkInfo:
        """A one-time link to set a new password, on the address the admin uses (or FORJA_PUBLIC_URL)."""
        _require_accounts()
        return await self._accounts.reset_link(admin, user_id, share_base(page_url))

    # -- invitations ---------------------------------------------------------------------------

    async def invite(self, admin: Actor, email: str, role: Role, page_url: str) -> AccountLinkInfo:
        _require_accounts()
        return await self._accounts.invite(admin, email, role, share_base(page_url))

    async def invitations(self, admin: Actor) -> list[AccountLinkInfo]:
        require_admin(admin)
        return await self._accounts.invitations()

    async def withdraw_invitation(self, admin: Actor, link_id: int) -> None:
        _require_accounts()
        await self._accounts.withdraw_invitation(admin, link_id)

    # -- default quotas ------------------------------------------------------------------------

    async def default_quotas(self, admin: Actor) -> QuotaSet:
        require_admin(admin)
        return await self._quotas.defaults()

    async def set_default_quotas(self, admin: Actor, values: QuotaSet) -> QuotaSet:
        """New defaults; an empty field goes back to its FORJA_QUOTA_* setting."""
        require_admin(admin)
        _require_accounts()
        return await self._quotas.set_defaults(values)

    # -- previews ------------------------------------------------------------------------------

    async def previews(self, admin: Actor) -> list[RunningPreview]:
        """Every preview this Forja runs (on any of its workers), newest first, with its project, owner, age and memory."""
        require_admin(admin)
        entries = await self._previews.everywhere()
        infos = [entry.info for entry in entries]
        project_ids = sorted({info.project_id for info in infos})
        names = await self._store.project_names(project_ids)
        owners = await self._store.owners(project_ids)
        emails = {user.id: user.email for user in await self._accounts.users()}
        starts = await self._store.preview_starts([info.preview_id for info in infos])
        memory = await asyncio.gather(*(self._previews.memory_bytes(entry) for entry in entries))
        now = datetime.now(UTC)
        rows = [
            RunningPreview(
                preview_id=info.preview_id,
                project_id=info.project_id,
                project_name=names.get(info.project_id, ""),
                owner_email=emails.get(owners.get(info.project_id, ""), ""),
                runner=info.runner,
                version=info.version,
                state=info.state.value,
                url=info.url,
                started_at=starts.get(info.preview_id),
                age_s=(now - started).total_seconds() if (started := starts.get(info.preview_id)) else None,
                memory_bytes=used,
                worker=entry.worker,
            )
            for entry, info, used in zip(entries, infos, memory, strict=True)
        ]
        return sorted(rows, key=lambda row: row.started_at or now, reverse=True)

    async def stop_preview(self, admin: Actor, preview_id: str) -> None:
        require_admin(admin)
        if not await self._previews.stop_preview(preview_id):
            raise NotFound("No preview with that id is running; it may have stopped by itself.")

    # -- published apps ------------------------------------------------------------------------

    async def evaluations(self, admin: Actor) -> list[RunRow]:
        """The evaluation runs kept under the data folder (`python -m builder eval`), the newest first."""
        require_admin(admin)
        return [run_row(run) for run in await asyncio.to_thread(saved_runs)]

    async def evaluation_file(self, admin: Actor, run_id: str, name: str) -> Path:
        """A run's report or one of its screenshots; NotFound for anything else."""
        require_admin(admin)
        if not EVAL_FILE.fullmatch(name) or not EVAL_RUN.fullmatch(run_id):
            raise NotFound(f"There is no file {name!r} in evaluation run {run_id!r}.")
        path = run_folder(run_id) / name
        if not await asyncio.to_thread(path.is_file):
            raise NotFound(f"There is no file {name!r} in evaluation run {run_id!r}.")
        return path

    async def published_apps(self, admin: Actor) -> list[PublishedAppRow]:
        """Every project's published app, the last changed first, with its owner and what it keeps on disk."""
        require_admin(admin)
        rows = await self._store.app_rows()
        owners = await self._store.owners([row.project_id for row in rows])
        emails = {user.id: user.email for user in await self._accounts.users()}
        sizes = await asyncio.to_thread(lambda: [disk_bytes(row.project_id) for row in rows])
        apps = []
        for row, size in zip(rows, sizes, strict=True):
            info = app_info(row)
            apps.append(
                PublishedAppRow(
                    project_id=row.project_id,
                    project_name=row.project_name,
                    name=row.name,
                    url=info.url,
                    owner_email=emails.get(owners.get(row.project_id, ""), ""),
                    state="trashed" if row.trashed else info.state,
                    live_release=info.live_release,
                    live_version=info.live_version,
                    live_size_bytes=row.live_size_bytes if info.live_release is not None else None,
                    disk_bytes=size,
                    updated_at=row.updated_at,
                )
            )
        return apps

    async def live_findings(self, admin: Actor) -> list[LiveAppFindings]:
        """The apps live now whose latest review has open findings, the worst first (most critical, then high...),
        then the latest reviewed; in a few queries however many projects there are."""
        require_admin(admin)
        live = {row.project_id: row for row in await self._store.app_rows() if not row.trashed and app_info(row).state == "live"}
        reviews = await self._reviews.latest_of(list(live))
        owners = await self._store.owners(list(reviews))
        emails = {user.id: user.email for user in await self._accounts.users()}
        rows = []
        for project_id, review in reviews.items():
            counts = Counter(found.finding.severity for found in review.findings if found.is_open)
            if not counts:
                continue
            app = live[project_id]
            assert app.live_number is not None
            rows.append(
                LiveAppFindings(
                    project_id=project_id,
                    project_name=app.project_name,
                    name=app.name,
                    url=app_info(app).url,
                    owner_email=emails.get(owners.get(project_id, ""), ""),
                    live_release=app.live_number,
                    critical=counts[Severity.critical],
                    high=counts[Severity.high],
                    medium=counts[Severity.medium],
                    low=counts[Severity.low],
                    reviewed_version=review.version,
                    reviewed_at=datetime.fromisoformat(review.created_at),
                    override_reason=app.live_override_reason,
                )
            )
        return sorted(rows, key=lambda row: (row.critical, row.high, row.medium, row.low, row.reviewed_at), reverse=True)

    # -- health --------------------------------------------------------------------------------

    async def health(self, admin: Actor) -> ServerHealth:
        """The store, the preview proxy, each preview runner, the backups, and the generations running now."""
        require_admin(admin)
        store, proxy, report, backups = await asyncio.gather(
            self._store_check(), self._proxy_check(), self._machine_report(), self._backups_check()
        )
        if report is None:
            late = HealthCheck(
                name="preview runners",
                state="problem",
                detail=f"The machine's checks did not finish within {MACHINE_CHECKS_S:.0f} s: the host is very busy, or a "
                "check hangs (python -m builder doctor runs them in a terminal). Reload the page to ask again.",
            )
            running = await self._store.running_generations() if store.state == "ok" else 0
            return ServerHealth(
                ok=False,
                checks=[store, proxy, late, backups],
                previews_runner="none",
                previews_reason=late.detail,
                generations_running=running,
            )
        off = {name: name not in wanted_runners() for name in SERVER_RUNNERS}
        # Under `auto` the swarm is one choice among others: an engine in no swarm leaves it off, not broken.
        off["swarm"] |= settings.preview_runner == "auto"
        off["webcontainer"] = webcontainers_off() != ""
        runners = [
            HealthCheck(name=f"{name} runner", state=_state(readiness, off.get(name, False)), detail=readiness.reason)
            for name, readiness in report.runners.items()
        ]
        running = await self._store.running_generations() if store.state == "ok" else 0
        return ServerHealth(
            ok=store.state == "ok" and proxy.state == "ok" and report.usable,
            checks=[store, proxy, *runners, backups],
            previews_runner=report.auto,
            previews_reason=report.auto_reason,
            generations_running=running,
        )

    async def _backups_check(self) -> HealthCheck:
        state, detail = await asyncio.to_thread(self._backups.words)
        return HealthCheck(name="backups", state=state, detail=detail)

    async def _machine_report(self) -> DoctorReport | None:
        try:
            async with asyncio.timeout(MACHINE_CHECKS_S):
                return await self._doctor.report()
        except TimeoutError:
            return None

    async def _store_check(self) -> HealthCheck:
        try:
            ping = await self._store.ping()
        except (SQLAlchemyError, OSError) as exc:
            return HealthCheck(name="store", state="problem", detail=f"The database does not answer: {exc}")
        kind = "PostgreSQL" if ping.dialect == "postgresql" else "SQLite"
        return HealthCheck(name="store", state="ok", detail=f"{kind} answered a SELECT 1 in {ping.latency_ms:.1f} ms.")

    async def _proxy_check(self) -> HealthCheck:
        where = f"{settings.preview_host}:{settings.preview_port}"
        restarts = self._proxy_restarts()
        try:
            # Loopback only: a proxy from the environment (HTTP_PROXY) must not carry this request.
            async with direct_client(PROXY_TIMEOUT_S) as client:
                response = await client.get(f"http://{where}/", headers={"Host": settings.preview_domain})
        except httpx.HTTPError as exc:
            return HealthCheck(
                name="preview proxy",
                state="problem",
                detail=f"Nothing answers on {where} ({exc.__class__.__name__}): previews cannot be opened. "
                "Forja's log says why Traefik did not start." + restarts,
            )
        if response.headers.get(NOT_FOUND_MARKER) != "none":
            return HealthCheck(
                name="preview proxy",
                state="problem",
                detail=f"Something other than Forja's Traefik answers on {where}: choose another FORJA_PREVIEW_PORT.",
            )
        return HealthCheck(name="preview proxy", state="ok", detail=f"Traefik answers on {where}." + restarts)

    def _proxy_restarts(self) -> str:
        """What happened to this worker's Traefik lately (it ended and was started again), the last few, or ""."""
        manager = self._previews.started_manager
        events = manager.proxy.events[-PROXY_EVENTS_SHOWN:] if manager is not None else []
        return "".join(f" {event.at:%Y-%m-%d %H:%M:%S} UTC: {event.text}" for event in events)
