"""The Web-Bench adapter on a small benchmark in Web-Bench's layout (tests/web_bench_fixture): its tests run by the real
Playwright Test in a sandbox against the app's preview, graded cumulatively; the references pass every task and the
starting points fail every task, through the CLI's --json; and a model works through a project's tasks in order, in
one project, until one fails."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from builder.composition import Services
from builder.eval.runner import EvalOptions, EvalRunner
from builder.eval.suite import WebBenchTests
from builder.eval.webbench import load_web_bench
from builder.eval.webbench_grader import run_specs
from tests.conftest import free_port
from tests.integration.test_generation_api import Cli
from tests.llm_server import ScriptedLLMServer, ToolAnswer

FIXTURE = Path(__file__).parents[1] / "web_bench_fixture"
REFERENCE = FIXTURE / "projects" / "tally" / "src"
IDS = ["tally/init", "tally/task-1", "tally/task-2"]


def answer(files: dict[str, str]) -> ToolAnswer:
    tree: dict[str, Any] = {"title": "Tally", "summary": "Done.", "files": [{"path": p, "content": c} for p, c in files.items()]}
    return ToolAnswer(tree)


@pytest.mark.usefixtures("local_previews")
async def test_the_references_pass_every_task_and_the_starting_points_fail_every_task(services: Services, tmp_path: Path) -> None:
    suite = load_web_bench(FIXTURE)
    assert [task.id for task in suite] == IDS
    # Cumulative: task N runs the tests of init to N.
    assert [task.web_bench.specs for task in suite if task.web_bench] == [
        ["init.spec.js"],
        ["init.spec.js", "task-1.spec.js"],
        ["init.spec.js", "task-1.spec.js", "task-2.spec.js"],
    ]
    cli = Cli(tmp_path / "cli", FORJA_PREVIEW_RUNNER="local", FORJA_PREVIEW_PORT=str(free_port()))
    ran = cli.json("eval", "--suite", "web-bench", "--path", str(FIXTURE), "--reference", timeout=300)
    assert {t["id"]: t["passed"] for t in ran["tasks"]} == dict.fromkeys(IDS, True), [
        (t["id"], t["grade"]["failed"], t["error"]) for t in ran["tasks"] if not t["passed"]
    ]
    assert [t["grade"]["checks"] for t in ran["tasks"]] == [3, 5, 7]

    broken = await EvalRunner(services, EvalOptions(suite="web-bench", mode="broken")).run(suite)
    assert {t.id: t.passed for t in broken.tasks} == dict.fromkeys(IDS, False)
    # Each graded by the benchmark's own tests (none skipped because an earlier task failed).
    assert all(t.grade.checks > 0 and not t.error for t in broken.tasks), [(t.id, t.error) for t in broken.tasks]
    assert broken.tasks[0].grade.failed == [
        "init.spec.js: body has no margin: Error: expect(received).toBe(expected) // Object.is equality; Expected: 0; Received: 8"
    ]


@pytest.mark.usefixtures("local_previews")
async def test_a_model_works_through_a_project_in_order_until_a_task_fails(
    services: Services, scripted_llm: ScriptedLLMServer
) -> None:
    reference = {f"src/{path.relative_to(REFERENCE)}": path.read_text() for path in REFERENCE.rglob("*") if path.is_file()}
    # Task 1 done not quite as asked: its items read "Entry 1", "Entry 2"...
    entries = reference["src/common/items.js"].replace("`Item ${", "`Entry ${")
    scripted_llm.queue(answer(reference), answer({"src/common/items.js": entries}))
    suite = load_web_bench(FIXTURE)
    options = EvalOptions(suite="web-bench", provider="anthropic", repair_rounds=0, task_timeout_s=120)

    run = await EvalRunner(services, options).run(suite)

    results = {result.id: result for result in run.tasks}
    assert {i: r.passed for i, r in results.items()} == {"tally/init": True, "tally/task-1": False, "tally/task-2": False}
    assert "task-1.spec.js: add appends numbered items" in " ".join(results["tally/task-1"].grade.failed)
    assert "tally/task-1 failed before it" in results["tally/task-2"].error
    assert len(scripted_llm.requests) == 2  # the third task is not asked for
    # One project: the model started from src-init (version 1) and each task is a change of the one before.
    project_id = results["tally/init"].project_id
    assert project_id is not None and results["tally/task-1"].project_id == project_id
    versions = await services.projects.versions(project_id)
    assert len(versions) == 3
    first = await services.projects.read_file(project_id, "src/index.html", version=1)
    assert b"board" not in first
    # The model reads the task's words and where the code is.
    asked = json.dumps(scripted_llm.requests[0].body)
    assert "reads 'Tally'" in asked and "the app's code is in src/" in asked


async def test_the_benchmarks_tests_run_in_a_sandbox(tmp_path: Path) -> None:
    """Web-Bench's tests are code from a checkout: what they write outside their own folder goes nowhere."""
    tests = tmp_path / "project" / "test"
    tests.mkdir(parents=True)
    outside = tmp_path / "outside.txt"
    spec = """const { test, expect } = require('@playwright/test')
const fs = require('fs')

test('writes outside its folder', async () => {
  fs.writeFileSync(OUTSIDE, 'escaped')
})

test('writes into Forja', async () => {
  fs.writeFileSync(FORJA, 'escaped')
})
"""
    forja = Path(__file__).parents[2] / "builder" / "eval" / "webbench" / "escaped.txt"
    (tests / "init.spec.js").write_text(
        spec.replace("OUTSIDE", json.dumps(str(outside))).replace("FORJA", json.dumps(str(forja)))
    )
    results = await run_specs(
        WebBenchTests(project_dir=str(tests.parent), specs=["init.spec.js"]), "http://127.0.0.1:9/", "", 120
    )
    assert [(title, passed) for title, passed, _ in results] == [
        ("init.spec.js: writes outside its folder", False),
        ("init.spec.js: writes into Forja", False),
    ]
    assert "ENOENT" in results[0][2] and "EROFS" in results[1][2], results
    assert not outside.exists() and not forja.exists()
