"""What a run comes to: pass rates (overall and by category), the security score (probes passed of those run, over
the tasks that keep data), tokens, cost, time to a checked app, repair rounds, and how often Forja's own check agreed
with the grader; as numbers for `--json` and an HTML page a person opens."""

from __future__ import annotations

import statistics
from pathlib import Path

from jinja2 import Environment, PackageLoader
from pydantic import BaseModel, Field

from builder.eval.results import EvalRun, TaskResult, run_folder

_pages = Environment(loader=PackageLoader("builder.eval", "templates"), autoescape=True, trim_blocks=True, lstrip_blocks=True)


class Rate(BaseModel):
    passed: int
    total: int

    @property
    def percent(self) -> float:
        return round(100 * self.passed / self.total, 1) if self.total else 0.0


class Summary(BaseModel):
    overall: Rate
    by_category: dict[str, Rate]
    security: Rate = Field(description="Security probes passed of those run, over the tasks that had any.")
    probed: int = Field(description="Tasks with security probes; the others keep no data, or their app did not run.")
    input_tokens: int
    output_tokens: int
    cost_usd: float | None
    median_seconds: float | None = Field(description="Median time from the prompt to a checked app, of the apps made.")
    repair_rounds: int
    caught: int = Field(description="Apps Forja's own check found broken that the grader failed too.")
    missed: int = Field(description="Apps Forja's check passed that the grader failed.")
    false_alarms: int = Field(description="Apps Forja's check found broken that the grader passed.")


def _rate(results: list[TaskResult]) -> Rate:
    return Rate(passed=sum(1 for r in results if r.passed), total=len(results))


def security(result: TaskResult) -> Rate | None:
    """A task's security score; None for a task without probes (it is no 100%)."""
    if not result.probes:
        return None
    return Rate(passed=sum(1 for probe in result.probes if probe.passed), total=len(result.probes))


def summary(run: EvalRun) -> Summary:
    tasks = run.tasks
    categories = sorted({t.category for t in tasks})
    checked = [t for t in tasks if t.verified is not None]
    costs = [t.cost_usd for t in tasks]
    made = [t.seconds for t in tasks if t.project_id is not None and not t.error]
    return Summary(
        overall=_rate(tasks),
        by_category={c: _rate([t for t in tasks if t.category == c]) for c in categories},
        security=Rate(
            passed=sum(1 for t in tasks for probe in t.probes if probe.passed), total=sum(len(t.probes) for t in tasks)
        ),
        probed=sum(1 for t in tasks if t.probes),
        input_tokens=sum(t.input_tokens for t in tasks),
        output_tokens=sum(t.output_tokens for t in tasks),
        cost_usd=None if None in costs else round(sum(c for c in costs if c is not None), 4),
        median_seconds=round(statistics.median(made), 1) if made else None,
        repair_rounds=sum(t.repair_rounds for t in tasks),
        caught=sum(1 for t in checked if t.verified != "passed" and not t.passed),
        missed=sum(1 for t in checked if t.verified == "passed" and not t.passed),
        false_alarms=sum(1 for t in checked if t.verified != "passed" and t.passed),
    )


class RunRow(BaseModel):
    """A run as the admin page lists it."""

    id: str
    suite: str
    mode: str
    model: str = Field(description="The provider and model of a model run; empty for reference and broken runs.")
    passed: int
    total: int
    cost_usd: float | None
    started_at: str
    finished: bool


def run_row(run: EvalRun) -> RunRow:
    s = summary(run)
    model = f"{run.provider} {run.model}".strip() if run.mode == "model" else ""
    return RunRow(
        id=run.id,
        suite=run.suite,
        mode=run.mode,
        model=model,
        passed=s.overall.passed,
        total=s.overall.total,
        cost_usd=s.cost_usd,
        started_at=run.started_at.strftime("%Y-%m-%d %H:%M"),
        finished=run.finished_at is not None,
    )


def words(run: EvalRun) -> str:
    """The run in a few lines, for the terminal."""
    s = summary(run)
    lines = [f"{run.suite} ({run.mode}{', ' + run.provider if run.mode == 'model' else ''}): {s.overall.passed} of "
             f"{s.overall.total} passed ({s.overall.percent}%)"]  # fmt: skip
    lines += [f"  {name}: {rate.passed} of {rate.total}" for name, rate in s.by_category.items()]
    lines.append(f"  {security_words(s)}")
    lines += [f"  security {t.id}: {_probes_line(t)}" for t in run.tasks if t.probes]
    if run.mode == "model":
        cost = f"about ${s.cost_usd:.3f}" if s.cost_usd is not None else "cost unknown"
        lines.append(f"  {s.input_tokens + s.output_tokens:,} tokens, {cost}, {s.repair_rounds} repair rounds")
        lines.append(f"  Forja's check: caught {s.caught}, missed {s.missed}, false alarms {s.false_alarms}")
    lines += [f"  FAIL {t.id}: {(t.error or '; '.join(t.grade.failed))[:200]}" for t in run.tasks if not t.passed]
    if run.note:
        lines.append(f"  {run.note}")
    return "\n".join(lines)


def security_words(s: Summary) -> str:
    if not s.probed:
        return "Security: no task had probes (none keeps data, or none of those ran)."
    return (
        f"Security: {s.security.passed} of {s.security.total} probes passed ({s.security.percent}%) "
        f"over {s.probed} of {s.overall.total} tasks; the others had none"
    )


def _probes_line(task: TaskResult) -> str:
    failed = [f"{probe.name}: {probe.reason}" for probe in task.probes if not probe.passed]
    passed = f"{len(task.probes) - len(failed)} of {len(task.probes)} probes passed"
    return passed + (f"; FAILED {'; '.join(failed)}"[:300] if failed else "")


def write_report(run: EvalRun, against: EvalRun | None = None) -> Path:
    """The HTML report beside the run's results (its screenshots are files there); with `against`, the two runs side
    by side, task by task."""
    others = {t.id: t for t in against.tasks} if against else {}
    html = _pages.get_template("report.html").render(
        run=run,
        summary=summary(run),
        security=security,
        against=against,
        against_summary=summary(against) if against else None,
        others=others,
    )
    name = f"compare-{against.id}.html" if against else "report.html"
    path = run_folder(run.id) / name
    path.write_text(html)
    return path
