"""On a swarm manager, `auto` picks the swarm runner: Forja's previews become services, and doctor and the admin's
health say why.

The engine is a single-node swarm for this module only (tests/swarm_fixtures.py); elsewhere `auto` picks Docker.
Test traffic goes only to loopback (Traefik) and, through the runner's edge, to the service this module made.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

import builder.settings
from builder.api import api as forja_api
from builder.api import guarded
from builder.composition import Services
from builder.models import LOCAL_USER_ID
from builder.publish.addresses import app_host, app_key
from builder.services.access import LOCAL_ACTOR
from preview_runtime.preview_headers import NOT_FOUND_MARKER, WAKING
from tests.conftest import free_port, served

pytest.register_assert_rewrite("tests.docker_fixtures", "tests.swarm_fixtures")
from tests.docker_fixtures import docker_test_network  # noqa: E402, F401 (fixture)
from tests.integration.test_preview_image import PACKAGE, SERVER, doctor  # noqa: E402
from tests.integration.test_publish_server import answered, express_files  # noqa: E402
from tests.swarm_fixtures import cleanup_swarm_test, docker, service_inspect  # noqa: E402

pytest_plugins = ["tests.swarm_fixtures"]


@pytest.fixture
def swarm_previews(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    swarm_manager: str,
    preview_image: str,
    docker_test_network: str,  # noqa: F811
) -> Iterator[str]:
    """The services' previews in `auto` mode, behind a real Traefik on loopback; the swarm runner's name is
    `<preview network>-swarm`, and what it made is removed afterwards (the Docker runner's, which `auto` makes too, at
    the end of the session)."""
    swarm_network = f"{docker_test_network}-swarm"
    for name, value in {
        "data_dir": tmp_path / "data",
        "preview_runner": "auto",
        "preview_port": free_port(),
        "preview_network": docker_test_network,
        "preview_image": preview_image,
        "preview_warm_pool": 0,
    }.items():
        monkeypatch.setattr(builder.settings.settings, name, value)
    cleanup_swarm_test(swarm_network)
    yield swarm_network
    cleanup_swarm_test(swarm_network)


async def test_auto_runs_previews_as_swarm_services_on_a_manager(swarm_previews: str, services: Services) -> None:
    created = await services.projects.create("Swarmed", {"package.json": PACKAGE, "server.js": SERVER}, owner=LOCAL_USER_ID)
    info = await services.previews.start(created.project_id)
    assert info.runner == "swarm"
    assert info.runner_reason == (
        "Docker Swarm is ready: each preview runs as a hardened service of the swarm, on a network of its own."
    )
    assert await served(services, created.project_id) == "<h1>In a box</h1>"
    health = await services.admin.health(LOCAL_ACTOR)
    assert health.previews_runner == "swarm"
    states = {check.name: check.state for check in health.checks}
    assert states["swarm runner"] == "ok" and states["docker runner"] == "ok"
    # The preview is a service of the swarm, made by the runner named after the Docker runner's network.
    assert service_inspect(info.handle)["Spec"]["Labels"]["forja.network"] == swarm_previews
    await services.previews.stop(created.project_id)
    assert docker("service", "ls", "-q", "--filter", f"id={info.handle}").strip() == ""


async def test_a_published_server_app_is_a_service_stopped_when_idle_or_replaced_and_started_again_by_a_visit(
    swarm_previews: str, services: Services, package_caches: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The swarm runner has no park (docs/previews.md): an idle release's service is stopped, a visit starts it afresh
    from its version, and a release replaced by a newer one is stopped too, not kept parked for a rollback."""
    monkeypatch.setattr(builder.settings.settings, "preview_offline", True)  # npm from the starters' packages
    created = await services.projects.create("Swarm Shop", express_files("Swarm Shop"), owner=LOCAL_USER_ID)
    pid, hub = created.project_id, services.preview_hub
    first = await services.publishing.publish(pid, name="swarm-shop", user_id=LOCAL_USER_ID)
    assert (first.release.state, first.release.framework) == ("ready", "Express")
    live = await hub.local(app_key(pid, 1))
    assert live is not None and live.runner == "swarm"
    assert service_inspect(live.handle)["Spec"]["Labels"]["forja.network"] == swarm_previews
    assert "Swarm Shop" in (await answered(services, "swarm-shop")).text

    # Idle (as the sweep parks it): its service goes; the address falls to Forja's edge, which starts it again.
    assert not await (await hub.manager()).park(live.preview_id, "a test")
    assert await hub.local(app_key(pid, 1)) is None
    assert docker("service", "ls", "-q", "--filter", f"id={live.handle}").strip() == ""
    transport = httpx.ASGITransport(app=guarded(forja_api))
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:3000") as client:
        waking = await client.get("/", headers={"Host": app_host("swarm-shop")})
    assert waking.status_code == 503 and waking.headers[NOT_FOUND_MARKER] == WAKING
    assert "Swarm Shop" in (await answered(services, "swarm-shop", tries=600)).text
    again = await hub.local(app_key(pid, 1))
    assert again is not None and again.runner == "swarm" and again.handle != live.handle
    assert len(await services.publishing.releases(pid)) == 1  # started again, not published again

    # A newer release goes live: the older one's service is stopped, not parked.
    await services.projects.save(pid, express_files("Swarm Shop Two"))
    second = await services.publishing.publish(pid, user_id=LOCAL_USER_ID)
    assert second.release.number == 2
    assert "Swarm Shop Two" in (await answered(services, "swarm-shop")).text
    assert await hub.local(app_key(pid, 1)) is None
    assert docker("service", "ls", "-q", "--filter", f"id={again.handle}").strip() == ""

    await services.publishing.unpublish(pid)
    assert hub.here(f"app:{pid}@") == {}


def test_doctor_on_a_swarm_manager(preview_image: str, swarm_manager: str) -> None:
    code, report = doctor({"FORJA_PREVIEW_IMAGE": preview_image, "FORJA_PREVIEW_RUNNER": "auto"})
    assert code == 0 and report["auto"] == "swarm"
    assert report["runners"]["swarm"] == {
        "ready": True,
        "reason": f"This engine is a swarm manager and the preview image {preview_image} is built on it.",
        "known": True,
        "projects": {},
    }
    assert report["runners"]["docker"]["ready"] is True
    code, report = doctor({"FORJA_PREVIEW_IMAGE": preview_image, "FORJA_PREVIEW_RUNNER": "local"})
    assert report["runners"]["swarm"] == {
        "ready": False,
        "reason": "Turned off in the settings (FORJA_PREVIEW_RUNNER=local).",
        "known": True,
        "projects": {},
    }
