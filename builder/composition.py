"""Forja's composition root: the services (builder/services/), built once and wired to one store, one log hub and,
with several workers, the cluster; the git server beside them. The app (builder/builder.py) and the CLI reach them
here, and nothing below imports this module.

`get_services()` builds them lazily inside the running event loop (the async engine's
connections belong to the loop that made them) and migrates the database the first time.
"""

from __future__ import annotations

import asyncio
import logging
from functools import partial

from redis.exceptions import RedisError
from sqlalchemy.exc import SQLAlchemyError

from builder import db, outages
from builder.cluster.leases import worker_name
from builder.cluster.presence import PresenceService
from builder.cluster.previews import PreviewRegistry
from builder.cluster.worker import Cluster
from builder.generation.hub import GenerationHub
from builder.generation.providers.stored import forget, read_from
from builder.git.server import GitServer
from builder.schemas import CommitResult
from builder.services.access import AccessService
from builder.services.accounts import AccountService
from builder.services.admin import AdminService
from builder.services.agent import AgentService
from builder.services.app_changes import AppChangeService
from builder.services.app_data import AppDataService, Scope
from builder.services.app_data_panel import AppDataPanel
from builder.services.app_domains import AppDomains
from builder.services.app_env import AppEnvService
from builder.services.app_rows import AppRowService
from builder.services.app_themes import AppThemes
from builder.services.app_user_mail import AppUserMail
from builder.services.app_users import AppUserService
from builder.services.asking import AskService
from builder.services.backup.schedule import BackupSchedule
from builder.services.collab import CollabService
from builder.services.doctor import DoctorService
from builder.services.generations import GenerationService
from builder.services.git_tokens import GitTokenService
from builder.services.history import TRASH_DAYS, HistoryService
from builder.services.install_gate import InstallGate
from builder.services.mcp_servers import McpServerService
from builder.services.model_connections import ModelConnectionService
from builder.services.monitoring import MonitoringService
from builder.services.plans import PlanService
from builder.services.preview_access import PreviewAccess
from builder.services.preview_drafts import PreviewDrafts
from builder.services.preview_hub import PreviewHub
from builder.services.previews import PreviewService, VersionPreviewService
from builder.services.projects import ProjectService
from builder.services.publishing import PublishService
from builder.services.quotas import QuotaService
from builder.services.review_sandbox import DoorsSandbox
from builder.services.reviews import ReviewService
from builder.services.run_settings import RunSettingsService
from builder.services.shares import ShareService
from builder.services.terminal import TerminalService
from builder.services.text_edits import TextEditService
from builder.services.verification import VerificationService
from builder.settings import settings
from builder.store import ProjectStore
from preview_runtime.logs import LogHub

log = logging.getLogger(__name__)


# An orchestrator's probe waits a few seconds at most: a dependency slower than this counts as down.
HEALTH_TIMEOUT_S = 3.0


