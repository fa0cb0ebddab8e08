"""Docker previews with no extra step: Forja builds a missing preview image itself, and `doctor` tells the truth.

The build tests build real images with build_offline.sh on the test engine, under their own
repository names (removed afterwards), so the session's preview image is never touched.
"""

from __future__ import annotations

import asyncio
import fcntl
import json
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

import builder.settings
from builder.composition import Services
from builder.errors import PreviewError
from builder.models import LOCAL_USER_ID
from preview_runtime.docker.image import ImageState, PreviewImage, image_exists
from tests.conftest import NO_REGISTRY_NAMES, free_port, served
from tests.docker_fixtures import docker_engine, docker_test_network, preview_image  # noqa: F401 - fixtures
from tests.integration.test_cli import run_in_process

SERVER = b"""require('http').createServer((req, res) => res.writeHead(200, {'content-type': 'text/html'}).end('<h1>In a box</h1>')).listen(Number(process.env.PORT), process.env.HOST);
"""
KEPT_ROOTFS = Path("/var/cache/forja-preview-build/rootfs")
PACKAGE = json.dumps({"name": "boxed", "version": "1.0.0", "scripts": {"dev": "node server.js"}}).encode()


def doctor(env: dict[str, str], path: str | None = None) -> tuple[int, dict]:
    """`python -m builder doctor --json` as a person runs it, with no Forja answering on its port (and no registry
    name to look up, unless `env` sets some)."""
    full = {**os.environ, "FORJA_PORT": str(free_port()), **NO_REGISTRY_NAMES, **env}
    if path is not None:
        full["PATH"] = path
    done = run_in_process(["doctor", "--json"], full)
    assert done.stdout, done.stderr
    return done.returncode, json.loads(done.stdout)


