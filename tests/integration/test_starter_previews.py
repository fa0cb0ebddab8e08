"""Every starter really installs and runs in the preview runtime: the local runner (in bubblewrap),
and a Docker preview container reached through Traefik.

Installs come from npm's cache with `npm_config_offline=true` and from a folder of wheels with
`PIP_NO_INDEX=1`, so nothing leaves this machine: the test command's setup
(scripts/prefetch_starters.py) fetched them from the registries, as pip fills the venv. The Docker
runner gets both as its read-only seeds (the preview firewall keeps containers off the host, so
no registry mirror there could serve them). The page must answer 200 with the starter's own
texts, and starters with an API must answer it with JSON; on the local runner, the starter's acceptance checks
(`.forja/checks/`, one for each check of its plan) must then pass in Chromium against the running app, and a list
starter, served there by its dev server alone (no Forja), must offer no sign-in and log nothing.
"""

from __future__ import annotations

import asyncio
import logging
import time
from pathlib import Path

import httpx
import pytest
from playwright.async_api import expect

from builder.generation.starters import Starter, StarterVariables, render_starter
from preview_runtime.acceptance import run_acceptance
from preview_runtime.check_script import is_check_path
from preview_runtime.local import LocalRunner
from preview_runtime.logs import LogHub
from preview_runtime.manager import PreviewManager
from preview_runtime.plan import plan_for
from preview_runtime.proxy import PreviewProxy
from preview_runtime.runner import PreviewSpec, PreviewState
from preview_runtime.verify import PageChecker
from scripts.prefetch_starters import starters

pytest.register_assert_rewrite("tests.docker_fixtures")
from tests.conftest import free_port  # noqa: E402
from tests.docker_fixtures import MiB  # noqa: E402

pytest_plugins = ["tests.docker_fixtures"]

SAMPLE = StarterVariables(
    title="Corner Bakery & Co",
    tagline="Bread at seven.",
    features=["Sourdough", "Croissants"],
    examples=("Lemon cake", "Tomato soup"),
)
# Pages whose HTML is built in the browser: the title is in the script the dev server serves.
ENTRY = {name: "/src/site.js" for name in ("react-vite-tailwind", "svelte-vite", "vue-vite", "fullstack-react-fastapi")}
# The list starters' own module for Forja's sign-in and data, and its link's words.
FORJA_DATA = "src/lib/forjaData.js"
SIGN_IN_TEXT = "Sign in to keep your list on every device"
API_PATHS = {"express-api": "/api/items", "fastapi": "/api/items", "fullstack-react-fastapi": "/api/items"}
# Starters whose own server answers every request, its page included, with X-Content-Type-Options: nosniff (the
# review's doors check); the full-stack one's API does, its page in a preview is the Vite dev server's.
SERVERS = ("express-api", "flask", "fastapi")
STARTERS = starters()
log = logging.getLogger(__name__)


@pytest.mark.parametrize("starter", STARTERS, ids=[s.name for s in STARTERS])
async def test_starter_installs_offline_and_serves_its_page(
    starter, package_caches, checker: PageChecker, tmp_path: Path
) -> None:
    npm_cache, wheels = package_caches
    runner = LocalRunner(tmp_path / "work", npm_seed=npm_cache)
    # PIP_FIND_LINKS is bound read-only into the sandbox, wherever it is.
    runner.extra_env = {"npm_config_offline": "true", "PIP_NO_INDEX": "1", "PIP_FIND_LINKS": str(wheels)}
    files = {path: text.encode() for path, text in render_starter(starter, SAMPLE).items()}
    spec = PreviewSpec(preview_id="starter1", project_id="p", version=1, files=files, plan=plan_for(files))
    lines: list[str] = []
    try:
        await runner.start(spec, lambda _id, text, _level, _source: lines.append(text))
        deadline = time.monotonic() + 240
        while (info := await runner.status("starter1")).state != PreviewState.running:
            assert info.state != PreviewState.failed, f"{info.detail}\n" + "\n".join(lines[-30:])
            assert time.monotonic() < deadline, "not running after 240 s:\n" + "\n".join(lines[-30:])
            await asyncio.sleep(0.2)
        async with httpx.AsyncClient(base_url=info.upstream, timeout=10, trust_env=False) as client:
            await assert_serves_starter(client, starter)
        assert not any("ENOTCACHED" in line or "ENOTFOUND" in line for line in lines)
        await assert_passes_its_checks(checker, info.upstream, starter, files)
        if FORJA_DATA in files:
            await assert_stays_in_the_browser_without_forja(checker, info.upstream)
    finally:
        await runner.close()


async def assert_passes_its_checks(checker: PageChecker, url: str, starter: Starter, files: dict[str, bytes]) -> None:
    """Every acceptance check of the starter passes, in order, each titled with its plan's check in this app's words;
    a server starter's twice, as it keeps its data: the second run starts from what the first one left (a browser-only
    starter's checks each start from an empty browser)."""
    assert starter.plan is not None
    scripts = {path: data.decode() for path, data in files.items() if is_check_path(path)}
    keeps_data = plan_for(files).has_server or starter.name in API_PATHS
    for run in ("first", "second") if keeps_data else ("first",):
        outcomes = await run_acceptance(checker, url, scripts, timeout_s=60)
        assert [o.title for o in outcomes] == list(starter.plan.for_app(SAMPLE).checks)
        failed = [f"{o.path} ({o.title}): {o.message}\n{o.detail}" for o in outcomes if not o.passed]
        assert not failed, f"{run} run:\n" + "\n\n".join(failed)
        took = ", ".join(f"{o.duration_s:.1f}" for o in outcomes)
        log.info("%s, %s run: checks passed in %.1f s (%s)", starter.name, run, sum(o.duration_s for o in outcomes), took)


