"""A plan's acceptance checks, written by the model as `.forja/checks/` files, run after every version: one fails, a
repair round makes it pass; a later follow-up breaks it and the repair restores it. The scripted model server answers
through the real SDKs; each version runs in the local runner behind Traefik and real headless Chromium runs the checks.
"""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from builder.api import api
from builder.composition import Services
from builder.generation.engine import GenerationEvent
from builder.models import LOCAL_USER_ID
from tests.llm_server import ScriptedLLMServer, ToolAnswer

PLAN = {
    "title": "Bookings",
    "summary": "A list of bookings.",
    "pages": "Bookings: add a name, see the list.",
    "data": "The names, in the page.",
    "checks": ["Open the app: the heading Bookings is shown.", "Add Ana: she appears in the list."],
}
PAGE = (
    '<!doctype html>\n<html>\n<head><meta charset="utf-8"><title>Bookings</title></head>\n<body>\n<h1>Bookings</h1>\n'
    '<label>Name <input id="name"></label> <button id="add">Add</button>\n<ul id="list"></ul>\n'
    '<script src="app.js"></script>\n</body>\n</html>\n'
)
DOES_NOTHING = "document.getElementById('add').onclick = () => {};\n"
ADDS = (
    "document.getElementById('add').onclick = () => { const li = document.createElement('li'); "
    "li.textContent = document.getElementById('name').value; document.getElementById('list').append(li); };\n"
)
HEADING_CHECK = """import { test, expect } from '@playwright/test';

test('Open the app: the heading Bookings is shown.', async ({ page }) => {
  await page.goto('/');
  await expect(page.getByRole('heading', { name: 'Bookings' })).toBeVisible();
});
"""
ADD_CHECK = """import { test, expect } from '@playwright/test';

test('Add Ana: she appears in the list.', async ({ page }) => {
  await page.goto('/');
  await page.getByLabel('Name').fill('Ana');
  await page.getByRole('button', { name: 'Add' }).click();
  await expect(page.getByRole('listitem')).toHaveText('Ana');
});
"""


def edit(path: str, search: str, replace: str, summary: str) -> dict[str, Any]:
    return {"summary": summary, "edits": [{"path": path, "search": search, "replace": replace}]}


async def followed(services: Services, project_id: str) -> list[GenerationEvent]:
    async with asyncio.timeout(300):
        return [event async for event in services.generations.follow(project_id)]


@pytest.mark.usefixtures("local_previews")
async def test_checks_fail_are_repaired_and_guard_later_follow_ups(services: Services, scripted_llm: ScriptedLLMServer) -> None:
    scripted_llm.queue(ToolAnswer(PLAN, tool_name="propose_plan"))
    plan = await services.plans.propose("Bookings for my barber shop", provider="anthropic", owner=LOCAL_USER_ID)
    files = {".forja/checks/01-heading.spec.js": HEADING_CHECK, ".forja/checks/02-add-ana.spec.js": ADD_CHECK}
    built = {"title": "Bookings", "summary": "A booking list.", "files": [
        {"path": path, "content": text} for path, text in {"index.html": PAGE, "app.js": DOES_NOTHING, **files}.items()
    ]}  # fmt: skip
    scripted_llm.queue(
        ToolAnswer(built), ToolAnswer(edit("app.js", DOES_NOTHING.strip(), ADDS.strip(), "Add now adds the name."))
    )
    await services.plans.build(plan.id, provider="anthropic", verify=True, user_id=LOCAL_USER_ID)
    events = await followed(services, plan.project_id)

    done = events[-1]
    assert done.type == "done", [e.message for e in events if e.type == "error"]
    assert "`.forja/checks/NN-short-name.spec.js`" in scripted_llm.requests[1].text  # the build asked for the checks
    checks = [e.verification for e in events if e.type == "verification" and e.verification]
    assert [c["status"] for c in checks] == ["problems", "passed"]
    first = checks[0]
    assert [(a["title"], a["passed"]) for a in first["acceptance"]] == [(PLAN["checks"][0], True), (PLAN["checks"][1], False)]
    assert [p["kind"] for p in first["problems"]] == ["acceptance"]
    assert "line 7 (`await expect(page.getByRole('listitem')).toHaveText('Ana');`)" in first["acceptance"][1]["message"]
    # The repair was told which check failed, where, and what the page showed.
    repair = scripted_llm.requests[2].text
    assert "Add Ana: she appears in the list." in repair and "toHaveText" in repair and "make the app pass it" in repair
    assert done.version == 2 and done.message.startswith("Checked: runs, no errors. 2 of 2 acceptance checks pass.")

    # The plan says how each of its checks went, with the page at its end.
    info = await services.plans.get(plan.id)
    assert [(c.number, c.passed) for c in info.checks] == [(1, True), (2, True)]
    shot = info.checks[1].screenshot
    assert shot is not None
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=api), base_url="http://testserver") as client:
        image = await client.get(shot)
        assert image.status_code == 200 and image.content[:3] == b"\xff\xd8\xff"
        assert (await client.get(shot.replace("/acceptance/2/", "/acceptance/9/"))).status_code == 404

    # A follow-up that renames the button breaks the second check; the repair puts it back.
    scripted_llm.queue(
        ToolAnswer(edit("index.html", ">Add</button>", ">Save</button>", "The button now says Save.")),
        ToolAnswer(edit("index.html", ">Save</button>", ">Add</button>", "The button says Add again.")),
    )
    await services.generations.start(plan.project_id, "Call the button Save", "anthropic", verify=True)
    events = await followed(services, plan.project_id)
    checks = [e.verification for e in events if e.type == "verification" and e.verification]
    assert [[a["passed"] for a in c["acceptance"]] for c in checks] == [[True, False], [True, True]]
    assert "Add Ana: she appears in the list." in scripted_llm.requests[4].text
    tree = await services.projects.read_tree(plan.project_id)
    assert b">Add</button>" in tree["index.html"] and set(files) <= set(tree)
