"""The CLI against a Forja's HTTP API (`--server URL`, or the Forja running on this machine for previews).

Every request carries the person's API token (`Authorization: Bearer ...`); the server checks their role, and its
refusal's sentence (the API's `detail`) is what the CLI prints.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote, urlsplit

import httpx
from pydantic import BaseModel, TypeAdapter

from builder.attachments import Picture
from builder.client.backend import NO_TOKEN, Created, Duplicated, GenerateRequest, PreviewStatus, Restored
from builder.errors import FileTreeError, ForjaError, InvalidInput, ServerUnavailable
from builder.filetree import read_folder, write_zip
from builder.generation.engine import GenerationEvent
from builder.git.remote import RemoteInfo
from builder.git.sync import SyncResult
from builder.git.urls import clone_url
from builder.publish.answers import AppInfo, PublishResult, ReleaseInfo
from builder.review.answers import ReviewInfo
from builder.schemas import (
    MAX_PAGE,
    Engine,
    FileContent,
    FileInfo,
    GitTokenInfo,
    NewGitToken,
    PictureAdded,
    ProjectDetail,
    ProjectPage,
    ProjectSummary,
    TrashedProject,
    TrashPage,
    VersionDiff,
    VersionInfo,
)
from builder.services.app_domains import DomainInfo
from builder.services.app_env import EnvVarInfo
from builder.services.asking import AskAnswer
from builder.services.plans import PlanInfo
from builder.services.projects import name_from_filename
from builder.services.run_settings import RunSettings, RunSettingsInfo
from builder.services.shares import Never, ShareCreated, ShareInfo, ShareKind
from builder.settings import is_loopback, settings
from preview_runtime.logs import LogLine

T = TypeVar("T")

# Downloads (a bundle of a long history) and uploads may take a while on a slow link; connecting may not.
TIMEOUT = httpx.Timeout(120, connect=10)


def server_url(text: str) -> str:
    """The --server address, checked: http(s)://host[:port][/path]."""
    parts = urlsplit(text.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidInput(f"Give --server as the address you open Forja at, such as https://forja.example.org (not {text!r}).")
    return text.strip().rstrip("/")


def _path(prefix: str, *parts: str | int) -> str:
    """An API path with each part after the prefix quoted: an id is never read as more of the path."""
    return "/".join([prefix, *(quote(str(part), safe="") for part in parts)])


def _params(**values: object) -> dict[str, Any]:
    return {name: value for name, value in values.items() if value is not None}


def _upload_of(source: Path, name: str | None) -> tuple[str, bytes, str | None]:
    """What the API's upload takes for an import: a .zip or .json file as it is (the server reads it as a local import
    does), a folder as a zip of its files, named after the folder."""
    if source.is_dir():
        folder = source.resolve().name
        return f"{folder}.zip", write_zip(read_folder(source)), name or name_from_filename(folder)
    if source.is_file():
        return source.name, source.read_bytes(), name
    raise FileTreeError(f"{source} does not exist; give a folder, a .zip or a .json file tree.")


class RemoteBackend:
    """A Forja's HTTP API, as the person whose token this is (none: a Forja without accounts)."""

    def __init__(self, url: str, token: str | None, *, unreachable: str = "") -> None:
        self._url = url
        self._token = token
        self._unreachable = unreachable
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        # A proxy from the environment carries requests to other machines, never to this one.
        local = is_loopback(urlsplit(url).hostname or "")
        self._client = httpx.AsyncClient(base_url=url, headers=headers, timeout=TIMEOUT, trust_env=not local)

    async def close(self) -> None:
        await self._client.aclose()

    # -- requests ------------------------------------------------------------------------------

    def _broken(self, exc: httpx.HTTPError) -> ServerUnavailable:
        if isinstance(exc, httpx.TimeoutException):
            return ServerUnavailable(f"Forja at {self._url} did not answer in time; try again.")
        if isinstance(exc, httpx.ConnectError):
            # The reason too: a refused connection, an unknown host name and a certificate that does not fit differ.
            reason = str(exc) or type(exc).__name__
            return ServerUnavailable(
                self._unreachable
                or f"Could not reach Forja at {self._url} ({reason}); check the address (--server or FORJA_SERVER)."
            )
        return ServerUnavailable(f"The connection to Forja at {self._url} broke off ({type(exc).__name__}); try again.")

    def _refusal(self, response: httpx.Response) -> ForjaError:
        """The API's sentence for a refused request, with its status."""
        detail: object = None
        try:
            body = response.json()
            detail = body.get("detail") if isinstance(body, dict) else None
        except ValueError:
            pass
        if isinstance(detail, list):  # FastAPI's own 422: one entry per field it could not read
            detail = "; ".join(str(item.get("msg", item)) if isinstance(item, dict) else str(item) for item in detail)
        if response.status_code == 401 and not self._token:
            detail = NO_TOKEN
        if not isinstance(detail, str) or not detail.strip():
            detail = f"Forja at {self._url} answered {response.status_code} {response.reason_phrase}."
        error = ForjaError(detail)
        error.status = response.status_code
        return error

    async def _send(self, method: str, path: str, limit: float | httpx.Timeout = TIMEOUT, **kwargs: Any) -> httpx.Response:
        try:
            response = await self._client.request(method, path, timeout=limit, **kwargs)
        except httpx.HTTPError as exc:
            raise self._broken(exc) from None
        if response.status_code >= 400:
            raise self._refusal(response)
        return response

    async def _get(self, kind: type[T], path: str, **params: object) -> T:
        return self._read(kind, await self._send("GET", path, params=_params(**params)))

    def _read(self, kind: type[T], response: httpx.Response) -> T:
        try:
            return TypeAdapter(kind).validate_json(response.content)
        except ValueError:
            raise ForjaError(
                f"Forja at {self._url} answered something this command does not understand; is it a Forja of this version?"
            ) from None

    async def _pages(self, kind: type[ProjectPage] | type[TrashPage], path: str) -> list[Any]:
        items: list[BaseModel] = []
        while True:
            page = await self._get(kind, path, limit=MAX_PAGE, offset=len(items))
            items.extend(page.items)
            if not page.items or len(items) >= page.total:
                return items

    async def running(self) -> bool:
        """Whether Forja answers its health check (quickly: a CLI asks before it decides where to work)."""
        try:
            return (await self._client.get("/health", timeout=1)).status_code == 200
        except httpx.HTTPError:
            return False

    # -- projects ------------------------------------------------------------------------------

    async def import_path(self, source: Path, name: str | None) -> Created:
        filename, data, name = await asyncio.to_thread(_upload_of, source, name)
        form = {"name": name} if name else {}
        response = await self._send("POST", "/api/projects", files={"file": (filename, data)}, data=form)
        return self._read(Created, response)

    async def projects(self) -> list[ProjectSummary]:
        return await self._pages(ProjectPage, "/api/projects")

    async def project(self, project_id: str) -> ProjectDetail:
        return await self._get(ProjectDetail, _path("/api/projects", project_id))

    async def files(self, project_id: str, version: int | None) -> list[FileInfo]:
        return await self._get(list[FileInfo], _path("/api/projects", project_id, "files"), version=version)

    async def read_file(self, project_id: str, path: str, version: int | None) -> FileContent:
        # The path's slashes stay: the API reads the rest of its path as the file's.
        route = _path("/api/projects", project_id, "files") + "/" + quote(path, safe="/")
        return await self._get(FileContent, route, version=version)

    async def write_file(self, project_id: str, path: str, content: str, message: str) -> VersionInfo:
        route = _path("/api/projects", project_id, "files") + "/" + quote(path, safe="/")
        response = await self._send("PUT", route, json={"content": content, "encoding": "utf-8", "message": message})
        return self._read(VersionInfo, response)

    async def export_zip(self, project_id: str, version: int | None) -> bytes:
        path = _path("/api/projects", project_id, "export")
        return (await self._send("GET", path, params=_params(version=version))).content

    async def add_picture(self, project_id: str, picture: Picture, path: str) -> PictureAdded:
        # As the page does it: the picture attached first (checked there by its bytes), then saved into the project.
        attached = await self._send("POST", "/api/attachments", content=picture.data, params={"name": picture.name})
        body = {"attachment_id": self._read(dict[str, str], attached)["id"], "name": picture.name, "path": path}
        return self._read(PictureAdded, await self._send("POST", _path("/api/projects", project_id, "pictures"), json=body))

    async def rename(self, project_id: str, name: str) -> ProjectSummary:
        return self._read(ProjectSummary, await self._send("PATCH", _path("/api/projects", project_id), json={"name": name}))

    async def duplicate(self, project_id: str, version: int | None, name: str | None) -> Duplicated:
        path = _path("/api/projects", project_id, "duplicate")
        return self._read(Duplicated, await self._send("POST", path, json={"version": version, "name": name}))

    async def delete(self, project_id: str) -> None:
        await self._send("DELETE", _path("/api/projects", project_id))

    async def trash(self) -> list[TrashedProject]:
        return await self._pages(TrashPage, "/api/trash")

    async def undelete(self, project_id: str) -> ProjectSummary:
        return self._read(ProjectSummary, await self._send("POST", _path("/api/trash", project_id, "restore")))

    # -- history -------------------------------------------------------------------------------

    async def diff(self, project_id: str, version: int, against: int | None) -> VersionDiff:
        return await self._get(VersionDiff, _path("/api/projects", project_id, "versions", version, "diff"), against=against)

    async def restore(self, project_id: str, version: int) -> Restored:
        # The API answers the current version either way; it is a new one only if the number moved.
        before = (await self.project(project_id)).current_version
        path = _path("/api/projects", project_id, "versions", version, "restore")
        after = self._read(VersionInfo, await self._send("POST", path))
        return Restored(version=after, changed=after.number != before)

    async def export_bundle(self, project_id: str) -> bytes:
        return (await self._send("GET", _path("/api/projects", project_id, "export.bundle"))).content

    async def clone_url(self, project_id: str) -> str:
        await self.project(project_id)  # the project is there and the token may see it
        return clone_url(self._url, project_id)

    # -- git tokens ----------------------------------------------------------------------------

    async def git_token(self, project_id: str, write: bool, days: int | None, name: str) -> NewGitToken:
        body = {"access": "write" if write else "read", "days": days, "name": name}
        response = await self._send("POST", _path("/api/projects", project_id, "git-tokens"), json=body)
        return self._read(NewGitToken, response)

    async def git_tokens(self) -> list[GitTokenInfo]:
        return await self._get(list[GitTokenInfo], "/api/account/git-tokens")

    async def revoke_git_token(self, token_id: int) -> None:
        await self._send("DELETE", _path("/api/account/git-tokens", token_id))

    # -- share links ---------------------------------------------------------------------------

    async def share(
        self,
        project_id: str,
        version: int | None,
        expires: timedelta | Never | None,
        target: ShareKind = "preview",
        release: int | None = None,
    ) -> ShareCreated:
        expires_in = int(expires.total_seconds()) if isinstance(expires, timedelta) else expires
        body = {"version": version, "expires_in": expires_in, "target": target, "release": release}
        return self._read(ShareCreated, await self._send("POST", _path("/api/projects", project_id, "share"), json=body))

    async def shares(self, project_id: str) -> list[ShareInfo]:
        return await self._get(list[ShareInfo], _path("/api/projects", project_id, "shares"))

    async def revoke(self, share_id: int) -> None:
        await self._send("DELETE", _path("/api/shares", share_id))

    # -- publish -------------------------------------------------------------------------------------

    async def publish(
        self, project_id: str, version: int | None, name: str | None, override_reason: str | None = None
    ) -> PublishResult:
        path = _path("/api/projects", project_id, "publish")
        limit = settings.publish_build_timeout_s + 60
        body = {"version": version, "name": name, "override_reason": override_reason}
        return self._read(PublishResult, await self._send("POST", path, limit, json=body))

    async def unpublish(self, project_id: str) -> AppInfo:
        return self._read(AppInfo, await self._send("DELETE", _path("/api/projects", project_id, "app")))

    async def releases(self, project_id: str) -> list[ReleaseInfo]:
        return await self._get(list[ReleaseInfo], _path("/api/projects", project_id, "releases"))

    async def rollback(self, project_id: str, release: int) -> AppInfo:
        path = _path("/api/projects", project_id, "releases", release, "rollback")
        return self._read(AppInfo, await self._send("POST", path))

    async def review(self, project_id: str, version: int | None) -> ReviewInfo:
        path = _path("/api/projects", project_id, "review")
        return self._read(ReviewInfo, await self._send("POST", path, json={"version": version}))

    async def domain(self, project_id: str, check: bool) -> DomainInfo:
        return await self._get(DomainInfo, _path("/api/projects", project_id, "app", "domain"), check=check)

    async def set_domain(self, project_id: str, domain: str) -> DomainInfo:
        path = _path("/api/projects", project_id, "app", "domain")
        return self._read(DomainInfo, await self._send("PUT", path, json={"domain": domain}))

    async def remove_domain(self, project_id: str) -> None:
        await self._send("DELETE", _path("/api/projects", project_id, "app", "domain"))

    # -- the app's own variables ------------------------------------------------------------------

    async def env_names(self, project_id: str) -> list[EnvVarInfo]:
        return await self._get(list[EnvVarInfo], _path("/api/projects", project_id, "env"))

    async def set_env(self, project_id: str, name: str, value: str) -> list[EnvVarInfo]:
        path = _path("/api/projects", project_id, "env", name)
        return self._read(list[EnvVarInfo], await self._send("PUT", path, json={"value": value}))

    async def unset_env(self, project_id: str, name: str) -> list[EnvVarInfo]:
        return self._read(list[EnvVarInfo], await self._send("DELETE", _path("/api/projects", project_id, "env", name)))

    async def reset_data(self, project_id: str, scope: str) -> None:
        await self._send("DELETE", _path("/api/projects", project_id, "data"), params={"scope": scope})

    # -- the project's remote repository --------------------------------------------------------

    async def remote_info(self, project_id: str) -> RemoteInfo:
        return await self._get(RemoteInfo, _path("/api/projects", project_id, "remote"))

    async def set_remote(self, project_id: str, url: str, token: str | None, branch: str) -> RemoteInfo:
        body = {"url": url, "token": token, "branch": branch}
        return self._read(RemoteInfo, await self._send("PUT", _path("/api/projects", project_id, "remote"), json=body))

    async def remote_push(self, project_id: str, to_branch: str | None) -> SyncResult:
        path = _path("/api/projects", project_id, "remote", "push")
        return self._read(SyncResult, await self._send("POST", path, json={"to_branch": to_branch}))

    async def remote_pull(self, project_id: str, merge: bool) -> SyncResult:
        path = _path("/api/projects", project_id, "remote", "pull")
        return self._read(SyncResult, await self._send("POST", path, json={"merge": merge}))

    # -- previews and generations --------------------------------------------------------------

    async def preview(self, project_id: str, runner: str, wait: bool) -> PreviewStatus:
        path = _path("/api/projects", project_id, "preview")
        limit = settings.preview_start_timeout_s + 30
        response = await self._send("POST", path, limit, params={"wait": wait}, json={"runner": runner})
        return self._read(PreviewStatus, response)

    async def stop(self, project_id: str) -> None:
        await self._send("DELETE", _path("/api/projects", project_id, "preview"))

    async def preview_status(self, project_id: str) -> PreviewStatus:
        return await self._get(PreviewStatus, _path("/api/projects", project_id, "preview"))

    async def log_tail(self, project_id: str, lines: int) -> list[LogLine]:
        return await self._get(list[LogLine], _path("/api/projects", project_id, "logs", "tail"), lines=lines)

    async def run_settings(self, project_id: str) -> RunSettingsInfo:
        return self._read(RunSettingsInfo, await self._send("GET", _path("/api/projects", project_id, "run-settings")))

    async def set_run_settings(self, project_id: str, asked: RunSettings) -> RunSettingsInfo:
        path = _path("/api/projects", project_id, "run-settings")
        return self._read(RunSettingsInfo, await self._send("PUT", path, json=asked.model_dump()))

    async def propose_plan(self, prompt: str, project_id: str | None, provider: str | None, model: str | None) -> PlanInfo:
        body = {"prompt": prompt, "project_id": project_id, "provider": provider, "model": model}
        timeout = httpx.Timeout(settings.generation_timeout_s, connect=10)
        return self._read(PlanInfo, await self._send("POST", "/api/plans", timeout, json=body))

    async def plan(self, plan_id: str) -> PlanInfo:
        return self._read(PlanInfo, await self._send("GET", _path("/api/plans", plan_id)))

    async def answer_plan(self, plan_id: str, answers: list[str], provider: str | None, model: str | None) -> PlanInfo:
        body = {"answers": answers, "provider": provider, "model": model}
        timeout = httpx.Timeout(settings.generation_timeout_s, connect=10)
        return self._read(PlanInfo, await self._send("POST", _path("/api/plans", plan_id, "answers"), timeout, json=body))

    async def ask(self, project_id: str, question: str, provider: str | None, model: str | None) -> AskAnswer:
        body = {"question": question, "provider": provider, "model": model}
        timeout = httpx.Timeout(settings.generation_timeout_s, connect=10)
        return self._read(AskAnswer, await self._send("POST", _path("/api/projects", project_id, "ask"), timeout, json=body))

    async def generate(self, request: GenerateRequest) -> AsyncIterator[GenerationEvent]:
        """The server's events (server-sent events of /api/generate, of the project's /generate or the plan's /build)."""
        body: dict[str, Any] = {
            "prompt": request.prompt,
            "provider": request.provider,
            "model": request.model,
            "verify": request.verify,
            "images": [{"name": image.name, "data": image.base64()} for image in request.images],
        }
        if request.agent:  # only then: a Forja from before agent mode refuses a field it does not know
            body["agent"] = True
        if request.approved_tools:  # the same: a Forja from before MCP tools refuses it
            body["approved_tools"] = sorted(request.approved_tools)
        path = _path("/api/projects", request.project, "generate") if request.project else "/api/generate"
        if request.plan:
            body = {"provider": request.provider, "model": request.model, "verify": request.verify}
            path = _path("/api/plans", request.plan, "build")
        if request.answers_to is not None and request.project:
            body = {"answers": request.answers, "provider": request.provider, "model": request.model, "verify": request.verify}
            path = _path("/api/projects", request.project, "agent", request.answers_to, "answers")
        timeout = httpx.Timeout(settings.generation_timeout_s, connect=10)
        try:
            async with self._client.stream("POST", path, json=body, timeout=timeout) as response:
                if response.status_code >= 400:
                    await response.aread()
                    raise self._refusal(response)
                async for line in response.aiter_lines():
                    if line.startswith("data: "):
                        yield GenerationEvent.model_validate_json(line.removeprefix("data: "))
        except httpx.HTTPError as exc:
            raise self._broken(exc) from None

    # -- agent mode ----------------------------------------------------------------------------

    async def set_approve_changes(self, project_id: str, on: bool) -> None:
        path = _path("/api/projects", project_id, "agent", "approve-changes")
        await self._send("PUT", path, json={"approve_changes": on})

    async def set_engine(self, project_id: str, engine: Engine) -> None:
        await self._send("PUT", _path("/api/projects", project_id, "agent", "engine"), json={"engine": engine})

    async def accept_change(self, project_id: str, generation_id: int) -> int:
        path = _path("/api/projects", project_id, "agent", generation_id, "accept")
        return int(self._read(dict[str, Any], await self._send("POST", path))["version"])

    async def reject_change(self, project_id: str, generation_id: int) -> None:
        await self._send("POST", _path("/api/projects", project_id, "agent", generation_id, "reject"))