class Services:
    """The services, wired to one store and one log hub; callers use the services, never the store. With `cluster`
    (several workers on one Redis) the log hub and the generations are the ones all workers share."""

    def __init__(self, store: ProjectStore, logs: LogHub, cluster: Cluster | None = None) -> None:
        self._store = store
        self._cluster = cluster
        self.logs = logs
        self.access = AccessService(store)
        self.accounts = AccountService(store)
        # The people who use the apps Forja serves, slowed down on wrong passwords as Forja's own sign-ins are.
        self.app_users = AppUserService(store, self.accounts.throttle, self.access)
        self.app_changes = AppChangeService(store)
        self.app_rows = AppRowService(store, on_write=self.app_changes.prune)
        self.app_data_panel = AppDataPanel(store, self.access, on_write=self.app_changes.prune)
        self.app_user_mail = AppUserMail(store, self.accounts.throttle, self.app_users)
        self.app_themes = AppThemes(store)
        self.git_tokens = GitTokenService(store, self.access, self.accounts)
        # This worker's previews; with several workers, the registry in Redis makes each preview one for all of them.
        self.preview_access = PreviewAccess(store, self.access)
        registry = cluster.previews if cluster is not None else PreviewRegistry(worker_name())
        self.preview_hub = PreviewHub(store, logs, registry, self.preview_access, InstallGate())
        self.quotas = QuotaService(store, self.preview_hub)
        # Each server app's /data folder and database, preview and published apart. The previews and the publishes plan
        # with it and it restarts them, so it comes first, given their restarts: methods of this class that reach them.
        self.app_data = AppDataService(store, logs, restart_preview=self._restart_preview, restart_live=self._restart_live)
        self.previews = PreviewService(
            store, logs, self.preview_hub, admit=self.quotas.check_preview, with_data=self.app_data.with_data
        )
        # Anyone with a link may start a shared version: those previews count in a pool of their own, not the owner's.
        self.version_previews = VersionPreviewService(
            store, self.preview_hub, admit=self.quotas.check_share_preview, with_data=self.app_data.with_data
        )
        # Co-editing saves through the projects, which tell its rooms of every version: through _on_commit, as above.
        self.projects = ProjectService(store, logs, self.previews, self.quotas, on_commit=self._on_commit)
        self.collab = CollabService(store, self.projects, cluster.collab if cluster is not None else None)
        self.run_settings = RunSettingsService(store, self.previews, logs)
        self.app_env = AppEnvService(store, self.previews, logs)
        self.verifications = VerificationService(store, self.previews, self.preview_access, logs)
        hub = cluster.generations if cluster is not None else GenerationHub()
        self.terminals = TerminalService(store, self.preview_hub, logs, cluster.terminals if cluster is not None else None)
        self.drafts = PreviewDrafts(store, self.preview_hub)
        self.generations = GenerationService(
            store,
            self.projects,
            self.previews,
            logs,
            self.verifications,
            self.quotas,
            hub,
            self.drafts,
            self.terminals.files_from_terminal,
            self.preview_hub,
        )
        self.agent = AgentService(store, self.projects, self.drafts, self.verifications, self.generations)
        self.plans = PlanService(store, self.projects, self.generations, self.quotas, logs)
        self.asking = AskService(store, self.projects, self.quotas, logs)
        self.history = HistoryService(
            store, logs, self.projects, self.previews, self.version_previews, self.quotas, self.app_data
        )
        # The review before publish: a publish's gate, and on demand.
        # A server app's doors are probed in a scratch sandbox of the review's own, never the live or preview data.
        self.reviews = ReviewService(store, logs, DoorsSandbox(store, self.preview_hub, logs, self.verifications.checker.browser))
        self.publishing = PublishService(
            store,
            self.preview_hub,
            logs,
            admit=self.quotas.check_publish,
            with_data=partial(self.app_data.with_data, scope=Scope.live),
            review=self.reviews.gate,
            review_ahead=self.reviews.ahead,
        )
        self.shares = ShareService(store, self.version_previews, self.publishing)
        self.app_domains = AppDomains(store, self.publishing, self.preview_hub)
        self.text_edits = TextEditService(self.projects)
        # Who has each project open: in this process, or in Redis for every worker.
        self.presence = cluster.presence if cluster is not None else PresenceService()
        self.git = GitServer(store, self.projects, self.quotas)
        # The models an admin connected: the providers read them from here, at each request.
        self.models = ModelConnectionService(store)
        read_from(self.models.stored)
        # Teams' MCP servers whose tools agent runs may use (the runs read them from the store).
        self.mcp_servers = McpServerService(store)
        self.doctor = DoctorService(self.preview_hub.image, logs, self.models)
        self.backups = BackupSchedule()
        self.admin = AdminService(store, self.accounts, self.quotas, self.preview_hub, self.doctor, self.reviews, self.backups)
        self.monitoring = MonitoringService(store, self.preview_hub)

    # The other ends of the loops between services: each is given to the service built first, and reaches the one built
    # after it only when called, once every service exists.

    async def _restart_preview(self, project_id: str, user_id: str | None) -> None:
        await self.previews.restart_running(project_id, user_id)

    async def _restart_live(self, project_id: str) -> None:
        await self.publishing.servers.restart_live(project_id)

    async def _on_commit(self, project_id: str, result: CommitResult) -> None:
        await self.collab.on_commit(project_id, result)

    async def unanswered(self) -> list[str]:
        """What this worker needs and cannot reach now, in words: the database, and Redis when workers share one.

        For an orchestrator's health check, which anyone may call: the reason is the error's kind, never its text (it
        may name hosts, users or addresses); the log has the whole error.
        """
        problems: list[str] = []
        try:
            async with asyncio.timeout(HEALTH_TIMEOUT_S):
                await self._store.ping()
            outages.DATABASE.answered()
        except (SQLAlchemyError, OSError, TimeoutError) as exc:
            if not outages.noted(exc):  # an outage is said once in the log, not at every probe
                log.warning("health: the database does not answer: %s", exc)
            problems.append(f"The database does not answer ({type(exc).__name__}).")
        if self._cluster is not None:
            try:
                async with asyncio.timeout(HEALTH_TIMEOUT_S):
                    await self._cluster.redis.ping()  # pyright: ignore[reportGeneralTypeIssues] (redis-py types sync and async alike)
                outages.REDIS.answered()
            except (RedisError, OSError, TimeoutError) as exc:
                if not outages.noted(exc):
                    log.warning("health: Redis does not answer: %s", exc)
                problems.append(f"Redis does not answer ({type(exc).__name__}).")
        return problems

    async def sweep(self) -> None:
        """One round of this worker's sweep: its own previews of share links that expired meanwhile (an expiry has no
        event of its own) or were revoked on another worker, its projects' previews that missed a save (the worker that
        saved could not tell this one: Redis was away), and the apps' custom domains: claims whose TXT record appeared
        meanwhile, and those another worker changed. A round waits for the database, said once in the log while away."""
        try:
            await self._store.ping()
        except Exception as exc:
            if not outages.noted(exc):
                log.exception("the sweep could not reach the database; trying again later")
            return
        outages.DATABASE.answered()
        steps = (
            (self.shares.end_unshared_previews, "could not end the previews of expired share links"),
            (self.previews.catch_up, "could not bring the previews up to their projects' versions"),
            (self.app_domains.sweep, "could not check or read the apps' custom domains"),
            (self.app_data.enforce_quotas, "could not measure the apps' /data folders"),
        )
        for step, failed in steps:
            try:
                await step()
            except Exception as exc:
                if not outages.noted(exc):
                    log.exception("%s; trying again later", failed)

    async def run_sweeps(self) -> None:
        """Forever: this worker's sweep and, with several workers, the leader's (generations and publishes whose worker
        died, and a scheduled backup when one is due) on whichever worker leads; alone, this worker starts the backups."""
        if self._cluster is None:
            await self._sweep_forever()
        else:
            await asyncio.gather(self._cluster.lead(self._lead, settings.sweep_every_s), self._sweep_forever())

    async def _lead(self) -> None:
        await self.generations.interrupt_abandoned()
        await self.publishing.interrupt_abandoned()
        self.backups.start_when_due()

    async def _sweep_forever(self) -> None:
        while True:
            await asyncio.sleep(settings.sweep_every_s)
            await self.sweep()
            if self._cluster is None:
                self.backups.start_when_due()

    async def close(self) -> None:
        forget(self.models.stored)
        await self.backups.settled()
        await self.collab.close()
        await self.verifications.close()
        await self.publishing.settled()
        await self.preview_hub.close()
        await self.app_data.close()
        await self.reviews.close()
        await self.git.close()
        if self._cluster is not None:
            await self._cluster.leave()
        await self._store.close()


_services: Services | None = None
_lock = asyncio.Lock()


async def get_services() -> Services:
    global _services
    async with _lock:
        if _services is None:
            await asyncio.to_thread(db.migrate)
            store = ProjectStore(db.create_engine())
            if settings.redis_url:
                cluster = await Cluster.join(settings.redis_url, settings.worker_lease_s)
                services = Services(store, cluster.logs, cluster)
            else:
                services = Services(store, LogHub())
            await services.collab.start()
            purged = await services.history.purge_expired()
            if purged.projects:
                log.info("removed %d project(s) that were in the trash for over %d days", len(purged.projects), TRASH_DAYS)
            await services.generations.interrupt_stale()
            log.info("project store ready at %s", settings.sync_database_url.split("@")[-1])
            _services = services
        return _services
