"""/metrics of a Forja with accounts, through the API as Forja serves it (its guards included), on SQLite: each metric
moves when its thing happens, parsed with Prometheus' own text parser; only an admin's session or token reads it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from prometheus_client.parser import text_string_to_metric_families

import builder.monitoring.disk
from builder.composition import Services
from builder.services.access import LOCAL_ACTOR
from builder.settings import settings
from tests.accounts import Person, client, someone
from tests.integration.test_generation_api import post_sse

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def parsed(text: str) -> Samples:
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    """The sample's value; 0 for a series not there yet (a counter before its first event)."""
    return samples.get((name, frozenset(labels.items())), 0.0)


async def scrape(person: Person) -> Samples:
    response = await person.http.get("/metrics")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain; version=")
    return parsed(response.text)


@pytest.fixture
async def admin(
    services: Services, local_previews: None, offline_only: None, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Person]:
    """The admin of a Forja with accounts whose previews run in the local runner; the disk read at every scrape."""
    monkeypatch.setattr(settings, "auth", "password")
    monkeypatch.setattr(builder.monitoring.disk, "KEPT_S", 0.0)
    async with someone(services, "ana@example.org", "Ana Lima", admin=True) as made:
        yield made


async def test_each_metric_moves_when_its_thing_happens(services: Services, admin: Person) -> None:
    before = await scrape(admin)

    events = await post_sse(admin.http, "/api/generate", {"prompt": "A recipe book for my family"})
    assert events[-1][0] == "done", events[-1]
    # A page of one file previews and publishes in a moment (the generated app would install its packages first).
    made = await admin.http.post("/api/projects", json={"name": "Hello", "files": {"index.html": "<h1>Hello</h1>"}})
    assert made.status_code == 201, made.text
    project_id = made.json()["id"]
    assert (await admin.http.get(f"/api/projects/{project_id}")).status_code == 200
    assert (await admin.http.get("/api/projects/no-such-project")).status_code == 404
    started = await admin.http.post(f"/api/projects/{project_id}/preview?wait=true")
    assert started.status_code == 200 and started.json()["status"] == "running", started.text
    restarted = await admin.http.post(f"/api/projects/{project_id}/preview?wait=true", json={"restart": True})
    assert restarted.status_code == 200 and restarted.json()["status"] == "running", restarted.text
    published = await admin.http.post(f"/api/projects/{project_id}/publish", json={})
    assert published.status_code == 201, published.text

    after = await scrape(admin)

    def moved(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    # Requests, by the template of the route that answered and the status class; their latency as a histogram.
    project = "/api/projects/{project_id}"
    assert moved("forja_http_requests_total", method="GET", route=project, status="2xx") == 1
    assert moved("forja_http_requests_total", method="GET", route=project, status="4xx") == 1
    assert moved("forja_http_requests_total", method="POST", route="/api/generate", status="2xx") == 1
    assert moved("forja_http_requests_total", method="POST", route=f"{project}/preview", status="2xx") == 2
    assert moved("forja_http_requests_total", method="GET", route="/metrics", status="2xx") == 1
    assert moved("forja_http_request_duration_seconds_count", method="GET", route=project) == 2
    assert moved("forja_http_request_duration_seconds_sum", method="POST", route=f"{project}/preview") > 0
    # The generation, started and done; the preview, running in the local runner, and started again once; the build.
    assert moved("forja_generations_started_total") == 1
    assert moved("forja_generations_finished_total", outcome="done") == 1
    assert moved("forja_generations_finished_total", outcome="error") == 0
    assert value(before, "forja_previews", state="running", runner="local") == 0
    assert value(after, "forja_previews", state="running", runner="local") == 1
    assert value(after, "forja_previews", state="failed", runner="local") == 0
    assert moved("forja_preview_restarts_total") == 1
    assert moved("forja_builds_started_total") == 1
    assert moved("forja_builds_finished_total", outcome="ready") == 1
    assert value(after, "forja_generations_running") == 0
    assert value(after, "forja_preview_proxy_restarts_total") == 0
    # The data folder's parts: the preview's files and the published release's.
    assert value(after, "forja_data_bytes", part="previews") > 0
    assert value(after, "forja_data_bytes", part="releases") > 0
    # The admin page's list of previews and /metrics read the same entries.
    listed = await services.admin.previews(LOCAL_ACTOR)
    assert [(row.state, row.runner) for row in listed] == [("running", "local")]

    # No label holds an id, a token or a path as asked: only templates and Forja's own words.
    labels = {label for _, pairs in after for _, label in pairs}
    assert not [label for label in labels if project_id in label or admin.token in label or "no-such-project" in label]


async def test_only_an_admins_session_or_live_token_reads_metrics(services: Services, admin: Person) -> None:
    async with client() as anonymous:
        signed_out = await anonymous.get("/metrics")
    assert signed_out.status_code == 401 and "sign in" in signed_out.json()["detail"].lower(), signed_out.text
    async with someone(services, "bo@example.org", "Bo Park") as member:
        refused = await member.http.get("/metrics")
    assert refused.status_code == 403, refused.text
    assert refused.json()["detail"] == "Only an admin of this Forja may do that."

    # A token of its own for Prometheus, revoked as any other is (the Account page's Revoke).
    made = await services.accounts.create_token(admin.actor, "prometheus")
    async with client(authorization=f"Bearer {made.token}") as prometheus:
        assert (await prometheus.get("/metrics")).status_code == 200
        await services.accounts.revoke_token(admin.actor, made.id)
        revoked = await prometheus.get("/metrics")
    assert revoked.status_code == 401, revoked.text
    assert "revoked" in revoked.json()["detail"] and "forja_" not in revoked.text
