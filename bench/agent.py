"""Acceptance-check benchmark (issue 35): the run time of each acceptance check, warm. Prints figures, asserts nothing.

A real upstream project from the corpus (scripts/corpus.py; by default vite-vue, create-vite's Vue template) runs in the
local runner (bubblewrap) behind Traefik, installed offline from its seeded npm cache, as bench/corpus.py starts it.
Four acceptance checks of its real page, Playwright Test files in the subset Forja reads (preview_runtime.check_script),
are run by `run_acceptance` in headless Chromium against the preview's address, as verification runs them:

  per check     each check's `duration_s` (its page, its steps and its screenshot; not its browser context's making),
                p50 and p95 (nearest rank: with 10 runs, the slowest) over --runs runs, then the p50 over all checks;
  page check    Forja's page check (`PageChecker.check`) of the same page in the same runs, as a reference: per-check
                p50 / page-check p50;
  all checks    the wall time of one `run_acceptance` call (all the checks, each with its own browser context);
  failing       a check that waits for a button the page does not have, --failing-runs times: the step's cap
                (STEP_TIMEOUT_S) is most of its time.

Warm: one run of the page check and the checks comes first and is not counted (Chromium started, Vite's dependencies
optimized on its first visit). Each counted run does what verification does: the page check, then the checks.

The agent loop's overhead per step is bench/agent_loop.py's.

    .venv/bin/python bench/agent.py [--project vite-vue] [--runs 10] [--failing-runs 3]
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.corpus import local_runner  # noqa: E402
from bench.parking import percentile, started  # noqa: E402
from bench.preview import free_port  # noqa: E402
from builder.settings import settings  # noqa: E402
from preview_runtime.acceptance import STEP_TIMEOUT_S, AcceptanceOutcome, run_acceptance  # noqa: E402
from preview_runtime.logs import LogHub  # noqa: E402
from preview_runtime.manager import PreviewManager  # noqa: E402
from preview_runtime.proxy import PreviewProxy  # noqa: E402
from preview_runtime.verify import PageChecker, find_chromium  # noqa: E402
from scripts.corpus import CORPUS_DIR, ENTRIES, app_files  # noqa: E402

TARGET_S = 1.0
HEADER = "import { test, expect } from '@playwright/test';\n\n"

# The checks a person (or the model) would write for create-vite's Vue template (src/components/HelloWorld.vue).
VUE_CHECKS = {
    ".forja/checks/01-heading.spec.js": HEADER
    + """test('Open the app: it says "Get started"', async ({ page }) => {
  await page.goto('/');
  await expect(page.getByRole('heading', { name: 'Get started' })).toBeVisible();
});
""",
    ".forja/checks/02-count-once.spec.js": HEADER
    + """test('Click the counter once: it shows 1', async ({ page }) => {
  await page.goto('/');
  await page.getByRole('button', { name: 'Count is 0' }).click();
  await expect(page.getByRole('button', { name: 'Count is 1' })).toBeVisible();
});
""",
    ".forja/checks/03-count-twice.spec.js": HEADER
    + """test('Click the counter twice: it shows 2', async ({ page }) => {
  await page.goto('/');
  const counter = page.getByRole('button', { name: /Count is/ });
  await counter.click();
  await counter.click();
  await expect(counter).toHaveText('Count is 2');
});
""",
    ".forja/checks/04-docs-link.spec.js": HEADER
    + """test('The documentation links to Vite', async ({ page }) => {
  await page.goto('/');
  await expect(page.getByRole('link', { name: 'Explore Vite' })).toHaveAttribute('href', 'https://vite.dev/');
});
""",
}
FAILING = {
    ".forja/checks/99-reset.spec.js": HEADER
    + """test('Reset the counter: it shows 0 again', async ({ page }) => {
  await page.goto('/');
  await page.getByRole('button', { name: 'Reset' }).click();
  await expect(page.getByRole('button', { name: 'Count is 0' })).toBeVisible();
});
"""
}
CHECKS = {"vite-vue": VUE_CHECKS, "vite-vue-ts": VUE_CHECKS}  # the TypeScript template shows the same page


def said_failures(outcomes: list[AcceptanceOutcome]) -> None:
    for outcome in outcomes:
        if not outcome.passed:
            print(f"    failed, not counted: {outcome.title}: {outcome.message}", flush=True)


async def measure(checker: PageChecker, url: str, scripts: dict[str, str], runs: int, failing_runs: int) -> None:
    timeout_s = settings.acceptance_check_timeout_s
    warm_started = time.perf_counter()
    page = await checker.check(url)
    first = await run_acceptance(checker, url, scripts, timeout_s)
    print(
        f"warm-up, not counted (Chromium started, the app's first visit): page check {page.duration_s:.2f} s, "
        f"checks {sum(o.duration_s for o in first):.2f} s, {time.perf_counter() - warm_started:.2f} s in all",
        flush=True,
    )
    said_failures(first)
    if page.problems:
        print(f"    the page check found: {'; '.join(p.message for p in page.problems)}", flush=True)

    durations: dict[str, list[float]] = {o.title: [] for o in first}
    pages: list[float] = []
    walls: list[float] = []
    for _ in range(runs):  # as verification does: the page check, then the checks
        pages.append((await checker.check(url)).duration_s)
        began = time.perf_counter()
        outcomes = await run_acceptance(checker, url, scripts, timeout_s)
        walls.append(time.perf_counter() - began)
        said_failures(outcomes)
        for outcome in outcomes:
            if outcome.passed:
                durations.setdefault(outcome.title, []).append(outcome.duration_s)

    page_p50 = statistics.median(pages)
    print(f"{len(durations)} acceptance checks, {runs} runs after the warm-up:", flush=True)
    width = max(len(title) for title in durations)
    for title, times in durations.items():
        if not times:
            print(f"  {title:<{width}}  no run passed", flush=True)
            continue
        p50 = statistics.median(times)
        print(
            f"  {title:<{width}}  p50 {p50:.2f} s  p95 {percentile(times, 0.95):.2f} s  ({len(times)} passed)  "
            f"{p50 / page_p50:.2f} of the page check",
            flush=True,
        )
    pooled = [t for times in durations.values() for t in times]
    if pooled:
        all_p50 = statistics.median(pooled)
        print(f"all checks: p50 {all_p50:.2f} s, p95 {percentile(pooled, 0.95):.2f} s over {len(pooled)} check runs", flush=True)
        print(
            f"page check (PageChecker.check) of the same page: p50 {page_p50:.2f} s, p95 {percentile(pages, 0.95):.2f} s; "
            f"per-check p50 / page-check p50 = {all_p50 / page_p50:.2f}",
            flush=True,
        )
        print(
            f"one run_acceptance call, all {len(durations)} checks with their browser contexts: p50 "
            f"{statistics.median(walls):.2f} s, p95 {percentile(walls, 0.95):.2f} s",
            flush=True,
        )
        print(f"target: p50 ≤ {TARGET_S:.0f} s warm (measured p50 {all_p50:.2f} s)", flush=True)

    failed: list[AcceptanceOutcome] = []
    for _ in range(failing_runs):
        failed += await run_acceptance(checker, url, FAILING, timeout_s)
    if failed:
        times = [o.duration_s for o in failed]
        print(
            f"a failing check (waits for a 'Reset' button the page does not have): p50 {statistics.median(times):.2f} s, "
            f"max {max(times):.2f} s over {len(times)} runs, of which the step's cap STEP_TIMEOUT_S {STEP_TIMEOUT_S:.0f} s; "
            f"{sum(not o.passed for o in failed)} of {len(failed)} failed, saying: {failed[-1].message}",
            flush=True,
        )


# -- the agent loop's overhead per step -----------------------------------------------------------------------------


async def measure_checks(name: str, runs: int, failing_runs: int) -> None:
    entry = next(e for e in ENTRIES if e.name == name)
    if not (CORPUS_DIR / entry.name / "app").is_dir():
        raise SystemExit(f"{entry.name} is not in the fetched corpus (scripts/fetch_corpus.py fetches it)")
    work = Path(tempfile.mkdtemp(prefix="forja-bench-agent-"))
    project_id, preview_id = "bench-agent", "agent1"
    manager = PreviewManager(
        {"local": local_runner(work / "previews", entry, project_id)}, PreviewProxy(work / "proxy", free_port()), LogHub()
    )
    checker = PageChecker(find_chromium(settings.chromium_path))
    await manager.start_background()
    try:
        began = time.perf_counter()
        await started(manager, preview_id, project_id, app_files(entry), "local")
        url = (await manager.status(preview_id)).url + entry.path
        print(
            f"{entry.name}: local runner, offline from its seeded npm cache, answering at {url} after "
            f"{time.perf_counter() - began:.1f} s",
            flush=True,
        )
        await measure(checker, url, CHECKS[entry.name], runs, failing_runs)
    finally:
        await checker.close()
        for preview in manager.running():
            await manager.stop(preview.preview_id)
        await manager.close()
        shutil.rmtree(work, ignore_errors=True)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--project", default="vite-vue", choices=sorted(CHECKS), help="the corpus project")
    parser.add_argument("--runs", type=int, default=10, help="counted runs of all the checks")
    parser.add_argument("--failing-runs", type=int, default=3, help="runs of the failing check")
    args = parser.parse_args()
    await measure_checks(args.project, args.runs, args.failing_runs)


if __name__ == "__main__":
    asyncio.run(main())
