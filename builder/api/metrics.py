"""/metrics: Prometheus' text format for an operator's monitoring, this worker's own (scrape each worker).

Outside /api/ (where Prometheus looks by default), so the sign-in guard does not see it: the `Admin` dependency asks
for an admin's session or API token itself (401 without one or with a revoked one, 403 for anyone else).
"""

from __future__ import annotations

from fastapi import APIRouter, Response
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4

from builder.api.bodies import CheckedRoute
from builder.api.identity import Admin
from builder.composition import get_services

router = APIRouter(route_class=CheckedRoute)


@router.get(
    "/metrics",
    tags=["meta"],
    response_class=Response,
    responses={200: {"content": {CONTENT_TYPE_PLAIN_0_0_4: {}}, "description": "Prometheus' text exposition format."}},
)
async def metrics(admin: Admin) -> Response:
    """Requests by route template, status class and latency; previews by state and runner; generations and builds
    started and finished; restarts; generations running; the data folder's disk use. For an admin (a session or an API
    token, `Authorization: Bearer ...`)."""
    body = await (await get_services()).monitoring.metrics(admin)
    # 0.0.4: the text format's version every Prometheus reads (the library's own server answers it unless asked for more).
    return Response(body, media_type=CONTENT_TYPE_PLAIN_0_0_4)
