"""Publishing projects nobody at Forja wrote (scripts/corpus.py) and our own starters, each opened at its own address in
Chromium.

Each subject is published through the real PublishService: its production build runs in a local-runner sandbox (in
bubblewrap when this machine has it), installing offline from the entry's own caches as tests/integration/test_corpus.py
installs it, and its release is written to disk. Chromium then opens the app's address, `http://<name>.apps.localhost:
<port>`: a real Traefik sends the host to Forja's guarded ASGI app, served on a loopback port by granian in this
process, which answers from the release's files. The page must show text from the project's own source; one
single-page app is opened at a route only its client-side router knows, and one plain site at a page it lacks (its own
404 page, with a 404 status).

One Chromium per module (per xdist worker), reached over CDP; every test is handed out on its own (tests/conftest.py).
Screenshots land in tests/artifacts/publish-corpus/<name>.png, kept for a person to look at.

Server apps are SUBJECTS too: production_plan decides how each is built and started, and the test opens its address
the same way (Traefik sends it to the release's sandbox).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import shutil
import subprocess
import tempfile
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from granian.constants import Interfaces
from granian.server.embed import Server
from playwright.async_api import Error as PlaywrightError
from playwright.async_api import Page, Request, Route, async_playwright

import builder.settings
from builder.api import api as forja_api
from builder.api import guarded
from builder.composition import Services
from builder.generation.starters import StarterVariables, load_starters, render_starter
from builder.models import LOCAL_USER_ID
from preview_runtime.verify import find_chromium
from scripts.corpus import COREPACK_DIR, ENTRIES, EVERY_ENTRY, IN_A_TEST_RUN, WHEELS_DIR, app_files
from scripts.prefetch_starters import CACHE as STARTERS_NPM
from tests.conftest import CHROMIUM_ARGS, corpus_app, free_port
from tests.integration.test_corpus import unavailable
from tests.waiting import listening

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts" / "publish-corpus"
TEXT_WITHIN_S = 30  # a built page renders at once; this is for a machine busy with the other worker's build
STARTER_SAMPLE = StarterVariables(title="Corner Bakery", tagline="Bread at seven.")


@dataclass(frozen=True)
class Subject:
    """One app to publish and what its page must show."""

    name: str
    expect: str  # visible text of the app's own page, from its source
    files: Callable[[], dict[str, bytes]]  # read when its test runs (a corpus project may still be fetching)
    corpus: bool  # a corpus entry (its own npm cache under .cache/corpus) or one of our starters
    path: str = "/"  # the page to open (a corpus entry's own: flaskr's is /auth/login)
    # A path only the app's client-side router answers, and the text its route shows there.
    client_route: tuple[str, str] | None = None
    missing: str = ""  # text of the app's own 404 page, shown with a 404 status at a path it does not have


def corpus_subject(
    name: str, client_route: tuple[str, str] | None = None, missing: str = "", added: dict[str, str] | None = None
) -> Subject:
    """A corpus entry as fetched, with `added` files written over it (what a person adds to the project)."""
    entry = next(e for e in ENTRIES if e.name == name)

    def files() -> dict[str, bytes]:
        return {**app_files(entry), **{path: text.encode() for path, text in (added or {}).items()}}

    return Subject(name, entry.expect, files, True, entry.path, client_route, missing)


def starter_subject(name: str, expect: str) -> Subject:
    def files() -> dict[str, bytes]:
        starter = next(s for s in load_starters() if s.name == name)
        return {path: text.encode() for path, text in render_starter(starter, STARTER_SAMPLE).items()}

    return Subject(f"starter-{name}", expect, files, False)


# A page of the Angular app that only its router shows, with a number taken from the address.
ANGULAR_ROUTE = {
    "src/app/order.ts": """import { Component, inject } from '@angular/core';
import { ActivatedRoute } from '@angular/router';

@Component({
  selector: 'app-order',
  template: '<p>Order {{ id }} is on its way.</p>',
})
export class Order {
  protected readonly id = inject(ActivatedRoute).snapshot.paramMap.get('id');
}
""",
    "src/app/app.routes.ts": """import { Routes } from '@angular/router';
import { Order } from './order';

