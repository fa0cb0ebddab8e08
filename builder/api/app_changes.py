"""`GET /_forja/data/<collection>/changes` on an app's host, published or in preview: a change stream (server-sent events) of the rows
of a collection the visitor may read, made, changed and deleted by anyone, through any Forja process
(builder/services/app_changes.py). `/_forja/client.js` wraps it as `forja.data(collection).watch(...)`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

from starlette.responses import StreamingResponse
from starlette.types import Receive, Scope, Send

from builder.api.app_auth import AppRequest, AppSite
from builder.app_backend.changes import last_event_id
from builder.app_backend.identity import AppViewer
from builder.app_backend.rules import DataRules, RulesError
from builder.composition import Services
from builder.services.app_data import Scope as AppScope

CHANGES = "changes"  # a row's id is 16 characters, so never this word
_HEADERS = {"cache-control": "no-store", "x-content-type-options": "nosniff", "x-accel-buffering": "no"}


class _HeldStream(StreamingResponse):
    """A stream that holds one of the app's stream slots while it is open, and gives it back however it ends."""

    def __init__(self, content: AsyncIterator[str], give_back: Callable[[], None]) -> None:
        super().__init__(content, media_type="text/event-stream", headers=_HEADERS)
        self._give_back = give_back

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            self._give_back()


async def site_rules(services: Services, site: AppSite) -> DataRules:
    """The rules in force on `site`: its release's, or those of the version its preview runs."""
    rows = services.app_rows
    if site.scope == AppScope.preview:
        return await rows.working_rules(site.project_id, site.version)
    return await rows.rules(site.project_id, site.release)


async def _rules_now(services: Services, request: AppRequest) -> DataRules | None:
    """The rules in force on the request's host now (a published app's live release may have changed since the stream
    opened; a preview's current version, after a save); None when it serves no rules of this app any more."""
    site = request.site
    if site.scope == AppScope.live:
        target = await services.publishing.target(request.http.headers.get("host", ""))
        if target is None or target.project_id != site.project_id:
            return None
        site = AppSite(site.project_id, release=target.release)
    try:
        return await site_rules(services, site)
    except RulesError:
        return None


async def change_stream(
    request: AppRequest, services: Services, rules: DataRules, collection: str, viewer: AppViewer
) -> _HeldStream:
    """The stream, or a refusal in words: as a list of the collection would be, or when the app has too many open."""
    changes = services.app_changes
    changes.check_open(rules, collection, viewer)

    async def still() -> bool:
        now = await services.app_users.viewer_of(request.project_id, request.scope, request.token)
        return now == viewer and await _rules_now(services, request) == rules

    after = last_event_id(request.http.headers.get("last-event-id"))
    if after is None:  # read before the answer starts, so the browser's `open` means "every change from here on"
        after = await changes.now()
    events = changes.stream(request.project_id, request.scope, rules, collection, viewer, after, still)
    return _HeldStream(events, changes.take_slot(request.project_id))
