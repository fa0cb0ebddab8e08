"""The CLI on this machine's database, through the services, as one person.

Each operation on a project first asks `services.access.require` for what the HTTP API's route for it needs
(builder/api: Viewer, Editor, Owner), so a command refuses what the API would, in the same words: a project the
person has no role in does not exist for them, and a role too small is named. Previews belong to the running Forja
(its proxy holds their ports, and they outlive a CLI call), so those operations ask it, with the person's token.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

from builder.attachments import Picture
from builder.client.backend import Created, Duplicated, GenerateRequest, PreviewStatus, Restored
from builder.client.remote import RemoteBackend
from builder.composition import Services
from builder.errors import NotFound
from builder.filetree import encode_text
from builder.generation.engine import GenerationEvent
from builder.git.remote import RemoteInfo
from builder.git.sync import SyncResult
from builder.git.urls import clone_url
from builder.publish.answers import AppInfo, PublishResult, ReleaseInfo
from builder.review.answers import ReviewInfo
from builder.schemas import (
    Engine,
    FileContent,
    FileInfo,
    GitTokenInfo,
    NewGitToken,
    PictureAdded,
    ProjectDetail,
    ProjectSummary,
    TrashedProject,
    VersionDiff,
    VersionInfo,
)
from builder.services.access import Actor, Permission
from builder.services.app_domains import DomainInfo
from builder.services.app_env import EnvVarInfo
from builder.services.asking import AskAnswer
from builder.services.plans import PlanInfo
from builder.services.run_settings import RunSettings, RunSettingsInfo
from builder.services.shares import Never, ShareCreated, ShareInfo, ShareKind
from builder.settings import settings
from builder.store.plans import NO_SUCH_PLAN
from preview_runtime.logs import LogLine


class LocalBackend:
    def __init__(self, services: Services, actor: Actor, token: str | None = None) -> None:
        self._services = services
        self._actor = actor
        self._token = token
        self._running_forja: RemoteBackend | None = None

    @property
    def _forja(self) -> RemoteBackend:
        """The running Forja's API, opened when an operation first needs it (most never do)."""
        if self._running_forja is None:
            self._running_forja = RemoteBackend(
                f"http://127.0.0.1:{settings.port}",
                self._token,
                unreachable=f"Forja is not running on port {settings.port}; start it with: bash scripts/run.sh",
            )
        return self._running_forja

    async def close(self) -> None:
        if self._running_forja is not None:
            await self._running_forja.close()

    async def _may(self, project_id: str, need: Permission, hidden: NotFound | None = None) -> None:
        await self._services.access.require(self._actor, project_id, need, hidden)

    # -- projects ------------------------------------------------------------------------------

    async def import_path(self, source: Path, name: str | None) -> Created:
        result = await self._services.projects.import_path(source, name, owner=self._actor.user_id)
        return Created(id=result.project_id, version=result.version.number, files=len(result.changed))

    async def projects(self) -> list[ProjectSummary]:
        return await self._services.projects.summaries(self._actor)

    async def project(self, project_id: str) -> ProjectDetail:
        await self._may(project_id, Permission.view)
        return await self._services.projects.get(project_id)

    async def files(self, project_id: str, version: int | None) -> list[FileInfo]:
        await self._may(project_id, Permission.view)
        return await self._services.projects.files(project_id, version)

    async def read_file(self, project_id: str, path: str, version: int | None) -> FileContent:
        await self._may(project_id, Permission.view)
        return FileContent.of(path, await self._services.projects.read_file(project_id, path, version))

    async def write_file(self, project_id: str, path: str, content: str, message: str) -> VersionInfo:
        await self._may(project_id, Permission.edit)
        data = encode_text(path, content)
        result = await self._services.projects.save(project_id, {path: data}, message=message, user_id=self._actor.user_id)
        return result.version

    async def export_zip(self, project_id: str, version: int | None) -> bytes:
        await self._may(project_id, Permission.view)
        return (await self._services.history.export_zip(project_id, version))[1]

    async def add_picture(self, project_id: str, picture: Picture, path: str) -> PictureAdded:
        await self._may(project_id, Permission.edit)
        added, result = await self._services.projects.add_picture(project_id, picture, path)
        return PictureAdded(path=added, version=result.version)

    async def rename(self, project_id: str, name: str) -> ProjectSummary:
        await self._may(project_id, Permission.edit)
        renamed = await self._services.projects.rename(project_id, name)
        return ProjectSummary.model_validate(renamed.model_dump())  # what the API answers: no versions

    async def duplicate(self, project_id: str, version: int | None, name: str | None) -> Duplicated:
        await self._may(project_id, Permission.view)
        new_id = await self._services.history.duplicate(project_id, version, name, owner=self._actor.user_id)
        project = await self._services.projects.get(new_id)
        return Duplicated(id=new_id, name=project.name, version=project.current_version or 1)

    async def delete(self, project_id: str) -> None:
        await self._may(project_id, Permission.own)
        await self._services.history.delete(project_id)

    async def trash(self) -> list[TrashedProject]:
        return await self._services.history.list_trash(self._actor)

    async def undelete(self, project_id: str) -> ProjectSummary:
        await self._may(project_id, Permission.own)
        return await self._services.history.undelete(project_id)

    # -- history -------------------------------------------------------------------------------

    async def diff(self, project_id: str, version: int, against: int | None) -> VersionDiff:
        await self._may(project_id, Permission.view)
        return await self._services.history.diff(project_id, version, against)

    async def restore(self, project_id: str, version: int) -> Restored:
        await self._may(project_id, Permission.edit)
        result = await self._services.history.restore(project_id, version, self._actor.user_id)
        return Restored(version=result.version, changed=bool(result.changed or result.deleted))

    async def export_bundle(self, project_id: str) -> bytes:
        await self._may(project_id, Permission.view)
        return (await self._services.history.export_bundle(project_id))[1]

    async def clone_url(self, project_id: str) -> str:
        await self.project(project_id)  # the person may see it, and it is there
        return clone_url(settings.base_url, project_id)

    # -- git tokens ----------------------------------------------------------------------------

    async def git_token(self, project_id: str, write: bool, days: int | None, name: str) -> NewGitToken:
        return await self._services.git_tokens.create(
            self._actor, project_id, settings.base_url, write=write, days=days, name=name, made_with=self._token
        )

    async def git_tokens(self) -> list[GitTokenInfo]:
        return await self._services.git_tokens.tokens(self._actor)

    async def revoke_git_token(self, token_id: int) -> None:
        await self._services.git_tokens.revoke(self._actor, token_id)

    # -- share links ---------------------------------------------------------------------------

    async def share(
        self,
        project_id: str,
        version: int | None,
        expires: timedelta | Never | None,
        target: ShareKind = "preview",
        release: int | None = None,
    ) -> ShareCreated:
        await self._may(project_id, Permission.edit)
        return await self._services.shares.create(project_id, version, expires, target=target, release=release)

    async def shares(self, project_id: str) -> list[ShareInfo]:
        await self._may(project_id, Permission.view)
        return await self._services.shares.links(project_id)

    async def revoke(self, share_id: int) -> None:
        project_id = await self._services.shares.project_of(share_id)
        await self._may(project_id, Permission.edit, NotFound(f"There is no share link {share_id}."))
        await self._services.shares.revoke(share_id)

    # -- publish: the running Forja builds in its preview sandbox and serves the app's address -----------

    async def publish(
        self, project_id: str, version: int | None, name: str | None, override_reason: str | None = None
    ) -> PublishResult:
        await self.project(project_id)
        return await self._forja.publish(project_id, version, name, override_reason)

    async def unpublish(self, project_id: str) -> AppInfo:
        await self.project(project_id)
        return await self._forja.unpublish(project_id)

    async def releases(self, project_id: str) -> list[ReleaseInfo]:
        await self._may(project_id, Permission.view)
        return await self._services.publishing.releases(project_id)

    async def rollback(self, project_id: str, release: int) -> AppInfo:
        await self.project(project_id)
        return await self._forja.rollback(project_id, release)

    async def review(self, project_id: str, version: int | None) -> ReviewInfo:
        await self._may(project_id, Permission.edit)
        return await self._services.reviews.review(project_id, version)

    async def domain(self, project_id: str, check: bool) -> DomainInfo:
        await self._may(project_id, Permission.view)
        if check:  # a domain the check proves is routed by the running Forja's edge at once
            return await self._forja.domain(project_id, check)
        info = await self._services.app_domains.info(project_id)
        if info is None:
            raise NotFound("This app has no domain of its own.")
        return info

    async def set_domain(self, project_id: str, domain: str) -> DomainInfo:
        await self._may(project_id, Permission.own)
        return await self._forja.set_domain(project_id, domain)

    async def remove_domain(self, project_id: str) -> None:
        await self._may(project_id, Permission.own)
        await self._forja.remove_domain(project_id)

    # -- the app's own variables ------------------------------------------------------------------

    async def env_names(self, project_id: str) -> list[EnvVarInfo]:
        await self._may(project_id, Permission.view)
        return await self._services.app_env.names(project_id)

    async def set_env(self, project_id: str, name: str, value: str) -> list[EnvVarInfo]:
        await self._may(project_id, Permission.edit)
        return await self._services.app_env.set(project_id, name, value, self._actor.user_id)

    async def unset_env(self, project_id: str, name: str) -> list[EnvVarInfo]:
        await self._may(project_id, Permission.edit)
        return await self._services.app_env.unset(project_id, name, self._actor.user_id)

    async def reset_data(self, project_id: str, scope: str) -> None:
        await self._may(project_id, Permission.edit)
        await self._services.app_data.reset(project_id, scope, self._actor.user_id)

    # -- the project's remote repository --------------------------------------------------------

    async def remote_info(self, project_id: str) -> RemoteInfo:
        await self._may(project_id, Permission.view)
        return await self._services.git.remote.info(project_id)

    async def set_remote(self, project_id: str, url: str, token: str | None, branch: str) -> RemoteInfo:
        await self._may(project_id, Permission.edit)
        return await self._services.git.remote.link(project_id, url, token, branch, self._actor.user_id)

    async def remote_push(self, project_id: str, to_branch: str | None) -> SyncResult:
        await self._may(project_id, Permission.edit)
        return await self._services.git.remote.push(project_id, to_branch)

    async def remote_pull(self, project_id: str, merge: bool) -> SyncResult:
        await self._may(project_id, Permission.edit)
        return await self._services.git.remote.pull(project_id, self._actor, merge=merge)

    # -- previews and generations --------------------------------------------------------------

    async def preview(self, project_id: str, runner: str, wait: bool) -> PreviewStatus:
        await self.project(project_id)  # refused here, in this person's words, before Forja is asked
        return await self._forja.preview(project_id, runner, wait)

    async def stop(self, project_id: str) -> None:
        await self.project(project_id)
        await self._forja.stop(project_id)

    async def preview_status(self, project_id: str) -> PreviewStatus:
        await self.project(project_id)
        return await self._forja.preview_status(project_id)

    async def log_tail(self, project_id: str, lines: int) -> list[LogLine]:
        await self.project(project_id)  # the preview's lines are the running Forja's
        return await self._forja.log_tail(project_id, lines)

    async def run_settings(self, project_id: str) -> RunSettingsInfo:
        await self._may(project_id, Permission.view)
        return await self._services.run_settings.get(project_id)

    async def set_run_settings(self, project_id: str, asked: RunSettings) -> RunSettingsInfo:
        await self._may(project_id, Permission.edit)
        return await self._services.run_settings.set(project_id, asked, started_by=self._actor.user_id)

    async def _plan_project(self, plan_id: str, need: Permission) -> str:
        """The plan's project, if the person may `need` on it; a plan of a project they cannot see is not there."""
        project_id = await self._services.plans.project_of(plan_id)
        await self._may(project_id, need, NotFound(NO_SUCH_PLAN.format(plan_id=plan_id)))
        return project_id

    async def propose_plan(self, prompt: str, project_id: str | None, provider: str | None, model: str | None) -> PlanInfo:
        if project_id is not None:
            await self._may(project_id, Permission.edit)
        return await self._services.plans.propose(
            prompt, project_id=project_id, provider=provider, model=model, owner=self._actor.user_id
        )

    async def plan(self, plan_id: str) -> PlanInfo:
        await self._plan_project(plan_id, Permission.view)
        return await self._services.plans.get(plan_id)

    async def answer_plan(self, plan_id: str, answers: list[str], provider: str | None, model: str | None) -> PlanInfo:
        await self._plan_project(plan_id, Permission.edit)
        return await self._services.plans.answer(plan_id, answers, provider=provider, model=model, user_id=self._actor.user_id)

    async def ask(self, project_id: str, question: str, provider: str | None, model: str | None) -> AskAnswer:
        await self._may(project_id, Permission.edit)
        return await self._services.asking.ask(project_id, question, provider=provider, model=model, user_id=self._actor.user_id)

    async def generate(self, request: GenerateRequest) -> AsyncIterator[GenerationEvent]:
        """A checked generation runs its app in a preview (and an agent run its commands and pages), and previews live
        in the running Forja, so when Forja runs, the generation runs there, through its API; otherwise here."""
        plan_project = await self._may_generate(request)
        if (request.verify or request.agent) and await self._forja.running():
            async for event in self._forja.generate(request):
                yield event
            return
        async for event in self._generate_here(request, plan_project):
            yield event

    async def _may_generate(self, request: GenerateRequest) -> str | None:
        """The person's edit role checked on the project (or the plan's); the plan's project, when building a plan."""
        if request.project:
            await self._may(request.project, Permission.edit)
        return await self._plan_project(request.plan, Permission.edit) if request.plan else None

    async def _generate_here(self, request: GenerateRequest, plan_project: str | None) -> AsyncIterator[GenerationEvent]:
        """The generation in this process, through the services (the person's edit role checked before)."""
        generations = self._services.generations
        if request.plan and plan_project:
            project_id = plan_project
            await self._services.plans.build(
                request.plan, provider=request.provider, model=request.model, verify=request.verify, user_id=self._actor.user_id
            )
        elif request.project and request.answers_to is not None:
            project_id = request.project
            await self._services.agent.answer(
                project_id,
                request.answers_to,
                request.answers,
                provider=request.provider,
                model=request.model,
                verify=request.verify,
                user_id=self._actor.user_id,
            )
        elif request.project:
            project_id = request.project
            await generations.start(
                project_id,
                request.prompt,
                request.provider,
                request.model,
                verify=request.verify,
                images=request.images,
                user_id=self._actor.user_id,
                agent=request.agent,
                approved_tools=request.approved_tools,
            )
        else:
            project_id = await generations.create_from_prompt(
                request.prompt,
                request.provider,
                request.model,
                verify=request.verify,
                images=request.images,
                owner=self._actor.user_id,
            )
        async for event in generations.follow(project_id):
            yield event

    # -- agent mode ----------------------------------------------------------------------------

    async def set_approve_changes(self, project_id: str, on: bool) -> None:
        await self._may(project_id, Permission.edit)
        await self._services.agent.set_approve_changes(project_id, on)

    async def set_engine(self, project_id: str, engine: Engine) -> None:
        await self._may(project_id, Permission.edit)
        await self._services.agent.set_engine(project_id, engine)

    async def accept_change(self, project_id: str, generation_id: int) -> int:
        await self._may(project_id, Permission.edit)
        result = await self._services.agent.accept(project_id, generation_id, self._actor.user_id)
        return result.version.number

    async def reject_change(self, project_id: str, generation_id: int) -> None:
        """The draft the run left is in the running Forja's preview, so that Forja puts it back, when it runs."""
        await self._may(project_id, Permission.edit)
        if await self._forja.running():
            await self._forja.reject_change(project_id, generation_id)
            return
        await self._services.agent.reject(project_id, generation_id)
