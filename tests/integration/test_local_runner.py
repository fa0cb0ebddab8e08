"""LocalRunner: real processes on 127.0.0.1, plainly and (when bubblewrap is installed) inside bwrap.

No test installs anything from a registry: the projects have no dependencies, or local ones, or the starters' packages
installed offline from the npm cache scripts/prefetch_starters.py filled, so every byte stays on this machine.
"""

from __future__ import annotations

import ast
import asyncio
import contextlib
import json
import os
import re
import secrets
import shutil
import signal
import sys
import time
import zipfile
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from preview_runtime.listening import HOME_NOT_FOUND
from preview_runtime.local import LocalRunner
from preview_runtime.local.sandbox import NODE_LINKS
from preview_runtime.logs import LogLevel
from preview_runtime.plan import RunPlan, dependency_key, plan_for
from preview_runtime.runner import PreviewInfo, PreviewSpec, PreviewState, RunnerError
from scripts.prefetch_starters import TESTED_PACKAGES
from tests.conftest import CHECKED_PROJECT, free_port

SECRET_NAME = "FORJA_TEST_SECRET_TOKEN"

HTML_PLAN = RunPlan(install="", dev="python -m http.server ${PORT:-8080} --bind 127.0.0.1", port=8080, has_server=False)
NODE_SERVER = b"""
const http = require('http')
const fs = require('fs')
const port = Number(process.env.PORT)
http.createServer((req, res) => {
  res.setHeader('Content-Type', 'text/plain; charset=utf-8')
  res.end(fs.readFileSync('message.txt'))
}).listen(port, process.env.HOST, () => console.log(`node listening on ${process.env.HOST}:${port}`))
"""
# The install's last line has no newline: the switch to dev-server output must still be seen.
NODE_PLAN = RunPlan(install="echo preparing the node project; printf done", dev="node server.js", port=3000, has_server=True)


@dataclass
class Sink:
    lines: list[tuple[str, str, LogLevel | None, str]] = field(default_factory=list)

    def __call__(self, preview_id: str, text: str, level: LogLevel | None, source: str) -> None:
        self.lines.append((preview_id, text, level, source))

    def texts(self, source: str | None = None) -> list[str]:
        return [text for _, text, _, src in self.lines if source is None or src == source]


def _bwrap_or_skip() -> None:
    if shutil.which("bwrap") is None:
        reason = "bubblewrap (bwrap) is not installed"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"bubblewrap is required in CI (apt-get install bubblewrap) but {reason}", pytrace=False)
        pytest.skip(f"Sandboxed local-runner tests skipped: {reason}")


