"""A published server app is one for all of Forja's workers: two workers' services on one real Redis and one database,
each with its own local runner behind its own real Traefik (the two_workers fixture of test_previews_workers.py).

Its address answers through either worker's Traefik, whichever worker runs the release's sandbox (the other sends the
hosts on to that worker's proxy); a publish, a rollback, a restart and an unpublish made through one worker act on the
sandboxes the other runs; and two workers asked at once for a release with no sandbox start one between them.
"""

from __future__ import annotations

import asyncio

import httpx
import pytest
from cryptography.fernet import Fernet

import builder.settings
from builder.composition import Services
from builder.models import LOCAL_USER_ID, Author
from builder.publish.addresses import app_host, app_key
from preview_runtime.apps_edge import FORWARDED_HEADER
from preview_runtime.preview_headers import NOT_FOUND_MARKER
from preview_runtime.runner import PreviewState
from tests.integration.test_previews_workers import two_workers  # noqa: F401 (the fixture, used by name)
from tests.waiting import until

NAME = "two-workers"
# A server that says which page.txt its release holds (no dependencies: nothing to install).
FILES = {
    "package.json": b'{"name": "two-workers", "scripts": {"start": "node server.js"}}',
    "server.js": b"require('http').createServer((q, s) => s.end(require('fs').readFileSync('page.txt', 'utf8')))"
    b".listen(process.env.PORT, process.env.HOST)\n",
    "page.txt": b"release one",
}


async def through(services: Services, headers: dict[str, str] | None = None) -> httpx.Response | None:
    """The app's address asked through this worker's Traefik, as a browser sent there by DNS would; None when nothing
    answers."""
    proxy = (await services.preview_hub.manager()).proxy
    try:
        async with httpx.AsyncClient(timeout=10, trust_env=False) as client:
            return await client.get(proxy.internal_url(), headers={"Host": app_host(NAME), **(headers or {})})
    except httpx.HTTPError:
        return None


async def serves(services: Services, text: str) -> None:
    """Until the app itself answers `text` through this worker (past the waking page of a parked sandbox, which wakes
    it, and Traefik's gateway errors while a route moves)."""

    async def answered() -> bool:
        response = await through(services)
        return response is not None and NOT_FOUND_MARKER not in response.headers and response.text == text

    await until(answered, f"{text!r} at the app's address through a worker", within=90)


def sandboxes(services: Services, pid: str) -> dict[str, str]:
    return services.preview_hub.here(f"app:{pid}@")


async def test_a_server_app_answers_and_changes_through_either_worker(
    two_workers: tuple[Services, Services],  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    first, second = two_workers
    monkeypatch.setattr(builder.settings.settings, "secret_key", Fernet.generate_key().decode())
    created = await first.projects.create("Two workers", FILES, owner=LOCAL_USER_ID)
    pid = created.project_id

    # Published through the first worker, which runs release 1: the second sends the address on to it.
    await first.publishing.publish(pid, name=NAME, user_id=LOCAL_USER_ID)
    assert list(sandboxes(first, pid)) == [app_key(pid, 1)] and sandboxes(second, pid) == {}
    await serves(first, "release one")
    await serves(second, "release one")
    second_proxy = (await second.preview_hub.manager()).proxy
    assert app_host(NAME) in second_proxy.forwards() and app_host(NAME) not in second_proxy.aliases()
    # A request a worker forwarded is never forwarded again (it falls to that worker's edge: none runs in this test).
    again = await through(second, {FORWARDED_HEADER: "1"})
    assert again is not None and again.text != "release one"

    # Release 2 published through the second worker runs there: the first worker's release 1 is parked (kept for a
    # rollback), and the first worker now sends the address on to the second.
    await first.projects.save(pid, {"page.txt": b"release two"}, author=Author.user)
    await second.publishing.publish(pid, user_id=LOCAL_USER_ID)
    assert list(sandboxes(second, pid)) == [app_key(pid, 2)]
    await serves(second, "release two")
    await serves(first, "release two")
    one = await first.preview_hub.local(app_key(pid, 1))
    assert one is not None and one.state == PreviewState.parked

    # A rollback made through the second worker: release 1 wakes where it is kept, on the first, whichever worker the
    # visit comes through; release 2 is parked on the second.
    await second.publishing.rollback(pid, 1)
    await serves(second, "release one")
    await serves(first, "release one")
    two = await second.preview_hub.local(app_key(pid, 2))
    assert two is not None and two.state == PreviewState.parked
    first_proxy = (await first.preview_hub.manager()).proxy
    assert app_host(NAME) in first_proxy.aliases() and app_host(NAME) not in first_proxy.forwards()

    # Restarted through the second worker (as a change of its data does): the first worker's sandbox stops. Then both
    # workers' edges are asked for it at once: one sandbox starts, for both.
    await second.publishing.servers.restart_live(pid)
    assert app_key(pid, 1) not in sandboxes(first, pid)
    target = await first.publishing.target(app_host(NAME))
    assert target is not None and target.state == "server"
    await asyncio.gather(
        first.publishing.start_server(app_host(NAME), target), second.publishing.start_server(app_host(NAME), target)
    )
    await serves(first, "release one")
    await serves(second, "release one")
    started = [key for key in [*sandboxes(first, pid), *sandboxes(second, pid)] if key == app_key(pid, 1)]
    assert started == [app_key(pid, 1)]

    # Unpublished through the first worker: every sandbox stops, on both workers, and neither routes the address.
    await first.publishing.unpublish(pid)
    assert sandboxes(first, pid) == {} and sandboxes(second, pid) == {}

    async def unrouted() -> bool:
        return all(app_host(NAME) not in {**p.aliases(), **p.forwards()} for p in (first_proxy, second_proxy))

    await until(unrouted, "the address unrouted on both workers", within=10)
