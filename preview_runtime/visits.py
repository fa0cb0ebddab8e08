"""Visits to published server apps' addresses, as Traefik itself counts them, for the sweep: a published app in use is
not parked on schedule, whichever runner it runs in.

The local runner's bridge sees each connection into its sandbox (Runner.last_inbound), but the Docker and swarm runners'
containers are reached by Traefik straight over their bridge, with nothing of Forja's on the way. So Traefik counts:
its Prometheus metrics are on, with the routers' label, for the alias routers only (apps_edge.alias_routers opts them
in; the entrypoint's default is off, so previews' own routers cost nothing). The metrics are not on an entrypoint of
their own (no port to choose, nothing new listening): one router on the proxy's entrypoint serves them, to a request
with this proxy's random token in a header only, as they name every published sandbox. The sweep reads them once per
round; a count that changed since the last read is a visit at the time of the read (a round, at most 30 s, late).
"""

from __future__ import annotations

import re
import secrets

from preview_runtime.apps_edge import aliased_preview

HOST = "forja-visits.invalid"  # never a preview's or an app's host (.invalid is reserved)
TOKEN_HEADER = "X-Forja-Visits"
ROUTER = "forja-visits"
_REQUESTS = re.compile(r'^traefik_router_requests_total\{[^}]*\brouter="(?P<router>[^"]+)"[^}]*\}\s+(?P<count>\S+)$', re.M)


def metrics_config() -> dict[str, dict]:
    """The static configuration's metrics: Prometheus, by router only, served by ROUTER alone (manualRouting)."""
    return {
        "prometheus": {
            "addRoutersLabels": True,
            "addEntryPointsLabels": False,
            "addServicesLabels": False,
            "manualRouting": True,
        }
    }


def counted_requests(metrics: str) -> dict[str, float]:
    """Requests through each published app's alias routers, by preview id, from Traefik's metrics text."""
    counts: dict[str, float] = {}
    for match in _REQUESTS.finditer(metrics):
        preview_id = aliased_preview(match["router"])
        if preview_id is not None:
            counts[preview_id] = counts.get(preview_id, 0.0) + float(match["count"])
    return counts


class VisitCounter:
    """When each published app's address was last seen visited (time.monotonic(), by preview id)."""

    def __init__(self) -> None:
        self.token = secrets.token_urlsafe(24)  # URL-safe: it goes into a Traefik rule between backticks
        self._counts: dict[str, float] = {}
        self._at: dict[str, float] = {}

    def router(self) -> dict[str, object]:
        return {
            "entryPoints": ["web"],
            "rule": f"Host(`{HOST}`) && Header(`{TOKEN_HEADER}`, `{self.token}`)",
            "priority": 1000,  # above every preview's and app's router
            "service": "prometheus@internal",
        }

    def headers(self) -> dict[str, str]:
        return {"Host": HOST, TOKEN_HEADER: self.token}

    def read(self, metrics: str, now: float) -> dict[str, float]:
        """Take a new reading of Traefik's metrics: a count that changed (a router Traefik counts anew included, as it
        has a series only once it served a request) is a visit now."""
        counts = counted_requests(metrics)
        for preview_id, count in counts.items():
            if self._counts.get(preview_id) != count:
                self._at[preview_id] = now
        self._counts = counts
        self._at = {preview_id: at for preview_id, at in self._at.items() if preview_id in counts}
        return dict(self._at)

    def last(self) -> dict[str, float]:
        return dict(self._at)
