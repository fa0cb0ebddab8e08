"""The MCP server behind /api/mcp (builder.api.mcp): Forja's tools (builder.mcp.tools) as the person each request
names, through the services of the running Forja."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from mcp.server.mcpserver import Context
from mcp.server.transport_security import TransportSecuritySettings

from builder.api.identity import ACTOR_KEY, actor_of_headers
from builder.api.previews import started_preview
from builder.client.backend import Backend, GenerateRequest, PreviewStatus
from builder.client.local import LocalBackend
from builder.composition import get_services
from builder.errors import NotFound, NotSignedIn
from builder.generation.engine import GenerationEvent
from builder.mcp.tools import ForjaServer
from builder.publish.answers import PublishResult
from builder.services.access import Actor, Permission
from preview_runtime.logs import LogLine


class ServedBackend(LocalBackend):
    """The CLI's local backend, as the person a request names, inside the running Forja: what the CLI asks the running
    Forja for (previews, their logs, publishing, checked generations) it does here, through the services. (The MCP
    tools need nothing else of the running Forja, so it never opens a connection to itself.)"""

    async def preview(self, project_id: str, runner: str, wait: bool) -> PreviewStatus:
        await self._may(project_id, Permission.view)  # as the API's route: anyone who sees it may run it
        status = await started_preview(self._services, project_id, runner, False, wait, self._actor.user_id)
        return PreviewStatus.model_validate(status.model_dump())

    async def preview_status(self, project_id: str) -> PreviewStatus:
        await self._may(project_id, Permission.view)
        info = await self._services.previews.status(project_id)
        if info is None:
            raise NotFound("No preview is running for this project; start one with start_preview.")
        return PreviewStatus(url=info.url, runner=info.runner, status=info.state.value, version=info.version, detail=info.detail)

    async def log_tail(self, project_id: str, lines: int) -> list[LogLine]:
        await self._may(project_id, Permission.view)
        return self._services.logs.history(project_id)[-lines:]

    async def publish(
        self, project_id: str, version: int | None, name: str | None, override_reason: str | None = None
    ) -> PublishResult:
        # Publishing despite the review's critical findings is the owner's word, as in the API.
        await self._may(project_id, Permission.own if override_reason is not None else Permission.edit)
        return await self._services.publishing.publish(project_id, version, name, self._actor.user_id, override_reason)

    async def generate(self, request: GenerateRequest) -> AsyncIterator[GenerationEvent]:
        async for event in self._generate_here(request, await self._may_generate(request)):
            yield event


async def _actor(ctx: Context) -> Actor:
    """The person the guards found for this request (signed_in_api), or the one its API token names: never its cookie
    (builder.api.mcp)."""
    scope = getattr(ctx.request_context.request, "scope", None)
    if not isinstance(scope, dict):
        raise NotSignedIn("This tool call came without its HTTP request; call Forja's MCP endpoint over HTTP.")
    actor = scope.get(ACTOR_KEY)
    if isinstance(actor, Actor):
        return actor
    headers = dict(scope.get("headers", []))
    return await actor_of_headers("", headers.get(b"authorization", b"").decode("latin-1"))


@asynccontextmanager
async def _served(ctx: Context) -> AsyncIterator[Backend]:
    actor = await _actor(ctx)
    backend = ServedBackend(await get_services(), actor)
    try:
        yield backend
    finally:
        await backend.close()


@asynccontextmanager
async def serving() -> AsyncIterator[ForjaServer]:
    """A server with its session manager running. One per run: the SDK's session manager runs once only (tests start
    several in one process)."""
    server = ForjaServer(_served)
    server.streamable_http_app(
        stateless_http=True,
        json_response=True,
        transport_security=TransportSecuritySettings(enable_dns_rebinding_protection=False),
    )
    async with server.session_manager.run():
        yield server
