"""Agent-mode benchmark (issue 35): the agent loop's overhead per step (the issue's other figure, target at most 5% of the model's own time): agent-mode
runs (GenerationService.start(..., agent=True)) through the service layer on a temporary SQLite database, with the real
anthropic SDK against the scripted server (tests/llm_server.py) as the tests point it. Each run works on the React
starter (templates/react-vite-tailwind, 22 files) in 20 steps of in-memory tools (list_files, read_file, search_code,
edit_file, write_file: no preview), then `finish`; each model turn streams a sentence of prose, then its call, paced at
--loop-rates tokens a second (4 characters a token). The run's own log line says where its time went: the model
(waiting on its stream, the SDK's request and stream handling included), the tools, and Forja's own loop work (the
rest: the run's setup, requests built, budget checks, steps saved to the database, events published; the line gives
the model's time to 0.1 s and Forja's to 0.01 s, a few tenths of a percent of a 20-step run's model time):

  per step      model s, Forja's own s and tools s over the run's steps, p50 over --loop-runs runs after one warm-up;
  overhead      Forja's own time over the model's, per run: p50, min and max;
  start to done the whole generation (GenerationService.start to its done event, the version's save included) less
                the model's and the tools' time, over the model's;
  parts         Forja's own time in three calls, timed by wrapping them for the bench (what they do is unchanged):
                the steps' save (ProjectStore.save_steps, one commit a step), the budget check before each model
                request, and the provider made at the run's start (its SDK client); the rest is the run's setup and
                the event loop. --budgets sets both budgets, so each check runs its two usage queries.

    .venv/bin/python bench/agent_loop.py [--loop-runs 5] [--loop-rates 300] [--budgets]
"""

from __future__ import annotations

import argparse
import asyncio
import inspect
import re
import shutil
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import builder.composition  # noqa: E402
import builder.services.agent_run  # noqa: E402
from builder import db  # noqa: E402
from builder.composition import Services  # noqa: E402
from builder.generation import guard  # noqa: E402
from builder.generation.engine import GenerationEvent  # noqa: E402
from builder.generation.starters import StarterVariables, get_starter, render_starter  # noqa: E402
from builder.models import LOCAL_USER_ID  # noqa: E402
from builder.services.agent_workspace import AgentWorkspace  # noqa: E402
from builder.settings import settings  # noqa: E402
from builder.store import ProjectStore  # noqa: E402
from preview_runtime.logs import LogHub  # noqa: E402
from tests.conftest import TEST_ANTHROPIC_KEY  # noqa: E402
from tests.llm_server import CHARS_PER_TOKEN, ScriptedLLMServer, ToolAnswer  # noqa: E402

LOOP_TARGET = 0.05
LOOP_TASK = "Give each item a priority (low, normal or high): pick it when adding one, show it as a badge, list high first."
TIMING = re.compile(r"Agent run: (\d+) steps, (\d+) files changed; model ([\d.]+) s, tools ([\d.]+) s, Forja ([\d.]+) s\.")

PRIORITY_STATE = """  const [date, setDate] = useState('')
  const [priority, setPriority] = useState('normal')"""
PRIORITY_SELECT = """      <select
        value={priority}
        onChange={(e) => setPriority(e.target.value)}
        aria-label="Priority"
        className="rounded-lg border border-slate-200 bg-white px-3 py-2.5 text-sm text-slate-600 outline-none focus:border-accent focus:ring-2 focus:ring-accent/30 dark:border-slate-700 dark:bg-slate-800 dark:text-slate-300"
      >
        {PRIORITIES.map((p) => (
          <option key={p.id} value={p.id}>
            {p.label}
          </option>
        ))}
      </select>
      <button
        type="submit\""""