@pytest.fixture(params=["plain", "bwrap"])
async def runner(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[LocalRunner]:
    if request.param == "bwrap":
        _bwrap_or_skip()
    monkeypatch.setenv(SECRET_NAME, "do-not-leak-" + secrets.token_hex(4))
    # A tag in every preview process's environment, to find any process left behind.
    instance = LocalRunner(tmp_path / "work", sandbox=request.param == "bwrap", env={"FORJA_TEST_RUN": secrets.token_hex(8)})
    yield instance
    await instance.close()


def _spec(preview_id: str, files: dict[str, bytes], plan: RunPlan) -> PreviewSpec:
    return PreviewSpec(preview_id=preview_id, project_id="project-1", version=1, files=files, plan=plan)


async def _until(runner: LocalRunner, preview_id: str, *states: PreviewState, within: float = 20) -> PreviewInfo:
    deadline = time.monotonic() + within
    while True:
        info = await runner.status(preview_id)
        if info.state in states:
            return info
        assert time.monotonic() < deadline, f"still {info.state} after {within} s: {info.detail}"
        await asyncio.sleep(0.05)


async def _fetch(url: str) -> httpx.Response:
    async with httpx.AsyncClient(timeout=5, trust_env=False) as client:
        return await client.get(url)


def _live_processes_tagged(tag: str) -> list[int]:
    """Processes (zombies aside) whose environment carries the tag."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            if Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z":
                continue
            if f"FORJA_TEST_RUN={tag}".encode() in Path(f"/proc/{entry}/environ").read_bytes().split(b"\0"):
                found.append(int(entry))
        except (OSError, IndexError):
            continue
    return found


async def _group_gone(pgid: int, within: float = 10) -> bool:
    """killpg(pgid, 0) raises ProcessLookupError once the group is empty (zombies count until reaped)."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return True
        await asyncio.sleep(0.05)
    return False


# -- pure helpers ---------------------------------------------------------------------------------


async def test_bad_paths_are_refused_before_anything_runs(tmp_path: Path) -> None:
    runner = LocalRunner(tmp_path / "work", sandbox=False)
    with pytest.raises(RunnerError):
        await runner.start(_spec("p1", {"../escape.txt": b"x"}, HTML_PLAN), Sink())
    assert not (tmp_path / "work" / "escape.txt").exists()
    assert not (tmp_path / "work" / "p1").exists()
    with pytest.raises(RunnerError):
        await runner.start(_spec("../up", {"index.html": b"x"}, HTML_PLAN), Sink())


# -- real previews --------------------------------------------------------------------------------


async def test_html_project_runs_and_push_files_changes_it(runner: LocalRunner) -> None:
    sink = Sink()
    info = await runner.start(_spec("html1", {"index.html": b"<h1>first</h1>"}, HTML_PLAN), sink)
    assert info.state == PreviewState.starting
    assert info.runner == "local"
    assert info.upstream.startswith("http://127.0.0.1:")
    info = await _until(runner, "html1", PreviewState.running)
    assert (await _fetch(info.upstream + "/index.html")).text == "<h1>first</h1>"

    await runner.push_files("html1", {"index.html": b"<h1>second</h1>", "about/index.html": b"about"}, [])
    assert (await _fetch(info.upstream + "/index.html")).text == "<h1>second</h1>"
    assert (await _fetch(info.upstream + "/about/")).text == "about"
    await runner.push_files("html1", {}, ["about/index.html"])
    assert (await _fetch(info.upstream + "/about/index.html")).status_code == 404
    with pytest.raises(RunnerError):
        await runner.push_files("html1", {"../../outside.txt": b"x"}, [])

    assert any("Serving HTTP on 127.0.0.1" in text for text in sink.texts("dev-server"))
    assert any("answers on port" in text for text in sink.texts("forja"))
    warned = any("without a sandbox" in text for text in sink.texts("forja"))
    assert warned is (not runner.sandbox)


async def test_node_project_runs_with_install_then_dev_logs(runner: LocalRunner) -> None:
    sink = Sink()
    files = {"server.js": NODE_SERVER, "message.txt": b"hello from node", "package.json": b'{"name": "n", "private": true}'}
    info = await runner.start(_spec("node1", files, NODE_PLAN), sink)
    assert info.state == PreviewState.installing
    info = await _until(runner, "node1", PreviewState.running)
    response = await _fetch(info.upstream + "/")
    assert response.text == "hello from node"
    await runner.push_files("node1", {"message.txt": b"changed"}, [])
    assert (await _fetch(info.upstream + "/")).text == "changed"
    assert sink.texts("install") == ["preparing the node project", "done"]
    assert any(text.startswith("node listening on 127.0.0.1:") for text in sink.texts("dev-server"))
    assert all(preview_id == "node1" for preview_id, *_ in sink.lines)


async def test_a_makefile_dev_target_runs_with_the_hosts_make(runner: LocalRunner) -> None:
    """The sandbox binds the host's /usr, make with it: a project whose Makefile starts it runs as detection plans it."""
    files = {"Makefile": b"dev:\n\tnode server.js\n", "server.js": NODE_SERVER, "message.txt": b"started by make dev"}
    plan = plan_for(files)
    assert plan.dev == "sh -c 'make dev'"
    await runner.start(_spec("make1", files, plan), Sink())
    info = await _until(runner, "make1", PreviewState.running)
    assert (await _fetch(info.upstream + "/")).text == "started by make dev"


async def test_failing_dev_command_fails_with_the_log_tail(runner: LocalRunner) -> None:
    sink = Sink()
    plan = RunPlan(install="", dev="echo compiling; echo 'Error: cannot find module ./missing' >&2; exit 3", has_server=False)
    await runner.start(_spec("fail1", {"index.html": b"x"}, plan), sink)
    info = await _until(runner, "fail1", PreviewState.failed)
    assert "exited with code 3" in info.detail
    assert "Error: cannot find module ./missing" in info.detail
    assert "compiling" in info.detail
    assert "Error: cannot find module ./missing" in sink.texts("dev-server")
    errors = [(text, level) for _, text, level, source in sink.lines if source == "forja" and level == LogLevel.error]
    assert errors and "exited with code 3" in errors[-1][0]


async def test_failing_install_says_so(runner: LocalRunner) -> None:
    sink = Sink()
    plan = RunPlan(install="echo 'npm error 404 Not Found - left-pad'; exit 1", dev="echo never", has_server=False)
    await runner.start(_spec("fail2", {"package.json": b"{}"}, plan), sink)
    info = await _until(runner, "fail2", PreviewState.failed)
    assert info.detail.startswith("The install command exited with code 1")
    assert "npm error 404" in info.detail
    assert sink.texts("dev-server") == []


async def test_stop_ends_every_process_and_removes_the_folder(runner: LocalRunner) -> None:
    # The dev command starts a grandchild too (a background sleep), as npm -> vite -> esbuild would.
    plan = RunPlan(install="", dev="sleep 300 & python -m http.server ${PORT:-8080} --bind 127.0.0.1", has_server=False)
    info = await runner.start(_spec("stop1", {"index.html": b"x"}, plan), Sink())
    info = await _until(runner, "stop1", PreviewState.running)
    tag = runner.extra_env["FORJA_TEST_RUN"]
    assert len(_live_processes_tagged(tag)) >= 3  # sh, sleep, python (and bwrap's own when sandboxed)
    pgid = int(info.handle)
    folder = runner.work_dir / "stop1"
    assert folder.is_dir()

    started = time.monotonic()
    await runner.stop("stop1")
    print(f"\nstop took {(time.monotonic() - started) * 1000:.0f} ms")
    assert _live_processes_tagged(tag) == []
    assert await _group_gone(pgid)
    assert not folder.exists()
    with pytest.raises(httpx.ConnectError):
        await _fetch(info.upstream + "/")
    with pytest.raises(RunnerError):
        await runner.status("stop1")


async def test_the_environment_has_no_secrets(runner: LocalRunner) -> None:
    plan = RunPlan(install="", dev="env > env.txt && python -m http.server ${PORT:-8080} --bind 127.0.0.1", has_server=False)
    info = await runner.start(_spec("env1", {"index.html": b"x"}, plan), Sink())
    info = await _until(runner, "env1", PreviewState.running)
    assert os.environ[SECRET_NAME].startswith("do-not-leak-")
    text = (await _fetch(info.upstream + "/env.txt")).text
    names = {line.split("=", 1)[0] for line in text.splitlines() if "=" in line}
    assert SECRET_NAME not in names
    assert os.environ[SECRET_NAME] not in text
    assert {"PORT", "HOST", "HOME", "PATH"} <= names
    values = dict(line.split("=", 1) for line in text.splitlines() if "=" in line)
    # In bubblewrap PORT is inside the preview's own network namespace; the upstream is the bridge's host end.
    assert values["PORT"] == info.upstream.rsplit(":", 1)[1] or runner.sandbox
    assert values["HOST"] == "127.0.0.1"
    assert Path(values["HOME"]).is_relative_to(runner.work_dir)


async def test_sandbox_hides_the_rest_of_the_machine(tmp_path: Path) -> None:
    _bwrap_or_skip()
    secret_file = tmp_path / "forja.env"  # outside the work dir, like Forja's own .env
    secret_file.write_text("ANTHROPIC_API_KEY=sk-ant-never")
    runner = LocalRunner(tmp_path / "work", sandbox=True)
    dev = (
        f"(cat {secret_file} || echo unreadable) > leak.txt 2>&1; "
        "(touch /usr/forja-was-here && echo wrote-usr || echo usr-read-only) >> leak.txt 2>&1; "
        "python -m http.server ${PORT:-8080} --bind 127.0.0.1"
    )
    try:
        sink = Sink()
        await runner.start(_spec("box1", {"index.html": b"x"}, RunPlan(dev=dev, has_server=False)), sink)
        info = await _until(runner, "box1", PreviewState.running)
        leak = (await _fetch(info.upstream + "/leak.txt")).text
        assert "sk-ant-never" not in leak
        assert "unreadable" in leak
        assert "usr-read-only" in leak
        assert any("bubblewrap sandbox" in text for text in sink.texts("forja"))
    finally:
        await runner.close()


_REPOSITORY = Path(__file__).resolve().parents[2]
# A Forja process killed (SIGKILL) the moment its sandbox's bubblewrap has started: the sandbox is still being set up.
_KILLED_AS_IT_STARTS = """
import asyncio, os, signal, sys
from pathlib import Path
from preview_runtime.local.limits import Limits
from preview_runtime.local.spawn import Spawner

async def main(work: Path, tag: str) -> None:
    spawner = Spawner(work, sandbox=True, allow_unsandboxed=False, limits=Limits(), egress_hosts=())
    env = {"HOME": str(work), "PATH": "/usr/bin:/bin", "FORJA_TEST_RUN": tag}
    await spawner.spawn(work, "sleep 300 & sleep 301", env, lambda text, level: None, "preview")
    os.kill(os.getpid(), signal.SIGKILL)

asyncio.run(main(Path(sys.argv[1]), sys.argv[2]))
"""


def _naming(folder: Path) -> list[int]:
    """Processes whose command line names the folder (bubblewrap's, binding it)."""
    return [int(pid) for pid in os.listdir("/proc") if pid.isdigit() and str(folder) in " ".join(_cmdline(int(pid)))]


async def test_a_forja_killed_as_a_sandbox_starts_leaves_none_of_it_running(tmp_path: Path) -> None:
    """bubblewrap's --die-with-parent holds only once the sandbox is set up; before, the sandbox's own watch of Forja's
    lifeline (sandbox.inside_environment) ends it."""
    _bwrap_or_skip()
    tag, work = secrets.token_hex(8), tmp_path / "work"
    work.mkdir()
    killed = await asyncio.create_subprocess_exec(sys.executable, "-c", _KILLED_AS_IT_STARTS, str(work), tag, cwd=_REPOSITORY)
    assert await killed.wait() == -signal.SIGKILL
    deadline = time.monotonic() + 5
    try:
        while left := _live_processes_tagged(tag) + _naming(work):
            assert time.monotonic() < deadline, [_cmdline(pid) for pid in left]
            await asyncio.sleep(0.05)
    finally:
        for pid in _naming(work):  # bubblewrap's: the kernel ends the rest with them
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)


