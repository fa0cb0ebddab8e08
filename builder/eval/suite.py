"""Suites of app tasks: what a person asks for, checks written from their words, and a reference app.

A forja-smoke task is a folder of `builder/eval/suites/forja-smoke/`: `task.json` (title, category, prompt, the
entry file that `--broken` empties, and `shared`: what its words let anyone do to rows of others, which its security
probes expect), `checks.spec.js` (Playwright Test in the subset Forja reads: preview_runtime/check_script.py) and
`reference/` (an app that passes them, written here). Web-Bench's tasks come
from a checkout the person points to (builder/eval/webbench.py).
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, ValidationError

from builder.app_backend.rules import Action
from builder.errors import InvalidInput, NotFound

SUITES_DIR = Path(__file__).parent / "suites"
Category = Literal["front-end", "backend", "data"]
WEB_BENCH = "web-bench"


class WebBenchTests(BaseModel):
    """A Web-Bench task's grader: the benchmark's own Playwright tests, run as they are (builder/eval/webbench_grader.py)."""

    project_dir: str = Field(description="The project's folder in the checkout (its tests are in test/).")
    specs: list[str] = Field(description="The spec files that must pass: those of its tasks from `init` to this one.")
    test_util: str = Field(default="", description="The checkout's @web-bench/test-util folder, which the tests require.")


class EvalTask(BaseModel):
    id: str
    title: str
    category: Category
    prompt: str = Field(min_length=1, description="What a person would type.")
    entry: str = Field(default="", description="The file `--broken` empties in the reference: the app's page or server.")
    checks: dict[str, str] = Field(description="The grader's checks: Playwright Test files by name.")
    reference: dict[str, bytes] = Field(default_factory=dict, description="An app that passes the checks.")
    start: dict[str, bytes] = Field(
        default_factory=dict, description="The app the model starts from (none: a new project from the prompt)."
    )
    shared: list[Action] = Field(
        default_factory=list,
        description="What the task's words let anyone do to a row another person made (a poll's votes are read by all).",
    )
    chain: str = Field(default="", description="Tasks with the same chain build on each other, in order, in one project.")
    run_command: str = Field(default="", description="How the app runs (a run setting), when not as Forja detects.")
    web_bench: WebBenchTests | None = None

    def broken(self) -> dict[str, bytes]:
        """An app that must fail every check: where the model starts, if it starts from an app, else the reference
        with its entry file emptied."""
        return dict(self.start) if self.start else {**self.reference, self.entry: b""}


class TaskSpec(BaseModel):
    title: str
    category: Category
    prompt: str
    entry: str
    shared: list[Action] = Field(default_factory=list)


def _files(folder: Path) -> dict[str, bytes]:
    return {path.relative_to(folder).as_posix(): path.read_bytes() for path in sorted(folder.rglob("*")) if path.is_file()}


def forja_task(folder: Path) -> EvalTask:
    try:
        spec = TaskSpec.model_validate_json((folder / "task.json").read_bytes())
    except (OSError, ValidationError) as exc:
        raise InvalidInput(f"The task {folder.name} has no readable task.json: {exc}") from None
    checks = {path.name: path.read_text() for path in sorted(folder.glob("*.spec.js"))}
    return EvalTask(id=folder.name, **spec.model_dump(), checks=checks, reference=_files(folder / "reference"))


def suite_names() -> list[str]:
    return sorted([*(path.name for path in SUITES_DIR.iterdir() if path.is_dir()), WEB_BENCH])


def load_suite(name: str) -> list[EvalTask]:
    """The suite's tasks in order (web-bench's come from a checkout: builder/eval/webbench.py)."""
    folder = SUITES_DIR / name
    if not folder.is_dir():
        raise NotFound(f"There is no suite {name!r}; the suites are: {', '.join(suite_names())}.")
    return [forja_task(task) for task in sorted(folder.iterdir()) if (task / "task.json").is_file()]


def chosen(tasks: list[EvalTask], ids: list[str], limit: int | None) -> list[EvalTask]:
    """The tasks asked for by id (in the suite's order), else the first `limit`, else all."""
    if ids:
        known = {task.id for task in tasks}
        if unknown := [i for i in ids if i not in known]:
            raise NotFound(f"The suite has no task {', '.join(unknown)}.")
        tasks = [task for task in tasks if task.id in ids]
    return tasks[:limit] if limit else tasks
