"""Screenshots over HTTP: the verification routes, the project thumbnail, and the picture of a share link.

Every image is a real JPEG that Chromium took of a small page in the test, stored as a check would store it.
The share page test runs a real local preview behind a real Traefik on loopback (`local_previews`).
"""

from __future__ import annotations

import os
import re
from collections.abc import AsyncIterator

import httpx
import pytest
from playwright.sync_api import sync_playwright

import builder.settings
from builder.api import api
from builder.composition import Services
from builder.models import LOCAL_USER_ID
from builder.services import shares
from builder.store import ProjectStore
from preview_runtime.verify import CHROMIUM_ARGS, find_chromium

HUGE = "99999999999999999999"  # over 2**63


@pytest.fixture(scope="module")
def jpegs() -> list[bytes]:
    """Three different screenshots, as Chromium takes them for a check."""
    executable = find_chromium(os.environ.get("FORJA_CHROMIUM", ""))
    if executable is None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("Chromium is required in CI but is not installed", pytrace=False)
        pytest.skip("Chromium is not installed (Debian/Ubuntu: apt-get install chromium-headless-shell)")
    # Closed before any test runs: sync Playwright keeps an event loop in this thread while it is open.
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 320, "height": 200})
        shots = []
        for colour in ("tomato", "seagreen", "royalblue"):
            page.set_content(f"<body style='margin:0;background:{colour}'><h1>{colour}</h1></body>")
            shots.append(page.screenshot(type="jpeg", quality=70))
        browser.close()
    assert all(shot[:3] == b"\xff\xd8\xff" for shot in shots) and len(set(shots)) == 3
    return shots


@pytest.fixture
async def client(services: Services) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=api), base_url="http://testserver") as http:
        yield http


@pytest.fixture
async def pid(services: Services) -> str:
    return (await services.projects.create("Bakery <Rosa>", {"index.html": "<h1>Bread</h1>\n"}, owner=LOCAL_USER_ID)).project_id


def store_of(services: Services) -> ProjectStore:
    return services._store  # pyright: ignore[reportPrivateUsage]  # checks are written by the verification run only


async def check(services: Services, project_id: str, version: int, status: str, screenshot: bytes | None) -> int:
    """Record a check as VerificationService.verify does; returns its id."""
    info = await store_of(services).add_verification(project_id, version, status, [], 0, screenshot, 1.5)  # type: ignore[arg-type]
    return info.id


async def test_verifications_are_listed_and_their_screenshots_served(
    client: httpx.AsyncClient, services: Services, pid: str, jpegs: list[bytes]
) -> None:
    shot = await check(services, pid, 1, "problems", jpegs[0])
    blind = await check(services, pid, 1, "unchecked", None)
    listed = (await client.get(f"/api/projects/{pid}/verifications")).json()
    assert [(v["id"], v["status"], v["version"]) for v in listed] == [(shot, "problems", 1), (blind, "unchecked", 1)]
    assert listed[0]["screenshot"] == f"/api/projects/{pid}/verifications/{shot}/screenshot"
    assert listed[1]["screenshot"] is None

    image = await client.get(listed[0]["screenshot"])
    assert image.status_code == 200 and image.headers["content-type"] == "image/jpeg"
    assert image.content == jpegs[0]

    other = (await services.projects.create("Other", {"index.html": "x"}, owner=LOCAL_USER_ID)).project_id
    for path, status in (
        (f"/api/projects/{pid}/verifications/{blind}/screenshot", 404),  # a check without a screenshot
        (f"/api/projects/{other}/verifications/{shot}/screenshot", 404),  # another project's check
        (f"/api/projects/{pid}/verifications/{HUGE}/screenshot", 404),
        (f"/api/projects/{pid}/verifications/abc/screenshot", 422),
        (f"/api/projects/{pid}/verifications/0/screenshot", 422),
    ):
        response = await client.get(path)
        assert response.status_code == status, (path, response.text)
        assert response.headers["content-type"] == "application/json" and response.json()["detail"]
    missing = await client.get(f"/api/projects/{pid}/verifications/{blind}/screenshot")
    assert missing.json()["detail"] == f"Project {pid} has no check {blind} with a screenshot."
    assert (await client.get("/api/projects/nosuch/verifications")).status_code == 404