export const routes: Routes = [{ path: 'orders/:id', component: Order }];
""",
}

# The corpus' front-ends that build here offline, one of each kind of build production_plan knows: Vite with React,
# Vue, Svelte, Lit and Qwik; Astro; Angular; webpack; plain HTML; a pnpm workspace's app. Left out: the other
# create-vite templates (the same Vite build with another plugin, 5 to 10 s each, for CI's time: Solid and Preact
# passed too), and sveltekit, whose `sv create` demo uses adapter-auto (neither adapter-static nor adapter-node).
SUBJECTS = [
    corpus_subject("vite-react-ts"),
    corpus_subject("vite-vue"),
    corpus_subject("vite-svelte"),
    corpus_subject("vite-lit-ts"),  # its text is inside the element's shadow root
    corpus_subject("vite-qwik"),  # Qwik's optimizer and its resumable page
    corpus_subject("astro"),
    # An SPA (it depends on @angular/router). `ng new` declares no routes: the route a person adds first.
    corpus_subject("angular", client_route=("/orders/42", "Order 42 is on its way."), added=ANGULAR_ROUTE),
    corpus_subject("h5bp-webpack"),
    corpus_subject("static-site", missing="Page Not Found"),  # HTML5 Boilerplate's own 404.html
    corpus_subject("turbo-pnpm"),  # built in apps/web with the pnpm its lockfile names
    # Server apps, each release in a sandbox of its own that the address reaches through Traefik (test_publish_server.py
    # tests the rest of their life): Node with and without a build, Python under Flask's, Django's and uvicorn's server.
    corpus_subject("express-generator"),
    corpus_subject("hono"),  # tsc, then `node dist/index.js` (which listens on its own port 3000)
    corpus_subject("flask-tutorial"),
    corpus_subject("django"),
    corpus_subject("fastapi"),
    starter_subject("express-api", STARTER_SAMPLE.title),
    starter_subject("flask", STARTER_SAMPLE.title),
    starter_subject("html", STARTER_SAMPLE.title),
    starter_subject("react-vite-tailwind", STARTER_SAMPLE.title),
    starter_subject("svelte-vite", STARTER_SAMPLE.title),
    starter_subject("vue-vite", STARTER_SAMPLE.title),
]
# What a test run publishes: a Vite SPA, one whose text is in a shadow root, an SPA opened at its client-side route, a
# plain site's own 404 page, a pnpm workspace, a Node server built with tsc, Flask, and three starters. FORJA_CORPUS=all
# publishes every subject (as test_corpus.py previews every entry).
IN_A_RUN = ("vite-react-ts", "vite-lit-ts", "angular", "static-site", "turbo-pnpm", "hono", "flask-tutorial")
IN_A_RUN += ("starter-flask", "starter-html", "starter-react-vite-tailwind")
assert set(IN_A_RUN) <= {s.name for s in SUBJECTS}, "IN_A_RUN names a subject SUBJECTS lacks"
assert {s.name for s in SUBJECTS if s.corpus and s.name in IN_A_RUN} <= set(IN_A_TEST_RUN), "a test run does not fetch it"
CHOSEN = [s for s in SUBJECTS if EVERY_ENTRY or s.name in IN_A_RUN]


@pytest.fixture(scope="module")
def chromium_cdp() -> Iterator[str]:
    """One headless Chromium for the module's tests, each connecting over CDP from its own event loop."""
    executable = find_chromium(os.environ.get("FORJA_CHROMIUM", ""))
    if executable is None:
        unavailable("Chromium is not installed (Debian/Ubuntu: apt-get install chromium-headless-shell)")
    assert executable is not None
    profile = tempfile.mkdtemp(prefix="forja-publish-corpus-")
    port = free_port()
    command = [executable, "--headless", f"--remote-debugging-port={port}", f"--user-data-dir={profile}", *CHROMIUM_ARGS]
    process = subprocess.Popen([*command, "about:blank"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    endpoint = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while not devtools_answers(endpoint):
            assert process.poll() is None, f"Chromium exited ({process.returncode})"
            assert time.monotonic() < deadline, "Chromium's DevTools endpoint did not answer within 60 s"
            time.sleep(0.1)
        yield endpoint
    finally:
        process.terminate()
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        shutil.rmtree(profile, ignore_errors=True)


def devtools_answers(endpoint: str) -> bool:
    try:
        return httpx.get(f"{endpoint}/json/version", timeout=2, trust_env=False).status_code == 200
    except httpx.HTTPError:
        return False


@pytest.fixture
async def apps_server(local_previews: None, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[None]:
    """Forja's guarded ASGI app on settings.port, where the edge (Traefik) sends the apps' hosts."""
    port = free_port()
    monkeypatch.setattr(builder.settings.settings, "port", port)
    server = Server(guarded(forja_api), address="127.0.0.1", port=port, interface=Interfaces.ASGINL, log_enabled=False)
    serving = asyncio.create_task(server.serve())
    try:
        async with asyncio.timeout(30):
            while not await listening(port):
                assert not serving.done(), f"granian did not start: {serving.exception()}"
                await asyncio.sleep(0.05)
        yield
    finally:
        server.signal_handler_interrupt()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(serving, 15)


def install_offline(subject: Subject, monkeypatch: pytest.MonkeyPatch) -> None:
    """The sandbox's installs use only the subject's caches, as the corpus' previews do (nothing downloads)."""
    values: dict[str, object] = {"preview_offline": True, "npm_seed_cache": STARTERS_NPM}
    if subject.corpus:
        values |= {
            "npm_seed_cache": corpus_app(subject.name) / "npm",
            "corepack_cache": COREPACK_DIR,
            "pip_seed_wheels": WHEELS_DIR,
        }
    for name, value in values.items():
        monkeypatch.setattr(builder.settings.settings, name, value)


@pytest.mark.browser
@pytest.mark.parametrize("subject", [pytest.param(s, id=s.name) for s in CHOSEN])
async def test_a_published_app_shows_its_own_page(
    subject: Subject,
    request: pytest.FixtureRequest,
    chromium_cdp: str,
    apps_server: None,
    services: Services,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    if not subject.corpus:
        request.getfixturevalue("package_caches")  # skips (fails in CI) when the starters' packages are missing
    install_offline(subject, monkeypatch)
    await services.preview_hub.manager()  # the edge runs from Forja's start, builds or not (plain HTML has none)
    created = await services.projects.create(subject.name, subject.files(), owner=LOCAL_USER_ID)
    published = await services.publishing.publish(created.project_id, user_id=LOCAL_USER_ID)
    assert published.release.state == "ready", published.release.error
    log = [line.text for line in services.logs.history(created.project_id)]
    offline = [line for line in log if "ENOTCACHED" in line or "ENOTFOUND" in line]
    assert not offline, "an install reached for the network:\n" + "\n".join(offline[:5])

    async with async_playwright() as playwright:
        browser = await playwright.chromium.connect_over_cdp(chromium_cdp)
        context = await browser.new_context(viewport={"width": 1280, "height": 800})
        try:
            page = await context.new_page()
            asked = await only_the_app(page, published.app.url)
            await shows(page, published.app.url + subject.path, 200, subject.expect)
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            await page.screenshot(path=ARTIFACTS / f"{subject.name}.png")
            # What a dev server sends (its client, the modules of src/) is not there: this is the built site.
            dev = [url for url in asked if "/@vite/" in url or "/src/" in urlsplit(url).path or "/node_modules/" in url]
            assert not dev, f"the page asked for a dev server's modules: {dev}"
            if subject.client_route:
                # The edge falls back to index.html there; the router reads the address and shows its page.
                route, text = subject.client_route
                await shows(page, published.app.url + route, 200, text)
                assert urlsplit(page.url).path == route
                await page.screenshot(path=ARTIFACTS / f"{subject.name}-route.png", full_page=True)
            if subject.missing:
                await shows(page, published.app.url + "/no-such-page", 404, subject.missing)
        finally:
            await context.close()


async def only_the_app(page: Page, url: str) -> list[str]:
    """Requests of the page to anywhere but the app's own origin are aborted (tests send traffic only to loopback);
    the list of every URL the page asked for fills as it loads."""
    origin = urlsplit(url).netloc
    asked: list[str] = []

    async def guard(route: Route, request: Request) -> None:
        asked.append(request.url)
        if urlsplit(request.url).netloc == origin or request.url.startswith("data:"):
            await route.continue_()
        else:
            await route.abort()

    await page.route(re.compile(".*"), guard)
    return asked


async def shows(page: Page, url: str, status: int, text: str) -> None:
    try:
        response = await page.goto(url)
    except PlaywrightError as exc:
        pytest.fail(f"Chromium could not open {url}: {exc}", pytrace=False)
    assert response is not None and response.status == status, f"{url} answered {response and response.status}"
    try:
        # Text in open shadow roots counts (Lit renders there); a client-rendered page fills in after the load.
        await page.get_by_text(text).first.wait_for(state="visible", timeout=TEXT_WITHIN_S * 1000)
    except PlaywrightError:
        shown = (await page.inner_text("body"))[:800]
        pytest.fail(f"{text!r} is not visible on {url}; the page shows:\n{shown}", pytrace=False)
