"""The evaluation harness end to end: apps made through Forja's pipeline from scripted model answers (one that passes,
one that runs but does not do what was asked, one that needs a repair round, one that never finishes), graded by the
task's own checks in headless Chromium; the report's numbers come from those answers. Then the grader is proven on the
whole forja-smoke suite: every reference passes and every broken copy fails, through the CLI's --json; every reference
that keeps data passes its security probes, and a planted twin of one whose rules and page leak fails them."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import httpx
import pytest

import builder.settings
from builder.api import api
from builder.composition import Services
from builder.eval.report import summary, write_report
from builder.eval.results import load_run, saved_runs
from builder.eval.runner import EvalOptions, EvalRunner
from builder.eval.suite import EvalTask, load_suite
from tests.conftest import free_port
from tests.integration.test_generation_api import Cli
from tests.llm_server import ScriptedLLMServer, ToolAnswer, Usage
from tests.unit.test_review_checks import STRIPE_SECRET

CHECKS = """import { test, expect } from '@playwright/test';

test('Say hi: the page greets Ana', async ({ page }) => {
  await page.goto('/');
  await page.getByRole('button', { name: /say hi/i }).click();
  await expect(page.getByText('Hi Ana')).toBeVisible();
});
"""
WORKS = (
    '<!doctype html>\n<html><head><meta charset="utf-8"><title>Hi</title></head><body><h1>Greeter</h1>\n'
    '<button id="hi">Say hi</button><p id="out"></p>\n'
    "<script>document.getElementById('hi').onclick = () => { document.getElementById('out').textContent = 'Hi Ana'; };"
    "</script>\n</body></html>\n"
)
NO_BUTTON = WORKS.replace('<button id="hi">Say hi</button>', "").replace("document.getElementById('hi').onclick", "window.x")
THROWS = WORKS.replace("<script>", "<script>greetEveryone();\n")
USAGE = Usage(input_tokens=1000, output_tokens=200)


# A planted pair from the to-do reference, now keeping its tasks through the data API: one whose rules keep each user's
# rows to themselves, and one whose rules let anyone read every row and any user change any row, with a key pasted in.
KEPT_APART = {"todos": {"read": "owner", "create": "signed-in", "update": "owner", "delete": "owner"}}
OPEN_TO_ALL = {"todos": {"read": "public", "create": "signed-in", "update": "signed-in", "delete": "owner"}}
LOADS = """import { test, expect } from '@playwright/test';