PRIORITY_BADGE = """// A small coloured label for an item's priority; normal items show none, so the list stays calm.
export const PRIORITIES = [
  { id: 'high', label: 'High', rank: 0 },
  { id: 'normal', label: 'Normal', rank: 1 },
  { id: 'low', label: 'Low', rank: 2 },
]

export const priorityRank = (id) => (PRIORITIES.find((p) => p.id === id) ?? PRIORITIES[1]).rank

const STYLES = {
  high: 'bg-red-50 text-red-700 ring-red-600/20 dark:bg-red-950 dark:text-red-300 dark:ring-red-400/30',
  low: 'bg-slate-50 text-slate-600 ring-slate-500/20 dark:bg-slate-800 dark:text-slate-300 dark:ring-slate-400/30',
}

export default function PriorityBadge({ priority }) {
  if (!priority || priority === 'normal') return null
  const label = PRIORITIES.find((p) => p.id === priority)?.label ?? priority
  return (
    <span
      className={`ml-2 inline-flex items-center rounded-full px-2 py-0.5 text-xs font-medium ring-1 ring-inset ${STYLES[priority] ?? ''}`}
      aria-label={`Priority: ${label}`}
    >
      {label}
    </span>
  )
}
"""
PRIORITY_CHECK = """import { test, expect } from '@playwright/test';

test('Add a high-priority item: it shows a High badge and comes first', async ({ page }) => {
  await page.goto('/');
  await page.getByLabel(/^New /).fill('Water the plants');
  await page.getByRole('button', { name: 'Add' }).click();
  await page.getByLabel(/^New /).fill('Call the bank');
  await page.getByLabel('Priority').selectOption('high');
  await page.getByRole('button', { name: 'Add' }).click();
  await expect(page.getByLabel('Priority: High')).toBeVisible();
  await expect(page.getByRole('listitem').first()).toContainText('Call the bank');
});
"""


Turn = tuple[str, str, dict[str, Any]]  # the prose before the call, the tool, its arguments


def turn(prose: str, tool: str, **arguments: Any) -> Turn:
    return prose, tool, arguments


