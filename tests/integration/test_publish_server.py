"""Publishing server apps with the real parts: each release runs in the local runner's sandbox (bubblewrap) behind a
real Traefik, and the app's address, asked through Traefik with the app's Host, reaches the live release's server.

The Express starter installs offline from the npm cache scripts/prefetch_starters.py filled.
"""

from __future__ import annotations

import json

import httpx
import pytest

from builder.api import api as forja_api
from builder.api import guarded
from builder.errors import PublishFailed
from builder.generation.starters import StarterVariables, load_starters, render_starter
from builder.models import LOCAL_USER_ID, Author
from builder.publish.addresses import app_host, app_key
from builder.services import Services
from preview_runtime.proxy import NOT_FOUND_MARKER, WAKING
from preview_runtime.runner import PreviewState

# A route the test adds to the starter: what the server reads from its environment.
ENV_ROUTE = "app.get('/api/greeting', (req, res) => res.json({ greeting: process.env.SHOP_GREETING || null }))\n"


def express_files(title: str) -> dict[str, bytes]:
    starter = next(s for s in load_starters() if s.name == "express-api")
    files = {path: text.encode() for path, text in render_starter(starter, StarterVariables(title=title)).items()}
    server = files["server.js"].decode()
    files["server.js"] = server.replace("app.use('/api/items'", ENV_ROUTE + "app.use('/api/items'", 1).encode()
    return files


async def through_traefik(services: Services, name: str, path: str = "/", quiet: bool = False) -> httpx.Response:
    """A request for the app's address as a browser sends it: to Traefik, with the app's Host."""
    proxy = (await services.preview_hub.manager()).proxy
    headers = {"Host": app_host(name), **({"X-Forja-Quiet": "1"} if quiet else {})}
    async with httpx.AsyncClient(timeout=30, trust_env=False) as client:
        return await client.get(proxy.internal_url().rstrip("/") + path, headers=headers)


async def answered(services: Services, name: str, path: str = "/", tries: int = 200) -> httpx.Response:
    """The app's own answer, past the waking page (which a first request gets while a parked sandbox wakes)."""
    for _ in range(tries):
        response = await through_traefik(services, name, path)
        if response.headers.get(NOT_FOUND_MARKER) != WAKING and response.status_code not in (502, 504):
            return response
        await __import__("asyncio").sleep(0.1)
    raise AssertionError(f"{name} did not answer {path}")


async def release_states(services: Services, pid: str) -> list[tuple[int, str, bool]]:
    return [(r.number, r.state, r.live) for r in await services.publishing.releases(pid)]


async def test_the_express_starter_publishes_reads_its_env_rolls_back_parks_and_comes_down(
    local_previews: None, services: Services
) -> None:
    created = await services.projects.create("Corner Shop", express_files("Corner Shop"), owner=LOCAL_USER_ID)
    pid = created.project_id
    hub = services.preview_hub

    first = await services.publishing.publish(pid, name="corner-shop", user_id=LOCAL_USER_ID)
    assert (first.release.number, first.release.state, first.release.framework) == (1, "ready", "Express")
    page = await through_traefik(services, "corner-shop")
    assert page.status_code == 200 and "Corner Shop" in page.text  # the starter's own page, from its own server
    assert "set-cookie" not in page.headers and "cross-origin-embedder-policy" not in page.headers  # no preview headers
    assert (await through_traefik(services, "corner-shop", "/api/greeting")).json() == {"greeting": None}
    assert (await through_traefik(services, "corner-shop", "/api/health")).json() == {"ok": True}

    # A variable set in its Environment reaches the next release's server.
    await services.app_env.set(pid, "SHOP_GREETING", "open at nine", user_id=LOCAL_USER_ID)
    second = await services.publishing.publish(pid, user_id=LOCAL_USER_ID)
    assert second.release.number == 2
    assert (await through_traefik(services, "corner-shop", "/api/greeting")).json() == {"greeting": "open at nine"}
    first_sandbox = await hub.local(app_key(pid, 1))
    assert first_sandbox is not None and first_sandbox.state == PreviewState.parked  # kept for a rollback

    # A start that fails keeps release 2 live.
    manifest = json.loads(created_files := express_files("Corner Shop")["package.json"])
    manifest["scripts"]["start"] = "node -e \"console.error('the server broke on purpose'); process.exit(4)\""
    await services.projects.save(pid, {"package.json": json.dumps(manifest).encode()}, author=Author.user)
    with pytest.raises(PublishFailed, match="did not start") as failed:
        await services.publishing.publish(pid, user_id=LOCAL_USER_ID)
    assert failed.value.release == 3
    assert await release_states(services, pid) == [(3, "failed", False), (2, "ready", True), (1, "ready", False)]
    assert await hub.local(app_key(pid, 3)) is None  # its sandbox is gone
    assert (await through_traefik(services, "corner-shop", "/api/greeting")).json() == {"greeting": "open at nine"}
    assert created_files  # (the starter's manifest, changed above)

    # Rollback: release 1's parked sandbox goes live again and wakes at the first visit; nothing is built or published.
    back = await services.publishing.rollback(pid, 1)
    assert back.live_release == 1
    assert (await answered(services, "corner-shop", "/api/greeting")).json() == {"greeting": None}
    assert len(await services.publishing.releases(pid)) == 3
    second_sandbox = await hub.local(app_key(pid, 2))
    assert second_sandbox is not None and second_sandbox.state == PreviewState.parked

    # Parked when idle (as the sweep does), woken by a request to its address.
    live = await hub.local(app_key(pid, 1))
    assert live is not None and await (await hub.manager()).park(live.preview_id, "a test")
    assert (await through_traefik(services, "corner-shop", quiet=True)).headers.get(NOT_FOUND_MARKER) == WAKING
    assert "Corner Shop" in (await answered(services, "corner-shop")).text

    # Unpublish stops its sandboxes; the address answers 410 (through Forja's edge, as Traefik sends it there).
    await services.publishing.unpublish(pid)
    assert hub.here(f"app:{pid}@") == {}
    transport = httpx.ASGITransport(app=guarded(forja_api))
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:3000") as client:
        gone = await client.get("/", headers={"Host": app_host("corner-shop")})
    assert gone.status_code == 410
