"""A real Forja (started as scripts/run.sh starts it) and a real Chromium for end-to-end tests."""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from playwright.sync_api import (
    Browser,
    BrowserContext,
    ConsoleMessage,
    Page,
    Request,
    Response,
    ViewportSize,
    WebSocket,
    expect,
    sync_playwright,
)

from preview_runtime.verify import find_chromium
from tests.conftest import CHROMIUM_ARGS, TEST_ANTHROPIC_KEY, free_port
from tests.llm_server import ScriptedLLMServer

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "tests" / "artifacts"
LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1", "[::1]"}
# Which test run built the repository's .web: xdist's workers share their run's id, a run without xdist has its own.
# Beside .web, not in it: every file in .web is an input of the page's build (builder.launch.page), and a copy
# holding a different one rebuilt the page (40 s) instead of reusing it.
SEED_STAMP = REPO / ".web.test-run"
TEST_RUN = os.environ.get("PYTEST_XDIST_TESTRUNUID") or uuid.uuid4().hex
DESKTOP: ViewportSize = {"width": 1440, "height": 900}
PHONE: ViewportSize = {"width": 390, "height": 844}
# axe-core from npm (tests/e2e/axe/package.json, installed by scripts/test.sh), and the script that runs it.
AXE = REPO / "tests" / "e2e" / "axe" / "node_modules" / "axe-core" / "axe.min.js"
AXE_CHECK = REPO / "tests" / "e2e" / "axe" / "check.js"
WCAG_A_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]


# Every runner the Preview tab's badge named (its data-runner) and every text of its message, from the page's first
# paint on (an init script).
WATCH_PREVIEW_WORDS = """
window.__previewWords = [];
new MutationObserver(() => {
  for (const id of ["preview-runner", "preview-message"]) {
    const element = document.getElementById(id);
    const text = element?.dataset.runner || element?.textContent;
    if (text && !window.__previewWords.includes(text)) window.__previewWords.push(text);
  }
}).observe(document, { subtree: true, childList: true, characterData: true });
"""
# Words of @webcontainer/api's own code (an error it throws): in a script only if the page loaded the API.
WEBCONTAINER_API = "Only a single WebContainer instance"


def missing(what: str) -> None:
    """In CI a missing dependency is a failure; on a developer's machine, a visible skip."""
    if os.environ.get("CI") == "true":
        pytest.fail(f"{what} (required in CI)")
    pytest.skip(what)