async def test_ttl_reaps_old_previews(runner: LocalRunner) -> None:
    await runner.start(_spec("old1", {"index.html": b"x"}, HTML_PLAN), Sink())
    await _until(runner, "old1", PreviewState.running)
    assert await runner.reap() == []
    runner.ttl_seconds = 0
    await asyncio.sleep(0.01)
    assert await runner.reap() == ["old1"]
    assert not (runner.work_dir / "old1").exists()
    with pytest.raises(RunnerError):
        await runner.status("old1")


async def test_adopt_after_a_restart_cleans_up_and_returns_nothing(runner: LocalRunner) -> None:
    await runner.start(_spec("left1", {"index.html": b"x"}, HTML_PLAN), Sink())
    await _until(runner, "left1", PreviewState.running)
    tag = runner.extra_env["FORJA_TEST_RUN"]
    # A new Forja on the same work dir: the old one's preview must not survive it.
    successor = LocalRunner(runner.work_dir, sandbox=runner.sandbox)
    assert await successor.adopt() == []
    # adopt() ends the sandbox's outer process; the kernel ends what ran inside its pid namespace right after, in
    # sessions of their own (bubblewrap's --new-session), which a busy machine may take a moment over.
    deadline = time.monotonic() + 5
    while left := _live_processes_tagged(tag):
        assert time.monotonic() < deadline, left
        await asyncio.sleep(0.05)
    assert not (runner.work_dir / "left1").exists()
    assert (runner.work_dir / ".homes" / "project-1").is_dir()  # the project's caches stay
    assert await successor.adopt() == []


async def test_restart_with_the_same_id_replaces_the_old_preview(runner: LocalRunner) -> None:
    await runner.start(_spec("again", {"index.html": b"v1"}, HTML_PLAN), Sink())
    first = await _until(runner, "again", PreviewState.running)
    await runner.start(_spec("again", {"index.html": b"v2"}, HTML_PLAN), Sink())
    second = await _until(runner, "again", PreviewState.running)
    assert (await _fetch(second.upstream + "/")).text == "v2"
    if first.upstream != second.upstream:
        with pytest.raises(httpx.ConnectError):
            await _fetch(first.upstream + "/")


