"""A person on a machine with Docker sees Docker previews being prepared, or why they cannot be, and /doctor says what runs."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect

from tests.conftest import free_port
from tests.e2e.conftest import ARTIFACTS, Traffic, another_forja

pytest.register_assert_rewrite("tests.docker_fixtures")
from tests.docker_fixtures import docker_engine  # noqa: E402, F401 - fixtures

REPOSITORY = f"forja-preview-e2e-{os.getpid()}"


@pytest.fixture(scope="module")
def forja_broken_build(tmp_path_factory: pytest.TempPathFactory, docker_engine: str) -> Iterator[str]:  # noqa: F811
    """Docker answers, the image is missing, and its build fails at once (a mirror on a closed loopback port)."""
    env = {
        "FORJA_PREVIEW_RUNNER": "auto",
        "FORJA_PREVIEW_IMAGE": REPOSITORY,
        "DEBIAN_MIRROR": f"http://127.0.0.1:{free_port()}/debian",
        "FORJA_BUILD_CACHE": "none",
    }
    try:
        with another_forja(tmp_path_factory.mktemp("forja-machine"), "forja-machine.log", env) as base:
            yield base
    finally:
        for image in subprocess.run(["docker", "images", REPOSITORY, "-q"], capture_output=True, text=True).stdout.split():
            subprocess.run(["docker", "rmi", "--force", image], capture_output=True)


@pytest.mark.parametrize("width,height", [(1440, 900), (390, 844)], ids=["desktop", "phone"])
def test_a_failed_image_build_is_said_on_the_page_and_doctor_explains(
    forja_broken_build: str, page: Page, traffic: Traffic, width: int, height: int
) -> None:
    page.set_viewport_size({"width": width, "height": height})
    page.goto(forja_broken_build)
    note = page.locator("#docker-note")
    expect(note).to_contain_text(
        "The Docker preview image could not be built: debootstrap failed (exit status 1).", timeout=120_000
    )
    expect(note).to_contain_text("Previews run in the local runner.")
    page.screenshot(path=str(ARTIFACTS / f"home-docker-failed-{width}.png"), full_page=True)

    note.get_by_role("link", name="What can this machine run?").click()
    page.wait_for_url("**/doctor")
    # The doctor asks every runner first (the engine, the sandbox), seconds on a busy machine.
    expect(page.locator("#doctor-auto")).to_contain_text("New previews run in the local runner", timeout=30_000)
    runners = page.locator(".doctor-runner")
    expect(runners).to_have_count(4)
    expect(runners.nth(0)).to_contain_text("docker")
    expect(runners.nth(0)).to_contain_text("not ready")
    expect(runners.nth(0)).to_contain_text("debootstrap failed (exit status 1).")
    expect(runners.nth(1)).to_contain_text("local")
    expect(page.locator(".doctor-check").filter(has_text="docker").first).to_contain_text("The Docker engine answers.")
    # The page fits the screen: nothing forces a sideways scroll on a phone.
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    page.screenshot(path=str(ARTIFACTS / f"doctor-{width}.png"), full_page=True)
    assert traffic.off_machine() == []