def start_forja(
    data_dir: Path,
    port: int,
    preview_port: int,
    log_name: str = "forja-server.log",
    extra_env: dict[str, str] | None = None,
    web_dir: Path | None = None,
    wait: bool = True,
) -> subprocess.Popen:
    """Start Forja's server as scripts/run.sh does (Reflex's prod single-port mode; run.sh's own checks and phases
    are tests/integration/test_run_command.py's) and wait until its page and API answer. With `wait` False a Forja
    whose page is built already is only started (`until_up` waits for it), so several can start side by side.

    The first Forja of a test run builds its page in the repository's `.web` (installing the page's packages there
    once); every other one in a copy of it (`web_dir`, or a folder beside `data_dir`), because the build writes the
    backend's address into the compiled page: in a shared `.web` the second Forja would point the first one's page at
    itself. With several xdist workers the others wait for that first build.
    """
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with open(REPO / ".web.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if SEED_STAMP.exists() and SEED_STAMP.read_text() == TEST_RUN:
            fcntl.flock(lock, fcntl.LOCK_UN)
            web_dir = web_dir or data_dir.with_name(data_dir.name + "-web")
            if not web_dir.exists():
                copy_web(web_dir)
            process = _start(data_dir, port, preview_port, log_name, extra_env, web_dir)
            return until_up(process, port, log_name) if wait else process
        # The first builds the page the others copy: it is up before the lock is let go.
        process = until_up(_start(data_dir, port, preview_port, log_name, extra_env, None), port, log_name)
        SEED_STAMP.write_text(TEST_RUN)
        return process


def copy_web(web_dir: Path) -> None:
    """A copy of the repository's built `.web` but its packages, which it links to: 20,000 files of node_modules took
    seconds of the machine to copy for each Forja, and a Forja whose page is unchanged only serves the build (a copy:
    the Forja writes its address into it)."""
    seed = REPO / ".web"
    shutil.copytree(seed, web_dir, symlinks=True, ignore=lambda folder, _: ["node_modules"] if Path(folder) == seed else [])
    (web_dir / "node_modules").symlink_to(seed / "node_modules", target_is_directory=True)


def _start(
    data_dir: Path, port: int, preview_port: int, log_name: str, extra_env: dict[str, str] | None, web_dir: Path | None
) -> subprocess.Popen:
    # Its own SQLite in data_dir unless extra_env names a database (a PostgreSQL one of the test's).
    inherited = {name: value for name, value in os.environ.items() if name != "DATABASE_URL"}
    env = {
        **inherited,
        "FORJA_PORT": str(port),
        "FORJA_HOST": "127.0.0.1",
        "FORJA_DATA_DIR": str(data_dir),
        "FORJA_PREVIEW_PORT": str(preview_port),
        # Deterministic: the Docker runner has its own tests on a real engine.
        "FORJA_PREVIEW_RUNNER": "local",
        # WebContainers load their runtime from StackBlitz; their fallback has its own test (test_preview_browser.py).
        "FORJA_WEBCONTAINERS": "false",
        # Previews install only from the packages seeded for the starters: never a registry.
        "FORJA_PREVIEW_OFFLINE": "true",
        # A project's remote in the tests is a git host on loopback (tests/git_host.py).
        "FORJA_GIT_IMPORT_PRIVATE": "true",
        "REFLEX_USE_NPM": "1",
        # Forja's notes and the libraries' in its log here: what led to a failure.
        "FORJA_LOG_LEVEL": "info",
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        **(extra_env or {}),
        **({"REFLEX_WEB_WORKDIR": str(web_dir)} if web_dir is not None else {}),
    }
    log_path = ARTIFACTS / log_name
    with log_path.open("ab") as log:
        process = subprocess.Popen(
            # The run command once its packages are in (scripts/run.sh's last line), its tools' output beside this log.
            [sys.executable, "-m", "builder.launch", "--log", str(log_path.with_suffix(".tools.log"))],
            cwd=REPO,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    return process


def until_up(process: subprocess.Popen, port: int, log_name: str) -> subprocess.Popen:
    """`process` (a Forja start_forja started on `port`, logging to `log_name`) once its page and API answer."""
    log_path = ARTIFACTS / log_name
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 600
    while True:
        if process.poll() is not None:
            pytest.fail(f"Forja exited with {process.returncode} while starting:\n{log_path.read_text()[-4000:]}")
        try:
            if httpx.get(f"{base}/health", timeout=2).status_code == 200 and httpx.get(base, timeout=5).status_code == 200:
                return process
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            stop(process)
            pytest.fail(f"Forja did not answer within 600 s:\n{log_path.read_text()[-4000:]}")
        time.sleep(0.2)


def axe_violations(page: Page, scheme: str) -> list[str]:
    """axe-core's WCAG 2 A and AA violations on the page as it is now, in `scheme` (light or dark), one line per
    element: the rule, its impact, what it asks, the element and what to fix."""
    if not AXE.is_file():
        missing(f"axe-core is not installed in {AXE.parent.parent}: run scripts/test.sh (it runs npm ci there)")
    page.emulate_media(color_scheme=scheme)  # pyright: ignore[reportArgumentType]
    if page.evaluate("typeof window.axe") == "undefined":
        page.add_script_tag(path=AXE)
    found = page.evaluate(AXE_CHECK.read_text(), {"scheme": scheme, "tags": WCAG_A_AA})
    return [
        f"{rule['rule']} ({rule['impact']}): {rule['help']}\n      {node['target']}: {' '.join(node['summary'].split())}"
        for rule in found
        for node in rule["nodes"]
    ]


def accessible(page: Page, where: str, widths: Sequence[ViewportSize] = (), prepare: Callable[[], object] | None = None) -> None:
    """The page passes axe-core's WCAG 2 A and AA rules in light and dark, at each of `widths` (else at its own width);
    `prepare` runs after each change of width (a phone shows another pane). Every violation fails the test, listed.

    The page is left at its own width, in the light scheme every test's browser starts in.
    """
    own = page.viewport_size
    found: list[str] = []
    for size in widths or [own]:
        if size is not None and size != page.viewport_size:
            page.set_viewport_size(size)
            if prepare is not None:
                prepare()
        for scheme in ("light", "dark"):
            state = f"{where}, {scheme}, {page.viewport_size['width'] if page.viewport_size else '?'} px"
            found += [f"  [{state}] {line}" for line in axe_violations(page, scheme)]
    page.emulate_media(color_scheme="light")
    if own is not None and page.viewport_size != own:
        page.set_viewport_size(own)
    assert not found, f"axe-core found {len(found)} WCAG 2 A/AA violation(s):\n" + "\n".join(found)


def choose_example(page: Page, text: str) -> None:
    """Click the home page's example chip `text` until the prompt holds it: the chips are in the page's HTML before
    its script has started (seconds on a busy machine), and a click before that does nothing."""
    deadline = time.monotonic() + 60
    while True:
        page.locator(".example-chip", has_text=text).click()
        try:
            expect(page.locator("#prompt")).to_have_value(text, timeout=2_000)
            return
        except AssertionError:
            if time.monotonic() > deadline:
                raise


@pytest.fixture(scope="session")
def forja(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One Forja for the session (for each xdist worker), on free ports with an empty data dir.

    WebContainers are on, as by default: the local runner these settings ask for is what rules them out, so every
    test's preview here proves no browser tries one first (test_build_from_prompt_offline looks closely)."""
    port = free_port()
    log_name = f"forja-server-{os.environ.get('PYTEST_XDIST_WORKER', 'main')}.log"
    process = start_forja(
        tmp_path_factory.mktemp("forja-data"), port, free_port(), log_name, extra_env={"FORJA_WEBCONTAINERS": "true"}
    )
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        stop(process)


@contextmanager
def preview_details(page: Page) -> Iterator[None]:
    """The Preview tab's "How this preview runs" box (the "i" in its toolbar), open for the `with` block's checks."""
    page.locator("#preview-details").click()
    expect(page.locator("#preview-details-box")).to_be_visible()
    yield
    page.keyboard.press("Escape")
    expect(page.locator("#preview-details-box")).to_have_count(0)


def editor_ready(page: Page) -> None:
    """Wait until the Code tab's editor takes typing: it is read-only while it joins the open file's shared room."""
    expect(page.locator(".forja-editor[data-editing=ready]")).to_be_visible(timeout=30_000)


def editor_text(page: Page) -> str:
    return page.evaluate("() => window.__forjaEditor.getValue()")


def one_text(pages: Sequence[Page], *parts: str) -> str:
    """The text every page's editor ends up holding, once each holds all of `parts`. Typing reaches the others key by
    key, so a page can hold both people's words while the other's last key is still on its way: the pages are waited
    for until they agree, not only until each holds the words."""
    holds = "parts => { const text = window.__forjaEditor.getValue(); return parts.every(part => text.includes(part)); }"
    for page in pages:
        page.wait_for_function(holds, arg=list(parts), timeout=30_000)
    deadline = time.monotonic() + 30
    while len({editor_text(page) for page in pages}) > 1 and time.monotonic() < deadline:
        time.sleep(0.1)
    texts = {editor_text(page) for page in pages}
    assert len(texts) == 1, texts
    return texts.pop()


def type_at(page: Page, line: int, text: str) -> None:
    """Type `text` at the start of `line` of the Code tab's editor, key by key as a person does."""
    page.evaluate(
        f"() => {{ window.__forjaEditor.setPosition({{lineNumber: {line}, column: 1}}); window.__forjaEditor.focus(); }}"
    )
    page.keyboard.type(text, delay=15)


def reopens_on_the_tab_chosen(page: Page, forja: str, project_id: str) -> None:
    """In `project_id`, open: Code chosen, the page reloaded shows Code; another project opens on its running app; the
    first opens on Code again, in this tab and in a new one."""
    phone = page.viewport_size == PHONE
    tab = "#phone-tab-code" if phone else "#tab-code"
    page.locator(tab).click()
    expect(page.locator(tab)).to_have_attribute("aria-selected", "true")
    page.reload()
    expect(page.locator(tab)).to_have_attribute("aria-selected", "true", timeout=30_000)
    expect(page.locator("#file-tree")).to_be_visible()
    other = httpx.post(
        f"{forja}/api/projects", json={"name": "Price list", "files": {"index.html": "<!doctype html>\n<h1>Cuts from 20</h1>\n"}}
    ).json()["id"]
    page.goto(f"{forja}/p/{other}")
    preview_tab = "#phone-tab-preview" if phone else "#tab-preview"
    expect(page.locator(preview_tab)).to_have_attribute("aria-selected", "true", timeout=30_000)
    expect(page.frame_locator("#preview-frame").locator("h1")).to_have_text("Cuts from 20", timeout=60_000)
    page.screenshot(path=str(ARTIFACTS / f"workspace-opens-on-preview-{'390' if phone else '1440'}.png"))
    # Back in the first project, and in a new tab of this browser (a page of its own, nothing of the last one's state):
    # Code again, as chosen there.
    page.goto(f"{forja}/p/{project_id}")
    expect(page.locator(tab)).to_have_attribute("aria-selected", "true", timeout=30_000)
    again = page.context.new_page()
    again.set_viewport_size(page.viewport_size)  # type: ignore[arg-type]
    again.goto(f"{forja}/p/{project_id}")
    expect(again.locator(tab)).to_have_attribute("aria-selected", "true", timeout=30_000)
    expect(again.locator("#file-tree")).to_be_visible()
    again.close()


@contextmanager
def another_forja(folder: Path, log_name: str, extra_env: dict[str, str]) -> Iterator[str]:
    """A Forja beside the session's, with its own data and web folders under `folder`; yields its address."""
    port = free_port()
    process = start_forja(folder / "data", port, free_port(), log_name, extra_env, web_dir=folder / "web")
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        stop(process)
        # Its web build and previews' copies are hundreds of megabytes, and a run starts a score of these; its log is
        # kept in tests/artifacts.
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="module")
def llm() -> Iterator[ScriptedLLMServer]:
    """The scripted model server of a module whose Forja talks to Claude (see forja_on_claude)."""
    with ScriptedLLMServer() as server:
        yield server


@pytest.fixture(autouse=True)
def no_answers_left_over(request: pytest.FixtureRequest) -> None:
    """A module's tests share one scripted model (llm): answers a failed test queued and never used are dropped, so
    the next test, or its rerun, gets its own (a busy CI run once failed a test's first try, then its rerun and three
    more tests' first tries, each on the answers the one before had left). No module fixture queues answers."""
    if "llm" in request.fixturenames:
        request.getfixturevalue("llm").drop_queued()


@contextmanager
def forja_on_claude(llm: ScriptedLLMServer, folder: Path, log_name: str, **settings: str) -> Iterator[str]:
    """A Forja beside the session's whose Claude is `llm` (the real SDK over real sockets), with fast retries."""
    env = {
        "ANTHROPIC_API_KEY": TEST_ANTHROPIC_KEY,
        "ANTHROPIC_BASE_URL": llm.anthropic_base_url,
        "FORJA_RETRY_BASE_DELAY_S": "0.01",
        **settings,
    }
    with another_forja(folder, log_name, env) as base:
        yield base


def stop(process: subprocess.Popen) -> None:
    """Stop the server and every process it started (Node, workers)."""
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=20)
    except ProcessLookupError:
        return
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)


