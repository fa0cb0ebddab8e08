"""Which of a dev server's lines echo Forja's own doing (preview_runtime/echoes.py), as the servers print them."""

from __future__ import annotations

import pytest

from preview_runtime.echoes import ECHO_S, Echoes, probe_url, request_of


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.mark.parametrize(
    "line",
    [
        '127.0.0.1 - - [25/Nov/2026 06:36:54] "GET /?forja-probe HTTP/1.1" 200 -',  # http.server, Flask
        'INFO:     127.0.0.1:0 - "GET /?forja-probe HTTP/1.1" 200 OK',  # uvicorn
        '[api] INFO:     127.0.0.1:0 - "GET /health?x=1&forja-probe HTTP/1.1" 200 OK',
        "GET /?forja-probe 200 1.234 ms - 12",  # morgan
    ],
)
def test_forjas_probes_are_not_the_persons(line: str) -> None:
    assert not Echoes().keep(line)


@pytest.mark.parametrize(
    "line",
    [
        '127.0.0.1 - - [25/Nov/2026 06:36:54] "GET / HTTP/1.1" 200 -',
        'INFO:     127.0.0.1:0 - "GET /?forja-probes=1 HTTP/1.1" 200 OK',  # another parameter
        "  VITE v8.3.8  ready in 839 ms",
        "Traceback (most recent call last):",
    ],
)
def test_the_persons_lines_are_kept(line: str) -> None:
    assert Echoes().keep(line)


def test_probe_urls() -> None:
    assert probe_url("http://127.0.0.1:8080/") == "http://127.0.0.1:8080/?forja-probe"
    assert probe_url("http://10.0.0.2:8080/ready?deep=1") == "http://10.0.0.2:8080/ready?deep=1&forja-probe"
    assert request_of('"GET /?forja-probe HTTP/1.1" 200 OK') == ("GET", "/?forja-probe")
    assert request_of("HTTP  25/11/2026 06:36:54 127.0.0.1 GET /app.js") == ("GET", "/app.js")  # serve
    assert request_of("  VITE v8.3.8  ready in 839 ms") is None


def test_forjas_own_pushes_are_not_echoed_and_a_save_is_one_line() -> None:
    clock = Clock()
    echoes = Echoes(clock)
    echoes.pushed(["web/src/App.jsx", "web/src/components/Header.jsx"], own=True)
    for line in (
        "[web] 6:33:15 AM [vite] (client) hmr update /src/App.jsx, /src/index.css",
        "[web] 6:33:15 AM [vite] (client) hmr update /src/index.css, /src/components/Header.jsx (x2)",
    ):
        assert not echoes.keep(line), line
    assert echoes.keep("6:33:15 AM [vite] (client) hmr update /src/Other.jsx")  # not pushed by Forja
    assert echoes.keep('INFO:     127.0.0.1:0 - "GET /api/items HTTP/1.1" 200 OK')

    # The person saves two files a moment later, one of which Forja had pushed: their save shows, once.
    clock.now += 1
    echoes.pushed(["web/src/App.jsx", "web/index.html"], own=False)
    assert echoes.keep("[web] 6:33:16 AM [vite] (client) hmr update /src/App.jsx, /src/index.css")
    assert not echoes.keep("[web] 6:33:16 AM [vite] (client) page reload index.html")

    # Past ECHO_S, nothing announced is waited for any more.
    clock.now += ECHO_S
    assert echoes.keep("[web] 6:34:00 AM [vite] (client) hmr update /src/components/Header.jsx")


def test_each_announced_request_drops_one_access_line() -> None:
    clock = Clock()
    echoes = Echoes(clock)
    echoes.requested("get", "/static/app.js")
    echoes.requested("GET", "/api/items?page=2")
    line = '127.0.0.1 - - [25/Nov/2026 06:36:56] "GET /static/app.js HTTP/1.1" 200 -'
    assert not echoes.keep(line)
    assert echoes.keep(line)  # the person's own request for the same file
    assert echoes.keep('127.0.0.1 - - [25/Nov/2026 06:36:56] "POST /api/items?page=2 HTTP/1.1" 201 -')
    clock.now += ECHO_S + 1
    assert echoes.keep('INFO:     127.0.0.1:0 - "GET /api/items?page=2 HTTP/1.1" 200 OK')  # lapsed
