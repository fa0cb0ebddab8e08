"""Generation through its two doors: the SSE HTTP API (in process) and `python -m builder generate` (a subprocess).

Model answers come from a ScriptedLLMServer on 127.0.0.1, reached by the real SDKs; nothing is mocked.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from builder import db
from builder.api import api
from builder.composition import Services
from builder.generation.providers.offline import personalise
from builder.generation.starters import choose_starter, load_starters, render_starter
from builder.schemas import ProjectSummary
from builder.store import ProjectStore
from tests.conftest import TEST_ANTHROPIC_KEY, free_port
from tests.integration.test_cli import run_in_process
from tests.llm_server import ScriptedLLMServer, TextAnswer, ToolAnswer, Usage

SITE = {
    "index.html": '<!doctype html>\n<h1>Hello</h1>\n<script src="app.js"></script>\n',
    "app.js": "console.log('ol\u00e1 \U0001f950');\n",
}


def tool(files: dict[str, str], title: str = "Sunrise Bakery", summary: str = "A page for the bakery.", **extra: Any) -> dict:
    return {"title": title, "summary": summary, "files": [{"path": p, "content": c} for p, c in files.items()], **extra}


def parse_sse(text: str) -> list[tuple[str, dict[str, Any]]]:
    """`event: TYPE\\ndata: JSON\\n\\n` blocks as (TYPE, data) pairs."""
    pairs = []
    for block in text.split("\n\n"):
        if not block.strip():
            continue
        fields = dict(line.split(": ", 1) for line in block.split("\n"))
        assert set(fields) == {"event", "data"}, block
        data = json.loads(fields["data"])
        assert data["type"] == fields["event"]
        pairs.append((fields["event"], data))
    return pairs


@pytest.fixture
async def client(services: Services) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=api), base_url="http://testserver") as http:
        yield http


async def post_sse(client: httpx.AsyncClient, url: str, body: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    # ASGITransport buffers the whole response: fine, the stream ends at its done or error event.
    response = await client.post(url, json=body)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/event-stream")
    return parse_sse(response.text)


# -- the SSE API ------------------------------------------------------------------------------------------------------


async def test_generate_then_follow_up_over_sse(client: httpx.AsyncClient, scripted_llm: ScriptedLLMServer) -> None:
    usage = Usage(input_tokens=500, output_tokens=120, cache_read_input_tokens=300, cache_creation_input_tokens=20)
    scripted_llm.queue(ToolAnswer(tool(SITE), chunks=5, usage=usage))

    events = await post_sse(client, "/api/generate", {"prompt": "A landing page for my bakery", "provider": "anthropic"})

    types = [t for t, _ in events]
    assert types == ["status", "file_started", "file_done", "file_started", "file_done", "summary", "usage", "saved", "done"]
    assert [(d["path"], d["content"]) for t, d in events if t == "file_done"] == list(SITE.items())
    done = events[-1][1]
    project_id = done["project_id"]
    assert all(d["project_id"] == project_id for _, d in events)
    assert (done["version"], done["title"], done["summary"], done["files_done"]) == (
        1,
        "Sunrise Bakery",
        "A page for the bakery.",
        2,
    )
    assert done["usage"]["provider"] == "anthropic" and done["usage"]["cache_read_tokens"] == 300
    assert scripted_llm.requests[0].path == "/v1/messages"

    project = (await client.get(f"/api/projects/{project_id}")).json()
    assert project["name"] == "Sunrise Bakery" and project["current_version"] == 1
    content = (await client.get(f"/api/projects/{project_id}/files/app.js")).json()["content"]
    assert content == SITE["app.js"]

    edit = {"path": "index.html", "search": "<h1>Hello</h1>", "replace": "<h1>Fresh bread</h1>"}
    scripted_llm.queue(ToolAnswer(tool({}, summary="New heading.", edits=[edit])))
    events = await post_sse(client, f"/api/projects/{project_id}/generate", {"prompt": "Say fresh bread", "provider": "openai"})
    assert [t for t, _ in events] == ["status", "summary", "usage", "saved", "done"]
    assert events[-1][1]["version"] == 2 and events[-1][1]["project_id"] == project_id
    assert "<h1>Fresh bread</h1>" in (await client.get(f"/api/projects/{project_id}/files/index.html")).json()["content"]
    assert scripted_llm.requests[1].path == "/v1/chat/completions"
    assert "<h1>Hello</h1>" in scripted_llm.requests[1].text  # the follow-up showed the model the current file

    generations = (await client.get(f"/api/projects/{project_id}/generations")).json()
    assert [(g["prompt"], g["provider"], g["model"], g["outcome"], g["version"]) for g in generations] == [
        ("A landing page for my bakery", "anthropic", "claude-sonnet-5-5", "saved", 1),
        ("Say fresh bread", "openai", "gpt-4.1", "saved", 2),
    ]
    first = generations[0]
    assert (first["input_tokens"], first["output_tokens"], first["cache_read_tokens"], first["cache_write_tokens"]) == (
        500,
        120,
        300,
        20,
    )
    assert first["cost_usd"] > 0 and first["duration_s"] > 0 and first["summary"] == "A page for the bakery."
    assert [p["id"] for p in (await client.get("/api/projects")).json()["items"]] == [project_id]


async def test_default_provider_is_the_one_with_a_key(client: httpx.AsyncClient, scripted_llm: ScriptedLLMServer) -> None:
    scripted_llm.queue(ToolAnswer(tool(SITE)))
    events = await post_sse(client, "/api/generate", {"prompt": "A page"})
    assert events[-1][0] == "done"
    assert [r.path for r in scripted_llm.requests] == ["/v1/messages"]


async def test_offline_generation_over_sse(client: httpx.AsyncClient, offline_only: None) -> None:
    prompt = "A recipe book for my family"
    expected = render_starter(choose_starter(prompt, load_starters()), personalise(prompt))
    events = await post_sse(client, "/api/generate", {"prompt": prompt})
    assert events[-1][0] == "done"
    assert sorted(d["path"] for t, d in events if t == "file_done") == sorted(expected)
    files = (await client.get(f"/api/projects/{events[-1][1]['project_id']}/files")).json()
    assert sorted(f["path"] for f in files) == sorted(expected)


async def test_provider_without_a_key_is_refused_before_anything_is_made(client: httpx.AsyncClient, offline_only: None) -> None:
    response = await client.post("/api/generate", json={"prompt": "A page", "provider": "anthropic"})
    assert response.status_code == 400
    assert response.json() == {
        "detail": "Claude is not connected on this Forja: the person who runs it can connect it on the admin page."
    }
    response = await client.post("/api/generate", json={"prompt": "A page", "provider": "openai"})
    assert response.status_code == 400 and "OpenAI-compatible is not connected" in response.json()["detail"]
    assert (await client.get("/api/projects")).json()["items"] == []

    project_id = (await client.post("/api/projects", json={"name": "Mine", "files": SITE})).json()["id"]
    response = await client.post(f"/api/projects/{project_id}/generate", json={"prompt": "Red", "provider": "anthropic"})
    assert response.status_code == 400 and "Claude is not connected" in response.json()["detail"]
    assert (await client.get(f"/api/projects/{project_id}/generations")).json() == []


async def test_bad_generate_requests(client: httpx.AsyncClient, offline_only: None) -> None:
    assert (await client.post("/api/generate", json={"prompt": ""})).status_code == 422
    assert (await client.post("/api/generate", json={"prompt": "A page", "provider": "gemini"})).status_code == 422
    response = await client.post("/api/projects/nope/generate", json={"prompt": "A page"})
    assert response.status_code == 404
    assert (await client.get("/api/projects/nope/generations")).status_code == 404
    assert (await client.get("/api/projects")).json()["items"] == []


async def test_failed_first_generation_leaves_no_project(client: httpx.AsyncClient, scripted_llm: ScriptedLLMServer) -> None:
    existing = (await client.post("/api/projects", json={"name": "Mine", "files": SITE})).json()["id"]
    before = (await client.get("/api/projects")).json()["items"]
    scripted_llm.queue(TextAnswer("Happy to help! Which colours would you like?"))

    events = await post_sse(client, "/api/generate", {"prompt": "A page", "provider": "openai"})

    assert [t for t, _ in events] == ["status", "error"]
    assert "answered in words" in events[-1][1]["message"]
    assert (await client.get("/api/projects")).json()["items"] == before
    assert (await client.get(f"/api/projects/{events[-1][1]['project_id']}")).status_code == 404
    assert [p["id"] for p in before] == [existing]


async def test_blank_prompt_over_sse_ends_with_an_error_and_no_project(client: httpx.AsyncClient, offline_only: None) -> None:
    events = await post_sse(client, "/api/generate", {"prompt": "   "})
    assert [t for t, _ in events] == ["error"]
    assert "Describe what you want first" in events[0][1]["message"]
    assert (await client.get("/api/projects")).json()["items"] == []


async def test_failed_follow_up_keeps_the_project(client: httpx.AsyncClient, scripted_llm: ScriptedLLMServer) -> None:
    project_id = (await client.post("/api/projects", json={"name": "Mine", "files": SITE})).json()["id"]
    scripted_llm.queue(TextAnswer("Sorry, I cannot do that."))
    events = await post_sse(client, f"/api/projects/{project_id}/generate", {"prompt": "Red", "provider": "anthropic"})
    assert events[-1][0] == "error"
    project = (await client.get(f"/api/projects/{project_id}")).json()
    assert project["current_version"] == 1
    generations = (await client.get(f"/api/projects/{project_id}/generations")).json()
    assert [(g["outcome"], g["version"]) for g in generations] == [("failed", None)]
    assert "answered in words" in generations[0]["error"]


# -- the CLI ------------------------------------------------------------------------------------------------------------


class Cli:
    """`python -m builder` (in this process, as tests/integration/test_cli.py runs it) with its own data dir and no key, database URL or Forja setting inherited."""

    def __init__(self, data_dir: Path, **env: str) -> None:
        inherited = {
            k: v for k, v in os.environ.items() if not k.startswith(("FORJA_", "ANTHROPIC_", "OPENAI_")) and k != "DATABASE_URL"
        }
        # Empty values also beat any in a developer's .env.
        blank = {"DATABASE_URL": "", "ANTHROPIC_API_KEY": "", "OPENAI_API_KEY": "", "OPENAI_BASE_URL": ""}
        # A port no Forja listens on: the CLI never hands a checked generation to some Forja running on this machine.
        own = {"FORJA_DATA_DIR": str(data_dir), "FORJA_PORT": str(free_port()), "PYTHONDONTWRITEBYTECODE": "1"}
        self.env = {**inherited, **blank, **own, **env}

    def run(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        return run_in_process(list(args), self.env, timeout=timeout)

    def json(self, *args: str, timeout: float = 60) -> Any:
        result = self.run(*args, "--json", timeout=timeout)
        assert result.returncode == 0, f"{args} exited {result.returncode}: {result.stderr}"
        return json.loads(result.stdout)


async def stored_projects(data_dir: Path) -> list[ProjectSummary]:
    """What the CLI left in its SQLite database (read in process: faster than another `projects` subprocess)."""
    store = ProjectStore(db.create_engine(f"sqlite+aiosqlite:///{data_dir / 'forja.db'}"))
    try:
        return await store.list_projects()
    finally:
        await store.close()


async def test_cli_generates_offline_and_waits_for_the_check(tmp_path: Path) -> None:
    # No Forja answers on FORJA_PORT, so the CLI runs the app itself: the local runner, its own proxy port.
    cli = Cli(
        tmp_path / "data",
        FORJA_PREVIEW_PORT=str(free_port()),
        FORJA_PREVIEW_RUNNER="local",
        FORJA_PREVIEW_OFFLINE="true",
    )
    prompt = "A landing page for my bakery"
    expected = render_starter(choose_starter(prompt, load_starters()), personalise(prompt))

    out = cli.json("generate", prompt, timeout=300)

    assert out["version"] == 1 and out["files"] == sorted(expected)
    assert out["title"] == "Bakery" and "offline" in out["summary"]
    assert out["usage"]["provider"] == "offline" and out["usage"]["input_tokens"] == 0
    # It waited for the check: the starter ran, a browser looked at it, and nothing was wrong.
    verification = out["verification"]
    assert (verification["status"], verification["problems"], verification["attempts"]) == ("passed", [], 0)
    assert verification["screenshot"].startswith(f"/api/projects/{out['id']}/verifications/")
    [project] = await stored_projects(tmp_path / "data")
    assert (project.id, project.name, project.current_version, project.file_count) == (out["id"], "Bakery", 1, len(expected))


def test_cli_generates_with_claude_then_follows_up_with_openai(tmp_path: Path, llm_server: ScriptedLLMServer) -> None:
    cli = Cli(
        tmp_path / "data",
        ANTHROPIC_API_KEY=TEST_ANTHROPIC_KEY,
        ANTHROPIC_BASE_URL=llm_server.anthropic_base_url,
        OPENAI_BASE_URL=llm_server.openai_base_url,
        FORJA_RETRY_BASE_DELAY_S="0.01",
    )
    llm_server.queue(ToolAnswer(tool(SITE), chunks=3, usage=Usage(input_tokens=40, output_tokens=30)))
    out = cli.json("generate", "A landing page for my bakery", "--provider", "anthropic", "--no-verify")
    assert (out["version"], out["title"], out["files"]) == (1, "Sunrise Bakery", sorted(SITE))
    assert out["verification"] is None  # --no-verify: saved, not run
    assert out["usage"]["provider"] == "anthropic" and out["usage"]["model"] == "claude-sonnet-5-5"
    assert (out["usage"]["input_tokens"], out["usage"]["output_tokens"]) == (40, 30)

    edit = {"path": "app.js", "search": "console.log", "replace": "console.info"}
    llm_server.queue(ToolAnswer(tool({}, summary="Info, not log.", edits=[edit], delete=["index.html"])))
    follow = cli.json("generate", "Use console.info", "--project", out["id"], "--provider", "openai", "--no-verify")
    assert (follow["id"], follow["version"], follow["files"], follow["summary"]) == (out["id"], 2, ["app.js"], "Info, not log.")
    assert [r.path for r in llm_server.requests] == ["/v1/messages", "/v1/chat/completions"]
    assert "console.log" in llm_server.requests[1].text  # the follow-up showed the model the current file


async def test_cli_failed_generation_exits_1_and_leaves_no_project(tmp_path: Path, llm_server: ScriptedLLMServer) -> None:
    cli = Cli(tmp_path / "data", OPENAI_API_KEY="sk-test-openai-0123456789abcdef", OPENAI_BASE_URL=llm_server.openai_base_url)
    llm_server.queue(TextAnswer("What would you like the page to say?"))

    result = cli.run("generate", "A landing page", "--provider", "openai")

    assert result.returncode == 1, result.stderr
    assert result.stdout == ""
    assert "error: The model answered in words instead of writing files" in result.stderr
    assert "What would you like the page to say?" in result.stderr
    assert await stored_projects(tmp_path / "data") == []
    assert len(llm_server.requests) == 1
