"""Projects nobody at Forja wrote (scripts/corpus.py) preview in both runners, and Chromium shows each app's own page.

Each project is read from .cache/corpus/<name>/app as an import would read it, planned by `plan_for`, and
started by a PreviewManager behind a real Traefik, with the local runner (in bubblewrap) or a Docker container
at the production limits. Installs are offline: npm (and pnpm's store, yarn's cache) from the entry's own cache,
pnpm and yarn themselves from the corpus' corepack cache, pip from the corpus' wheels, all filled by
scripts/fetch_corpus.py in the test command's setup. Chromium opens the preview's
address (*.localhost is loopback there) and must get a 200 page showing the text from the project's own
source, with no dev server's error overlay over it; where the entry says, it then does what a person would (types,
clicks) and sees the app's answer, which comes over its websocket.

Screenshots land in tests/artifacts/corpus/<runner>/<name>.png, kept for a person to look at.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Callable, Mapping
from pathlib import Path

import pytest
from playwright.async_api import Error as PlaywrightError
from playwright.async_api import Page, async_playwright

from preview_runtime.docker.config import DockerConfig
from preview_runtime.local import LocalRunner
from preview_runtime.logs import LogHub
from preview_runtime.manager import PreviewManager
from preview_runtime.plan import plan_for
from preview_runtime.proxy import PreviewProxy
from preview_runtime.runner import PreviewState, Runner
from preview_runtime.verify import find_chromium
from scripts.corpus import COREPACK_DIR, EVERY_ENTRY, IN_A_TEST_RUN, WHEELS_DIR, Entry, Interaction, app_files, in_a_test_run

pytest.register_assert_rewrite("tests.docker_fixtures")
from tests.conftest import CHROMIUM_ARGS, corpus_app, free_port  # noqa: E402

pytest_plugins = ["tests.docker_fixtures"]

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts" / "corpus"
PREVIEW_ID = "corpus1"
PROJECT_ID = "corpus"
# Cold installs of the larger projects (Angular, Next, Streamlit) take minutes on two shared cores.
RUNNING_WITHIN_S = 300
PAGE_WITHIN_S = 180  # for the first page: dev servers that compile on request answer it once compiled
TEXT_WITHIN_S = 60  # for the text, once the page loaded: what hydration or a client-side render takes
# What dev servers lay over a page that failed to build or threw: Vite (Astro, SvelteKit, Nuxt and Angular's
# dev server use it too), Next's dev overlay (inside its nextjs-portal's shadow root) and webpack-dev-server's.
ERROR_OVERLAYS = "vite-error-overlay, [data-nextjs-dialog], [data-nextjs-dialog-overlay], #webpack-dev-server-client-overlay"
OFFLINE_ENV = {"npm_config_offline": "true", "PIP_NO_INDEX": "1"}
# A test run previews one project of each kind Forja detects and runs differently: a Vite SPA (React, and Vue, Svelte
# and Lit's own plugins), SvelteKit, Next, yarn and a pnpm workspace, a Node server, Flask, FastAPI, a Python data app
# (its live connection through the proxy), a Replit project (its .replit) and a plain site. In Docker, the kinds the
# container changes something for: a Vite SPA, a pnpm workspace, Python servers and a Python data app. The Docker runner differs from the local one in
# where and how it installs and serves, not in what it detects. FORJA_CORPUS=all previews every entry in both runners
# (each takes 10 to 100 s: all of them cost CI a quarter of its time); bench/corpus.py times every one.
LOCAL = ("vite-react-ts", "vite-vue", "vite-svelte", "vite-lit-ts", "sveltekit", "next-pages-router")
LOCAL += ("express-generator-yarn", "turbo-pnpm", "hono", "flask-tutorial", "fastapi", "nicegui", "flask-replit")
LOCAL += ("static-site",)
IN_DOCKER = ("vite-react-ts", "turbo-pnpm", "fastapi", "flask-replit", "nicegui")


def chosen(names: tuple[str, ...]) -> list[Entry]:
    """The entries a test run previews: `names`, or every entry with FORJA_CORPUS=all."""
    unfetched = set(names) - set(IN_A_TEST_RUN)
    assert not unfetched, f"a test run does not fetch {sorted(unfetched)}: add them to scripts/corpus.py's IN_A_TEST_RUN"
    return [e for e in in_a_test_run() if EVERY_ENTRY or e.name in names]


LOCAL_ENTRIES = chosen(LOCAL)
DOCKER_ENTRIES = chosen(IN_DOCKER)
log = logging.getLogger(__name__)


@pytest.fixture
def chromium() -> str:
    executable = find_chromium(os.environ.get("FORJA_CHROMIUM", ""))
    if executable is None:
        unavailable("Chromium is not installed (Debian/Ubuntu: apt-get install chromium-headless-shell)")
    assert executable is not None
    return executable


def unavailable(reason: str) -> None:
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{reason} (required in CI)", pytrace=False)
    pytest.skip(reason)


@pytest.mark.browser
@pytest.mark.parametrize("entry", LOCAL_ENTRIES, ids=[e.name for e in LOCAL_ENTRIES])
async def test_corpus_project_previews_locally(entry: Entry, chromium: str, tmp_path: Path) -> None:
    folder = corpus_app(entry.name)
    runner = LocalRunner(tmp_path / "work", npm_seed=folder / "npm")
    # PIP_FIND_LINKS is bound read-only into the sandbox, wherever it is.
    runner.extra_env = {**OFFLINE_ENV, "PIP_FIND_LINKS": str(WHEELS_DIR)}
    if entry.manager != "npm":  # corepack's cache, bound read-only into the sandbox like PIP_FIND_LINKS
        runner.extra_env["COREPACK_HOME"] = str(COREPACK_DIR)
    await preview_and_look(entry, folder, {"local": runner}, chromium, tmp_path)


@pytest.mark.browser
@pytest.mark.parametrize("entry", DOCKER_ENTRIES, ids=[e.name for e in DOCKER_ENTRIES])
async def test_corpus_project_previews_in_docker(entry: Entry, chromium: str, docker_runner_factory, tmp_path: Path) -> None:
    folder = corpus_app(entry.name)
    # Forja's own defaults (DockerConfig), not the small test ones: these are real projects.
    runner = docker_runner_factory(
        npm_seed=folder / "npm",
        wheel_seed=WHEELS_DIR if entry.pip else None,
        corepack_seed=COREPACK_DIR if entry.manager != "npm" else None,
        extra_env=OFFLINE_ENV,
        memory_bytes=DockerConfig.memory_bytes,
        app_size_bytes=DockerConfig.app_size_bytes,
        tmp_size_bytes=DockerConfig.tmp_size_bytes,
        home_size_bytes=DockerConfig.home_size_bytes,
        pids_limit=DockerConfig.pids_limit,
    )
    await preview_and_look(entry, folder, {"docker": runner}, chromium, tmp_path)


async def preview_and_look(entry: Entry, folder: Path, runners: Mapping[str, Runner], chromium: str, tmp_path: Path) -> None:
    (runner_name,) = runners
    files = app_files(entry)
    try:
        plan = plan_for(files)
    except ValueError as exc:
        pytest.fail(f"plan_for refused {entry.name}: {exc}", pytrace=False)
    logs = LogHub()
    manager = PreviewManager(runners, PreviewProxy(tmp_path / "proxy", free_port()), logs)
    await manager.start_background()

    def log_tail() -> str:
        return "\n".join(line.text for line in logs.history(PROJECT_ID)[-40:])

    try:
        started = time.monotonic()
        await manager.start(PREVIEW_ID, PROJECT_ID, 1, files, plan, runner_name)
        await wait_routed(manager, log_tail)
        ready_s = time.monotonic() - started
        problem = await look_in_chromium(entry, manager.proxy.url_for(PREVIEW_ID) + entry.path, chromium, runner_name)
        assert problem is None, f"{problem}\nplan: {plan.install} && {plan.dev} (port {plan.port})\n{log_tail()}"
        offline = [line.text for line in logs.history(PROJECT_ID) if "ENOTCACHED" in line.text or "ENOTFOUND" in line.text]
        assert not offline, "an install reached for the network:\n" + "\n".join(offline[:5])
        log.info(
            "%s in %s: running after %.0f s, page shown after %.0f s",
            entry.name,
            runner_name,
            ready_s,
            time.monotonic() - started,
        )
    finally:
        await manager.stop(PREVIEW_ID)
        await manager.close()


async def wait_routed(manager: PreviewManager, log_tail: Callable[[], str]) -> None:
    """Until the runner calls the preview running and the proxy sends its host there.

    Not manager.wait_ready: that wants 200 from "/", which some projects rightly never give (flaskr's index
    needs its database made first; FastAPI's example wants a token on every route).
    """
    deadline = time.monotonic() + RUNNING_WITHIN_S
    while True:
        info = await manager.status(PREVIEW_ID)
        assert info.state != PreviewState.failed, f"the preview failed: {info.detail}\n{log_tail()}"
        if info.state == PreviewState.running and await manager.proxy.is_routed(PREVIEW_ID):
            return
        assert time.monotonic() < deadline, f"not running after {RUNNING_WITHIN_S} s ({info.state}):\n{log_tail()}"
        await asyncio.sleep(0.5)


async def look_in_chromium(entry: Entry, url: str, chromium: str, runner_name: str) -> str | None:
    """What is wrong with the page Chromium shows at `url`, or None when it is the app's own."""
    shot = ARTIFACTS / runner_name / f"{entry.name}.png"
    shot.parent.mkdir(parents=True, exist_ok=True)
    page_errors: list[str] = []
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        try:
            page = await browser.new_page()
            page.on("pageerror", lambda error: page_errors.append(str(error)))
            try:
                response = await page.goto(url, timeout=PAGE_WITHIN_S * 1000)
            except PlaywrightError as exc:
                return f"Chromium could not open {url}: {exc}"
            if response is None or response.status != 200:
                body = (await page.inner_text("body"))[:500] if response else ""
                return f"{url} answered {response.status if response else 'nothing'}: {body}"
            problem = await page_problem(page, entry)
            await page.screenshot(path=shot, full_page=False)
        finally:
            await browser.close()
    if problem and page_errors:
        problem += "\nerrors thrown in the page:\n" + "\n".join(page_errors[:5])
    return problem


async def page_problem(page: Page, entry: Entry) -> str | None:
    try:
        # Text in open shadow roots counts (Lit renders there); the page may still be compiling or hydrating.
        await page.get_by_text(entry.expect).first.wait_for(state="visible", timeout=TEXT_WITHIN_S * 1000)
    except PlaywrightError:
        shown = (await page.inner_text("body"))[:800]
        return f"{entry.expect!r} is not visible on {page.url}; the page shows:\n{shown}"
    if await page.locator(ERROR_OVERLAYS).count():
        overlay = await page.locator(ERROR_OVERLAYS).first.inner_text()
        return f"an error overlay covers {page.url}:\n{overlay[:800]}"
    return await interaction_problem(page, entry.interact) if entry.interact else None


async def interaction_problem(page: Page, interact: Interaction) -> str | None:
    """What is wrong after doing `interact` on the page: its answer comes over the app's own live connection, so a
    websocket the preview proxy broke shows here and not on the first page."""
    if interact.fill:
        label, text = interact.fill
        await page.get_by_label(label).first.fill(text)
    if interact.click:
        await page.get_by_role("button", name=interact.click).first.click()
    try:
        await page.get_by_text(interact.expect).first.wait_for(state="visible", timeout=TEXT_WITHIN_S * 1000)
    except PlaywrightError:
        shown = (await page.inner_text("body"))[:800]
        return f"after {interact.fill or interact.click!r}, {interact.expect!r} is not visible; the page shows:\n{shown}"
    return None
