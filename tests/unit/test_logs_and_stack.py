"""preview_runtime: log levels, the per-project log hub, and stack detection."""

from __future__ import annotations

import asyncio
import json

import pytest

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
    lines = [hub.emit("p", f"line {i}") for i in range(5)]
    assert [line.seq for line in lines] == sorted({line.seq for line in lines})
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
