"""builder.services.previews.PreviewService with a real local preview behind a real Traefik on loopback.

The projects install with npm but have no dependencies, or a starter's, installed offline from the npm cache that
scripts/prefetch_starters.py filled, so nothing is fetched from a registry.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import os
import secrets
import signal
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

import builder.settings
from builder.composition import Services
from builder.errors import PreviewError
from builder.generation.starters import StarterVariables, load_starters, render_starter
from builder.models import LOCAL_USER_ID, Author
from builder.services.run_settings import RunSettings
from preview_runtime.runner import PreviewInfo, PreviewState
from tests.conftest import CHECKED_PROJECT, free_port, served
from tests.integration.test_cli import held_by_another_command

# Reads package.json once, when it starts: only a restart shows a new description.
SERVER = b"""const http = require('http');
const { description } = require('./package.json');
http.createServer((req, res) => res.writeHead(200, { 'content-type': 'text/html' }).end('<h1>' + description + '</h1>')).listen(Number(process.env.PORT), process.env.HOST);
"""


def manifest(description: str, server: str = "server.js") -> bytes:
    return json.dumps(
        {"name": "deps", "version": "1.0.0", "description": description, "scripts": {"dev": f"node {server}"}}
    ).encode()


async def test_a_dependency_change_restarts_the_preview_and_other_saves_do_not(local_previews: None, services: Services) -> None:
    created = await services.projects.create("Deps", {"package.json": manifest("one"), "server.js": SERVER}, owner=LOCAL_USER_ID)
    pid = created.project_id
    first = await services.previews.start(pid)
    assert await served(services, pid) == "<h1>one</h1>"

    await services.projects.save(pid, {"notes.txt": b"not a dependency"}, author=Author.user)
    kept = await services.previews.status(pid)
    assert kept is not None and kept.preview_id == first.preview_id

    await services.projects.save(pid, {"package.json": manifest("two")}, author=Author.user)
    restarted = await services.previews.status(pid)
    assert restarted is not None and restarted.preview_id != first.preview_id
    assert await served(services, pid) == "<h1>two</h1>"
    texts = [line.text for line in services.logs.history(pid)]
    assert "The dependencies changed: restarting the preview to install them." in texts


async def test_saved_run_settings_restart_the_running_preview_with_their_command(
    local_previews: None, services: Services
) -> None:
    created = await services.projects.create(
        "Own", {"package.json": manifest("detected"), "server.js": SERVER}, owner=LOCAL_USER_ID
    )
    pid = created.project_id
    first = await services.previews.start(pid)
    assert await served(services, pid) == "<h1>detected</h1>"
    command = (
        "node -e \"require('http').createServer((q, r) => r.end('<h1>own</h1>')).listen(process.env.PORT, process.env.HOST)\""
    )
    await services.run_settings.set(pid, RunSettings(command=command))
    restarted = await services.previews.status(pid)
    assert restarted is not None and restarted.preview_id != first.preview_id
    assert restarted.source == f"`{command}` from your run settings"
    assert await served(services, pid) == "<h1>own</h1>"


async def followed(services: Services, project_id: str) -> list[PreviewInfo]:
    """The preview's reports until its address answers (its url) or it ends: a preview that answered is followed on
    for as long as it runs (test_proxy_down_is_followed)."""
    seen: list[PreviewInfo] = []
    async with asyncio.timeout(120), contextlib.aclosing(services.previews.follow(project_id)) as reports:
        async for info in reports:
            seen.append(info)
            if info.url:
                break
    return seen


async def test_follow_reports_each_state_until_the_address_answers(local_previews: None, services: Services) -> None:
    # A script npm runs at install: a package.json with nothing to install would start without the installing state.
    package = json.loads(manifest("followed"))
    package["scripts"]["postinstall"] = "echo installed"
    created = await services.projects.create(
        "Followed", {"package.json": json.dumps(package).encode(), "server.js": SERVER}, owner=LOCAL_USER_ID
    )
    await services.previews.start(created.project_id)

    seen = await followed(services, created.project_id)

    states = [info.state for info in seen]
    assert states[0] == PreviewState.installing
    assert states[-1] == PreviewState.running
    assert set(states) <= {PreviewState.starting, PreviewState.installing, PreviewState.running}
    assert all((a.state, a.url) != (b.state, b.url) for a, b in itertools.pairwise(seen))
    # The address comes only with the last report, once it answers.
    assert [info.url for info in seen[:-1]] == [""] * (len(seen) - 1)
    proxy = (await services.preview_hub.manager()).proxy
    assert urlsplit(seen[-1].url).hostname == proxy.host_for(seen[-1].preview_id)
    async with httpx.AsyncClient(trust_env=False, timeout=10) as client:
        response = await client.get(proxy.internal_url(), headers=proxy.own_headers(seen[-1].preview_id))
    assert response.text == "<h1>followed</h1>"
    # Nothing changes any more: following again reports the answering preview alone.
    assert [info.state for info in await followed(services, created.project_id)] == [PreviewState.running]


async def test_a_preview_is_reconnecting_while_its_proxy_answers_nothing(local_previews: None, services: Services) -> None:
    created = await services.projects.create("Kept", {"package.json": manifest("kept"), "server.js": SERVER}, owner=LOCAL_USER_ID)
    pid = created.project_id
    await services.previews.start(pid)
    proxy = (await services.preview_hub.manager()).proxy
    async with asyncio.timeout(120), contextlib.aclosing(services.previews.follow(pid)) as reports:
        async for info in reports:
            if info.url:
                break
        silent = proxy.traefik_pid
        assert silent is not None
        os.kill(silent, signal.SIGSTOP)  # it answers nothing, then ends
        down = await anext(reports)
        assert (down.state, down.url) == (PreviewState.reconnecting, "")
        assert "Forja is starting the proxy again" in down.detail
        status = await services.previews.status(pid)
        assert status is not None and status.state == PreviewState.reconnecting
        os.kill(silent, signal.SIGKILL)
        back = await anext(reports)
    assert back.state == PreviewState.running and back.url
    assert await served(services, pid) == "<h1>kept</h1>"
    texts = [line.text for line in services.logs.history(pid)]
    assert "The app's address stopped answering: the preview proxy stopped, and Forja is starting it again." in texts
    assert "The preview proxy answers again: the app is back at its address." in texts


async def test_a_preview_whose_app_stops_answering_is_not_reported_running(local_previews: None, services: Services) -> None:
    """Behind a proxy that answers, an app gone quiet (its server stopped here with SIGSTOP, as a hung loop would be)
    is reported not answering within two questions, and running again once it answers."""
    # A name no other test's server has: tests run beside this one, and stopping their server would prove nothing here.
    script = f"quiet-{secrets.token_hex(4)}.js"
    created = await services.projects.create(
        "Quiet", {"package.json": manifest("quiet", script), script: SERVER}, owner=LOCAL_USER_ID
    )
    pid = created.project_id
    await services.previews.start(pid)
    manager = await services.preview_hub.manager()
    manager._liveness.every_s = 0.5  # pyright: ignore[reportPrivateUsage]
    async with asyncio.timeout(120), contextlib.aclosing(services.previews.follow(pid)) as reports:
        async for info in reports:
            if info.url:
                break
        server = _process_running(script.encode())
        os.kill(server, signal.SIGSTOP)
        try:
            quiet = await anext(reports)
            assert (quiet.state, quiet.url) == (PreviewState.not_answering, ""), quiet
            assert quiet.detail.startswith("The app stopped answering: its server runs but says nothing")
            status = await services.previews.status(pid)
            assert status is not None and status.state == PreviewState.not_answering
        finally:
            os.kill(server, signal.SIGCONT)
        back = await anext(reports)
    assert back.state == PreviewState.running and back.url
    assert await served(services, pid) == "<h1>quiet</h1>"
    texts = [line.text for line in services.logs.history(pid)]
    assert any(text.startswith("The app stopped answering") for text in texts) and "The app answers again." in texts


def _process_running(argument: bytes) -> int:
    """The pid of the process with `argument` on its command line (a sandbox's, seen from the host)."""
    for proc in Path("/proc").iterdir():
        try:
            if proc.name.isdigit() and argument in (proc / "cmdline").read_bytes().split(b"\0"):
                return int(proc.name)
        except OSError:
            continue
    raise AssertionError(f"no process runs {argument!r}")


async def test_no_preview_starts_on_a_data_folder_another_process_holds(local_previews: None, services: Services) -> None:
    created = await services.projects.create("Held", {"package.json": manifest("held"), "server.js": SERVER}, owner=LOCAL_USER_ID)
    with held_by_another_command(builder.settings.settings.data_dir) as pid:
        with pytest.raises(PreviewError) as refused:
            await services.previews.start(created.project_id)
        assert str(refused.value).startswith(
            f"The previews of the data folder {builder.settings.settings.data_dir} are run by a Forja command (pid {pid}: "
            "python -m builder eval --suite forja-smoke): this process starts none there"
        )
        assert not (builder.settings.settings.data_dir / "proxy" / "traefik.pid").exists()
    await services.previews.start(created.project_id)  # the folder is free once its holder ended
    assert await served(services, created.project_id) == "<h1>held</h1>"


async def test_follow_ends_with_the_failure_and_why(local_previews: None, services: Services) -> None:
    broken = json.dumps({"name": "broken", "version": "1.0.0", "scripts": {"dev": "node crash.js"}}).encode()
    crash = b"throw new Error('the app is broken on purpose');\n"
    created = await services.projects.create("Broken", {"package.json": broken, "crash.js": crash}, owner=LOCAL_USER_ID)
    await services.previews.start(created.project_id)

    seen = await followed(services, created.project_id)

    assert seen[-1].state == PreviewState.failed
    assert seen[-1].url == ""
    assert "The dev server exited with code 1" in seen[-1].detail
    assert "the app is broken on purpose" in seen[-1].detail
    assert PreviewState.running not in [info.state for info in seen]
    assert await followed(services, "no-such-project") == []


async def test_a_proxy_in_the_environment_does_not_carry_the_readiness_checks(
    local_previews: None, services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Forja's own requests to the preview proxy stay on loopback, whatever HTTP_PROXY says (corporate machines set it)."""
    created = await services.projects.create(
        "Proxied", {"package.json": manifest("proxied"), "server.js": SERVER}, owner=LOCAL_USER_ID
    )
    await services.previews.start(created.project_id)
    for name in ("HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.setenv(name, f"http://127.0.0.1:{free_port()}")
    for name in ("NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    seen = await followed(services, created.project_id)
    assert seen[-1].state == PreviewState.running and seen[-1].url
    assert await services.previews.answers(created.project_id)


async def test_run_checks_runs_the_projects_own_checks_in_its_preview(local_previews: None, services: Services) -> None:
    created = await services.projects.create("Checked", CHECKED_PROJECT, owner=LOCAL_USER_ID)
    pid = created.project_id
    with pytest.raises(PreviewError, match="No preview is running"):
        await services.previews.run_checks(pid, 60)
    await services.previews.start(pid)
    assert await served(services, pid) == "checked"

    lint, build = await services.previews.run_checks(pid, 60)

    assert (lint.name, lint.command, lint.passed, lint.timed_out, lint.skipped) == ("lint", "npm run lint", False, False, False)
    assert "src/app.js: x is never used" in lint.output_tail
    assert (build.name, build.command, build.passed, build.skipped) == ("build", "npm run build", True, False)
    assert "built dist/index.html" in build.output_tail
    assert 0 < build.duration_s < 60

    # The time is shared: with none left, each check is reported as skipped rather than run.
    skipped = await services.previews.run_checks(pid, 0)
    assert [(r.name, r.passed, r.skipped, r.output_tail) for r in skipped] == [
        ("lint", False, True, ""),
        ("build", False, True, ""),
    ]


async def test_prepare_installs_the_dependencies_of_a_partial_tree_before_its_preview(
    local_previews: None, services: Services, package_caches: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(builder.settings.settings, "npm_seed_cache", package_caches[0])
    monkeypatch.setattr(builder.settings.settings, "preview_offline", True)
    starter = next(s for s in load_starters() if s.name == "react-vite-tailwind")
    files = {path: text.encode() for path, text in render_starter(starter, StarterVariables(title="Early")).items()}
    pid = await services.projects.create_empty("Early", owner=LOCAL_USER_ID)

    # The model has written package.json only: no index.html, no src/ yet.
    services.previews.prepare(pid, {"package.json": files["package.json"]})
    async with asyncio.timeout(180):
        async for line in services.logs.follow(pid):
            assert not line.text.startswith(("Could not install", "Installing ahead failed")), line.text
            if line.text == "Dependencies cached: the next start of this project skips the install.":
                break
    history = services.logs.history(pid)
    assert any(line.source == "install" and "added" in line.text for line in history)

    # The rest arrives and the version is saved: its preview restores what was installed, and serves the page.
    await services.projects.save(pid, files, author=Author.ai)
    await services.previews.start(pid)
    assert "/src/main.jsx" in await served(services, pid)
    texts = [line.text for line in services.logs.history(pid)]
    assert any(text.startswith("Dependencies restored from the cache") for text in texts)


async def test_concurrent_starts_of_a_project_share_one_preview(local_previews: None, services: Services) -> None:
    # A generation's check and the page showing it both ask for the project's preview at the same moment.
    created = await services.projects.create("Twice", {"index.html": "<h1>once</h1>\n"}, owner=LOCAL_USER_ID)
    first, second = await asyncio.gather(services.previews.start(created.project_id), services.previews.start(created.project_id))
    assert first.preview_id == second.preview_id
    assert len((await services.preview_hub.manager()).running()) == 1
