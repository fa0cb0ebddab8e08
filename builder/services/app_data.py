"""Data that outlives every version of a server app: a /data folder and a database of its own, per scope.

A scope is "preview" (the project's preview and its share links) or "live" (the published app): separate folders,
separate databases. On the host the folder is `<data dir>/appdata/<project>/<scope>/files`, mounted at /data in every
runner; the database is an SQLite file in it, or, on PostgreSQL, a database and role of the app's own
(app_databases.py) reached through a unix socket relayed into the sandbox at /run/forja-db (preview_runtime/db_relay.py).
Neither the database's password nor its URL is ever logged, kept in a file or shown: the log hub redacts both.

The publish side calls `app_data_plan(project_id, "live")` when it makes a published server app's RunPlan.
"""

from __future__ import annotations

import asyncio
import enum
import logging
import secrets
import shutil
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from pydantic import BaseModel, Field

from builder.app_secrets import decrypt, encrypt
from builder.errors import InvalidInput, PreviewError
from builder.services import app_databases
from builder.services.app_databases import Server, apps_database_url, database_name
from builder.settings import settings
from builder.store import ProjectStore
from preview_runtime.common import folder_bytes
from preview_runtime.db_relay import DatabaseRelays
from preview_runtime.logs import LogHub, LogLevel
from preview_runtime.plan import Mount, RunPlan

log = logging.getLogger(__name__)

DATA_MOUNT = "/data"
DB_MOUNT = "/run/forja-db"
SQLITE_FILE = "app.sqlite3"
# How often the sweep measures the /data folders this worker mounted writable.
QUOTA_EVERY_S = 60.0


class Scope(enum.StrEnum):
    preview = "preview"
    live = "live"


def scope_of(value: str) -> Scope:
    try:
        return Scope(value)
    except ValueError:
        raise InvalidInput(f"{value!r} is not a data scope: use preview or live.") from None


def appdata_root() -> Path:
    return settings.served_dir / "appdata"


def scope_dir(project_id: str, scope: Scope) -> Path:
    return appdata_root() / project_id / scope.value


def files_dir(project_id: str, scope: Scope) -> Path:
    """The app's /data folder on the host."""
    return scope_dir(project_id, scope) / "files"


def socket_dir(project_id: str, scope: Scope) -> Path:
    """The folder of the socket that leads to the app's PostgreSQL database, mounted at /run/forja-db."""
    return scope_dir(project_id, scope) / "db"


def quota_bytes() -> int:
    return settings.app_data_mb * 1024 * 1024


def _ready_folder(folder: Path) -> None:
    """The /data folder, made writable for the sandbox's user: in Docker and Swarm that is another uid (10001), so
    the folder is open to all (its parents are Forja's alone, 0700: no other user of the host reaches it)."""
    appdata_root().mkdir(parents=True, exist_ok=True)
    appdata_root().chmod(0o700)
    folder.mkdir(parents=True, exist_ok=True)
    folder.chmod(0o777)


def _wipe(folder: Path) -> None:
    """Remove the folder and all in it. Moved aside first (a rename needs only Forja's rights on the parent), so a new
    empty one is in place at once even when a file a container's user left cannot be removed by Forja's user."""
    if not folder.exists():
        return
    aside = folder.with_name(f".removed-{secrets.token_hex(6)}")
    folder.rename(aside)
    _ready_folder(folder)
    remove_folder(aside)


def scratch_data(plan: RunPlan, folder: Path) -> RunPlan:
    """`plan` with `folder`, made empty, as its /data and an SQLite database in it: data of nobody's, for the review's
    sandbox (review_sandbox.py). Forja's data variables replace the app's own of the same names, so nothing it runs
    is pointed at the app's preview or live data. Blocking."""
    _ready_folder(folder)
    env = {
        "DATA_DIR": DATA_MOUNT,
        "DATABASE_URL": f"sqlite:///{DATA_MOUNT}/{SQLITE_FILE}",
        "DATABASE_PATH": f"{DATA_MOUNT}/{SQLITE_FILE}",
    }
    own = {name: value for name, value in plan.env.items() if name not in env}
    kept = {name: value for name, value in plan.kept_env.items() if name not in env}
    return plan.model_copy(
        update={"env": own, "kept_env": {**kept, **env}, "mounts": [*plan.mounts, Mount(source=str(folder), target=DATA_MOUNT)]}
    )


