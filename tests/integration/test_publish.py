"""Publishing with the real parts: a production build in the local runner's sandbox behind a real Traefik, the release
written to disk with its compressed forms, and the app's address answered by Forja's own guarded server (the ASGI app
it serves), as the edge sends it there.

The React starter installs offline from the npm cache scripts/prefetch_starters.py filled. Published, it keeps a
signed-in person's items as their own rows, in Chromium through the real edge (Traefik, and Forja's guarded server on a
loopback port).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import httpx
import pytest
from playwright.async_api import Browser, BrowserContext, Page, expect

from builder.api import api as forja_api
from builder.api import guarded
from builder.composition import Services
from builder.errors import InvalidInput, NameTaken, PublishFailed
from builder.generation.starters import StarterVariables, load_starters, render_starter
from builder.models import LOCAL_USER_ID, Author
from builder.publish.addresses import app_url
from builder.publish.app_names import check_name, name_from
from tests.dns_server import LocalDNS
from tests.integration.test_app_users import chromium, fill, forja_server

__all__ = ["chromium", "forja_server"]  # fixtures of test_app_users.py, used here by name

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts" / "publish"


def starter_files(name: str, title: str) -> dict[str, bytes]:
    starter = next(s for s in load_starters() if s.name == name)
    return {path: text.encode() for path, text in render_starter(starter, StarterVariables(title=title)).items()}


def host_of(url: str) -> str:
    return url.split("://", 1)[1]


async def get(url: str, path: str = "/", **headers: str) -> httpx.Response:
    """A request for the app's address, as the edge hands it to Forja's server (the Host is the app's)."""
    transport = httpx.ASGITransport(app=guarded(forja_api))
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:3000") as client:
        return await client.get(path, headers={"Host": host_of(url), **headers})


PAGE = (
    "<!doctype html>\n<html><head><title>Barber</title></head><body><h1>{}</h1>"
    + "<p>Cuts from nine.</p>" * 80
    + "</body></html>\n"
)


async def test_a_static_page_publishes_rolls_back_and_comes_down(
    local_previews: None, services: Services, local_dns: LocalDNS
) -> None:
    created = await services.projects.create(
        "Barber shop", {"index.html": PAGE.format("Open at nine").encode()}, owner=LOCAL_USER_ID
    )
    pid = created.project_id

    first = await services.publishing.publish(pid, user_id=LOCAL_USER_ID)
    assert first.app.name == "barber-shop" and first.app.url == app_url("barber-shop")
    assert (first.release.number, first.release.version, first.release.state, first.release.live) == (1, 1, "ready", True)
    page = await get(first.app.url, "/", **{"Accept-Encoding": "gzip"})
    assert page.status_code == 200 and page.headers["content-encoding"] == "gzip"
    assert "Open at nine" in page.text  # httpx decompressed what the edge sent compressed
    assert "cookie" not in {name.lower() for name in page.headers}

    await services.projects.save(pid, {"index.html": PAGE.format("Open at ten").encode()}, author=Author.user)
    second = await services.publishing.publish(pid, user_id=LOCAL_USER_ID)
    assert second.release.number == 2 and "Open at ten" in (await get(second.app.url)).text

    back = await services.publishing.rollback(pid, 1)
    assert (back.live_release, back.live_version) == (1, 1)
    assert "Open at nine" in (await get(back.url)).text
    assert [(r.number, r.live) for r in await services.publishing.releases(pid)] == [(2, False), (1, True)]

    renamed = await services.publishing.rename(pid, "Cuts")
    assert renamed.name == "cuts" and "Open at nine" in (await get(renamed.url)).text
    assert (await get(first.app.url)).status_code == 404  # the old name answers nothing any more

    # At a domain of its owner's too, once its TXT record proves it theirs (tests/integration/test_domain_proof.py);
    # Forja's own API is never reached through it, and it goes away.
    proxy = (await services.preview_hub.manager()).proxy  # the edge runs, as from Forja's start
    added = await services.app_domains.set(pid, "Cuts.Example.test")
    assert (added.domain, added.record_type, added.record_value) == ("cuts.example.test", "CNAME", "cuts.apps.localhost")
    assert added.points_here is None and added.state == "waiting"
    assert (await get("http://cuts.example.test")).status_code == 400  # not served before it is proved
    local_dns.set(added.proof_name, "TXT", added.proof_value)
    assert (proved := await services.app_domains.info(pid, check=True)) is not None and proved.state == "proved"
    assert "Open at nine" in (await get("http://cuts.example.test")).text
    assert (await get("http://cuts.example.test", "/api/projects")).status_code == 404
    assert proxy.apps is not None and proxy.apps.domains == ("cuts.example.test",)
    await services.app_domains.remove(pid)
    assert (await get("http://cuts.example.test")).status_code == 400  # a host Forja does not answer to
    assert proxy.apps.domains == ()

    down = await services.publishing.unpublish(pid)
    assert down.state == "unpublished"
    gone = await get(renamed.url)
    assert gone.status_code == 410 and "unpublished" in gone.text


@pytest.mark.browser
async def test_the_react_starter_is_built_for_production_keeps_each_persons_items_and_a_failed_build_keeps_the_live_release(
    forja_server: None, services: Services, chromium: Browser
) -> None:
    await services.preview_hub.manager()  # the edge runs from Forja's start, for the browser below
    files = starter_files("react-vite-tailwind", "Corner Bakery")
    created = await services.projects.create("Corner Bakery", files, owner=LOCAL_USER_ID)
    pid = created.project_id

    published = await services.publishing.publish(pid, name="corner-bakery", user_id=LOCAL_USER_ID)
    assert published.release.framework.startswith("Vite")
    # Reviewed before it went live: nothing found in the starter's built files, in under half its build's time; its
    # packages could not be checked (no registry answers in tests), which is said and does not stop it.
    assert published.review is not None and published.review.looked_at == "the built files of release 1"
    found = [(f.finding.check, f.finding.severity) for f in published.review.findings]
    assert found == [("packages", "low")] and published.review.duration_s < 0.5 * published.release.build_s
    page = await get(published.app.url)
    assert page.status_code == 200 and page.headers["cache-control"] == "no-cache"
    script = re.search(r'src="(/assets/index-[\w-]+\.js)"', page.text)
    assert script is not None, page.text  # the built page, not the dev server's /src/main.jsx
    asset = await get(published.app.url, script.group(1), **{"Accept-Encoding": "br, gzip"})
    assert asset.status_code == 200
    assert asset.headers["content-encoding"] == "br"
    assert "immutable" in asset.headers["cache-control"]
    assert b"Corner Bakery" in asset.content  # httpx decodes br with the brotli package
    assert (await get(published.app.url, "/no-such-page")).status_code in (200, 404)
    await keeps_each_persons_items(chromium, published.app.url)

    manifest = json.loads(files["package.json"])
    manifest["scripts"]["build"] = "echo 'the build broke on purpose' >&2 && exit 3"
    await services.projects.save(pid, {"package.json": json.dumps(manifest).encode()}, author=Author.user)
    with pytest.raises(PublishFailed, match="the build broke on purpose") as failed:
        await services.publishing.publish(pid, user_id=LOCAL_USER_ID)
    assert failed.value.release == 2
    releases = await services.publishing.releases(pid)
    assert [(r.number, r.state, r.live) for r in releases] == [(2, "failed", False), (1, "ready", True)]
    again = await get(published.app.url)
    assert again.text == page.text  # still the first release
    log = [line.text for line in services.logs.history(pid)]
    assert any("Publish failed" in line and "still serves" in line for line in log)


async def keeps_each_persons_items(chromium: Browser, url: str) -> None:
    """The list starter on its published address, in Chromium through the real edge: a visitor's list stays in their
    browser until they sign in; then it is theirs, as rows of `items`, on any device, and no one else's."""
    errors: list[str] = []
    shots = ARTIFACTS / "list-starter"
    shots.mkdir(parents=True, exist_ok=True)

    async def visitor() -> tuple[BrowserContext, Page]:
        context = await chromium.new_context(viewport={"width": 1440, "height": 900})
        page = await context.new_page()
        page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
        await page.goto(f"{url}/")
        return context, page

    async def add(page: Page, text: str) -> None:
        await page.get_by_role("textbox", name="New item").fill(text)
        await page.get_by_role("button", name="Add", exact=True).click()
        await expect(page.get_by_role("listitem").filter(has_text=text)).to_have_count(1)

    # Not signed in: the list is this browser's, and a link offers to keep it on every device.
    ana_context, ana = await visitor()
    sign_in = ana.get_by_role("link", name="Sign in to keep your list on every device")
    await expect(sign_in).to_be_visible()
    await add(ana, "Buy flour")
    await ana.reload()
    await expect(ana.get_by_role("listitem")).to_have_text(["Buy flour"])
    await screenshots(ana, shots / "signed-out")

    # Signing up moves the browser's item into the account, once; what is added then is a row of hers.
    await sign_in.click()
    await ana.get_by_role("link", name="Make an account").click()
    await fill(ana, "ana@example.org", "a long secret", "Make my account")
    assert ana.url == f"{url}/"
    await expect(ana.get_by_text("ana@example.org")).to_be_visible()
    await expect(ana.get_by_role("link", name="Sign out")).to_be_visible()
    await expect(sign_in).to_have_count(0)
    await add(ana, "Call the bank")
    await ana.get_by_role("listitem").filter(has_text="Call the bank").get_by_role("checkbox").check()
    await expect(ana.get_by_role("listitem").filter(has_text="Call the bank").get_by_role("checkbox")).to_be_checked()
    await ana.reload()
    await expect(ana.get_by_role("listitem")).to_have_text(["Call the bank", "Buy flour"])  # moved once, not again
    assert await ana.evaluate("localStorage.getItem('corner-bakery:items')") == "[]"
    await screenshots(ana, shots / "signed-in")
    rows = await ana.evaluate("fetch('/_forja/data/items?mine=1').then(r => r.json())")
    ana_id = await ana.evaluate("fetch('/_forja/auth/me').then(r => r.json()).then(m => m.user.id)")
    assert isinstance(rows, dict) and [(r["owner"], r["data"]["text"], r["data"]["done"]) for r in rows["rows"]] == [
        (ana_id, "Call the bank", True),
        (ana_id, "Buy flour", False),
    ]

    # Her list on another device (a browser of its own), signed in as her; a change there is kept.
    _, phone = await visitor()
    await phone.goto(f"{url}/_forja/auth/sign-in")
    await fill(phone, "ana@example.org", "a long secret", "Sign in")
    await expect(phone.get_by_role("listitem")).to_have_text(["Call the bank", "Buy flour"])
    await phone.get_by_role("button", name='Remove "Buy flour"').click()
    await expect(phone.get_by_role("listitem")).to_have_text(["Call the bank"])
    await ana.reload()
    await expect(ana.get_by_role("listitem")).to_have_text(["Call the bank"])

    # Another person sees none of it; signed out, Ana's browser is back to its own list, empty since it moved.
    _, bo = await visitor()
    await bo.goto(f"{url}/_forja/auth/sign-up")
    await fill(bo, "bo@example.org", "a long secret", "Make my account")
    await expect(bo.get_by_text("bo@example.org")).to_be_visible()
    await expect(bo.get_by_text("No items yet.")).to_be_visible()
    assert await bo.evaluate("fetch('/_forja/data/items').then(r => r.json()).then(a => a.rows)") == []
    await ana.get_by_role("link", name="Sign out").click()
    await ana.get_by_role("button", name="Sign out").click()
    await ana.wait_for_url(f"{url}/")
    await expect(sign_in).to_be_visible()
    await expect(ana.get_by_text("No items yet.")).to_be_visible()
    await ana_context.close()
    assert errors == []


async def screenshots(page: Page, stem: Path) -> None:
    """The page at a wide screen's width and a phone's, for a person to look at."""
    for width, height in ((1440, 900), (390, 844)):
        await page.set_viewport_size({"width": width, "height": height})
        await page.screenshot(path=f"{stem}-{width}.png", full_page=True)
    await page.set_viewport_size({"width": 1440, "height": 900})


async def test_names_follow_the_address_rules(local_previews: None, services: Services) -> None:
    assert name_from("Café Olé: the app!") == "cafe-ole-the-app"
    assert name_from("!!!") == "my-app"
    assert check_name(" Shop-1 ") == "shop-1"
    for bad in ("-shop", "shop_", "a" * 64, "", "sh op", "shop--r2", "xn--shop"):
        with pytest.raises(InvalidInput, match="cannot be an app's name"):
            check_name(bad)
    with pytest.raises(InvalidInput, match="kept for Forja"):
        check_name("admin")
    one = await services.projects.create("One", {"index.html": b"<h1>one</h1>"}, owner=LOCAL_USER_ID)
    two = await services.projects.create("Two", {"index.html": b"<h1>two</h1>"}, owner=LOCAL_USER_ID)
    await services.publishing.publish(one.project_id, name="shop")
    with pytest.raises(NameTaken, match="taken by another app"):
        await services.publishing.publish(two.project_id, name="shop")
    assert await services.publishing.app(two.project_id) is None


async def test_an_app_host_never_reaches_forjas_api(services: Services) -> None:
    answer = await get("http://anything.apps.localhost:8800", "/api/projects")
    assert answer.status_code == 404
    assert "application/json" not in answer.headers.get("content-type", "")
