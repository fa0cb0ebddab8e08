"""An evaluation run's results as kept under the data folder: one `run.json` per run, written after each task, with
the pages' screenshots and the HTML report beside it. They need no service: the admin's pages read them, and only
the runner and the graders drive Forja to make them."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field

from builder.errors import NotFound
from builder.eval.suite import Category
from builder.settings import settings

Mode = Literal["model", "reference", "broken"]


class Grade(BaseModel):
    passed: bool
    checks: int = Field(description="How many of the task's checks ran.")
    failed: list[str] = Field(default_factory=list, description="Each failed check: its title and why.")
    duration_s: float = 0.0


class Probe(BaseModel):
    """One security probe of an app that keeps data (builder/eval/probes.py)."""

    name: str = Field(description="What it tried, e.g. \"another user reads a user's row of 'todos'\".")
    passed: bool
    reason: str = Field(description="Why it passed or failed, in plain words.")


class TaskResult(BaseModel):
    id: str
    title: str
    category: Category
    passed: bool
    grade: Grade
    project_id: str | None = None
    verified: str | None = Field(default=None, description="What Forja's own check said last: passed, problems...")
    repair_rounds: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float | None = 0.0
    seconds: float = Field(default=0.0, description="From the prompt to a checked app (or to the error).")
    error: str = ""
    screenshot: str | None = Field(default=None, description="The page's screenshot, a file beside run.json.")
    log_tail: str = ""
    probes: list[Probe] = Field(
        default_factory=list, description="Its security probes: none for a task that keeps no data, or whose app did not run."
    )


class EvalRun(BaseModel):
    id: str
    suite: str
    mode: Mode
    provider: str = ""
    model: str = ""
    repair_rounds: int = 0
    started_at: datetime
    finished_at: datetime | None = None
    note: str = ""
    tasks: list[TaskResult] = Field(default_factory=list)


def evals_dir() -> Path:
    return settings.data_dir / "evals"


def run_folder(run_id: str) -> Path:
    return evals_dir() / run_id


def load_run(run_id: str) -> EvalRun:
    path = run_folder(run_id) / "run.json"
    if not path.is_file():
        raise NotFound(f"There is no evaluation run {run_id!r} in {evals_dir()}.")
    return EvalRun.model_validate_json(path.read_bytes())


def saved_runs() -> list[EvalRun]:
    """Every run kept under the data folder, the newest first."""
    runs = [EvalRun.model_validate_json(path.read_bytes()) for path in evals_dir().glob("*/run.json")]
    return sorted(runs, key=lambda run: run.started_at, reverse=True)