def remove_folder(folder: Path) -> None:
    """Remove the folder and all in it, as far as Forja's user can (a scratch folder of scratch_data...). Blocking."""
    shutil.rmtree(folder, ignore_errors=True)
    if folder.exists():
        log.warning("could not remove all of %s (files of another user): remove it as root", folder)


def keeps_data(plan: RunPlan) -> bool:
    """Whether the app may keep data: it runs a server of its own (Flask, Express...) or a command Forja cannot see
    into (`node server.js`); a front end's dev server (hot reload) or a static site has nothing to keep."""
    return plan.has_server or not (plan.hot_reload or plan.framework == "Static HTML")


class AppDataPlan(BaseModel):
    """What a server app's sandbox gets for its data: variables for its processes and the folders mounted in it."""

    env: dict[str, str] = Field(
        default_factory=dict, exclude=True, repr=False, description="DATA_DIR, DATABASE_URL...: secret, never dumped."
    )
    mounts: list[Mount] = Field(default_factory=list)
    read_only: bool = Field(default=False, description="/data is over its quota: mounted read-only.")
    secret: list[str] = Field(default_factory=list, description="The names in env whose value is a secret (a password).")


class AppDataService:
    def __init__(
        self,
        store: ProjectStore,
        logs: LogHub,
        restart_preview: Callable[[str, str | None], Awaitable[None]],
        restart_live: Callable[[str], Awaitable[None]],
    ) -> None:
        """`restart_preview(project, person)` starts a project's running preview again and `restart_live(project)` its
        published app, once their data was reset or went over its quota; both plan with this service, which is built
        before them."""
        self._store = store
        self._logs = logs
        self._relays = DatabaseRelays()
        self._restart_preview = restart_preview
        self._restart_live = restart_live
        # (project, scope) whose /data this worker mounted writable: what the quota sweep measures.
        self._writable: set[tuple[str, Scope]] = set()
        self._measured_at = 0.0

    async def app_data_plan(self, project_id: str, scope: str) -> AppDataPlan:
        """The env and mounts of one server app's sandbox (`scope` "preview" or "live"), its folder and database
        made the first time. The database's password and URL are hidden in the project's log lines from now on."""
        which = scope_of(scope)
        folder = files_dir(project_id, which)
        await asyncio.to_thread(_ready_folder, folder)
        used = await asyncio.to_thread(folder_bytes, folder)
        read_only = used > quota_bytes()
        if read_only:
            self._logs.emit(project_id, self._over_quota_sentence(used, which), LogLevel.warning)
            self._writable.discard((project_id, which))
        else:
            self._writable.add((project_id, which))
        mounts = [Mount(source=str(folder), target=DATA_MOUNT, read_only=read_only)]
        env = {"DATA_DIR": DATA_MOUNT}
        secret: list[str] = []
        if url := apps_database_url():
            env["DATABASE_URL"] = await self._postgres(project_id, which, Server.from_url(url))
            secret.append("DATABASE_URL")  # it holds the role's password
            mounts.append(Mount(source=str(socket_dir(project_id, which)), target=DB_MOUNT))
        else:
            env["DATABASE_URL"] = f"sqlite:///{DATA_MOUNT}/{SQLITE_FILE}"
            env["DATABASE_PATH"] = f"{DATA_MOUNT}/{SQLITE_FILE}"
        return AppDataPlan(env=env, mounts=mounts, read_only=read_only, secret=secret)

    async def with_data(self, project_id: str, plan: RunPlan, scope: str = Scope.preview) -> RunPlan:
        """`plan` with the app's data when it may keep some (keeps_data: a front end alone gets none); Forja's data
        variables win over the app's own of the same names. Those that are no secret go to kept_env, so a parked app
        whose own variables are none wakes after a restart of Forja (a runner drops one whose env it no longer holds)."""
        if not keeps_data(plan):
            return plan
        data = await self.app_data_plan(project_id, scope)
        own = {name: value for name, value in plan.env.items() if name not in data.env}
        secret = {name: value for name, value in data.env.items() if name in data.secret}
        kept = {name: value for name, value in data.env.items() if name not in data.secret}
        return plan.model_copy(
            update={"env": {**own, **secret}, "kept_env": {**plan.kept_env, **kept}, "mounts": [*plan.mounts, *data.mounts]}
        )

    async def _postgres(self, project_id: str, scope: Scope, server: Server) -> str:
        """The app's DATABASE_URL on PostgreSQL, through its socket relay: the database made the first time."""
        name = database_name(project_id, scope)
        row = await self._store.app_database(project_id, scope)
        if row is None:
            password = app_databases.new_password()
            await asyncio.to_thread(app_databases.create, server, name, password, app_databases.forja_database())
            row = await self._store.keep_app_database(project_id, scope, name, ciphertext := encrypt(password))
            if row.password != ciphertext:  # another worker made it meanwhile: the role takes the password it kept
                await asyncio.to_thread(app_databases.create, server, name, decrypt(row.password), None)
            log.info("made the %s database of %s", scope, project_id)
        password = decrypt(row.password)
        await self._relays.open(socket_dir(project_id, scope), server.target)
        url = f"postgresql://{row.name}:{password}@/{row.name}?host={DB_MOUNT}"
        self._logs.hide(project_id, (url, password), kind=f"database-{scope}")
        return url

    async def reset(self, project_id: str, scope: str = Scope.preview, user_id: str | None = None) -> None:
        """Remove the scope's /data folder and database (a new empty one comes with the app's next start), then restart
        the running app so it starts from nothing."""
        which = scope_of(scope)
        await self._store.get_project(project_id)
        await self._drop(project_id, which)
        log.info("reset the %s data of %s", which, project_id)
        self._logs.emit(project_id, f"The {which.value} data was reset: its /data folder and database are empty again.")
        await self._restart(project_id, which, user_id)

    async def forget(self, project_ids: list[str]) -> None:
        """The data of projects deleted for good: both scopes' folders and databases."""
        for project_id in project_ids:
            for scope in Scope:
                try:
                    await self._drop(project_id, scope)
                except Exception:
                    log.exception("could not remove the %s data of deleted project %s", scope, project_id)
            await asyncio.to_thread(shutil.rmtree, appdata_root() / project_id, True)

    async def _drop(self, project_id: str, scope: Scope) -> None:
        self._writable.discard((project_id, scope))
        await self._relays.close(socket_dir(project_id, scope))
        if url := apps_database_url():
            await asyncio.to_thread(app_databases.drop, Server.from_url(url), database_name(project_id, scope))
        await self._store.drop_app_database(project_id, scope)
        await asyncio.to_thread(_wipe, files_dir(project_id, scope))

    async def enforce_quotas(self, force: bool = False) -> list[tuple[str, Scope]]:
        """Measure the /data folders this worker mounted writable (at most every QUOTA_EVERY_S unless `force`); each
        one over FORJA_APP_DATA_MB gets its app restarted, which mounts it read-only, and its Logs tab says why.
        Returns those found over."""
        now = time.monotonic()
        if not force and now - self._measured_at < QUOTA_EVERY_S:
            return []
        self._measured_at = now
        over = []
        for project_id, scope in sorted(self._writable):
            used = await asyncio.to_thread(folder_bytes, files_dir(project_id, scope))
            if used <= quota_bytes():
                continue
            over.append((project_id, scope))
            self._writable.discard((project_id, scope))
            self._logs.emit(project_id, self._over_quota_sentence(used, scope), LogLevel.warning)
            await self._restart(project_id, scope, None)
        return over

    @staticmethod
    def _over_quota_sentence(used: int, scope: Scope) -> str:
        return (
            f"The app's {scope.value} /data folder holds {used / 1048576:.1f} MB, over its {settings.app_data_mb} MB "
            "quota (FORJA_APP_DATA_MB): it is read-only until files are removed or the data is reset."
        )

    async def _restart(self, project_id: str, scope: Scope, user_id: str | None) -> None:
        try:
            if scope == Scope.live:
                await self._restart_live(project_id)
            else:
                await self._restart_preview(project_id, user_id)
        except PreviewError as exc:  # the Preview tab and the log say why it does not run
            self._logs.emit(project_id, f"The app could not restart: {exc}", LogLevel.error)

    async def resume(self) -> None:
        """At Forja's start: relay to every app database again, so an app that outlived the restart (a container
        adopted, parked or running) finds its socket answering before anything plans it anew."""
        if not (url := apps_database_url()):
            return
        server = Server.from_url(url)
        for row in await self._store.app_databases():
            await self._relays.open(socket_dir(row.project_id, Scope(row.scope)), server.target)

    async def close(self) -> None:
        await self._relays.close_all()
