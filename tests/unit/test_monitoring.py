"""The pure parts of /metrics: route templates as labels, the HTTP guard's counting, preview counts, the data folder's
parts and how long a reading of them is kept."""

from __future__ import annotations

from pathlib import Path

import httpx
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from builder.api import api
from builder.monitoring.disk import KEPT_S, SHARED, TOP_FILES, DiskUse, data_parts
from builder.monitoring.http import measured, status_class
from builder.monitoring.scrape import Figures, exposition, preview_counts
from preview_runtime.runner import PreviewInfo, PreviewState


async def _item(request: Request) -> PlainTextResponse:
    return PlainTextResponse(request.path_params["item_id"], status_code=201 if request.method == "POST" else 200)


def _app(static: Path) -> Starlette:
    inner = Starlette(routes=[Route("/items/{item_id}", _item, methods=["GET", "POST"])])
    return Starlette(routes=[Mount("/shop", app=inner), Mount("/static", app=StaticFiles(directory=static))])


def _count(method: str, route: str, status: str) -> float:
    labels = {"method": method, "route": route, "status": status}
    return REGISTRY.get_sample_value("forja_http_requests_total", labels) or 0.0


async def test_requests_are_counted_by_route_template_never_by_path(tmp_path: Path) -> None:
    (tmp_path / "a.css").write_text("a {}")
    template = "/shop/items/{item_id}"
    before = {
        key: _count(*key)
        for key in [
            ("GET", template, "2xx"),
            ("POST", template, "2xx"),
            ("GET", "unmatched", "4xx"),
            ("GET", "/static/{path}", "2xx"),
            ("other", template, "4xx"),
        ]
    }
    transport = httpx.ASGITransport(app=measured(_app(tmp_path)))
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as http:
        assert (await http.get("/shop/items/secret-id-1")).text == "secret-id-1"
        await http.get("/shop/items/secret-id-2")
        assert (await http.post("/shop/items/secret-id-3")).status_code == 201
        assert (await http.get("/nowhere/secret-id-4")).status_code == 404
        assert (await http.get("/static/a.css")).status_code == 200
        assert (await http.request("BREW", "/shop/items/secret-id-5")).status_code == 405

    assert {key: _count(*key) - value for key, value in before.items()} == {
        ("GET", template, "2xx"): 2,
        ("POST", template, "2xx"): 1,
        ("GET", "unmatched", "4xx"): 1,
        ("GET", "/static/{path}", "2xx"): 1,
        ("other", template, "4xx"): 1,
    }
    exposed = exposition(Figures())
    assert b"secret-id" not in exposed and b"/nowhere" not in exposed


def test_status_classes() -> None:
    assert [status_class(code) for code in (101, 200, 304, 404, 503, 0, 700)] == [
        "1xx",
        "2xx",
        "3xx",
        "4xx",
        "5xx",
        "other",
        "other",
    ]


def _mounts(routes: list[BaseRoute]) -> list[Mount]:
    found = []
    for route in routes:
        if isinstance(route, Mount):
            found += [route, *_mounts(route.routes)]
    return found


def test_the_apis_mounts_have_no_parameters_so_a_route_label_never_holds_an_id() -> None:
    """A mount's prefix reaches the label as the path matched it: one with a {parameter} would put an id there."""
    mounts = _mounts(api.routes)
    assert mounts  # the API's docs assets at least
    assert [mount.path for mount in mounts if "{" in mount.path] == []


def _preview(preview_id: str, state: PreviewState, runner: str = "local") -> PreviewInfo:
    return PreviewInfo(preview_id=preview_id, project_id="p", version=1, runner=runner, state=state)


def test_preview_counts_name_every_state_of_each_runner_in_use() -> None:
    counts = preview_counts(
        [_preview("a", PreviewState.running), _preview("b", PreviewState.running), _preview("c", PreviewState.failed, "docker")]
    )

    assert counts[("running", "local")] == 2 and counts[("failed", "docker")] == 1
    assert counts[("parked", "local")] == 0 and ("parked", "local") in counts
    assert {runner for _, runner in counts} == {"local", "docker"}
    assert len(counts) == 2 * len(PreviewState)
    assert preview_counts([]) == {}


def test_figures_are_written_out_in_prometheus_text_format() -> None:
    figures = Figures(
        previews=preview_counts([_preview("a", PreviewState.running)]),
        generations_running=3,
        proxy_restarts=2,
        disk={"git": 10, TOP_FILES: 5},
    )
    families = {family.name: family for family in text_string_to_metric_families(exposition(figures).decode())}

    running = [s.value for s in families["forja_previews"].samples if s.labels == {"state": "running", "runner": "local"}]
    assert running == [1]
    assert families["forja_generations_running"].samples[0].value == 3
    assert families["forja_preview_proxy_restarts"].type == "counter"
    assert families["forja_preview_proxy_restarts"].samples[0].value == 2
    assert {s.labels["part"]: s.value for s in families["forja_data_bytes"].samples} == {"git": 10, TOP_FILES: 5}
    assert all(family.documentation for family in families.values())


def test_data_parts_are_its_folders_the_files_beside_them_and_a_shared_folders_parts(tmp_path: Path) -> None:
    data = tmp_path / "data"
    (data / "git" / "p1").mkdir(parents=True)
    (data / "git" / "p1" / "HEAD").write_bytes(b"x" * 100)
    (data / "previews").mkdir()
    (data / "forja.db").write_bytes(b"d" * 30)
    (data / "forja.lock").write_bytes(b"l" * 2)
    shared = tmp_path / "shared"
    (shared / "releases" / "p1").mkdir(parents=True)
    (shared / "releases" / "p1" / "index.html").write_bytes(b"h" * 7)
    (shared / "appdata").mkdir()

    assert data_parts(data) == {"git": 100, "previews": 0, TOP_FILES: 32}
    assert data_parts(data, shared) == {
        "git": 100,
        "previews": 0,
        TOP_FILES: 32,
        f"{SHARED}releases": 7,
        f"{SHARED}appdata": 0,
    }
    # Without a shared folder of its own the apps' parts are the data folder's, counted once.
    (data / "releases").mkdir()
    (data / "releases" / "a").write_bytes(b"r" * 3)
    assert data_parts(data, data) == data_parts(data) and data_parts(data)["releases"] == 3
    assert data_parts(tmp_path / "none", tmp_path / "none") == {}


def test_the_disk_is_read_again_only_once_its_reading_is_old() -> None:
    now = [100.0]
    reads = [0]

    def read() -> dict[str, int]:
        reads[0] += 1
        return {"git": reads[0]}

    disk = DiskUse(read, clock=lambda: now[0])
    assert disk.parts() == {"git": 1}
    now[0] += KEPT_S - 1
    assert disk.parts() == {"git": 1}
    now[0] += 1
    assert disk.parts() == {"git": 2}
    assert reads[0] == 2