def loop_script(files: dict[str, str]) -> list[Turn]:
    """A 20-step run on the React starter, as a model would do it: a sentence, then one call, each turn. The edits are
    checked against a draft kept here, so each search text appears once in its file, as the workspace requires."""
    form, app, items = "src/components/ItemForm.jsx", "src/App.jsx", "src/components/ItemList.jsx"
    badge, check = "src/components/PriorityBadge.jsx", ".forja/checks/07-priority.spec.js"
    turns = [
        turn("I'll start by looking at how the project is laid out.", "list_files"),
        turn("The app's state lives in App.jsx; let me read it to see how items are stored.", "read_file", path=app),
        turn("Items are added through ItemForm. Let me see its fields.", "read_file", path=form),
        turn("And the list that shows each item:", "read_file", path=items),
        turn("Let me find every place an item is created or passed on.", "search_code", pattern=r"onAdd|addItem"),
        turn(
            "Items are kept in local storage; let me check how, so old items without a priority still load.",
            "read_file",
            path="src/hooks/useLocalStorage.js",
        ),
        turn(
            "I'll add the priority to the form's state, defaulting to normal.",
            "edit_file",
            path=form,
            search="  const [date, setDate] = useState('')",
            replace=PRIORITY_STATE,
        ),
        turn(
            "Now pass it on when the form is sent.",
            "edit_file",
            path=form,
            search="onAdd(value, date || null)",
            replace="onAdd(value, date || null, priority)",
        ),
        turn(
            "And reset it after adding, like the date.",
            "edit_file",
            path=form,
            search="    setDate('')\n  }",
            replace="    setDate('')\n    setPriority('normal')\n  }",
        ),
        turn(
            "A select for the priority, before the Add button:",
            "edit_file",
            path=form,
            search='      <button\n        type="submit"',
            replace=PRIORITY_SELECT,
        ),
        turn(
            "The priorities and their badge go in a component of their own, used by the form and the list.",
            "write_file",
            path=badge,
            content=PRIORITY_BADGE,
        ),
        turn(
            "The form needs the list of priorities.",
            "edit_file",
            path=form,
            search="import { useState } from 'react'",
            replace="import { useState } from 'react'\nimport { PRIORITIES } from './PriorityBadge.jsx'",
        ),
        turn(
            "Now App.jsx keeps the priority with each new item.",
            "edit_file",
            path=app,
            search="  const addItem = (text, date) =>\n    setItems((list) => [{ id: newId(), text, date, done: false,",
            replace="  const addItem = (text, date, priority = 'normal') =>\n"
            "    setItems((list) => [{ id: newId(), text, date, priority, done: false,",
        ),
        turn(
            "High-priority items first: sort the visible ones by rank, keeping the newest first within a rank.",
            "edit_file",
            path=app,
            search="  }, [items, filter, query])",
            replace="  }, [items, filter, query])\n  const sorted = useMemo(\n"
            "    () => [...visible].sort((a, b) => priorityRank(a.priority) - priorityRank(b.priority)),\n"
            "    [visible],\n  )",
        ),
        turn(
            "Import the rank helper.",
            "edit_file",
            path=app,
            search="import ItemList from './components/ItemList.jsx'",
            replace="import ItemList from './components/ItemList.jsx'\n"
            "import { priorityRank } from './components/PriorityBadge.jsx'",
        ),
        turn("And list the sorted items.", "edit_file", path=app, search="items={visible}", replace="items={sorted}"),
        turn(
            "The list shows the badge next to each item's text.",
            "edit_file",
            path=items,
            search="{item.text}</p>",
            replace="{item.text}\n              <PriorityBadge priority={item.priority} />\n            </p>",
        ),
        turn(
            "Import the badge in the list.",
            "edit_file",
            path=items,
            search="const formatDate = (iso) =>",
            replace="import PriorityBadge from './PriorityBadge.jsx'\n\nconst formatDate = (iso) =>",
        ),
        turn("Let me check every use of the priority is consistent.", "search_code", pattern="priority|Priority"),
        turn(
            "An acceptance check for the new behaviour, in the project's checks folder.",
            "write_file",
            path=check,
            content=PRIORITY_CHECK,
        ),
    ]
    draft = dict(files)
    for _, tool, arguments in turns:
        if tool == "edit_file":
            text = draft[arguments["path"]]
            if text.count(arguments["search"]) != 1:
                raise SystemExit(f"the scripted edit of {arguments['path']} no longer fits the starter: {arguments['search']!r}")
            draft[arguments["path"]] = text.replace(arguments["search"], arguments["replace"], 1)
        elif tool == "write_file":
            draft[arguments["path"]] = arguments["content"]
    summary = (
        "Each item now has a priority (low, normal or high), picked when adding it; high and low show as a badge, and "
        "high-priority items come first. A new acceptance check adds a high-priority item and looks for its badge and its place."
    )
    return [*turns, turn("Everything is in place.", "finish", summary=summary)]


class Parts:
    """Time spent in a few of Forja's calls while the loop runs, by wrapping them for the bench: what they do is
    unchanged, and a wrapper adds about a microsecond a call."""

    def __init__(self) -> None:
        self.spent: dict[str, float] = defaultdict(float)
        self._undo: list[tuple[Any, str, Any]] = []

    def wrap(self, owner: Any, name: str, label: str) -> None:
        original = getattr(owner, name)
        if inspect.iscoroutinefunction(original):

            async def timed_async(*args: Any, **kwargs: Any) -> Any:
                began = time.perf_counter()
                try:
                    return await original(*args, **kwargs)
                finally:
                    self.spent[label] += time.perf_counter() - began

            setattr(owner, name, timed_async)
        else:

            def timed(*args: Any, **kwargs: Any) -> Any:
                began = time.perf_counter()
                try:
                    return original(*args, **kwargs)
                finally:
                    self.spent[label] += time.perf_counter() - began

            setattr(owner, name, timed)
        self._undo.append((owner, name, original))

    def taken(self) -> dict[str, float]:
        """What was spent since the last call, by label."""
        spent, self.spent = dict(self.spent), defaultdict(float)
        return spent

    def unwrap(self) -> None:
        for owner, name, original in reversed(self._undo):
            setattr(owner, name, original)