async def test_thumbnail_is_the_last_passing_screenshot_and_revalidates(
    client: httpx.AsyncClient, services: Services, pid: str, jpegs: list[bytes]
) -> None:
    url = f"/api/projects/{pid}/thumbnail"
    none = await client.get(url)
    assert none.status_code == 404 and "no thumbnail yet" in none.json()["detail"]
    await check(services, pid, 1, "problems", jpegs[0])
    assert (await client.get(url)).status_code == 404  # seen, but not working

    await check(services, pid, 1, "passed", jpegs[1])
    first = await client.get(url)
    assert first.status_code == 200 and first.headers["content-type"] == "image/jpeg"
    assert first.content == jpegs[1]
    assert first.headers["cache-control"] == "private, no-cache"
    tag = first.headers["etag"]
    assert re.fullmatch(r'"[0-9a-f]{32}"', tag)

    unchanged = await client.get(url, headers={"If-None-Match": tag})
    assert unchanged.status_code == 304 and unchanged.content == b"" and unchanged.headers["etag"] == tag
    assert (await client.get(url, headers={"If-None-Match": f'"other", W/{tag}'})).status_code == 304

    # A later passing check (even of a check with problems in between) is the new picture, with a new tag.
    await check(services, pid, 1, "problems", jpegs[0])
    await check(services, pid, 1, "passed", jpegs[2])
    changed = await client.get(url, headers={"If-None-Match": tag})
    assert changed.status_code == 200 and changed.content == jpegs[2] and changed.headers["etag"] != tag

    assert (await services.verifications.thumbnail_ids([pid, "nosuch"])).keys() == {pid}
    assert (await client.get("/api/projects/nosuch/thumbnail")).status_code == 404
    await services.history.delete(pid)
    assert (await client.get(url)).status_code == 404  # trashed


async def test_share_image_is_the_shared_versions_and_dead_links_refuse_it(
    client: httpx.AsyncClient, services: Services, pid: str, jpegs: list[bytes]
) -> None:
    first = await services.shares.create(pid)
    image = f"/s/{first.token}/thumbnail.jpg"
    nothing = await client.get(image)
    assert nothing.status_code == 404 and "no picture" in nothing.text

    await check(services, pid, 1, "passed", jpegs[0])
    await services.projects.save(pid, {"index.html": b"<h1>Cakes</h1>\n"})
    later = await services.shares.create(pid)
    # Version 2 has not passed a check: its link shows the project's last good picture, version 1's.
    assert (await client.get(f"/s/{later.token}/thumbnail.jpg")).content == jpegs[0]

    await check(services, pid, 2, "passed", jpegs[1])
    shown = await client.get(image)
    assert shown.status_code == 200 and shown.headers["content-type"] == "image/jpeg"
    assert shown.content == jpegs[0]  # the link to version 1 keeps version 1's picture
    assert shown.headers["referrer-policy"] == "no-referrer"
    assert (await client.get(image, headers={"If-None-Match": shown.headers["etag"]})).status_code == 304
    assert (await client.get(f"/s/{later.token}/thumbnail.jpg")).content == jpegs[1]

    # Dead links refuse the picture with the very answer their page gives.
    await services.shares.revoke(first.id)
    guessed = "A" * 43
    for token, status, message in ((first.token, 410, shares.REVOKED_MESSAGE), (guessed, 404, shares.GONE_MESSAGE)):
        page, picture = await client.get(f"/s/{token}"), await client.get(f"/s/{token}/thumbnail.jpg")
        assert (picture.status_code, picture.text) == (page.status_code, page.text) == (status, picture.text)
        assert message in picture.text and picture.headers["content-type"].startswith("text/html")


@pytest.mark.usefixtures("local_previews")
async def test_share_page_has_og_image_only_with_a_picture(
    client: httpx.AsyncClient, services: Services, pid: str, jpegs: list[bytes]
) -> None:
    link = await services.shares.create(pid)
    bare = await client.get(f"/s/{link.token}")
    assert bare.status_code == 200
    assert '<meta property="og:title" content="Bakery &lt;Rosa&gt;">' in bare.text
    assert 'property="og:description" content="Version 1 of Bakery &lt;Rosa&gt;' in bare.text
    assert "og:image" not in bare.text
    assert '<meta name="twitter:card" content="summary">' in bare.text

    await check(services, pid, 1, "passed", jpegs[0])
    page = await client.get(f"/s/{link.token}")
    image_url = f"{builder.settings.settings.base_url}/s/{link.token}/thumbnail.jpg"
    assert image_url.startswith("http")
    assert f'<meta property="og:image" content="{image_url}">' in page.text
    assert '<meta name="twitter:card" content="summary_large_image">' in page.text
    assert (await client.get(image_url.removeprefix(builder.settings.settings.base_url))).content == jpegs[0]
    await services.previews.stop(pid)
