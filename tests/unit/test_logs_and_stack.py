"""preview_runtime: log levels, the per-project log hub, and stack detection."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from builder.logview import LogEntry, access_status, group_lines, path_prefixes, relative_paths
from preview_runtime.logs import LogHub, LogLevel, classify
from preview_runtime.stack import detect_stack, is_manifest


@pytest.mark.parametrize(
    "text",
    [
        "npm ERR! code E404",
        "npm error code ERESOLVE",
        "Traceback (most recent call last):",
        "[vite] Internal server error: Failed to resolve import './App.jsx'",
        "Error: Cannot find module 'express'",
        "TypeError: Cannot read properties of undefined (reading 'map')",
        "Uncaught ReferenceError: x is not defined",
        "Failed to compile.",
        "npm run dev exited with code 1",
    ],
)
def test_classify_errors(text: str) -> None:
    assert classify(text) == LogLevel.error


@pytest.mark.parametrize(
    ("text", "level"),
    [
        ("VITE v5 ready in 300 ms", LogLevel.info),
        ("  ➜  Local:   http://localhost:5173/", LogLevel.info),
        ("added 120 packages in 3s", LogLevel.info),
        ("npm run dev exited with code 0", LogLevel.info),
        ("npm WARN deprecated inflight@1.0.6", LogLevel.warning),
        ("Warning: Each child in a list should have a unique key", LogLevel.warning),
    ],
)
def test_classify_non_errors(text: str, level: LogLevel) -> None:
    assert classify(text) == level


async def next_line(stream, wait: float = 2.0):
    return await asyncio.wait_for(anext(stream), wait)


async def test_follow_yields_history_then_live_lines_without_duplicates() -> None:
    hub = LogHub()
    hub.emit("p1", "one")
    hub.emit("p1", "two")
    hub.emit("other", "not for p1")
    stream = hub.follow("p1")
    try:
        assert (await next_line(stream)).text == "one"
        # Emitted while the history is being replayed: it must come once, after the history.
        hub.emit("p1", "three")
        assert (await next_line(stream)).text == "two"
        assert (await next_line(stream)).text == "three"
        hub.emit("other", "still not for p1")
        hub.emit("p1", "four npm ERR! code E404")
        line = await next_line(stream)
        assert line.text == "four npm ERR! code E404" and line.level == LogLevel.error
        with pytest.raises(TimeoutError):
            await next_line(stream, wait=0.1)  # nothing repeated, nothing from another project
    finally:
        await stream.aclose()
    assert not hub._listeners["p1"], "a closed stream stops listening"


async def test_follow_since_skips_seen_lines_and_sequence_numbers_grow() -> None:
    hub = LogHub()
    for i in range(5):
        hub.emit("p", f"line {i}")
    lines = hub.history("p")
    assert [line.seq for line in lines] == sorted({line.seq for line in lines}) and len(lines) == 5
    stream = hub.follow("p", since=lines[2].seq)
    try:
        assert [(await next_line(stream)).text for _ in range(2)] == ["line 3", "line 4"]
    finally:
        await stream.aclose()


async def test_two_followers_both_get_live_lines() -> None:
    hub = LogHub()
    first, second = hub.follow("p"), hub.follow("p")
    try:
        pending = [asyncio.ensure_future(next_line(s)) for s in (first, second)]
        await asyncio.sleep(0)
        hub.emit("p", "hello", source="dev-server")
        got = await asyncio.gather(*pending)
        assert [(line.text, line.source) for line in got] == [("hello", "dev-server")] * 2
    finally:
        await first.aclose()
        await second.aclose()


def test_history_keeps_the_last_lines() -> None:
    hub = LogHub(keep=3)
    for i in range(5):
        hub.emit("p", f"line {i}", level=LogLevel.debug)
    assert [line.text for line in hub.history("p")] == ["line 2", "line 3", "line 4"]
    assert all(line.level == LogLevel.debug for line in hub.history("p"))
    assert hub.history("unknown") == []


def package_json(deps: dict[str, str], dev: dict[str, str] | None = None) -> bytes:
    return json.dumps({"dependencies": deps, "devDependencies": dev or {}}).encode()


@pytest.mark.parametrize(
    ("tree", "stack"),
    [
        ({"requirements.txt": b"fastapi==0.115.0\nuvicorn[standard]\n", "main.py": b"app = 1"}, ["python", "fastapi"]),
        ({"index.html": b"<h1>Hi</h1>", "style.css": b"h1{}"}, ["html"]),
        ({"package.json": package_json({"react": "^18"}, {"vite": "^5"}), "index.html": b""}, ["react", "vite"]),
        ({"package.json": package_json({"next": "14", "react": "18"}, {"tailwindcss": "3"})}, ["next", "react", "tailwind"]),
        ({"package.json": package_json({"express": "4"})}, ["express"]),
        ({"pyproject.toml": b'[project]\ndependencies = ["flask>=3"]\n'}, ["python", "flask"]),
        ({"app.py": b"print('hi')"}, ["python"]),
        ({"package.json": b"{not json", "index.html": b""}, ["html"]),
        ({"node_modules/react/package.json": package_json({"react": "18"}), "index.html": b""}, ["html"]),
        ({"frontend/package.json": package_json({"vue": "3"}), "api/requirements.txt": b"django\n"}, ["vue", "python", "django"]),
        ({"README.md": b"# nothing to run"}, []),
    ],
)
def test_detect_stack(tree: dict[str, bytes], stack: list[str]) -> None:
    assert detect_stack(tree) == stack


def test_is_manifest() -> None:
    assert is_manifest("package.json") and is_manifest("web/package.json")
    assert is_manifest("requirements.txt") and is_manifest("api/pyproject.toml")
    assert not is_manifest("package.json.bak") and not is_manifest("src/main.py")


# -- the Logs tab's entries (builder.logview) ------------------------------------------------------


def entries_of(*lines: tuple[str, str], source: str = "dev-server") -> list[LogEntry]:
    return group_lines([(n, "12:00:00", level, source, text) for n, (level, text) in enumerate(lines, 1)])


def test_a_python_traceback_is_one_entry_at_the_errors_level() -> None:
    entries = entries_of(
        ("info", "Serving on port 8000"),
        ("error", "Traceback (most recent call last):"),
        ("info", '  File "app.py", line 3, in <module>'),
        ("info", "    main()"),
        ("info", "During handling of the above exception, another exception occurred:"),
        ("error", "Traceback (most recent call last):"),
        ("info", '  File "app.py", line 9, in main'),
        ("error", "ValueError: no menu"),
        ("info", "Serving again"),
    )
    assert [e.head for e in entries] == ["Serving on port 8000", "Traceback (most recent call last):", "Serving again"]
    traceback = entries[1]
    assert traceback.level == "error"
    assert traceback.more.splitlines()[-1] == "ValueError: no menu"
    assert traceback.text.count("\n") == 6


def test_a_vite_error_frame_and_a_node_stack_are_one_entry_each() -> None:
    entries = entries_of(
        ("error", "[vite] Internal server error: Failed to resolve import './Menu.jsx'"),
        ("info", "  Plugin: vite:import-analysis"),
        ("info", "  File: src/App.jsx:3:7"),
        ("info", "  3  |  import Menu from './Menu.jsx';"),
        ("info", "     |         ^"),
        ("info", "/app/server.js:4"),
        ("info", "  app.listen(PORT"),
        ("info", "  ^"),
        ("error", "SyntaxError: missing ) after argument list"),
        ("info", "    at wrapSafe (node:internal/modules/cjs/loader:1378:20)"),
    )
    assert len(entries) == 2
    assert entries[0].level == "error" and len(entries[0].more.splitlines()) == 4
    assert entries[1].level == "error" and entries[1].more.endswith("cjs/loader:1378:20)")


def test_an_indented_info_line_after_an_info_line_stays_its_own_entry() -> None:
    entries = entries_of(("info", "VITE v5 ready in 300 ms"), ("info", "  ➜  Local:   http://localhost:5173/"))
    assert len(entries) == 2


def test_paths_are_shown_relative_to_the_project(tmp_path: Path) -> None:
    prefixes = path_prefixes(tmp_path)
    local = f"{tmp_path.resolve()}/previews/abc123/src/App.jsx:3:7"
    assert relative_paths(f"Error in {local}", prefixes) == "Error in src/App.jsx:3:7"
    cache = f"{tmp_path.resolve()}/previews/.deps/k3y/node_modules/vite/dist/index.js"
    assert relative_paths(cache, prefixes) == "node_modules/vite/dist/index.js"
    assert relative_paths("at file:///app/server.js:4:1 and /deps/node_modules/x.js", prefixes) == (
        "at server.js:4:1 and node_modules/x.js"
    )
    assert relative_paths("see /usr/app/x and http://h/app/y", prefixes) == "see /usr/app/x and http://h/app/y"


@pytest.mark.parametrize(
    ("text", "status"),
    [
        ('127.0.0.1 - - [23/Nov/2026 21:00:00] "GET /style.css HTTP/1.1" 200 -', 200),
        ('INFO:     127.0.0.1:51234 - "GET /api/menu HTTP/1.1" 404 Not Found', 404),
        ('[23/Nov/2026 21:00:00] "POST /order HTTP/1.1" 500 145', 500),
        ("GET /menu 304 1.203 ms - -", 304),
        (" HTTP  11/23/2026 9:00:00 PM 127.0.0.1 GET /", 0),
        ("127.0.0.1 - - [23/Nov/2026 21:09:39] code 404, message File not found", 0),
        (" HTTP  11/23/2026 9:00:00 PM 127.0.0.1 Returned 200 in 3 ms", 200),
        ("VITE v5 ready in 300 ms", None),
        ("Saved version 2: index.html changed.", None),
    ],
)
def test_access_lines_are_recognised(text: str, status: int | None) -> None:
    assert access_status(text) == status


def test_successful_requests_are_marked_and_failed_ones_stay_in_sight() -> None:
    entries = entries_of(
        ("info", '127.0.0.1 - - [23/Nov/2026 21:00:00] "GET / HTTP/1.1" 200 -'),
        ("info", '127.0.0.1 - - [23/Nov/2026 21:00:00] "GET /missing.png HTTP/1.1" 404 -'),
        ("info", '127.0.0.1 - - [23/Nov/2026 21:00:00] "GET /boom HTTP/1.1" 500 -'),
    )
    assert [(e.request, e.level) for e in entries] == [(True, "info"), (False, "warning"), (False, "error")]


def test_the_webcontainer_fallback_is_said_once() -> None:
    entries = entries_of(
        ("warning", "WebContainer: boot timed out. Falling back to the server runner."),
        ("info", "Preview is running at http://x.localhost:8800"),
        ("info", "WebContainers could not start earlier in this tab (boot timed out); using the server runner."),
        source="webcontainer",
    )
    assert [e.head for e in entries] == [
        "Preview is running at http://x.localhost:8800",
        "WebContainers could not start earlier in this tab (boot timed out); using the server runner.",
    ]