# Package scope: sync Playwright keeps an event loop running in this thread while it is open,
# which would break the asyncio tests that run after the end-to-end ones.
@pytest.fixture(scope="package")
def browser() -> Iterator[Browser]:
    executable = find_chromium(os.environ.get("FORJA_CHROMIUM", ""))
    if not executable:
        missing("Chromium is not installed (Debian/Ubuntu: apt-get install chromium-headless-shell)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=[*CHROMIUM_ARGS, *on_this_machine_only()])
        yield browser
        browser.close()


def on_this_machine_only() -> list[str]:
    """Chromium's switches that send every request for another machine to a closed port on loopback, so it fails in the
    browser (net::ERR_PROXY_CONNECTION_FAILED) before a packet leaves: a proxy nobody runs, bypassed only for this
    machine's names. `<-loopback>` drops Chromium's implicit bypasses, which include link-local addresses.

    Chromium's own network stack refuses them; a Playwright route did before, which sent every request through Python
    and turned the browser's cache off."""
    return [
        f"--proxy-server=http://127.0.0.1:{free_port()}",
        "--proxy-bypass-list=<-loopback>;localhost;*.localhost;127.0.0.1;[::1]",
    ]


def is_local(host: str | None) -> bool:
    # Previews live on <id>.localhost, which browsers resolve to loopback by themselves.
    return host in LOCAL_HOSTS or (host or "").endswith(".localhost")


class Traffic:
    """Every request a page made, to prove nothing left this machine, and every console error.

    The browser cannot reach other machines (on_this_machine_only): requests to them fail in it, and are listed in
    `blocked`; `off_machine()` still names them, so a test that expects none fails on any.
    """

    def __init__(self) -> None:
        self.urls: list[str] = []
        self.blocked: list[str] = []
        self.console_errors: list[str] = []
        # Requests that failed or were answered with an error, for a failed test's report.
        self.failures: list[str] = []

    def watch(self, context: BrowserContext) -> None:
        """Record every request of the context's pages (and their websockets), and which failed."""
        context.on("request", lambda request: self.urls.append(request.url))
        context.on("requestfailed", self.request_failed)
        context.on("page", lambda page: page.on("websocket", self.websocket))

    def websocket(self, ws: WebSocket) -> None:
        self.urls.append(ws.url)
        # A page whose websocket broke waits for its state: the report says when it did.
        ws.on("socketerror", lambda error: self.failures.append(f"websocket error ({error}) {ws.url}"))
        ws.on("close", lambda _: self.failures.append(f"websocket closed {ws.url}"))

    def console(self, message: ConsoleMessage) -> None:
        if message.type == "error":
            self.console_errors.append(message.text)

    def response(self, response: Response) -> None:
        if response.status >= 400:
            self.failures.append(f"{response.status} {response.request.method} {response.url}")

    def request_failed(self, request: Request) -> None:
        self.failures.append(f"failed ({request.failure}) {request.method} {request.url}")
        url = urlsplit(request.url)
        if url.scheme in ("http", "https") and not is_local(url.hostname):
            self.blocked.append(request.url)

    def report(self) -> str:
        return "\n".join(
            [
                "Console errors:",
                *self.console_errors[-30:],
                "Requests that failed or answered an error:",
                *self.failures[-30:],
            ]
        )

    def off_machine(self) -> list[str]:
        return [
            url
            for url in self.urls
            if urlsplit(url).scheme in ("http", "https", "ws", "wss") and not is_local(urlsplit(url).hostname)
        ]


@pytest.fixture
def traffic() -> Traffic:
    return Traffic()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """A failed test's page as it was, its failure, the text of every page it had open and its page's traffic, in the
    artifacts (CI keeps only what the run printed and wrote; a rerun that passes leaves the first failure out of the
    run's output)."""
    report = yield
    args = getattr(item, "funcargs", {})
    browser = args.get("browser")
    if report.when != "call" or not report.failed or not isinstance(browser, Browser):
        return report
    name = re.sub(r"[^A-Za-z0-9_.-]+", "-", item.name)
    page = args.get("page")
    if isinstance(page, Page):
        with contextlib.suppress(Exception):
            page.screenshot(path=str(ARTIFACTS / f"failed-{name}.png"))
    texts = [report.longreprtext]
    for context in browser.contexts:
        for open_page in context.pages:
            with contextlib.suppress(Exception):
                texts.append(f"-- {open_page.url} --\n{open_page.locator('body').inner_text(timeout=2_000)}")
    traffic = args.get("traffic")
    if isinstance(page, Page) and isinstance(traffic, Traffic):
        said = traffic.report()
        report.sections.append(("Captured traffic of the page", said))
        texts.append(said)
    (ARTIFACTS / f"failed-{name}.txt").write_text("\n\n".join(texts) + "\n")
    return report


@pytest.fixture
def page(browser: Browser, traffic: Traffic) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1400, "height": 860})
    traffic.watch(context)
    page = context.new_page()
    page.on("console", traffic.console)
    page.on("response", traffic.response)
    page.set_default_timeout(30_000)
    yield page
    context.close()
