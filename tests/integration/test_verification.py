"""Generations that are run, looked at and repaired: the scripted model server, a real preview, a real Chromium.

The model's answers come from tests/llm_server.py through the real SDKs; each saved version runs in the local
runner behind Traefik and is loaded by headless Chromium (preview_runtime.verify). Nothing is mocked, so a
problem the browser does not see, or a repair that is not applied, fails these tests.
"""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

import builder.settings
from builder.api import api
from builder.composition import Services
from builder.errors import BudgetExceeded, ForjaError
from builder.generation.engine import GenerationEvent
from builder.generation.starters import StarterVariables, load_starters, render_starter
from builder.models import LOCAL_USER_ID
from preview_runtime.check_script import is_check_path
from tests.integration.test_generation_api import post_sse
from tests.llm_server import ScriptedLLMServer, ToolAnswer, Usage

PAGE = (
    '<!doctype html>\n<html>\n<head><meta charset="utf-8"><title>Greeting</title></head>\n'
    '<body>\n<h1 id="greeting">Hello</h1>\n<script src="main.js"></script>\n</body>\n</html>\n'
)
# Throws at load: there is no #name element.
BROKEN = "document.querySelector('#name').textContent = 'Ana';\n"
FIXED = "document.querySelector('#greeting').textContent = 'Hello, Ana';\n"
FIRST_USAGE = Usage(input_tokens=1000, output_tokens=200)
REPAIR_USAGE = Usage(input_tokens=1500, output_tokens=50)


def answer(files: dict[str, str], summary: str = "A greeting page.") -> dict[str, Any]:
    return {"title": "Greeting", "summary": summary, "files": [{"path": p, "content": c} for p, c in files.items()]}


def fix(search: str, replace: str) -> dict[str, Any]:
    return {"summary": "Fixed the greeting.", "edits": [{"path": "main.js", "search": search, "replace": replace}]}


async def generate(services: Services, prompt: str, provider: str = "anthropic") -> tuple[str, list[GenerationEvent]]:
    project_id = await services.projects.create_empty("New app", owner=LOCAL_USER_ID)
    await services.generations.start(project_id, prompt, provider, verify=True)
    async with asyncio.timeout(300):
        return project_id, [event async for event in services.generations.follow(project_id)]


def of_type(events: list[GenerationEvent], kind: str) -> list[GenerationEvent]:
    return [e for e in events if e.type == kind]


@pytest.mark.usefixtures("local_previews")
async def test_an_app_that_throws_at_load_is_repaired_in_one_round(services: Services, scripted_llm: ScriptedLLMServer) -> None:
    scripted_llm.queue(
        ToolAnswer(answer({"index.html": PAGE, "main.js": BROKEN}), usage=FIRST_USAGE),
        ToolAnswer(fix(BROKEN.strip(), FIXED.strip()), usage=REPAIR_USAGE),
    )
    project_id, events = await generate(services, "A page that greets Ana")

    done = events[-1]
    assert done.type == "done", [e.message for e in events if e.type == "error"]
    checks = of_type(events, "verification")
    assert [c.verification["status"] for c in checks if c.verification] == ["problems", "passed"]
    first_problems = checks[0].verification["problems"] if checks[0].verification else []
    assert any(p["kind"] == "exception" and "textContent" in p["message"] for p in first_problems), first_problems
    # The repair request carried the browser's own words about the error.
    repair_request = scripted_llm.requests[1].text
    assert "textContent" in repair_request and "main.js" in repair_request

    assert done.version == 2 and done.verification is not None
    assert (done.verification["status"], done.verification["attempts"]) == ("passed", 1)
    assert done.message.startswith("Checked: runs, no errors.")
    # Both rounds' tokens are summed, and each round is listed.
    assert done.usage is not None
    assert (done.usage["input_tokens"], done.usage["output_tokens"]) == (2500, 250)
    assert [r["round"] for r in done.usage["rounds"]] == [0, 1]
    assert done.usage["cost_usd"] == pytest.approx((2500 * 3.0 + 250 * 15.0) / 1e6)

    tree = await services.projects.read_tree(project_id)
    assert tree["main.js"].decode() == FIXED
    records = await services.generations.records(project_id)
    assert [(r.kind, r.outcome, r.version) for r in records] == [("prompt", "saved", 1), ("repair", "saved", 2)]
    usage = await services.generations.usage(project_id)
    assert (usage.generations, usage.input_tokens, usage.output_tokens) == (2, 2500, 250)

    # The passing check's screenshot is a real JPEG of the page, and is the project's thumbnail.
    verifications = await services.verifications.records(project_id)
    assert [(v.version, v.status) for v in verifications] == [(1, "problems"), (2, "passed")]
    thumbnail = await services.verifications.thumbnail(project_id)
    assert thumbnail is not None and thumbnail[:3] == b"\xff\xd8\xff" and len(thumbnail) > 2000


