"""Every HTTP request Forja answers, counted and timed by route template in one ASGI guard (API_GUARDS).

The label is the template of the route that answered (`/api/projects/{project_id}`), never the path itself: no id or
token reaches a label, and there are as many series as routes. A request no route took (a guard refused it first, or
nothing matched) counts as `unmatched`; an unusual method as `other`.
"""

from __future__ import annotations

import time

from starlette.routing import BaseRoute, Mount
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from builder.monitoring.families import HTTP_DURATION, HTTP_REQUESTS

METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
UNMATCHED = "unmatched"


def route_label(scope: Scope, root_path: str) -> str:
    """The template of the route that took the request, whole: the mounts' prefixes (each Mount adds its own to
    root_path; none of Forja's has a parameter) before the route's own path; a Mount that answered itself (static
    files) as its prefix and `/{path}`."""
    route = scope.get("route")
    if not isinstance(route, BaseRoute):
        return UNMATCHED
    prefix = str(scope.get("root_path", ""))[len(root_path) :]
    if isinstance(route, Mount):
        return f"{prefix}/{{path}}"
    path = getattr(route, "path", None)
    return f"{prefix}{path}" if isinstance(path, str) else UNMATCHED


def status_class(status: int) -> str:
    return f"{status // 100}xx" if 100 <= status <= 599 else "other"


def measured(app: ASGIApp) -> ASGIApp:
    """Count and time each HTTP request by method, route template and status class (websockets are not requests)."""

    async def measuring(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        began = time.perf_counter()
        root_path = str(scope.get("root_path", ""))
        status = 500  # an app that raises before it answers: the server answers 500

        async def send_noted(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await app(scope, receive, send_noted)
        finally:
            method = scope["method"] if scope["method"] in METHODS else "other"
            route = route_label(scope, root_path)
            HTTP_REQUESTS.labels(method, route, status_class(status)).inc()
            HTTP_DURATION.labels(method, route).observe(time.perf_counter() - began)

    return measuring