GREETING_SERVER = b"""
const http = require('http')
const greeting = require('greeting')
http.createServer((req, res) => res.end(greeting())).listen(Number(process.env.PORT), process.env.HOST)
"""
GREETING_PROJECT = {
    "server.js": GREETING_SERVER,
    # A local package: npm installs it with no registry at all.
    "package.json": b'{"name": "g", "private": true, "dependencies": {"greeting": "file:./vendor/greeting"}}',
    "vendor/greeting/package.json": b'{"name": "greeting", "version": "1.0.0", "main": "index.js"}',
    "vendor/greeting/index.js": b"module.exports = () => 'hello from a dependency'",
}


async def test_second_start_restores_node_modules_instead_of_installing(runner: LocalRunner) -> None:
    runner.extra_env["npm_config_offline"] = "true"
    plan = RunPlan(
        install="npm install --no-audit --no-fund", dev="node server.js", has_server=True, lockfile_hash_inputs=["package.json"]
    )
    first = Sink()
    info = await runner.start(_spec("deps1", GREETING_PROJECT, plan), first)
    assert info.state == PreviewState.installing
    info = await _until(runner, "deps1", PreviewState.running, within=60)
    assert (await _fetch(info.upstream + "/")).text == "hello from a dependency"
    deadline = time.monotonic() + 20
    while "Dependencies cached: the next start of this project skips the install." not in first.texts("forja"):
        assert time.monotonic() < deadline, first.texts()
        await asyncio.sleep(0.05)
    await runner.stop("deps1")

    second = Sink()
    info = await runner.start(_spec("deps2", GREETING_PROJECT, plan), second)
    assert info.state != PreviewState.installing
    info = await _until(runner, "deps2", PreviewState.running)
    assert (await _fetch(info.upstream + "/")).text == "hello from a dependency"
    assert any("Dependencies restored from the cache" in text for text in second.texts("forja"))
    assert second.texts("install") == []

    # Another package.json is another set of dependencies: installed, not restored.
    changed = {**GREETING_PROJECT, "package.json": GREETING_PROJECT["package.json"].replace(b'"g"', b'"g2"')}
    third = Sink()
    await runner.start(_spec("deps3", changed, plan), third)
    await _until(runner, "deps3", PreviewState.running, within=60)
    assert not any("restored" in text for text in third.texts("forja"))


async def test_dependencies_are_cached_after_the_dev_server_answers_or_at_its_stop(runner: LocalRunner) -> None:
    """The copy into the dependency cache never competes with the dev server's start (or a publish's build, which runs
    before its stand-in server answers); a preview stopped before its dev server answered is still cached."""
    runner.extra_env["npm_config_offline"] = "true"
    project = {**GREETING_PROJECT, "server.js": b"setTimeout(() => {" + GREETING_SERVER + b"}, 1500)"}
    plan = RunPlan(
        install="npm install --no-audit --no-fund", dev="node server.js", has_server=True, lockfile_hash_inputs=["package.json"]
    )
    first = Sink()
    await runner.start(_spec("after1", project, plan), first)
    await _until(runner, "after1", PreviewState.running, within=60)
    deadline = time.monotonic() + 20
    while (cached := "Dependencies cached: the next start of this project skips the install.") not in first.texts("forja"):
        assert time.monotonic() < deadline, first.texts()
        await asyncio.sleep(0.05)
    said = first.texts("forja")
    answered = next(i for i, text in enumerate(said) if text.startswith("The dev server answers on port"))
    assert said.index(cached) > answered, said
    await runner.stop("after1")

    # Another set of dependencies, its dev server never listening: stopped while it starts, its install is kept.
    other = {**GREETING_PROJECT, "package.json": GREETING_PROJECT["package.json"].replace(b'"g"', b'"g3"')}
    silent = plan.model_copy(update={"dev": "sleep 60"})
    second = Sink()
    await runner.start(_spec("after2", other, silent), second)
    deadline = time.monotonic() + 60
    while not (await runner.status("after2")).installed:
        assert time.monotonic() < deadline, second.texts()
        await asyncio.sleep(0.05)
    assert cached not in second.texts("forja")
    await runner.stop("after2")
    assert cached in second.texts("forja"), second.texts()
    third = Sink()
    await runner.start(_spec("after3", other, silent), third)
    assert any("Dependencies restored from the cache" in text for text in third.texts("forja")), third.texts()
    await runner.stop("after3")


async def test_a_node_watch_servers_dependencies_are_cached_once_it_has_ended(runner: LocalRunner) -> None:
    """Linking node_modules into the cache changes its files' link counts, which `node --watch` takes for changes and
    restarts on (a server restarting while a page loads drops its requests): its copy waits until it has ended."""
    runner.extra_env["npm_config_offline"] = "true"
    plan = RunPlan(
        # --install-links: the local package as files in node_modules, as a registry's would be, not a symbolic link.
        install="npm install --no-audit --no-fund --install-links",
        dev="node --watch server.js",
        has_server=True,
        lockfile_hash_inputs=["package.json"],
    )
    sink = Sink()
    await runner.start(_spec("watch1", GREETING_PROJECT, plan), sink)
    info = await _until(runner, "watch1", PreviewState.running, within=60)
    assert (await _fetch(info.upstream + "/")).text == "hello from a dependency"
    await asyncio.sleep(3)  # a copy made now would be done, and the restart it causes said
    cached = "Dependencies cached: the next start of this project skips the install."
    assert cached not in sink.texts("forja")
    assert not [text for text in sink.texts() if "Restarting" in text], sink.texts()
    await runner.stop("watch1")
    assert cached in sink.texts("forja"), sink.texts()