@pytest.mark.usefixtures("local_previews")
async def test_repairs_stop_at_the_cap_and_say_so(
    services: Services, scripted_llm: ScriptedLLMServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(builder.settings.settings, "auto_fix_attempts", 2)
    # Three scripts throw; each round fixes one, so every round helps, and only the cap ends it with
    # one problem left. The third fix must never be asked for.
    scripts = {name: f"document.querySelector('#{name}').textContent = 'Ana';\n" for name in ("a", "b", "c")}
    page = PAGE.replace('<script src="main.js"></script>', "".join(f'<script src="{n}.js"></script>' for n in scripts))
    files = {"index.html": page, **{f"{n}.js": text for n, text in scripts.items()}}

    def fixed(name: str) -> dict[str, Any]:
        edit = {"path": f"{name}.js", "search": f"#{name}')", "replace": "#greeting')"}
        return {"summary": f"Fixed {name}.js.", "edits": [edit]}

    scripted_llm.queue(
        ToolAnswer(answer(files), usage=FIRST_USAGE),
        ToolAnswer(fixed("a"), usage=REPAIR_USAGE),
        ToolAnswer(fixed("b"), usage=REPAIR_USAGE),
        ToolAnswer(fixed("c"), usage=REPAIR_USAGE),
    )
    _, events = await generate(services, "A page that greets Ana")
    done = events[-1]
    assert done.type == "done" and done.verification is not None
    counts = [len(e.verification["problems"]) for e in of_type(events, "verification") if e.verification]
    assert counts == [3, 2, 1]
    assert len(scripted_llm.requests) == 3
    assert (done.verification["status"], done.verification["attempts"], done.version) == ("problems", 2, 3)
    assert "(at /c.js:1)" in done.verification["problems"][0]["message"]
    assert "Stopped after 2 automatic repair rounds" in done.message
    assert done.usage is not None and done.usage["output_tokens"] == 300


@pytest.mark.usefixtures("local_previews")
async def test_repairs_stop_when_a_round_does_not_help(services: Services, scripted_llm: ScriptedLLMServer) -> None:
    # The "fix" touches something else; the error stays as it was.
    scripted_llm.queue(
        ToolAnswer(answer({"index.html": PAGE, "main.js": BROKEN}), usage=FIRST_USAGE),
        ToolAnswer(
            {
                "summary": "Changed the title.",
                "edits": [{"path": "index.html", "search": "<title>Greeting</title>", "replace": "<title>Hi</title>"}],
            }
        ),
        ToolAnswer(fix(BROKEN.strip(), FIXED.strip())),
    )
    project_id, events = await generate(services, "A page that greets Ana")
    done = events[-1]
    assert done.verification is not None and done.verification["status"] == "problems"
    assert "did not reduce the problems" in done.message
    assert len(scripted_llm.requests) == 2
    # The reason stays with the last check, for the conversation to show after the generation.
    last = (await services.verifications.records(project_id))[-1]
    assert last.note == "Repair round 1 did not reduce the problems, so Forja stopped repairing."


@pytest.mark.usefixtures("local_previews", "offline_only")
async def test_offline_generations_are_checked_but_not_repaired(services: Services) -> None:
    _, events = await generate(services, "A landing page for my bakery", provider="offline")
    done = events[-1]
    assert done.type == "done" and done.verification is not None
    # The offline starter runs: a real page, checked in the browser.
    assert done.verification["status"] == "passed", done.verification["problems"]
    assert done.verification["screenshot"]


@pytest.mark.usefixtures("local_previews")
async def test_a_machine_that_refuses_to_run_the_app_costs_no_repair(
    services: Services, scripted_llm: ScriptedLLMServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # No bubblewrap on this PATH and running without a sandbox not allowed: the local runner refuses every preview.
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name in ("sh", "node", "npm"):
        if found := shutil.which(name):
            (bin_dir / name).symlink_to(found)
    monkeypatch.setenv("PATH", str(bin_dir))
    scripted_llm.queue(ToolAnswer(answer({"index.html": PAGE, "main.js": BROKEN}), usage=FIRST_USAGE))
    _, events = await generate(services, "A page that greets Ana")

    done = events[-1]
    assert done.type == "done" and done.verification is not None
    assert done.verification["status"] == "unchecked", done.verification
    assert "Install bubblewrap" in done.verification["problems"][0]["message"]
    assert len(scripted_llm.requests) == 1  # no repair round: no model can install a sandbox


async def test_a_budget_stops_a_generation_before_it_is_exceeded(
    services: Services, scripted_llm: ScriptedLLMServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # max_tokens of output alone (16000 at $15/M = $0.24) is over this budget: nothing may be sent.
    monkeypatch.setattr(builder.settings.settings, "budget_project_usd", 0.10)
    # $0.06 spent by the one answer sent: 10000 input tokens at $3/M and 2000 output tokens at $15/M.
    scripted_llm.queue(ToolAnswer(answer({"index.html": PAGE, "main.js": FIXED}), usage=Usage(10000, 2000)))
    project_id = await services.projects.create_empty("New app", owner=LOCAL_USER_ID)
    with pytest.raises(BudgetExceeded, match="FORJA_BUDGET_PROJECT_USD") as refused:
        await services.generations.start(project_id, "A page that greets Ana", "anthropic", verify=False)
    assert refused.value.status == 402 and "could cost up to $0.2" in refused.value.message
    assert scripted_llm.requests == []

    # Within the budget the same request is sent. The day's budget counts every project: after the
    # $0.06 spent, the next request's largest cost (about $0.25) would pass $0.30, so it is not sent.
    monkeypatch.setattr(builder.settings.settings, "budget_project_usd", 1.0)
    monkeypatch.setattr(builder.settings.settings, "budget_daily_usd", 0.30)
    await services.generations.start(project_id, "A page that greets Ana", "anthropic", verify=False)
    events = [event async for event in services.generations.follow(project_id)]
    assert events[-1].type == "done"
    other = await services.projects.create_empty("Other", owner=LOCAL_USER_ID)
    with pytest.raises(BudgetExceeded, match="FORJA_BUDGET_DAILY_USD"):
        await services.generations.start(other, "Another page", "anthropic", verify=False)
    assert len(scripted_llm.requests) == 1


async def test_a_budget_stops_a_repair_round_before_it_is_sent(
    services: Services, scripted_llm: ScriptedLLMServer, monkeypatch: pytest.MonkeyPatch, local_previews: None
) -> None:
    # Enough for the first request (about $0.25 at most) but not for a second after it spent $0.06.
    monkeypatch.setattr(builder.settings.settings, "budget_project_usd", 0.30)
    scripted_llm.queue(
        ToolAnswer(answer({"index.html": PAGE, "main.js": BROKEN}), usage=Usage(10000, 2000)),
        ToolAnswer(fix(BROKEN.strip(), FIXED.strip())),
    )
    _, events = await generate(services, "A page that greets Ana")
    done = events[-1]
    assert done.type == "done" and done.verification is not None and done.verification["status"] == "problems"
    assert "Repair round 1 did not save a change" in done.message and "FORJA_BUDGET_PROJECT_USD" in done.message
    assert len(scripted_llm.requests) == 1


async def test_fix_this_needs_problems_to_fix(services: Services, scripted_llm: ScriptedLLMServer) -> None:
    scripted_llm.queue(ToolAnswer(answer({"index.html": PAGE, "main.js": FIXED})))
    project_id = await services.projects.create_empty("New app", owner=LOCAL_USER_ID)
    await services.generations.start(project_id, "A page", "anthropic", verify=False)
    [_ async for _ in services.generations.follow(project_id)]
    await services.generations.repair(project_id)
    events = [event async for event in services.generations.follow(project_id)]
    assert events[-1].type == "error" and "nothing to fix" in events[-1].message
    with pytest.raises(ForjaError):
        await services.generations.repair("0" * 12)


# -- the same through the HTTP API -------------------------------------------------------------------------------


@pytest.fixture
async def client(services: Services) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=api), base_url="http://testserver") as http:
        yield http


@pytest.mark.usefixtures("local_previews")
async def test_the_sse_api_streams_the_check_and_the_repair(client: httpx.AsyncClient, scripted_llm: ScriptedLLMServer) -> None:
    scripted_llm.queue(
        ToolAnswer(answer({"index.html": PAGE, "main.js": BROKEN}), usage=FIRST_USAGE),
        ToolAnswer(fix(BROKEN.strip(), FIXED.strip()), usage=REPAIR_USAGE),
    )
    body = {"prompt": "A page that greets Ana", "provider": "anthropic", "verify": True}
    events = await post_sse(client, "/api/generate", body)
    types = [kind for kind, _ in events]
    # Round 0 saved, checked (problems), repaired, saved, checked (passed), then done.
    assert [t for t in types if t in ("saved", "verification", "done")] == [
        "saved",
        "verification",
        "saved",
        "verification",
        "done",
    ]
    assert "Fixing 1 problem found by the check (round 1 of 2)..." in [
        data["message"] for kind, data in events if kind == "status"
    ]
    done = events[-1][1]
    assert done["verification"]["status"] == "passed" and done["usage"]["output_tokens"] == 250
    project_id = done["project_id"]

    usage = (await client.get(f"/api/projects/{project_id}/usage")).json()
    assert (usage["generations"], usage["input_tokens"], usage["output_tokens"]) == (2, 2500, 250)
    records = (await client.get(f"/api/projects/{project_id}/generations")).json()
    assert [(r["kind"], r["version"]) for r in records] == [("prompt", 1), ("repair", 2)]


async def test_a_generation_can_be_stopped(
    client: httpx.AsyncClient, services: Services, scripted_llm: ScriptedLLMServer
) -> None:
    # 20 tokens a second: the answer takes far longer than the test waits before stopping it.
    scripted_llm.queue(ToolAnswer(answer({"index.html": PAGE * 20, "main.js": FIXED}), tokens_per_second=20))
    project_id = await services.projects.create_empty("Slow", owner=LOCAL_USER_ID)
    await services.generations.start(project_id, "A page", "anthropic", verify=False)
    await asyncio.sleep(0.5)
    assert (await client.post(f"/api/projects/{project_id}/generate/stop")).json() == {"stopped": True}
    events = [event async for event in services.generations.follow(project_id)]
    assert events[-1].type == "error" and events[-1].message == "Stopped by you; nothing was saved."
    [record] = await services.generations.records(project_id)
    assert record.outcome == "stopped"
    assert (await client.post(f"/api/projects/{project_id}/generate/stop")).json() == {"stopped": False}
    assert (await client.post("/api/projects/000000000000/generate/stop")).status_code == 404


# -- a real framework's error overlay ----------------------------------------------------------------------------


async def test_a_vite_syntax_error_is_read_from_its_overlay_and_repaired(
    services: Services,
    scripted_llm: ScriptedLLMServer,
    local_previews: None,
    package_caches: tuple[Path, Path],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The React starter as the model might write it, with an unclosed tag in App.jsx: Vite answers the page,
    # then shows its error overlay. Its packages come from the seeded npm cache, offline.
    monkeypatch.setattr(builder.settings.settings, "npm_seed_cache", package_caches[0])
    monkeypatch.setattr(builder.settings.settings, "preview_offline", True)
    starter = next(s for s in load_starters() if s.name == "react-vite-tailwind")
    files = render_starter(starter, StarterVariables(title="Barber shop"))
    assert any(is_check_path(path) for path in files)  # the starter's acceptance checks
    good = files["src/App.jsx"]
    heading = next(line.strip() for line in good.splitlines() if "<h1" in line)
    broken = good.replace(heading, heading.replace("</h1>", ""), 1)
    assert broken != good
    scripted_llm.queue(
        ToolAnswer(answer({**files, "src/App.jsx": broken})),
        ToolAnswer({"summary": "Closed the heading.", "files": [{"path": "src/App.jsx", "content": good}]}),
    )
    _, events = await generate(services, "A booking page for my barber shop")
    checks = [e.verification for e in of_type(events, "verification") if e.verification]
    assert [c["status"] for c in checks] == ["problems", "passed"], str(checks[-1])[:3000]
    assert any(p["kind"] == "overlay" and "App.jsx" in p["message"] for p in checks[0]["problems"]), checks[0]["problems"]
    # The broken page ran none of its acceptance checks (each would have waited out its steps on it); the mended one
    # ran every one of them, and they pass.
    assert checks[0]["acceptance"] == [] and not any(p["kind"] == "acceptance" for p in checks[0]["problems"])
    ran = checks[1]["acceptance"]
    assert len(ran) == sum(is_check_path(path) for path in files) and all(c["passed"] for c in ran), ran
