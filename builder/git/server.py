"""One git request to a project: its mirror synced, `git http-backend` run on it, and a push's commits saved.

The caller (builder/api/git.py) has named the person and checked their role; this knows nothing of HTTP auth.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator

from pydantic import BaseModel

from builder.errors import NotFound
from builder.git.caps import PushCaps
from builder.git.commands import repo_path
from builder.git.http import CgiAnswer, CgiRequest, HookServer, run_backend
from builder.git.mirror import Head, Mirror, project_lock
from builder.git.pushes import QUARANTINE_ENV, PushReceiver, Saved, Taken
from builder.git.sync import RemoteSync
from builder.git.trees import PushRefused
from builder.git.urls import git_user
from builder.models import LOCAL_USER_ID, ProjectRole
from builder.services.access import Actor
from builder.services.history import slug
from builder.services.projects import ProjectService
from builder.services.quotas import QuotaService
from builder.store import ProjectStore

log = logging.getLogger(__name__)


async def _once(data: bytes) -> AsyncIterator[bytes]:
    yield data


async def _drained(answer: CgiAnswer) -> CgiAnswer:
    """The answer read whole, so that what follows the backend's exit is done before the client hears back."""
    data = b"".join([chunk async for chunk in answer.body])
    return CgiAnswer(answer.status, answer.headers, _once(data))


class HookRequest(BaseModel):
    """What the pre-receive hook (`pre-receive`) sends: where the pushed objects are (git's quarantine) and git's ref
    updates (old, new, ref)."""

    updates: list[tuple[str, str, str]]
    env: dict[str, str]

    @classmethod
    def read(cls, data: bytes) -> HookRequest:
        """From the hook's bytes: each of QUARANTINE_ENV as NAME=VALUE and a NUL, then the updates as git gave them."""
        *variables, updates = data.decode("utf-8", "surrogateescape").split("\0", len(QUARANTINE_ENV))
        env = {name: value for name, _, value in (v.partition("=") for v in variables) if value}
        return cls.model_validate({"updates": [line.split() for line in updates.splitlines() if line.strip()], "env": env})


class GitServer:
    def __init__(self, store: ProjectStore, projects: ProjectService, quotas: QuotaService) -> None:
        self._store = store
        self.mirror = Mirror(store)
        self._receiver = PushReceiver(projects, PushCaps(store), quotas)
        self.remote = RemoteSync(self.mirror, self._receiver)
        # Pushes still tagging and announcing their versions after their pusher heard back (asyncio keeps a task only
        # weakly).
        self._receiving: set[asyncio.Task[None]] = set()
        self._hooks = HookServer()

    async def close(self) -> None:
        await self._hooks.close()

    async def resolve(self, owner: str, name: str) -> str:
        """The id of the project at the readable alias `<owner>/<name>.git` (urls.alias_path): its owner's email's local
        part or name as a slug, and its name as a slug; NotFound when none or several match (then the id is the way)."""
        store = self._store
        people = [u for u in [*await store.users(), await store.user(LOCAL_USER_ID)] if u is not None]
        owners = [u for u in people if owner in (git_user(u.email), slug(u.name or ""))]
        found = []
        for user in owners:
            for project in await store.list_projects(member=user.id):
                if slug(project.name) != name.removesuffix(".git"):
                    continue
                members = await store.members(project.id)
                if any(u.id == user.id and role == ProjectRole.owner for u, role in members):
                    found.append(project.id)
        if len(found) != 1:
            raise NotFound("Not found." if not found else "Several projects answer to this name; use /git/<id>.git.")
        return found[0]

    async def fetch(self, project_id: str, request: CgiRequest) -> CgiAnswer:
        """info/refs and git-upload-pack: the mirror brought up to date, then git answers as it comes."""
        async with project_lock(project_id):
            await self.mirror.sync(project_id)
        return await run_backend(request)

    async def advertise_push(self, project_id: str, request: CgiRequest) -> CgiAnswer:
        """info/refs before a push. A mirror that exists is shown as it is, without asking the store: no pusher can hold
        a commit of a version it lacks, and the push itself syncs it first and refuses one made before such a save."""
        if not (repo_path(project_id) / "HEAD").exists():
            async with project_lock(project_id):
                await self.mirror.sync(project_id)
        return await run_backend(request)

    async def push(self, project_id: str, actor: Actor, request: CgiRequest) -> CgiAnswer:
        """git-receive-pack: the hook asks `PushReceiver` to check and save the commits before git moves main. The
        pusher hears back as soon as git has answered; the versions saved are tagged as their commits after that, but
        before the project's lock is let go, so the next git request finds them tagged."""
        answered: asyncio.Future[CgiAnswer] = asyncio.get_running_loop().create_future()
        receiving = asyncio.create_task(self._receive_pack(project_id, actor, request, answered))
        self._receiving.add(receiving)

        def finished(task: asyncio.Task[None]) -> None:
            self._receiving.discard(task)
            # What fails before git answered reaches the pusher; what fails after (the tags, the announcing) the log.
            if answered.done() and not task.cancelled() and (error := task.exception()) is not None:
                log.error("finishing the push to %s failed", project_id, exc_info=error)

        receiving.add_done_callback(finished)
        await asyncio.wait([receiving, answered], return_when=asyncio.FIRST_COMPLETED)
        if not answered.done():
            receiving.result()  # it failed before git answered: its exception
        return answered.result()

    async def _receive_pack(
        self, project_id: str, actor: Actor, request: CgiRequest, answered: asyncio.Future[CgiAnswer]
    ) -> None:
        repo = repo_path(project_id)
        saved: list[Saved] = []
        async with project_lock(project_id):
            # The mirror is brought up to date while git takes the pushed objects in (started once git runs, not to
            # delay it); the hook waits for it.
            syncing: asyncio.Future[Head | None] | None = None
            hook_ran = False
            taken: Taken | None = None

            def start_sync() -> None:
                nonlocal syncing
                syncing = asyncio.ensure_future(self.mirror.sync(project_id))

            async def decide(asked: bytes) -> tuple[bool, str]:
                nonlocal hook_ran, taken
                hook_ran = True
                try:
                    assert syncing is not None  # git, which runs the hook, started it
                    head = await syncing
                    hook = HookRequest.read(asked)
                    taken = await self._receiver.receive(project_id, actor, repo, hook.updates, hook.env, head, saved)
                except PushRefused as exc:
                    return False, exc.message
                except Exception:
                    log.exception("push to %s failed", project_id)
                    return False, "Forja could not take this push; its log says why."
                return True, taken.message

            try:
                with self._hooks.push(decide) as hook_env:
                    request.env |= hook_env
                    answered.set_result(await _drained(await run_backend(request, start_sync)))
            finally:
                if syncing is not None:
                    await asyncio.wait([syncing])  # nothing changes the mirror once the lock is let go
            if not hook_ran and syncing is not None and (error := syncing.exception()) is not None:
                log.error("could not sync the git mirror of %s", project_id, exc_info=error)
            if saved:
                # Counted for the hourly caps only when git kept the push (a push refused after some saves left none).
                pusher, received = (PushCaps.counted(actor), taken.received) if taken is not None else (None, 0)
                await self.mirror.pushed(project_id, [(one.version, one.commit) for one in saved], pusher, received)
        await self._receiver.announce(project_id, saved)
