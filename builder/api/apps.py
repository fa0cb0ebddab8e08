"""Requests for a published app's address reach its files, never Forja's page or API.

The preview edge (Traefik) sends `<name>.apps.<domain>`, and the apps' custom domains, to Forja's own port; this
wrapper, outside every other guard, hands such a request to the static edge (builder/publish/edge.py), which answers
it from the app's live release on disk. Any other Host goes on to Forja, whose own guards refuse hosts that are not its
names.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

from builder.api.hosts import allowed_hosts, host_allowed, parse_host
from builder.publish.addresses import app_name_of
from builder.publish.edge import StaticApp, Target
from builder.services import get_services


async def _target(host: str) -> Target | None:
    return await (await get_services()).publishing.target(host)


async def _custom_domain(header: bytes, allowed: frozenset[tuple[str, str]]) -> bool:
    """A host that is not Forja's own may be an app's custom domain (asked of the services only then)."""
    return not host_allowed(parse_host(header), allowed) and (await get_services()).publishing.serves(header.decode("latin-1"))


def published_apps(app: ASGIApp) -> ASGIApp:
    edge = StaticApp(_target)
    allowed = allowed_hosts()

    async def dispatch(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket"):
            header = dict(scope["headers"]).get(b"host", b"")
            host = header.decode("latin-1")
            if app_name_of(host) is not None or await _custom_domain(header, allowed):
                if scope["type"] == "websocket":
                    await send({"type": "websocket.close", "code": 1008})
                    return
                await edge(scope, receive, send)
                return
        await app(scope, receive, send)

    return dispatch
