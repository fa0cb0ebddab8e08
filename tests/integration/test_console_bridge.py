"""The console bridge in a real Chromium: a page whose script did not load is loaded again once, and a script that
fails again is reported to the builder's page. Two servers on this machine stand for the builder (127.0.0.1) and
the preview (localhost, another origin)."""

from __future__ import annotations

import contextlib
import http.server
import threading
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterator

import pytest
from playwright.async_api import Browser, Page

from preview_runtime import console_bridge
from preview_runtime.page_scripts import add_to_pages
from tests.integration.test_page_scripts import chromium  # noqa: F401 (a fixture, used by name)
from tests.waiting import until

pytestmark = pytest.mark.browser

APP_PAGE = b'<!doctype html><title>app</title><div id="root"></div><script type="module" src="/main.js"></script>'
MAIN = b'import { text } from "/dep.js"; document.getElementById("root").textContent = text;'
DEP = b'export const text = "The app is here";'

# What the preview's server does with /dep.js on its nth request (1, 2, ...): True serves it, False drops the
# connection with no answer, as a network that changed under the browser does.
Answer = Callable[[int], bool]


@contextlib.contextmanager
def server(routes: dict[str, bytes], dep_answer: Answer | None = None) -> Iterator[tuple[int, Counter[str]]]:
    asked: Counter[str] = Counter()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            path = self.path.split("?", 1)[0]
            asked[path] += 1
            if path == "/dep.js" and dep_answer is not None and not dep_answer(asked[path]):
                self.close_connection = True
                return
            body = routes.get(path)
            if body is None:
                self.send_error(404)
                return
            self.send_response(200)
            kind = "text/html" if path.endswith(("/", ".html")) else "text/javascript"
            self.send_header("content-type", kind)
            self.send_header("cache-control", "no-store")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield httpd.server_address[1], asked
    finally:
        httpd.shutdown()
        httpd.server_close()


@contextlib.asynccontextmanager
async def framed(browser: Browser, dep_answer: Answer) -> AsyncIterator[tuple[Page, Counter[str], list[str]]]:
    """The builder's page (127.0.0.1) framing the app (localhost) with the bridge in its page, as a preview has it.
    Both are served for real: Chromium refuses a loopback frame in a page that did not come from this machine."""
    builder_routes: dict[str, bytes] = {}
    app_routes = {"/main.js": MAIN, "/dep.js": DEP}
    with server(builder_routes) as (builder_port, _), server(app_routes, dep_answer) as (app_port, asked):
        builder = f"http://127.0.0.1:{builder_port}"
        app_routes["/"] = add_to_pages({"index.html": APP_PAGE}, [console_bridge.script([builder])])["index.html"]
        builder_routes["/"] = (
            '<script>addEventListener("message", (e) => window.told(e.data.text))</script>'
            f'<iframe id="app" src="http://localhost:{app_port}/"></iframe>'
        ).encode()
        page = await browser.new_page()
        told: list[str] = []
        await page.expose_function("told", lambda text: told.append(text))
        try:
            await page.goto(f"{builder}/")
            yield page, asked, told
        finally:
            await page.close()


async def test_a_script_that_did_not_load_once_loads_with_the_page_again(chromium: Browser) -> None:  # noqa: F811
    async with framed(chromium, lambda nth: nth > 1) as (page, asked, told):
        root = page.frame_locator("#app").locator("#root")

        async def shown() -> bool:
            return await root.text_content() == "The app is here"

        await until(shown, "the app showed after its page loaded again", 20)
        assert asked["/"] == 2 and asked["/dep.js"] == 2
        assert told == []  # nothing for the builder's log: the app works


async def test_a_script_that_fails_again_is_reported_and_not_retried_for_ever(chromium: Browser) -> None:  # noqa: F811
    async with framed(chromium, lambda nth: False) as (page, asked, told):

        async def told_any() -> bool:
            return bool(told)

        await until(told_any, "the builder's page was told which script did not load", 20)
        assert told == [f"A script of the page did not load, even after loading the page again: {page.frames[1].url}main.js"]
        await page.wait_for_timeout(2000)
        assert asked["/"] == 2  # loaded again once, not for ever