@dataclass
class LoopRun:
    steps: int
    turns: int
    failed: int
    files: int
    model_s: float
    tools_s: float
    own_s: float
    paced_s: float
    wall_s: float
    parts: dict[str, float]


async def loop_run(services: Services, llm: ScriptedLLMServer, files: dict[str, str], rate: float, parts: Parts) -> LoopRun:
    answers = [
        ToolAnswer(arguments, tool_name=tool, text_before=prose, tokens_per_second=rate)
        for prose, tool, arguments in loop_script(files)
    ]
    paced = sum(len(a.text_before) + len(a.text) for a in answers) / CHARS_PER_TOKEN / rate
    project_id = (await services.projects.create("Bench agent", files, owner=LOCAL_USER_ID)).project_id
    asked = len(llm.requests)
    llm.queue(*answers)
    parts.taken()
    began = time.monotonic()
    await services.generations.start(project_id, LOOP_TASK, "anthropic", verify=False, user_id=LOCAL_USER_ID, agent=True)
    steps: list[dict[str, Any]] = []
    final: GenerationEvent | None = None
    async for event in services.generations.follow(project_id):
        if event.type == "step" and event.step is not None:
            steps.append(event.step)
        final = event
    wall = time.monotonic() - began
    spent = parts.taken()
    if final is None or final.type != "done":
        raise SystemExit(f"the agent run did not end with a version: {final.message if final else 'no event'}")
    said = [m for line in services.logs.history(project_id) if line.source == "agent" and (m := TIMING.search(line.text))]
    if not said:
        raise SystemExit("the agent run logged no timing line")
    count, changed, model_s, _, own_s = said[-1].groups()  # the tools' time, rounded to 0.1 s there, is timed here
    return LoopRun(
        steps=int(count),
        turns=len(llm.requests) - asked,
        failed=sum(not step["ok"] for step in steps),
        files=int(changed),
        model_s=float(model_s),
        tools_s=spent.pop("tools", 0.0),
        own_s=float(own_s),
        paced_s=paced,
        wall_s=wall,
        parts=spent,
    )


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


async def measure_loop(runs: int, rates: list[float], budgets: bool) -> None:
    files = render_starter(get_starter("react-vite-tailwind"), StarterVariables(title="Barber shop", item_noun="appointment"))
    size = sum(len(text.encode()) for text in files.values())
    work = Path(tempfile.mkdtemp(prefix="forja-bench-agent-loop-"))
    parts = Parts()
    with ScriptedLLMServer() as llm:
        values: dict[str, Any] = {
            "data_dir": work / "data",
            "anthropic_api_key": TEST_ANTHROPIC_KEY,
            "anthropic_base_url": llm.anthropic_base_url,
            "anthropic_model": "claude-sonnet-5-5",
            "provider": "",
            "verify_generations": False,
            "secret_key": Fernet.generate_key().decode(),
            "budget_project_usd": 100.0 if budgets else 0.0,
            "budget_daily_usd": 1000.0 if budgets else 0.0,
        }
        before = {name: getattr(settings, name) for name in values}
        for name, value in values.items():
            setattr(settings, name, value)
        guard.secret_values.cache_clear()  # it caches the keys from settings
        db.migrate(f"sqlite:///{work / 'forja.db'}")
        services = Services(store=ProjectStore(db.create_engine(f"sqlite+aiosqlite:///{work / 'forja.db'}")), logs=LogHub())
        builder.composition._services = services
        parts.wrap(ProjectStore, "save_steps", "save")
        parts.wrap(builder.services.agent_run, "check_budget", "budget")
        parts.wrap(builder.services.agent_run, "get_provider", "provider")
        parts.wrap(AgentWorkspace, "do", "tools")
        try:
            print(
                f"agent loop: the React starter ({len(files)} files, {size / 1000:.0f} KB), {len(loop_script(files)) - 1} steps "
                f"of in-memory tools then finish, a sentence of prose before each call; budgets "
                f"{'set (FORJA_BUDGET_PROJECT_USD, FORJA_BUDGET_DAILY_USD)' if budgets else 'off (the default)'}",
                flush=True,
            )
            warm = await loop_run(services, llm, files, max(rates), parts)
            print(f"warm-up, not counted: {warm.steps} steps in {warm.wall_s:.2f} s", flush=True)
            for rate in rates:
                print(f"{rate:.0f} tokens/s, {runs} runs:", flush=True)
                done: list[LoopRun] = []
                for number in range(1, runs + 1):
                    run = await loop_run(services, llm, files, rate, parts)
                    done.append(run)
                    print(
                        f"  run {number}: {run.steps} steps ({run.failed} failed), {run.turns} model turns, {run.files} files "
                        f"changed; model {run.model_s:.1f} s, tools {ms(run.tools_s)}, Forja {run.own_s:.2f} s "
                        f"({run.own_s / run.model_s:.1%} of the model's); start to done {run.wall_s:.2f} s",
                        flush=True,
                    )
                said_loop(done)
        finally:
            await services.close()
            builder.composition._services = None
            parts.unwrap()
            for name, value in before.items():
                setattr(settings, name, value)
            guard.secret_values.cache_clear()
            shutil.rmtree(work, ignore_errors=True)