# Says who started it: npm sets npm_execpath for `npm run`; the runner sets npm_lifecycle_event for both.
WHO_SERVER = b"""require('http').createServer((req, res) => res.end(
  (process.env.npm_lifecycle_event || '-') + ' ' + (process.env.npm_execpath ? 'npm' : 'direct')
)).listen(Number(process.env.PORT), process.env.HOST);
"""


async def test_npm_run_scripts_run_without_npm_unless_npm_adds_something(runner: LocalRunner) -> None:
    """`npm run dev` runs the script itself (npm's Node process costs memory per preview); with a predev script, npm."""
    plain = {"package.json": b'{"name": "w", "scripts": {"dev": "node who.js"}}', "who.js": WHO_SERVER}
    plan = RunPlan(dev="npm run dev", port=3000, has_server=True)
    info = await runner.start(_spec("who1", plain, plan), Sink())
    info = await _until(runner, "who1", PreviewState.running)
    assert (await _fetch(info.upstream + "/")).text == "dev direct"

    with_pre = {**plain, "package.json": b'{"name": "w", "scripts": {"predev": "echo before", "dev": "node who.js"}}'}
    info = await runner.start(_spec("who2", with_pre, plan), Sink())
    info = await _until(runner, "who2", PreviewState.running)
    assert (await _fetch(info.upstream + "/")).text == "dev npm"


# A server that ignores $PORT, as many real ones do (plain `vite` on 5173, `app.listen(4000)`).
FIXED_PORT_SERVER = b"""
const http = require('http')
http.createServer((req, res) => {
  res.setHeader('Content-Type', 'text/html')
  res.end('<h1>fixed port ' + process.argv[2] + '</h1>')
}).listen(Number(process.argv[2]), process.argv[3], () => console.log('listening on ' + process.argv[2]))
"""


@pytest.mark.parametrize("host", ["127.0.0.1", "::1"])
async def test_a_server_that_ignores_port_is_found_where_it_listens(runner: LocalRunner, host: str) -> None:
    fixed = free_port()
    plan = RunPlan(dev=f"node fixed.js {fixed} {host}", port=3000, has_server=True)
    sink = Sink()
    await runner.start(_spec("fixed1", {"fixed.js": FIXED_PORT_SERVER}, plan), sink)
    info = await _until(runner, "fixed1", PreviewState.running)
    address = f"[{host}]:{fixed}" if ":" in host else f"{host}:{fixed}"
    # In bubblewrap the port is inside the preview's network namespace: the upstream is the bridge's end on the host.
    assert info.upstream == f"http://{address}" or runner.sandbox
    assert (await _fetch(info.upstream + "/")).text == f"<h1>fixed port {fixed}</h1>"
    assert any(f"listens on port {fixed}, not on $PORT" in text for text in sink.texts("forja"))


# A full-stack project's dev command: its API (JSON, on loopback at $PORT + 1) answers seconds before its front end's
# dev server (a page, on $PORT) has started, as on a busy machine.
API_FIRST = b"""const http = require('http');
const port = Number(process.env.PORT);
http.createServer((req, res) => res.writeHead(404, { 'content-type': 'application/json' }).end('{"detail":"Not Found"}'))
  .listen(port + 1, '127.0.0.1', () => console.log('api on ' + (port + 1)));
setTimeout(() => http.createServer((req, res) => res.writeHead(200, { 'content-type': 'text/html' }).end('<h1>the app</h1>'))
  .listen(port, process.env.HOST, () => console.log('web on ' + port)), 8000);
"""


async def test_a_front_ends_api_that_starts_first_is_not_taken_for_the_app(runner: LocalRunner) -> None:
    plan = RunPlan(dev="node both.js", port=3000, has_server=False)
    sink = Sink()
    await runner.start(_spec("apifirst1", {"both.js": API_FIRST}, plan), sink)
    info = await _until(runner, "apifirst1", PreviewState.running)
    assert (await _fetch(info.upstream + "/")).text == "<h1>the app</h1>"
    assert not any("not on $PORT" in text for text in sink.texts("forja"))


NOT_FOUND_SERVER = b"""require('http')
  .createServer((req, res) => { res.statusCode = 404; res.end('Cannot GET ' + req.url) })
  .listen(Number(process.env.PORT), process.env.HOST)
"""


async def test_a_front_ends_dev_server_whose_home_page_is_not_found_fails_with_why(runner: LocalRunner) -> None:
    """As Docusaurus' `serve` did with no build to serve: a front end's dev server answering 404 is no running app."""
    files = {"server.js": NOT_FOUND_SERVER}
    front_end = RunPlan(dev="node server.js", has_server=False, home_page=True)
    sink = Sink()
    await runner.start(_spec("home1", files, front_end), sink)
    info = await _until(runner, "home1", PreviewState.running, PreviewState.failed)
    assert (info.state, info.detail) == (PreviewState.failed, HOME_NOT_FOUND)
    assert HOME_NOT_FOUND in sink.texts("forja")
    # An API may have no page at its root: the same server runs.
    api = front_end.model_copy(update={"has_server": True, "home_page": False})
    info = await _until(runner, (await runner.start(_spec("home2", files, api), Sink())).preview_id, PreviewState.running)
    assert (await _fetch(info.upstream + "/")).status_code == 404