async def assert_stays_in_the_browser_without_forja(checker: PageChecker, url: str) -> None:
    """A list starter where nothing answers /_forja/ as Forja does (here its dev server alone, which answers with its
    own page): it offers no sign-in and says nothing in the console; its checks above kept their items in the browser."""
    context = await (await checker.browser()).new_context()
    try:
        page = await context.new_page()
        said: list[str] = []
        page.on("console", lambda message: said.append(message.text) if message.type in ("error", "warning") else None)
        async with page.expect_response(lambda response: response.url.endswith("/_forja/auth/me")) as asked:
            await page.goto(url)
        answer = await asked.value
        assert answer.status == 200 and answer.headers["content-type"].startswith("text/html")  # the SPA's page
        await page.wait_for_load_state("networkidle")
        await expect(page.get_by_role("heading", level=1)).to_be_visible()
        assert await page.get_by_role("link", name=SIGN_IN_TEXT).count() == 0
        assert said == []
    finally:
        await context.close()


async def first_page(client: httpx.AsyncClient) -> httpx.Response:
    """The first page; a dev server under `node --watch` may restart once as it settles, dropping a connection."""
    async with asyncio.timeout(15):
        while True:
            try:
                return await client.get("/")
            except httpx.TransportError:
                await asyncio.sleep(0.3)


async def api_answer(client: httpx.AsyncClient, path: str) -> httpx.Response:
    """The API of a starter with two servers may come up after its page (the front end's proxy answers 502 meanwhile).
    A kept-alive connection the server has just closed is asked again on a new one, as a browser does."""
    for _ in range(60):
        try:
            response = await client.get(path)
            if response.status_code != 502:
                return response
        except httpx.RemoteProtocolError:
            pass
        await asyncio.sleep(0.3)
    return await client.get(path)


async def assert_serves_starter(client: httpx.AsyncClient, starter: Starter) -> None:
    page = await first_page(client)
    assert page.status_code == 200
    if starter.name in SERVERS:
        assert page.headers.get("x-content-type-options") == "nosniff", page.headers
    body = page.text if starter.name not in ENTRY else (await client.get(ENTRY[starter.name])).text
    # HTML escapes the ampersand, JavaScript strings may too; the rest of the title is as written.
    assert "Corner Bakery" in body and "Bread at seven." in body, body[:500]
    if starter.name in API_PATHS:
        api = await api_answer(client, API_PATHS[starter.name])
        assert api.status_code == 200 and isinstance(api.json(), list), api.text[:500]
        assert api.headers.get("x-content-type-options") == "nosniff", api.headers


@pytest.mark.parametrize("starter", STARTERS, ids=[s.name for s in STARTERS])
async def test_starter_previews_in_docker_behind_traefik(starter, package_caches, docker_runner_factory, tmp_path: Path) -> None:
    npm_cache, wheels = package_caches
    runner = docker_runner_factory(
        npm_seed=npm_cache,
        wheel_seed=wheels,
        extra_env={"npm_config_offline": "true", "PIP_NO_INDEX": "1"},
        memory_bytes=1024 * MiB,
        app_size_bytes=512 * MiB,
        home_size_bytes=256 * MiB,
    )
    logs = LogHub()
    manager = PreviewManager({"docker": runner}, PreviewProxy(tmp_path / "proxy", free_port()), logs)
    await manager.start_background()
    files = {path: text.encode() for path, text in render_starter(starter, SAMPLE).items()}
    try:
        await manager.start("starter1", "p", 1, files, plan_for(files), "docker")
        try:
            async with asyncio.timeout(240):
                info = await manager.wait_ready("starter1")
        except TimeoutError:
            info = await manager.status("starter1")
            history = "\n".join(line.text for line in logs.history("p")[-40:])
            pytest.fail(f"not answering through Traefik after 240 s (state {info.state}: {info.detail})\n{history}")
        history = "\n".join(line.text for line in logs.history("p")[-30:])
        assert info.state == PreviewState.running, f"{info.detail}\n{history}"
        proxy = manager.proxy
        async with httpx.AsyncClient(
            base_url=proxy.internal_url(), headers={"Host": proxy.host_for("starter1")}, timeout=10, trust_env=False
        ) as client:
            await assert_serves_starter(client, starter)
        assert not any("ENOTCACHED" in line.text or "ENOTFOUND" in line.text for line in logs.history("p"))
        if starter.name == "react-vite-tailwind":  # files come back out of the container (Runner.collect), folders and all
            sources = {path.removeprefix("src/"): data for path, data in files.items() if path.startswith("src/")}
            assert await manager.collect("starter1", "src", 1_000_000) == sources
    finally:
        await manager.stop("starter1")
        await manager.close()
