"""`GET /_forja/data/<collection>/changes` on a published app's host: a change stream (server-sent events) of the rows
of a collection the visitor may read, made, changed and deleted by anyone, through any Forja process
(builder/services/app_changes.py). `/_forja/client.js` wraps it as `forja.data(collection).watch(...)`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

from starlette.responses import StreamingResponse
from starlette.types import Receive, Scope, Send

from builder.api.app_auth import AppRequest
from builder.app_backend.changes import last_event_id
from builder.app_backend.identity import AppViewer
from builder.app_backend.rules import DataRules
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


async def change_stream(
    request: AppRequest, services: Services, rules: DataRules, release: int, collection: str, viewer: AppViewer
) -> _HeldStream:
    """The stream, or a refusal in words: as a list of the collection would be, or when the app has too many open."""
    changes = services.app_changes
    changes.check_open(rules, collection, viewer)
    host = request.http.headers.get("host", "")

    async def still() -> bool:
        target = await services.publishing.target(host)
        now = await services.app_users.viewer_of(request.project_id, AppScope.live, request.token)
        return target is not None and target.release == release and now == viewer

    after = last_event_id(request.http.headers.get("last-event-id"))
    if after is None:  # read before the answer starts, so the browser's `open` means "every change from here on"
        after = await changes.now()
    events = changes.stream(request.project_id, AppScope.live, rules, collection, viewer, after, still)
    return _HeldStream(events, changes.take_slot(request.project_id))
