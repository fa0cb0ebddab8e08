"""The counters and the histogram Forja moves as things happen, in this process's default registry.

Names follow Prometheus' conventions: the `forja_` prefix, the unit in the name, `_total` on counters (prometheus_client
adds it to a Counter's name). Labels hold only bounded values Forja chooses (a route's template, a state, an outcome),
never an id, a token or a raw path.
"""

from __future__ import annotations

from prometheus_client import Counter, Histogram, disable_created_metrics

# A `_created` series beside each counter doubles what a scrape carries for what Prometheus does not need.
disable_created_metrics()

HTTP_REQUESTS = Counter(
    "forja_http_requests",
    "HTTP requests Forja answered, by method, route template and status class (2xx, 4xx...).",
    ["method", "route", "status"],
)
HTTP_DURATION = Histogram(
    "forja_http_request_duration_seconds",
    "Time from a request's arrival to the end of its answer, by method and route template.",
    ["method", "route"],
)
GENERATIONS_STARTED = Counter("forja_generations_started", "Generations (and repair requests) this worker started.")
GENERATIONS_FINISHED = Counter(
    "forja_generations_finished",
    "Generations this worker finished, by outcome: done (a version saved or kept) or error (nothing saved, stopped too).",
    ["outcome"],
)
BUILDS_STARTED = Counter("forja_builds_started", "Release builds (publishes) this worker started.")
BUILDS_FINISHED = Counter(
    "forja_builds_finished",
    "Release builds this worker finished, by outcome: ready or failed (the previous release stays live).",
    ["outcome"],
)
PREVIEW_RESTARTS = Counter(
    "forja_preview_restarts",
    "Previews this worker stopped and started again before they ended (Restart, a change of the app's data or "
    "settings, a parked one started on a newer version).",
)

# Each outcome's series from the start, at 0: a rate over a series that appears only with its first event misses it.
for _outcome in ("done", "error"):
    GENERATIONS_FINISHED.labels(_outcome)
for _outcome in ("ready", "failed"):
    BUILDS_FINISHED.labels(_outcome)