async def test_a_silent_dev_server_that_listens_nowhere_is_ended_with_why(tmp_path: Path) -> None:
    runner = LocalRunner(tmp_path / "work", sandbox=False, silent_s=2)
    sink = Sink()
    try:
        started = time.monotonic()
        await runner.start(_spec("silent1", {"x.txt": b""}, RunPlan(dev="echo waiting; sleep 600", has_server=False)), sink)
        info = await _until(runner, "silent1", PreviewState.failed, within=15)
        assert time.monotonic() - started < 10
        assert info.detail.startswith("The dev server has printed nothing for 2 s and listens on no port")
        await asyncio.sleep(0.5)  # the supervisor sees the shell end: the reason stays the one given
        assert (await runner.status("silent1")).detail.startswith("The dev server has printed nothing")
    finally:
        await runner.close()


# -- commands beside the dev server (the project's own checks) ---------------------------------------


def _sleeping(seconds: str) -> list[int]:
    """Pids of live `sleep SECONDS` processes (the odd durations below name the ones a test started)."""
    found = []
    for entry in os.listdir("/proc"):
        try:
            if entry.isdigit() and Path(f"/proc/{entry}/cmdline").read_bytes() == f"sleep\0{seconds}\0".encode():
                found.append(int(entry))
        except OSError:
            continue
    return found


async def _none_sleeping(*durations: str, within: float = 2) -> bool:
    """No `sleep` of these durations is left (a sandbox's end as the kernel tears down its pid namespace)."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if not any(_sleeping(seconds) for seconds in durations):
            return True
        await asyncio.sleep(0.05)
    return False


async def test_run_command_runs_in_the_preview_with_the_dev_servers_environment(runner: LocalRunner) -> None:
    sink = Sink()
    info = await runner.start(_spec("cmd1", CHECKED_PROJECT, RunPlan(dev="npm run dev", port=3000, has_server=True)), sink)
    info = await _until(runner, "cmd1", PreviewState.running)

    built = await runner.run_command("cmd1", 'npm run build && cat dist/index.html && echo "port=$PORT"', 30)
    assert built.exit_code == 0 and not built.timed_out, built.output
    assert "built dist/index.html" in built.output and "<h1>built</h1>" in built.output
    port = next(m[1] for text in sink.texts("forja") if (m := re.search(r"Running on (?:127\.0\.0\.1:|port )(\d+)", text)))
    assert f"port={port}" in built.output  # the dev server's own PORT
    assert (runner.work_dir / "cmd1" / "dist" / "index.html").read_text() == "<h1>built</h1>"

    linted = await runner.run_command("cmd1", "npm run lint", 30)
    assert linted.exit_code == 1 and not linted.timed_out
    assert "src/app.js: x is never used" in linted.output
    # Only the end of 500 lines is kept, where the error is.
    assert len(linted.output) <= 4000 and "checking file 499" in linted.output and "checking file 0\n" not in linted.output
    assert (await runner.run_command("cmd1", "echo to stderr >&2; exit 7", 5)).model_dump(exclude={"duration_s"}) == {
        "exit_code": 7,
        "output": "to stderr\n",
        "timed_out": False,
    }
    assert (await _fetch(info.upstream + "/")).text == "checked"  # the dev server ran on beside them


async def test_run_command_kills_everything_it_started_at_the_time_limit(runner: LocalRunner) -> None:
    await runner.start(_spec("cmd2", {"index.html": b"x"}, HTML_PLAN), Sink())
    info = await _until(runner, "cmd2", PreviewState.running)

    outcome = await runner.run_command("cmd2", "echo started; sleep 61.25 & sleep 62.25", 2)

    assert outcome.timed_out and outcome.exit_code is None
    assert 2 <= outcome.duration_s < 5
    assert outcome.output == "started\n"
    assert await _none_sleeping("61.25", "62.25")
    assert (await _fetch(info.upstream + "/index.html")).text == "x"


async def test_run_command_stays_in_the_previews_sandbox(tmp_path: Path) -> None:
    _bwrap_or_skip()
    secret_file = tmp_path / "forja.env"  # outside the work dir, like Forja's own .env
    secret_file.write_text("ANTHROPIC_API_KEY=sk-ant-never")
    runner = LocalRunner(tmp_path / "work", sandbox=True)
    try:
        await runner.start(_spec("box2", {"index.html": b"x"}, HTML_PLAN), Sink())
        await _until(runner, "box2", PreviewState.running)
        command = f"cat {secret_file}; touch {tmp_path}/escaped.txt; touch /usr/forja-was-here; touch inside.txt"
        outcome = await runner.run_command("box2", command, 10)
        assert "sk-ant-never" not in outcome.output
        assert "Read-only file system" in outcome.output  # /usr, as the dev server sees it
        assert not (tmp_path / "escaped.txt").exists()
        assert (runner.work_dir / "box2" / "inside.txt").exists()
    finally:
        await runner.close()


# Says which program started this Node, and which Node it is.
NODE_PARENT = "node -p \"require('fs').readlinkSync('/proc/' + process.ppid + '/exe') + ' ' + process.execPath\""


async def test_the_sandboxs_node_npm_npx_and_corepack_start_with_no_python_between(tmp_path: Path) -> None:
    """The venv's node and npm are Python scripts that run Node as a child; the sandbox runs Node's own."""
    _bwrap_or_skip()
    runner = LocalRunner(tmp_path / "work", sandbox=True)
    try:
        scripts = {"name": "n", "scripts": {"who": "node -p process.execPath"}}
        files = {"index.html": b"x", "package.json": json.dumps(scripts).encode()}
        await runner.start(_spec("node1", files, HTML_PLAN), Sink())
        await _until(runner, "node1", PreviewState.running)
        outcome = await runner.run_command("node1", f"{NODE_PARENT}; npm --version; npx --version; corepack --version", 30)
        assert outcome.exit_code == 0, outcome.output
        parent, node, npm, npx, corepack = outcome.output.split()
        assert Path(parent).name in ("dash", "bash", "sh"), parent  # the command's shell, no Python between
        assert node == str(NODE_LINKS["node"].resolve())
        npm_package = json.loads((NODE_LINKS["npm"].parents[1] / "package.json").read_text())
        assert npm == npx == npm_package["version"]
        assert re.fullmatch(r"\d+\.\d+\.\d+", corepack)
        ran = await runner.run_command("node1", "npm run --silent who", 30)  # npm's scripts get the same Node
        assert ran.exit_code == 0 and ran.output.strip() == node, ran.output
    finally:
        await runner.close()


# bcrypt's own example: a hash made and checked by its native addon (scripts/prefetch_starters.py's TESTED_PACKAGES).
BCRYPT_SERVER = b"""const http = require('http')
const bcrypt = require('bcrypt')
const hash = bcrypt.hashSync('forja', 4)
const answer = `${hash} ${bcrypt.compareSync('forja', hash)} ${bcrypt.compareSync('other', hash)}`
http.createServer((req, res) => res.end(answer)).listen(Number(process.env.PORT), process.env.HOST)
"""


async def test_a_native_addon_builds_from_source_offline_in_the_sandbox(tmp_path: Path, tested_packages: Path) -> None:
    """bcrypt 5's prebuilt binary is on GitHub, which the sandbox cannot reach: its install falls back to node-gyp,
    which builds it from the registry's source tarball against the headers of the Node Forja ships (none downloaded)."""
    _bwrap_or_skip()
    runner = LocalRunner(tmp_path / "work", npm_seed=tested_packages, env={"npm_config_offline": "true"})
    manifest = {"name": "native", "private": True, "scripts": {"dev": "node server.js"}, "dependencies": TESTED_PACKAGES}
    files = {"package.json": json.dumps(manifest).encode(), "server.js": BCRYPT_SERVER}
    sink = Sink()
    try:
        await runner.start(_spec("native1", files, plan_for(files)), sink)
        info = await _until(runner, "native1", PreviewState.running, PreviewState.failed, within=180)
        assert info.state == PreviewState.running, info.detail
        hashed, right, wrong = (await _fetch(info.upstream + "/")).text.split()
        assert (hashed[:7], right, wrong) == ("$2b$04$", "true", "false")
        # node-pre-gyp's build folder (build-tmp-napi-v3) holds what the compiler made here.
        assert list((runner.work_dir / "native1/node_modules/bcrypt").rglob("*.o")), "not compiled here"
        assert not [text for text in sink.texts() if "nodejs.org" in text]
    finally:
        await runner.close()