def said_loop(done: list[LoopRun]) -> None:
    def p50(values: list[float]) -> float:
        return statistics.median(values)

    steps = p50([r.steps for r in done])
    ratios = [r.own_s / r.model_s for r in done]
    ratio = p50(ratios)
    print(
        f"  per step, p50 over {len(done)} runs of {steps:.0f} steps: model {p50([r.model_s / r.steps for r in done]):.3f} s, "
        f"Forja's own {ms(p50([r.own_s / r.steps for r in done]))}, tools {ms(p50([r.tools_s / r.steps for r in done]))}",
        flush=True,
    )
    print(
        f"  Forja's own time / the model's: p50 {ratio:.1%} (min {min(ratios):.1%}, max {max(ratios):.1%}); with the "
        f"tools {p50([(r.own_s + r.tools_s) / r.model_s for r in done]):.1%}; start to done, the version's save "
        f"included: {p50([(r.wall_s - r.model_s - r.tools_s) / r.model_s for r in done]):.1%}",
        flush=True,
    )
    print(
        f"  the model's time / the server's paced streaming: p50 {p50([r.model_s / r.paced_s for r in done]):.2f} (the "
        "SDK's request and stream handling count as the model's)",
        flush=True,
    )
    save = p50([r.parts.get("save", 0.0) / r.steps for r in done])
    budget = p50([r.parts.get("budget", 0.0) / r.turns for r in done])
    provider = p50([r.parts.get("provider", 0.0) for r in done])
    rest = p50([(r.own_s - sum(r.parts.values())) / r.steps for r in done])
    print(
        f"  Forja's own time by part, p50: saving the steps {ms(save)} a step; the budget check {ms(budget)} a model "
        f"turn; the provider made at the run's start {ms(provider)} a run; the rest (the run's setup, the event loop) "
        f"{ms(rest)} a step",
        flush=True,
    )
    verdict = "met" if ratio <= LOOP_TARGET else "not met"
    print(
        f"  target: Forja's own time per step at most {LOOP_TARGET:.0%} of the model's: {verdict} (p50 {ratio:.1%})",
        flush=True,
    )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--loop-runs", type=int, default=5, help="counted agent runs per rate")
    parser.add_argument("--loop-rates", default="300", help="the model's tokens per second, comma-separated")
    parser.add_argument("--budgets", action="store_true", help="agent runs with the project and daily budgets set")
    args = parser.parse_args()
    await measure_loop(args.loop_runs, [float(rate) for rate in args.loop_rates.split(",")], args.budgets)


if __name__ == "__main__":
    asyncio.run(main())
