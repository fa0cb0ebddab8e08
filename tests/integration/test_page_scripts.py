"""A page with no <html> and no <head>, previewed for real: Forja's scripts are scripts, and Chromium shows the page.

The local runner through the preview service (which makes the running copy), and the Docker runner given the
service's running copy; each page is read over HTTP and then opened in Chromium, on this machine only.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from playwright.async_api import Browser, async_playwright

from builder.composition import Services
from builder.models import LOCAL_USER_ID
from builder.services.preview_runners import running_copy
from preview_runtime import console_bridge, select_bridge
from preview_runtime.docker.runner import DockerRunner
from preview_runtime.runner import PreviewState
from preview_runtime.verify import CHROMIUM_ARGS, find_chromium
from tests.conftest import served

pytest.register_assert_rewrite("tests.docker_fixtures")
from tests.docker_fixtures import LogCollector, get, spec, wait_state  # noqa: E402
from tests.unit.test_page_scripts import scripts_of  # noqa: E402

pytest_plugins = ["tests.docker_fixtures"]

pytestmark = pytest.mark.browser  # both launch Chromium themselves

PAGE = b"<!doctype html><title>x</title><h1>hi</h1>"
MARKERS = [{console_bridge.MARKER}, {select_bridge.MARKER}]


@pytest.fixture
async def chromium() -> AsyncIterator[Browser]:
    executable = find_chromium()
    if executable is None:
        pytest.fail("Chromium is not installed (apt-get install chromium-headless-shell)")
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            await browser.close()


async def shown(browser: Browser, url: str) -> tuple[str, str, list[str]]:
    """What a person sees of the page at `url`: its text and title; and the markers of the scripts it runs."""
    page = await browser.new_page()
    try:
        await page.goto(url)
        markers = await page.evaluate("[...document.scripts].map((s) => s.getAttributeNames().join(' '))")
        return await page.evaluate("document.body.innerText"), await page.title(), markers
    finally:
        await page.close()


def assert_scripts_whole(html: str) -> None:
    scripts = scripts_of(html.encode())
    assert [names for names, _ in scripts] == MARKERS, html[:300]
    assert html.endswith("</script><title>x</title><h1>hi</h1>"), html[-300:]


async def test_a_local_preview_of_a_page_without_html_or_head(
    local_previews: None, services: Services, chromium: Browser
) -> None:
    created = await services.projects.create("Bare", {"index.html": PAGE}, owner=LOCAL_USER_ID)
    await services.previews.start(created.project_id)
    assert_scripts_whole(await served(services, created.project_id))

    info = await services.previews.status(created.project_id)
    assert info is not None and info.url
    text, title, markers = await shown(chromium, await services.preview_access.ticket_url(info, LOCAL_USER_ID))
    assert (text, title) == ("hi", "x")
    assert markers == [console_bridge.MARKER, select_bridge.MARKER]


async def test_a_docker_preview_of_a_page_without_html_or_head(docker_runner_factory, chromium: Browser) -> None:
    runner: DockerRunner = docker_runner_factory()
    log = LogCollector()
    await runner.start(spec("bare-1", running_copy({"index.html": PAGE})), log)
    info = await wait_state(runner, "bare-1", PreviewState.running, 60, log)
    response = await get(info.upstream + "/")
    assert response.status_code == 200
    assert_scripts_whole(response.text)

    text, title, markers = await shown(chromium, info.upstream + "/")
    assert (text, title) == ("hi", "x")
    assert markers == [console_bridge.MARKER, select_bridge.MARKER]