@pytest.fixture
def scratch_repository(docker_engine: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:  # noqa: F811
    """FORJA_PREVIEW_IMAGE names a repository of this test's own, with every image in it removed afterwards."""
    name = f"forja-preview-test-{os.getpid()}"
    monkeypatch.setattr(builder.settings.settings, "preview_image", name)
    yield name
    images = subprocess.run(["docker", "images", name, "--format", "{{.ID}}"], capture_output=True, text=True).stdout.split()
    for image in set(images):
        users = subprocess.run(["docker", "ps", "-aq", "--filter", f"ancestor={image}"], capture_output=True, text=True)
        if users.stdout.split():
            subprocess.run(["docker", "rm", "--force", "--volumes", *users.stdout.split()], capture_output=True)
        subprocess.run(["docker", "rmi", "--force", image], capture_output=True)


@pytest.fixture
def docker_previews(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, docker_test_network: str) -> None:  # noqa: F811
    """The services' previews in `auto` mode on the test network, behind a real Traefik on loopback."""
    for name, value in {
        "data_dir": tmp_path / "data",
        "preview_runner": "auto",
        "preview_port": free_port(),
        "preview_network": docker_test_network,
        "preview_warm_pool": 0,
    }.items():
        monkeypatch.setattr(builder.settings.settings, name, value)


async def building(image: PreviewImage) -> None:
    async with asyncio.timeout(30):
        async for status in image.follow(tick_s=0.05):
            if status.state == ImageState.building:
                return
            assert status.state == ImageState.missing, status


async def test_a_machine_with_docker_and_no_image_gets_docker_previews_without_a_command(
    docker_previews: None, scratch_repository: str, services: Services, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # An earlier build of the same recipe on this machine (the session's image) kept its root filesystem: this build
    # imports it (2 steps) instead of running debootstrap again (6).
    kept = KEPT_ROOTFS / f"{services.preview_hub.image.image.rsplit(':', 1)[1]}.tar.zst"
    kept_before = kept.exists()
    # The builds wait while this test holds the machine's build lock, as they would behind another build under way.
    lock = tmp_path / "build.lock"
    monkeypatch.setenv("FORJA_BUILD_LOCK", str(lock))
    with lock.open("a") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        manager = await services.preview_hub.manager()
        await building(services.preview_hub.image)
        assert "docker" not in manager.runners

        # Meanwhile previews run in the local runner, and say why.
        created = await services.projects.create("Boxed", {"package.json": PACKAGE, "server.js": SERVER}, owner=LOCAL_USER_ID)
        first = await services.previews.start(created.project_id)
        assert first.runner == "local"
        assert first.runner_reason.startswith("Docker is not used: Preparing Docker previews (")
        assert await served(services, created.project_id) == "<h1>In a box</h1>"

        # A second Forja starting meanwhile: the two builds make one image.
        other = PreviewImage(scratch_repository)
        assert (await other.check()).state == ImageState.missing
        other_build = other.build()
        await building(other)

    assert services.preview_hub.docker_preparation is not None
    async with asyncio.timeout(600):
        built = await services.preview_hub.docker_preparation
        waited = await other_build
    assert built.state == waited.state == ImageState.ready, (built, waited)
    # One built it (all its steps); the other, let in after it, found the image and built nothing.
    steps = 2 if kept_before else 6
    assert sorted((built.step, waited.step)) == [0, steps] and max(built.steps, waited.steps) == steps, (built, waited)
    assert kept.stat().st_size > 0
    assert "docker" in manager.runners

    again = await services.previews.start(created.project_id, restart=True)
    assert again.runner == "docker"
    assert again.runner_reason == "Docker is ready: each preview runs in its own hardened container."
    assert await served(services, created.project_id) == "<h1>In a box</h1>"

    # An unchanged image is found, not built again.
    second = PreviewImage(scratch_repository)
    assert (await second.check()).state == ImageState.ready
    assert second.status.started is None


async def test_a_build_that_fails_says_why_and_the_local_runner_keeps_working(
    docker_previews: None, scratch_repository: str, monkeypatch: pytest.MonkeyPatch, services: Services
) -> None:
    if shutil.which("debootstrap") is None:
        pytest.fail("debootstrap is needed for the offline build (apt-get install debootstrap)")
    # A mirror on a loopback port where nothing listens: debootstrap fails at once.
    monkeypatch.setenv("DEBIAN_MIRROR", f"http://127.0.0.1:{free_port()}/debian")
    monkeypatch.setenv("FORJA_BUILD_CACHE", "none")
    manager = await services.preview_hub.manager()
    assert services.preview_hub.docker_preparation is not None
    async with asyncio.timeout(300):
        failed = await services.preview_hub.docker_preparation
    assert failed.state == ImageState.failed
    assert failed.reason == "debootstrap failed (exit status 1)."
    assert not await image_exists(services.preview_hub.image.image)
    assert "docker" not in manager.runners

    created = await services.projects.create("Still works", {"package.json": PACKAGE, "server.js": SERVER}, owner=LOCAL_USER_ID)
    info = await services.previews.start(created.project_id)
    assert info.runner == "local"
    assert info.runner_reason == (
        "Docker is not used: The Docker preview image could not be built: debootstrap failed (exit status 1)."
    )
    assert await served(services, created.project_id) == "<h1>In a box</h1>"


def test_doctor_without_docker() -> None:
    code, report = doctor({"DOCKER_HOST": "unix:///nonexistent/docker.sock", "FORJA_PREVIEW_RUNNER": "auto"})
    assert code == 0
    assert report["auto"] == "local"
    assert report["runners"]["docker"] == {
        "ready": False,
        "reason": "No Docker engine is reachable: install Docker (sudo apt-get install docker.io) and start it.",
        "known": True,
        "projects": {},
    }
    # WebContainers run in browsers: with no Forja running, nothing has told this command whether they boot.
    assert report["runners"]["webcontainer"]["ready"] is False and report["runners"]["webcontainer"]["known"] is False
    assert "only a running Forja hears from the browsers" in report["runners"]["webcontainer"]["reason"]
    assert report["runners"]["local"]["ready"] is True
    assert set(report["runners"]) == {"docker", "local", "webcontainer", "swarm"}
    checks = {check["name"]: check for check in report["checks"]}
    assert checks["docker"]["ok"] is False
    # Asking for Docker where there is none: not usable, exit status 1.
    code, report = doctor({"DOCKER_HOST": "unix:///nonexistent/docker.sock", "FORJA_PREVIEW_RUNNER": "docker"})
    assert code == 1 and report["requested"] == "docker"


def test_doctor_with_docker_and_no_image(scratch_repository: str) -> None:
    code, report = doctor({"FORJA_PREVIEW_IMAGE": scratch_repository, "FORJA_PREVIEW_RUNNER": "auto"})
    assert code == 0 and report["auto"] == "local"
    docker = report["runners"]["docker"]
    assert docker["ready"] is False
    assert docker["reason"].startswith(f"The preview image {scratch_repository}:in-")
    assert docker["reason"].endswith(" is not built yet; Forja builds it when it starts.")
    code, _ = doctor({"FORJA_PREVIEW_IMAGE": scratch_repository, "FORJA_PREVIEW_RUNNER": "docker"})
    assert code == 1


def test_doctor_with_docker_and_the_image(preview_image: str) -> None:  # noqa: F811
    code, report = doctor({"FORJA_PREVIEW_IMAGE": preview_image, "FORJA_PREVIEW_RUNNER": "docker"})
    assert code == 0
    assert report["auto"] == "docker"
    assert report["runners"]["docker"] == {
        "ready": True,
        "reason": f"The engine answers and the preview image {preview_image} is built.",
        "known": True,
        "projects": {},
    }


def test_doctor_without_a_swarm_says_how_to_make_one(preview_image: str) -> None:  # noqa: F811
    not_in_a_swarm()
    code, report = doctor({"FORJA_PREVIEW_IMAGE": preview_image, "FORJA_PREVIEW_RUNNER": "swarm"})
    # Asking for the swarm leaves the other runners out, so nothing can run previews.
    assert code == 1 and report["auto"] == "none"
    assert report["runners"]["docker"] == {
        "ready": False,
        "reason": "Turned off in the settings (FORJA_PREVIEW_RUNNER=swarm).",
        "known": True,
        "projects": {},
    }
    assert report["runners"]["swarm"] == {
        "ready": False,
        "reason": "This Docker engine is not part of a swarm (docker swarm init, or join one as a manager).",
        "known": True,
        "projects": {},
    }


def not_in_a_swarm() -> None:
    """These tests need an engine in no swarm; one left in a swarm by another session skips them, and fails in CI
    (where the swarm tests' fixture leaves its swarm)."""
    state = subprocess.run(["docker", "info", "--format", "{{.Swarm.LocalNodeState}}"], capture_output=True, text=True)
    if state.stdout.strip() == "active":
        reason = "the engine is in a swarm (another test session's, or the machine's own)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"in CI {reason}", pytrace=False)
        pytest.skip(reason)


async def test_the_swarm_asked_for_on_an_engine_in_no_swarm_says_why(
    docker_previews: None,
    preview_image: str,  # noqa: F811
    services: Services,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    not_in_a_swarm()
    monkeypatch.setattr(builder.settings.settings, "preview_runner", "swarm")
    monkeypatch.setattr(builder.settings.settings, "preview_image", preview_image)
    created = await services.projects.create("Unswarmed", {"package.json": PACKAGE, "server.js": SERVER}, owner=LOCAL_USER_ID)
    with pytest.raises(PreviewError) as refused:
        await services.previews.start(created.project_id)
    assert str(refused.value) == (
        "No preview runner is available on this Forja."
        " The swarm runner cannot be used: This Docker engine is not part of a swarm (docker swarm init, or join one"
        " as a manager)."
        " The docker runner cannot be used: this Forja is set to run previews with the swarm runner only."
        " The local runner cannot be used: this Forja is set to run previews with the swarm runner only."
    )
    # The settings leave Docker and the local runner out: neither was made.
    assert (await services.preview_hub.manager()).runners == {}


def test_doctor_without_bubblewrap(tmp_path: Path) -> None:
    """A PATH with everything Forja runs but bwrap: the local runner refuses previews, unless told to run them
    without a sandbox."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("node", "npm", "traefik", "docker", "chromium"):
        if found := shutil.which(tool):
            (bin_dir / tool).symlink_to(found)
    code, report = doctor({"DOCKER_HOST": "unix:///nonexistent/docker.sock"}, path=str(bin_dir))
    assert code == 1 and report["auto"] == "none"
    checks = {check["name"]: check for check in report["checks"]}
    assert checks["sandbox"]["ok"] is False
    assert checks["sandbox"]["detail"].startswith("Bubblewrap is not installed. ")
    assert "apt-get install bubblewrap" in checks["sandbox"]["detail"]
    local = report["runners"]["local"]
    assert local["ready"] is False and "FORJA_ALLOW_UNSANDBOXED=true" in local["reason"]
    env = {"DOCKER_HOST": "unix:///nonexistent/docker.sock", "FORJA_ALLOW_UNSANDBOXED": "true"}
    code, report = doctor(env, path=str(bin_dir))
    assert code == 0 and report["runners"]["local"]["ready"] is True
    assert "WITHOUT a sandbox" in report["runners"]["local"]["reason"]
    # Keys are named, never shown.
    assert "sk-" not in json.dumps(report)


def test_doctor_says_which_registry_resolves_where_previews_may_not_go_and_the_setting_that_allows_it() -> None:
    """Split-horizon DNS sending a registry's name to a company mirror on a private address: the local runner's egress
    proxy would refuse its installs, and doctor names the setting that makes the name a mirror. `localhost` stands for
    such a name: it resolves on this machine, and no query leaves it. A registry the operator added is of no known
    kind of project, so it keeps none from running (test_doctor_kinds.py has pypi.org resolving so)."""
    base = {"DOCKER_HOST": "unix:///nonexistent/docker.sock", "FORJA_PREVIEW_RUNNER": "local"}
    code, report = doctor({**base, "FORJA_PREVIEW_EGRESS_HOSTS": "localhost"})
    assert code == 0 and report["auto"] == "local"
    local = report["runners"]["local"]
    assert local["ready"] is True and local["reason"] == "Runs previews on this machine in a bubblewrap sandbox."
    # The address the name resolves to is not shown: doctor's report names none.
    said = re.compile(
        r"localhost resolves to \[address\] here, which is this machine\. If that is this network's own mirror "
        r"of it \(a company mirror, split-horizon DNS\), set FORJA_NPM_REGISTRY or FORJA_PIP_INDEX_URL to its URL"
    )
    checks = {check["name"]: check for check in report["checks"]}
    assert checks["registries"]["ok"] is False and said.search(checks["registries"]["detail"])

    # Set as the npm registry, the name is a mirror, which may be at any address: the local runner is ready.
    code, report = doctor({**base, "FORJA_PREVIEW_EGRESS_HOSTS": "localhost", "FORJA_NPM_REGISTRY": "https://localhost/"})
    assert code == 0 and report["runners"]["local"] == {
        "ready": True,
        "reason": "Runs previews on this machine in a bubblewrap sandbox.",
        "known": True,
        "projects": {
            "Python": "Python projects install and run on this machine in a bubblewrap sandbox.",
            "npm": "npm projects install and run on this machine in a bubblewrap sandbox.",
        },
    }
    checks = {check["name"]: check for check in report["checks"]}
    assert checks["registries"] == {
        "name": "registries",
        "ok": True,
        "detail": "Installs in sandboxed previews may reach localhost.",
    }

    # Installs that reach no registry (offline) have nothing to be refused.
    code, report = doctor({**base, "FORJA_PREVIEW_EGRESS_HOSTS": "localhost", "FORJA_PREVIEW_OFFLINE": "true"})
    assert code == 0 and report["runners"]["local"]["ready"] is True
    checks = {check["name"]: check for check in report["checks"]}
    assert checks["registries"]["ok"] is True and "FORJA_PREVIEW_OFFLINE" in checks["registries"]["detail"]
