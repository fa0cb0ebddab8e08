"""The eval's security probes as pure parts, and the security score in its report: which tasks get probes, what a
probe's answer means, and the score beside the pass rate (overall and per task) in the terminal, run.json's summary and
the HTML page, where a task without probes says so instead of counting as 100%."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

import builder.settings
from builder.app_backend.rules import parse_rules
from builder.eval.cross_user import collections_to_probe, verdict
from builder.eval.probes import keeps_data, secrets_probe
from builder.eval.report import security, summary, words, write_report
from builder.eval.results import EvalRun, Grade, Probe, TaskResult
from builder.eval.suite import Category, EvalTask, load_suite
from builder.review.secrets import secret_findings
from tests.unit.test_review_checks import STRIPE_SECRET


def task(category: Category) -> EvalTask:
    return EvalTask(id="t", title="T", category=category, prompt="An app", checks={})


def test_a_task_keeps_data_by_its_category_or_by_its_apps_data_rules() -> None:
    assert keeps_data(task("data"), {"index.html": b"<h1>Hi</h1>"})
    assert keeps_data(task("front-end"), {".forja/data.json": b'{"collections": {}}'})
    assert not keeps_data(task("backend"), {"server.js": b"require('express')"})


def test_the_suites_tasks_say_what_of_others_data_they_share() -> None:
    shared = {t.id: t.shared for t in load_suite("forja-smoke") if t.shared}
    assert shared == {"team-poll": ["read"]}  # the poll's votes are counted for everyone who votes


def test_the_secrets_probe_fails_on_any_finding_of_the_reviews_check_and_says_what_without_the_value() -> None:
    assert secrets_probe(secret_findings({"app.js": b"const total = 3;"}, {})).passed
    leaked = secrets_probe(secret_findings({"app.js": f'const key = "{STRIPE_SECRET}";'.encode()}, {}))
    assert (leaked.name, leaked.passed) == ("secrets in the page", False)
    assert leaked.reason == "A Stripe Access Key is written in app.js, which anyone who opens the app can read."
    assert STRIPE_SECRET not in leaked.model_dump_json()


def test_only_collections_a_user_may_add_to_are_probed() -> None:
    rules = parse_rules(
        b'{"collections": {"notes": {"read": "owner", "create": "signed-in"}, "news": {"read": "public", "create": "admin"},'
        b' "guests": {"create": "public"}, "kept": {"read": "owner"}}}'
    )
    assert collections_to_probe(rules) == ["guests", "notes"]


def test_a_probe_passes_when_refused_or_when_the_task_shares_what_was_done() -> None:
    refused = verdict("another user", "read", "notes", "There is no row abc in notes.", shared=[])
    assert (refused.passed, refused.reason) == (True, "Refused: There is no row abc in notes.")
    leaked = verdict("someone not signed in", "update", "notes", "", shared=[])
    assert leaked.name == "someone not signed in changes a user's row of 'notes'"
    assert (leaked.passed, leaked.reason) == (False, "It changed another user's row; the task does not allow that.")
    shared = verdict("another user", "read", "votes", "", shared=["read"])
    assert (shared.passed, shared.reason) == (True, "It read it, as the task lets anyone do.")
    assert not verdict("another user", "delete", "votes", "", shared=["read"]).passed  # reading is shared, deleting not


def result(task_id: str, passed: bool, probes: list[tuple[str, bool]]) -> TaskResult:
    return TaskResult(
        id=task_id,
        title=task_id.title(),
        category="data" if probes else "front-end",
        passed=passed,
        grade=Grade(passed=passed, checks=2),
        probes=[Probe(name=name, passed=ok, reason=f"{name} {'refused' if ok else 'done'}") for name, ok in probes],
    )


def run_of(*tasks: TaskResult) -> EvalRun:
    return EvalRun(
        id="r1", suite="forja-smoke", mode="reference", started_at=datetime(2026, 11, 28, tzinfo=UTC), tasks=list(tasks)
    )


RUN = run_of(
    result("notes", True, [("secrets in the page", True), ("another user reads", False), ("another user deletes", True)]),
    result("timer", True, []),
    result("todos", False, [("secrets in the page", True)]),
)


def test_the_security_score_counts_probes_of_the_tasks_that_had_any() -> None:
    totals = summary(RUN)
    assert (totals.security.passed, totals.security.total, totals.security.percent, totals.probed) == (3, 4, 75.0, 2)
    assert (totals.overall.passed, totals.overall.total) == (2, 3)  # the pass rate is the grade's, probes or not
    scores = {t.id: security(t) for t in RUN.tasks}
    assert {i: (s.passed, s.total) if s else None for i, s in scores.items()} == {"notes": (2, 3), "timer": None, "todos": (1, 1)}
    none = summary(run_of(result("timer", True, [])))
    assert (none.security.total, none.probed) == (0, 0)


def test_the_terminal_shows_the_score_beside_the_pass_rate_and_each_probed_tasks_own() -> None:
    lines = words(RUN).splitlines()
    assert lines[0] == "forja-smoke (reference): 2 of 3 passed (66.7%)"
    assert "  Security: 3 of 4 probes passed (75.0%) over 2 of 3 tasks; the others had none" in lines
    assert "  security notes: 2 of 3 probes passed; FAILED another user reads: another user reads done" in lines
    assert "  security todos: 1 of 1 probes passed" in lines
    assert not any("security timer" in line for line in lines)
    assert "  Security: no task had probes (none keeps data, or none of those ran)." in words(run_of(result("t", True, [])))


def test_the_html_report_shows_the_score_and_each_probe_and_says_when_a_task_had_none(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(builder.settings.settings, "data_dir", tmp_path)
    (tmp_path / "evals" / RUN.id).mkdir(parents=True)
    html = write_report(RUN).read_text()
    assert "<dt>Security probes passed</dt>" in html and "3 of 4 (75.0%) in 2 tasks" in html
    assert "Security: 2 of 3 probes passed (66.7%)" in html and "Security: 1 of 1 probes passed (100.0%)" in html
    assert '<li class="fail"><b>failed</b> another user reads: another user reads done</li>' in html
    assert html.count("Security: no probes (it keeps no data, or its app did not run).") == 1
    empty = write_report(run_of(result("timer", True, []))).read_text()
    assert "no task had probes" in empty and "0 of 0" not in empty
