"""What the CLI's commands and the MCP tools ask of Forja, written once: they call a `Backend`, and two answer it.

`LocalBackend` (builder.client.local) works on this machine's database through the services, as one person, and checks
their role in a project before each operation, with the same needs as the HTTP API's routes. `RemoteBackend`
(builder.client.remote) asks a Forja's HTTP API with the person's API token; that server checks.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Protocol

from pydantic import BaseModel, Field

from builder.attachments import Picture
from builder.generation.engine import GenerationEvent
from builder.git.remote import RemoteInfo
from builder.git.sync import SyncResult
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
from builder.services.app_domains import DomainInfo
from builder.services.app_env import EnvVarInfo
from builder.services.asking import AskAnswer
from builder.services.plans import PlanInfo
from builder.services.run_settings import RunSettings, RunSettingsInfo
from builder.services.shares import Never, ShareCreated, ShareInfo, ShareKind
from preview_runtime.logs import LogLine

NO_TOKEN = (
    "This Forja has accounts, so the command needs your API token: give it with --token or FORJA_TOKEN (make one on "
    "your Account page, or on the server with: python -m builder token create EMAIL)."
)


class Created(BaseModel):
    id: str
    version: int
    files: int


class Duplicated(BaseModel):
    id: str
    name: str
    version: int


class Restored(BaseModel):
    version: VersionInfo = Field(description="The new current version, or the current one when nothing changed.")
    changed: bool = Field(description="False when the version already had the current files: no version was made.")


class PreviewStatus(BaseModel):
    url: str
    runner: str
    status: str
    version: int
    detail: str = ""


@dataclass(frozen=True)
class GenerateRequest:
    prompt: str
    project: str | None  # a follow-up on this project; None makes a new one
    provider: str | None
    model: str | None
    verify: bool
    images: list[Picture] = field(default_factory=list)
    # Build this plan (builder.services.plans) instead of a prompt: its project and its words.
    plan: str | None = None
    # Agent mode (a follow-up only): the model works in steps with tools, each a `step` event.
    agent: bool = False
    # The teams' MCP tools that change things outside Forja which an agent run may use (mcp_<server>_<tool>).
    approved_tools: frozenset[str] = frozenset()
    # Agent mode: the person's answers to the questions run `answers_to` asked; a new run goes on with them.
    answers_to: int | None = None
    answers: list[str] = field(default_factory=list)


class Backend(Protocol):
    # -- projects (a new project is the person's own; lists show those they have a role in) --
    async def import_path(self, source: Path, name: str | None) -> Created: ...
    async def projects(self) -> list[ProjectSummary]: ...
    async def project(self, project_id: str) -> ProjectDetail: ...
    async def files(self, project_id: str, version: int | None) -> list[FileInfo]: ...
    async def read_file(self, project_id: str, path: str, version: int | None) -> FileContent: ...
    async def write_file(self, project_id: str, path: str, content: str, message: str) -> VersionInfo:
        """Save one text file: a new version, unless nothing changed (then the current one)."""
        ...

    async def export_zip(self, project_id: str, version: int | None) -> bytes: ...
    async def add_picture(self, project_id: str, picture: Picture, path: str) -> PictureAdded: ...
    async def rename(self, project_id: str, name: str) -> ProjectSummary: ...
    async def duplicate(self, project_id: str, version: int | None, name: str | None) -> Duplicated: ...
    async def delete(self, project_id: str) -> None: ...
    async def trash(self) -> list[TrashedProject]: ...
    async def undelete(self, project_id: str) -> ProjectSummary: ...

    # -- history --
    async def diff(self, project_id: str, version: int, against: int | None) -> VersionDiff: ...
    async def restore(self, project_id: str, version: int) -> Restored: ...
    async def export_bundle(self, project_id: str) -> bytes: ...
    async def clone_url(self, project_id: str) -> str:
        """The project's git address, without credentials."""
        ...

    # -- git tokens --
    async def git_token(self, project_id: str, write: bool, days: int | None, name: str) -> NewGitToken: ...
    async def git_tokens(self) -> list[GitTokenInfo]: ...
    async def revoke_git_token(self, token_id: int) -> None: ...

    # -- share links --
    async def share(
        self,
        project_id: str,
        version: int | None,
        expires: timedelta | Never | None,
        target: ShareKind = "preview",
        release: int | None = None,
    ) -> ShareCreated: ...
    async def shares(self, project_id: str) -> list[ShareInfo]: ...
    async def revoke(self, share_id: int) -> None: ...

    # -- publish (the running Forja builds and serves apps) --
    async def publish(
        self, project_id: str, version: int | None, name: str | None, override_reason: str | None = None
    ) -> PublishResult: ...
    async def unpublish(self, project_id: str) -> AppInfo: ...
    async def releases(self, project_id: str) -> list[ReleaseInfo]: ...
    async def rollback(self, project_id: str, release: int) -> AppInfo: ...
    async def domain(self, project_id: str, check: bool) -> DomainInfo: ...
    async def set_domain(self, project_id: str, domain: str) -> DomainInfo: ...
    async def remove_domain(self, project_id: str) -> None: ...
    async def review(self, project_id: str, version: int | None) -> ReviewInfo: ...

    # -- the app's own variables (names only ever come back) --
    async def env_names(self, project_id: str) -> list[EnvVarInfo]: ...
    async def set_env(self, project_id: str, name: str, value: str) -> list[EnvVarInfo]: ...
    async def unset_env(self, project_id: str, name: str) -> list[EnvVarInfo]: ...
    async def reset_data(self, project_id: str, scope: str) -> None: ...

    # the project's remote repository
    async def remote_info(self, project_id: str) -> RemoteInfo: ...
    async def set_remote(self, project_id: str, url: str, token: str | None, branch: str) -> RemoteInfo: ...
    async def remote_push(self, project_id: str, to_branch: str | None) -> SyncResult: ...
    async def remote_pull(self, project_id: str, merge: bool) -> SyncResult: ...

    # -- previews and generations --
    async def preview(self, project_id: str, runner: str, wait: bool) -> PreviewStatus: ...
    async def stop(self, project_id: str) -> None: ...
    async def preview_status(self, project_id: str) -> PreviewStatus: ...
    async def log_tail(self, project_id: str, lines: int) -> list[LogLine]: ...
    async def run_settings(self, project_id: str) -> RunSettingsInfo: ...
    async def set_run_settings(self, project_id: str, asked: RunSettings) -> RunSettingsInfo: ...
    async def propose_plan(self, prompt: str, project_id: str | None, provider: str | None, model: str | None) -> PlanInfo: ...
    async def plan(self, plan_id: str) -> PlanInfo: ...
    async def answer_plan(self, plan_id: str, answers: list[str], provider: str | None, model: str | None) -> PlanInfo: ...
    async def ask(self, project_id: str, question: str, provider: str | None, model: str | None) -> AskAnswer: ...
    def generate(self, request: GenerateRequest) -> AsyncIterator[GenerationEvent]:
        """The generation's events, from its start to its done or error event."""
        ...

    # -- agent mode: a run's change waiting for approval --
    async def set_approve_changes(self, project_id: str, on: bool) -> None: ...
    async def set_engine(self, project_id: str, engine: Engine) -> None: ...
    async def accept_change(self, project_id: str, generation_id: int) -> int:
        """Save the run's waiting change; answers the new version's number."""
        ...

    async def reject_change(self, project_id: str, generation_id: int) -> None: ...

    async def close(self) -> None: ...