def _mkdocs_new(wheels: Path) -> dict[str, bytes]:
    """The site `mkdocs new` writes, in the words of the wheel's own mkdocs/commands/new.py."""
    [wheel] = wheels.glob("mkdocs-1.6.1-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        source = archive.read("mkdocs/commands/new.py").decode()
    said = {
        node.targets[0].id: ast.literal_eval(node.value)
        for node in ast.parse(source).body
        if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name) and isinstance(node.value, ast.Constant)
    }
    return {"mkdocs.yml": said["config_text"].encode(), "docs/index.md": said["index_text"].encode()}


async def test_a_mkdocs_site_as_mkdocs_new_writes_it_previews_offline_in_the_sandbox(tmp_path: Path, tested_wheels: Path) -> None:
    """No app, no requirements.txt: MkDocs is installed from the wheels with no index, and serves the site's page."""
    _bwrap_or_skip()
    runner = LocalRunner(tmp_path / "work", env={"PIP_FIND_LINKS": str(tested_wheels), "PIP_NO_INDEX": "1"})
    files = _mkdocs_new(tested_wheels)
    plan = plan_for(files)
    assert plan.framework == "MkDocs"
    try:
        await runner.start(_spec("docs1", files, plan), Sink())
        info = await _until(runner, "docs1", PreviewState.running, PreviewState.failed, within=180)
        assert info.state == PreviewState.running, info.detail
        page = (await _fetch(info.upstream + "/")).text
        assert "<title>My Docs</title>" in page and "Welcome to MkDocs" in page
    finally:
        await runner.close()


async def test_run_command_needs_a_running_preview(tmp_path: Path) -> None:
    runner = LocalRunner(tmp_path / "work", sandbox=False)
    try:
        with pytest.raises(RunnerError, match="not running"):
            await runner.run_command("nothing", "true", 5)
        await runner.start(_spec("dead1", {"index.html": b"x"}, RunPlan(dev="exit 3", has_server=False)), Sink())
        await _until(runner, "dead1", PreviewState.failed)
        with pytest.raises(RunnerError, match=r"not running \(it is failed\)"):
            await runner.run_command("dead1", "true", 5)
    finally:
        await runner.close()


# -- installing ahead (prepare) ----------------------------------------------------------------

EXPRESS_SERVER = b"""import express from 'express'
express().get('/', (req, res) => res.send('express is installed')).listen(Number(process.env.PORT), process.env.HOST)
"""
NPM_ADDED = re.compile(r"added \d+ packages?")


def _express_project(**scripts: str) -> dict[str, bytes]:
    """A project whose dependency (express) is in the starters' npm seed; `scripts` run during its install."""
    manifest = {"name": "ahead", "private": True, "type": "module", "scripts": {"dev": "node server.js", **scripts}}
    manifest["dependencies"] = {"express": "5.3.0"}
    return {"package.json": json.dumps(manifest).encode(), "server.js": EXPRESS_SERVER}