test('The page opens', async ({ page }) => {
  await page.goto('/');
  await expect(page.getByRole('heading', { name: 'To-do' })).toBeVisible();
});
"""


def twin(task_id: str, rules: dict[str, Any], page_key: str = "") -> EvalTask:
    todo = next(t for t in load_suite("forja-smoke") if t.id == "todo-list")
    files = {**todo.reference, ".forja/data.json": json.dumps({"collections": rules}).encode()}
    if page_key:
        files["app.js"] = f'const PAYMENTS = "{page_key}";\n'.encode() + files["app.js"]
    return todo.model_copy(update={"id": task_id, "reference": files, "checks": {"loads.spec.js": LOADS}})


def app(page: str) -> dict[str, Any]:
    return {"title": "Greeter", "summary": "A greeter.", "files": [{"path": "index.html", "content": page}]}


def prompt(task_id: str) -> str:
    return f"A page that says hi to Ana (task {task_id})"


def task(task_id: str, category: str = "front-end") -> EvalTask:
    return EvalTask.model_validate(
        {"id": task_id, "title": task_id, "category": category, "prompt": prompt(task_id), "entry": "index.html",
         "checks": {"checks.spec.js": CHECKS}}
    )  # fmt: skip


@pytest.mark.usefixtures("local_previews")
async def test_a_model_run_is_graded_summed_up_reported_and_resumed(
    services: Services, scripted_llm: ScriptedLLMServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    never = threading.Event()
    # The tasks run side by side (the one that never ends waits out its time while the others are graded): each
    # task's first answer goes to the request that holds its prompt, the repair to the one request left.
    scripted_llm.queue(
        ToolAnswer(app(WORKS), usage=USAGE, when=prompt("passes")),
        ToolAnswer(app(NO_BUTTON), usage=USAGE, when=prompt("does-not-do-it")),
        ToolAnswer(app(THROWS), usage=USAGE, when=prompt("repaired")),
        ToolAnswer(app(WORKS), held=never, held_after=10, when=prompt("never-ends")),
        ToolAnswer(
            {"summary": "Fixed.", "edits": [{"path": "index.html", "search": "greetEveryone();\n", "replace": ""}]}, usage=USAGE
        ),
    )
    tasks = [task("passes"), task("does-not-do-it"), task("repaired", "data"), task("never-ends", "data")]
    options = EvalOptions(suite="scripted", provider="anthropic", repair_rounds=1, task_timeout_s=20, parallel=4)
    try:
        run = await EvalRunner(services, options).run(tasks)
    finally:
        never.set()

    results = {result.id: result for result in run.tasks}
    assert [r.id for r in run.tasks] == ["passes", "does-not-do-it", "repaired", "never-ends"]
    assert {i: r.passed for i, r in results.items()} == {
        "passes": True,
        "does-not-do-it": False,
        "repaired": True,
        "never-ends": False,
    }
    assert results["does-not-do-it"].verified == "passed"  # Forja's own check saw it run: the grader did not pass it
    assert "Say hi: the page greets Ana" in results["does-not-do-it"].grade.failed[0]
    assert (results["repaired"].repair_rounds, results["repaired"].verified) == (1, "passed")
    assert "No checked app within 20 s" in results["never-ends"].error
    assert results["passes"].screenshot == "passes.jpg"

    totals = summary(run)
    assert (totals.overall.passed, totals.overall.total, totals.overall.percent) == (2, 4, 50.0)
    assert {name: (rate.passed, rate.total) for name, rate in totals.by_category.items()} == {"data": (1, 2), "front-end": (1, 2)}
    assert (totals.input_tokens, totals.output_tokens, totals.repair_rounds) == (4000, 800, 1)
    assert (totals.caught, totals.missed, totals.false_alarms) == (0, 1, 0)
    assert totals.cost_usd == pytest.approx(4 * (1000 * 3 + 200 * 15) / 1_000_000)

    # Kept under the data folder, with the report and the screenshots beside it.
    folder = builder.settings.settings.data_dir / "evals" / run.id
    assert load_run(run.id) == run and [r.id for r in saved_runs()] == [run.id]
    html = (folder / "report.html").read_text() if (folder / "report.html").exists() else write_report(run).read_text()
    assert "2 of 4 (50.0%)" in html and "Say hi: the page greets Ana" in html and 'src="passes.jpg"' in html
    assert (folder / "passes.jpg").read_bytes()[:3] == b"\xff\xd8\xff"

    # Resumed, a finished run asks the model nothing again; two runs side by side.
    asked = len(scripted_llm.requests)
    again = await EvalRunner(services, options.model_copy(update={"resume": run.id})).run(tasks)
    assert len(scripted_llm.requests) == asked and [r.id for r in again.tasks] == [r.id for r in run.tasks]
    compared = write_report(run, again).read_text()
    assert compared.count(run.id) >= 2 and "Side by side" in compared

    # The admin page lists the run and serves its report and screenshots, and nothing else of the folder.
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=api), base_url="http://testserver") as client:
        listed = (await client.get("/api/admin/evals")).json()
        assert [(r["id"], r["passed"], r["total"]) for r in listed] == [(run.id, 2, 4)]
        report = await client.get(f"/api/admin/evals/{run.id}/report.html")
        assert report.status_code == 200 and "2 of 4 (50.0%)" in report.text
        assert (await client.get(f"/api/admin/evals/{run.id}/passes.jpg")).content[:3] == b"\xff\xd8\xff"
        for name in ("run.json", "..%2Frun.json", "report.html.bak"):
            assert (await client.get(f"/api/admin/evals/{run.id}/{name}")).status_code == 404, name


@pytest.mark.usefixtures("local_previews")
async def test_the_grader_passes_every_reference_and_fails_every_broken_copy(services: Services, tmp_path: Path) -> None:
    suite = load_suite("forja-smoke")
    assert len(suite) >= 1
    # The CLI's previews behind a Traefik of its own, as a second Forja process would have.
    reference = Cli(tmp_path / "cli", FORJA_PREVIEW_RUNNER="local", FORJA_PREVIEW_PORT=str(free_port()))
    ran = reference.json("eval", "--reference", "--parallel", "4", timeout=600)
    assert {t["id"]: t["passed"] for t in ran["tasks"]} == {t.id: True for t in suite}, [
        (t["id"], t["grade"]["failed"]) for t in ran["tasks"] if not t["passed"]
    ]
    assert ran["report"].endswith("report.html")

    # Every reference that keeps data passed its probes (those of the browser's own storage: the secrets probe).
    probed = {t["id"]: [(p["name"], p["passed"]) for p in t["probes"]] for t in ran["tasks"] if t["probes"]}
    assert probed == {t.id: [("secrets in the page", True)] for t in suite if t.category == "data"}
    assert ran["summary"]["security"] == {"passed": len(probed), "total": len(probed)}
    assert ran["summary"]["probed"] == len(probed) < len(suite)

    broken = await EvalRunner(services, EvalOptions(suite="forja-smoke", mode="broken", parallel=8)).run(suite)
    assert {t.id: t.passed for t in broken.tasks} == {t.id: False for t in suite}
    assert not any(t.probes for t in broken.tasks)

    twins = [twin("kept-apart", KEPT_APART), twin("open-to-all", OPEN_TO_ALL, STRIPE_SECRET)]
    planted = await EvalRunner(services, EvalOptions(suite="planted", mode="reference", parallel=2)).run(twins)
    kept, leaky = ({p.name: p for p in t.probes} for t in planted.tasks)
    assert all(t.passed for t in planted.tasks) and len(kept) == len(leaky) == 7
    assert [name for name, p in kept.items() if not p.passed] == [], kept
    assert sorted(name for name, p in leaky.items() if not p.passed) == [
        "another user changes a user's row of 'todos'",
        "another user reads a user's row of 'todos'",
        "secrets in the page",
        "someone not signed in reads a user's row of 'todos'",
    ], leaky
    assert leaky["secrets in the page"].reason.startswith("A Stripe Access Key is written in app.js")
    assert (
        leaky["another user reads a user's row of 'todos'"].reason == "It read another user's row; the task does not allow that."
    )
    assert leaky["someone not signed in changes a user's row of 'todos'"].reason.startswith("Refused: ")
    assert (summary(planted).security.passed, summary(planted).security.total) == (10, 14)
