"""Running a suite: each task's app made through Forja's own pipeline (or taken from its reference), then graded.

A model's app is a new project made from the task's prompt as the home page makes one: generated, run in its
preview, checked in a browser and repaired (at most `repair_rounds` rounds), then graded with the task's own checks,
which the model never sees; an app that keeps data is then probed for security (builder/eval/probes.py). `reference`
grades the suite's reference apps, `broken` the same with their entry file emptied (and no probes): the first must
pass and the second fail, or the grader is wrong. Each task's result is written to
`<data>/evals/<run id>/run.json` as soon as it is graded, so a run stopped midway goes on where it stopped.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from pydantic import BaseModel, Field

from builder.errors import ForjaError
from builder.eval.grader import grade
from builder.eval.probes import probe
from builder.eval.results import EvalRun, Grade, Mode, Probe, TaskResult, load_run, run_folder
from builder.eval.suite import EvalTask
from builder.eval.webbench_grader import grade_web_bench
from builder.generation.providers.choice import default_provider
from builder.models import LOCAL_USER_ID
from builder.services.run_settings import RunSettings

if TYPE_CHECKING:
    from builder.composition import Services

log = logging.getLogger(__name__)

LOG_LINES = 30


class EvalOptions(BaseModel):
    suite: str
    mode: Mode = "model"
    provider: str | None = None
    model: str | None = None
    repair_rounds: int = 2
    parallel: int = Field(default=1, ge=1, le=8)
    task_timeout_s: float = 600
    max_cost_usd: float | None = None
    resume: str | None = None


class EvalRunner:
    def __init__(self, services: Services, options: EvalOptions, say: Callable[[str], None] = lambda _: None) -> None:
        self.services = services
        self.options = options
        self.say = say
        self._lock = asyncio.Lock()

    async def run(self, tasks: list[EvalTask]) -> EvalRun:
        options = self.options
        if options.resume:
            run = load_run(options.resume)
        else:
            run = EvalRun(
                id=datetime.now(UTC).strftime("%Y%m%d-%H%M%S-") + secrets.token_hex(2),
                suite=options.suite,
                mode=options.mode,
                provider=options.provider or await default_provider(),
                model=options.model or "",
                repair_rounds=options.repair_rounds,
                started_at=datetime.now(UTC),
            )
        done = {result.id for result in run.tasks}
        todo = [task for task in tasks if task.id not in done]
        if done:
            self.say(f"Resuming {run.id}: {len(done)} done, {len(todo)} to go.")
        run_folder(run.id).mkdir(parents=True, exist_ok=True)
        self._save(run)
        gate = asyncio.Semaphore(options.parallel)
        # A model's chain ends at its first failed task, as the later ones build on it; a reference or a broken copy
        # is the same app for each task, and each is graded.
        builds = options.mode == "model"

        async def one(chain: list[EvalTask]) -> None:
            async with gate:
                # A chain that stopped midway goes on in the project its last task left, unless that task failed.
                earlier = {task.id for task in tasks if task.chain == chain[0].chain} if chain[0].chain else set()
                last = next((r for r in reversed(run.tasks) if r.id in earlier), None)
                project_id = last.project_id if last else None
                failed = last.id if last and not last.passed and builds else None
                try:
                    for task in chain:
                        if options.max_cost_usd is not None and _spent(run) >= options.max_cost_usd:
                            run.note = f"Stopped starting tasks at the cost cap (${options.max_cost_usd:.2f})."
                            return
                        if failed is not None:
                            result = _not_reached(task, failed)
                        else:
                            result = await self._task(run, task, project_id)
                            project_id = result.project_id or project_id
                            if not result.passed and task.chain and builds:
                                failed = task.id
                        async with self._lock:
                            run.tasks.append(result)
                            self._save(run)
                        self.say(f"{'PASS' if result.passed else 'FAIL'} {task.id}: {task.title}")
                finally:
                    if project_id is not None:
                        await self.services.previews.stop(project_id)

        await asyncio.gather(*(one(chain) for chain in chains(todo)))
        order = {task.id: n for n, task in enumerate(tasks)}
        run.tasks.sort(key=lambda result: order.get(result.id, len(order)))
        run.finished_at = datetime.now(UTC)
        self._save(run)
        return run

    def _save(self, run: EvalRun) -> None:
        path = run_folder(run.id) / "run.json"
        temporary = path.with_suffix(".tmp")
        temporary.write_text(run.model_dump_json(indent=2))
        temporary.replace(path)  # a run killed while writing keeps its last whole file

    async def _task(self, run: EvalRun, task: EvalTask, project_id: str | None) -> TaskResult:
        """One task's result; `project_id`: the project the chain's earlier tasks left, which this one goes on with."""
        started = time.monotonic()
        result = TaskResult(
            id=task.id, title=task.title, category=task.category, passed=False, grade=Grade(passed=False, checks=0)
        )
        try:
            if self.options.mode == "model":
                project_id = await self._made(task, result, project_id)
            elif project_id is None:
                files = task.reference if self.options.mode == "reference" else task.broken()
                project_id = await self._project(task, files)
            result.project_id = project_id
            if project_id is not None:
                graded, screenshot = await self._grade(task, project_id)
                result.grade, result.passed = graded, graded.passed
                if screenshot:
                    result.screenshot = f"{task.id.replace('/', '--')}.jpg"
                    (run_folder(run.id) / result.screenshot).write_bytes(screenshot)
                if graded.checks and self.options.mode != "broken":
                    result.probes = await self._probes(task, project_id)
                lines = self.services.logs.history(project_id)[-LOG_LINES:]
                result.log_tail = "\n".join(f"[{line.source}] {line.text}" for line in lines)
        except Exception as exc:  # one task's failure is its result, not the run's end
            log.exception("evaluation task %s failed", task.id)
            result.error = result.error or (exc.message if isinstance(exc, ForjaError) else f"{type(exc).__name__}: {exc}")
        result.seconds = round(result.seconds or time.monotonic() - started, 3)
        return result

    async def _probes(self, task: EvalTask, project_id: str) -> list[Probe]:
        """The security probes of the app that ran for its grade; a probe that could not run is a failed one."""
        try:
            return await probe(self.services, task, project_id)
        except ForjaError as exc:
            log.warning("the probes of evaluation task %s could not run: %s", task.id, exc.message)
            return [Probe(name="the probes run", passed=False, reason=f"They could not run: {exc.message}")]

    async def _grade(self, task: EvalTask, project_id: str) -> tuple[Grade, bytes | None]:
        broken = self.options.mode == "broken"
        if task.web_bench is not None:
            timeout_s = self.options.task_timeout_s
            files = await self.services.projects.read_tree(project_id)
            graded = grade_web_bench(self.services.verifications, project_id, files, task.web_bench, timeout_s, broken)
            return await graded
        return await grade(self.services.verifications, project_id, task.checks, first_failure=broken)

    async def _project(self, task: EvalTask, files: dict[str, bytes]) -> str:
        """A project of `files`, run as the task says."""
        created = await self.services.projects.create(f"Eval {task.chain or task.id}", files, owner=LOCAL_USER_ID)
        if task.run_command:
            await self.services.run_settings.set(created.project_id, RunSettings(command=task.run_command))
        return created.project_id

    async def _made(self, task: EvalTask, result: TaskResult, project_id: str | None) -> str | None:
        """The app the model makes of the task's prompt, checked and repaired: a new project, or a change of the one
        the task goes on with (or starts from); its costs and rounds into `result`."""
        generations = self.services.generations
        started = time.monotonic()
        if project_id is None and task.start:
            project_id = await self._project(task, task.start)
        if project_id is None:
            project_id = await generations.create_from_prompt(
                task.prompt,
                self.options.provider,
                self.options.model,
                discard_if_failed=False,
                verify=True,
                owner=LOCAL_USER_ID,
                repair_rounds=self.options.repair_rounds,
            )
            earlier = 0
        else:
            earlier = len(await generations.records(project_id))
            await generations.start(
                project_id,
                task.prompt,
                self.options.provider,
                self.options.model,
                verify=True,
                user_id=LOCAL_USER_ID,
                repair_rounds=self.options.repair_rounds,
            )
        # Shielded: a wait that times out must not cancel the generation itself (Stop does, and says so).
        waiting = asyncio.ensure_future(generations.wait(project_id))
        try:
            last = await asyncio.wait_for(asyncio.shield(waiting), self.options.task_timeout_s)
        except TimeoutError:
            await generations.stop(project_id)
            await waiting
            last = None
            result.error = f"No checked app within {self.options.task_timeout_s:.0f} s (--task-timeout)."
        result.seconds = round(time.monotonic() - started, 3)
        records = (await generations.records(project_id))[earlier:]
        result.repair_rounds = sum(1 for record in records if record.kind == "repair")
        result.input_tokens = sum(record.input_tokens for record in records)
        result.output_tokens = sum(record.output_tokens for record in records)
        costs = [record.cost_usd for record in records]
        result.cost_usd = None if None in costs else sum(cost for cost in costs if cost is not None)
        checked = await self.services.verifications.latest(project_id)
        result.verified = checked.status if checked else None
        if last is not None and last.type == "error":
            result.error = last.message
        if (await self.services.projects.get(project_id)).current_version is None:
            return None
        return project_id


def chains(tasks: list[EvalTask]) -> list[list[EvalTask]]:
    """The tasks in the groups that run one after another: each chain's tasks in order, every other task alone."""
    groups: dict[str, list[EvalTask]] = {}
    for task in tasks:
        groups.setdefault(task.chain or f"\0{task.id}", []).append(task)
    return list(groups.values())


def _not_reached(task: EvalTask, failed: str) -> TaskResult:
    return TaskResult(
        id=task.id,
        title=task.title,
        category=task.category,
        passed=False,
        grade=Grade(passed=False, checks=0),
        error=f"Not attempted: {failed} failed before it, and this task builds on it.",
    )


def _spent(run: EvalRun) -> float:
    return sum(result.cost_usd or 0.0 for result in run.tasks)