def _install_offline(runner: LocalRunner, package_caches: tuple[Path, Path]) -> None:
    runner.npm_seed = package_caches[0]
    runner.extra_env["npm_config_offline"] = "true"


def _installs(sink: Sink) -> int:
    """How many npm installs ended in this log: each says "added N packages" once."""
    return sum(bool(NPM_ADDED.search(text)) for text in sink.texts("install"))


def _cmdline(pid: int) -> list[str]:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().decode().split("\0")[:-1]
    except OSError:
        return []


async def _tagged_process(tag: str, argv: list[str], within: float = 60) -> int:
    """The pid of a process of the test's runner running exactly `argv`, once there is one."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        for pid in _live_processes_tagged(tag):
            if _cmdline(pid) == argv:
                return pid
        await asyncio.sleep(0.1)
    raise AssertionError(f"no process ran {argv} within {within} s")


async def test_prepare_installs_ahead_and_the_start_restores_instead_of_installing(
    runner: LocalRunner, package_caches: tuple[Path, Path]
) -> None:
    _install_offline(runner, package_caches)
    # npm runs postinstall in the folder it installs in: its listing shows what that folder holds.
    files = _express_project(postinstall="ls -A")
    plan = plan_for(files)
    ahead = Sink()
    await runner.prepare("project-1", files, plan, ahead)
    assert _installs(ahead) == 1, ahead.texts()
    assert {"package.json", "node_modules"} <= set(ahead.texts("install"))
    assert "server.js" not in ahead.texts("install")  # the dependency files only
    assert "Dependencies cached: the next start of this project skips the install." in ahead.texts("forja")
    assert list((runner.work_dir / ".prepare").iterdir()) == []
    again = Sink()
    await runner.prepare("project-1", files, plan, again)
    assert again.lines == []  # the same dependency files: nothing to do

    started = Sink()
    info = await runner.start(_spec("ahead1", files, plan), started)
    info = await _until(runner, "ahead1", PreviewState.running, within=60)
    assert (await _fetch(info.upstream + "/")).text == "express is installed"
    assert any("Dependencies restored from the cache" in text for text in started.texts("forja"))
    assert started.texts("install") == []


async def test_a_start_during_the_install_ahead_waits_for_it_and_installs_once(
    runner: LocalRunner, package_caches: tuple[Path, Path]
) -> None:
    _install_offline(runner, package_caches)
    files = _express_project(postinstall="sleep 2")  # keeps the install going while the preview starts
    plan = plan_for(files)
    ahead = Sink()
    preparing = asyncio.create_task(runner.prepare("project-1", files, plan, ahead))
    await _tagged_process(runner.extra_env["FORJA_TEST_RUN"], ["sleep", "2"])

    started = Sink()
    info = await runner.start(_spec("ahead2", files, plan), started)
    assert info.state == PreviewState.installing
    assert not preparing.done()
    info = await _until(runner, "ahead2", PreviewState.running, within=60)
    assert preparing.done()
    assert (await _fetch(info.upstream + "/")).text == "express is installed"
    assert _installs(ahead) == 1 and started.texts("install") == []
    forja = started.texts("forja")
    assert any(text.startswith("Waiting for the dependencies already being installed") for text in forja)
    assert any("Dependencies restored from the cache" in text for text in forja)
    assert len(list((runner.work_dir / ".deps").iterdir())) == 1


async def test_prepare_with_another_package_json_cancels_the_install_ahead(
    runner: LocalRunner, package_caches: tuple[Path, Path]
) -> None:
    _install_offline(runner, package_caches)
    first, second = _express_project(postinstall="sleep 317"), _express_project()
    plan = plan_for(first)
    first_sink = Sink()
    first_prepare = asyncio.create_task(runner.prepare("project-1", first, plan, first_sink))
    sleeper = await _tagged_process(runner.extra_env["FORJA_TEST_RUN"], ["sleep", "317"])
    scratch = Path(os.readlink(f"/proc/{sleeper}/cwd"))
    assert scratch.parent == runner.work_dir / ".prepare"
    group = os.getpgid(sleeper)

    second_sink = Sink()
    async with asyncio.timeout(60):  # not the 317 s of the first install: it was cancelled
        await runner.prepare("project-1", second, plan, second_sink)
    assert first_prepare.done()
    assert await _group_gone(group)
    assert list(scratch.parent.iterdir()) == []  # its scratch folder is gone, and the second one's too
    assert "Stopped installing those dependencies: other dependency files replace them." in first_sink.texts("forja")
    assert _installs(first_sink) == 0 and _installs(second_sink) == 1
    cached = [path.name for path in (runner.work_dir / ".deps").iterdir()]
    assert cached == [dependency_key(plan, second, ["project-1"])]


async def test_a_parked_preview_with_app_variables_is_not_taken_back_without_them(runner: LocalRunner) -> None:
    plan = HTML_PLAN.model_copy(update={"env": {"STRIPE_KEY": "sk_parked_1a2b3c4d"}})
    await runner.start(_spec("envp1", {"index.html": b"x"}, plan), Sink())
    await _until(runner, "envp1", PreviewState.running)
    await runner.park("envp1")
    record = runner.work_dir / ".runs" / "envp1.json"
    assert record.is_file() and b"sk_parked" not in record.read_bytes()  # no value on disk
    successor = LocalRunner(runner.work_dir, sandbox=runner.sandbox)
    assert await successor.adopt() == []  # it would wake without its variables: removed, to start afresh
    assert not (runner.work_dir / "envp1").exists()
