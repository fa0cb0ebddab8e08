"""Agent mode's `search_code` with RE2 (issue 51): what a catastrophic pattern over a planted line costs, and what a
search of a large project costs the event loop. Prints figures; asserts nothing.

  planted    `^(a+)+$` over `a` * n + `!`: Python's `re` (up to --re-max n, as it doubles with each `a`) and RE2
             (preview_runtime/patterns.py) at the same n and at --re2-n; p50 of --runs runs.
  project    AgentWorkspace's search_code (the service layer's path, off the event loop) over a project of --files
             files of 40 lines (10.6 MB by default, so the search reads its cap, 8 MB), one pattern that matches one
             line a file: its wall time (p50), and the longest the event loop went without running a ticker task that
             asks every 1 ms while it ran; then the same search called on the event loop itself, for comparison.

    .venv/bin/python bench/agent_search.py [--runs 5] [--re-max 24] [--re2-n 10000] [--files 4000]
"""

from __future__ import annotations

import argparse
import asyncio
import re
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from builder.code_search import search_files  # noqa: E402
from builder.generation.agent_tools import SearchCode  # noqa: E402
from builder.services.agent_workspace import AgentWorkspace  # noqa: E402
from preview_runtime.logs import LogHub  # noqa: E402
from preview_runtime.patterns import compile_pattern  # noqa: E402

CATASTROPHIC = r"^(a+)+$"


def p50_ms(runs: int, call: Callable[[], object]) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        call()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def planted(runs: int, re_max: int, re2_n: int) -> None:
    backtracking = re.compile(CATASTROPHIC)
    linear = compile_pattern(CATASTROPHIC)
    print(f"planted line, {CATASTROPHIC} over 'a' * n + '!', p50 of {runs} runs:")
    for n in range(re_max - 6, re_max + 1, 2):
        line = "a" * n + "!"
        print(
            f"  n={n:>5}  re {p50_ms(runs, lambda line=line: backtracking.search(line)):>9.1f} ms"
            f"  RE2 {p50_ms(runs, lambda line=line: linear.search(line)):.4f} ms"
        )
    line = "a" * re2_n + "!"
    print(f"  n={re2_n:>5}  re (not run: it would take years)  RE2 {p50_ms(runs, lambda: linear.search(line)):.4f} ms")


async def project(runs: int, files: int) -> None:
    body = "".join(f"export const value{i} = compute({i}, 'some text of a line of code');\n" for i in range(40)).encode()
    tree = {f"src/module{index:05}.js": body for index in range(files)}
    size = sum(len(data) for data in tree.values())
    # The search reads the files it is given: none of the workspace's preview parts are used.
    workspace = AgentWorkspace("bench", tree, None, None, LogHub(), None)  # pyright: ignore[reportArgumentType]
    pattern = r"value39 = compute\(39"

    async def in_thread() -> None:
        outcome = await workspace.do("search_code", SearchCode(pattern=pattern))
        assert outcome.ok, outcome.text

    async def on_the_loop() -> None:
        search_files(tree, compile_pattern(pattern))

    for name, search in (("search_code (in a thread)", in_thread), ("the same search on the event loop", on_the_loop)):
        walls, gaps = [], []
        for _ in range(runs):
            wall, gap = await watched(search)
            walls.append(wall)
            gaps.append(gap)
        print(
            f"project of {files} files ({size / 1e6:.1f} MB), {name}: p50 {statistics.median(walls):.0f} ms, "
            f"longest event-loop gap p50 {statistics.median(gaps):.1f} ms (max {max(gaps):.1f} ms) over {runs} runs"
        )


async def watched(search: Callable[[], Awaitable[None]]) -> tuple[float, float]:
    """How long `search` took (ms), and the longest a ticker asking every 1 ms waited for the loop meanwhile (ms)."""
    gap, stop = 0.0, False

    async def ticker() -> None:
        nonlocal gap
        last = time.perf_counter()
        while not stop:
            await asyncio.sleep(0.001)
            now = time.perf_counter()
            gap, last = max(gap, now - last), now

    ticking = asyncio.create_task(ticker())
    await asyncio.sleep(0.01)
    started = time.perf_counter()
    await search()
    wall = (time.perf_counter() - started) * 1000
    stop = True
    await ticking
    return wall, gap * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description="agent mode's search_code with RE2: figures")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--re-max", type=int, default=24)
    parser.add_argument("--re2-n", type=int, default=10_000)
    parser.add_argument("--files", type=int, default=4000)
    args = parser.parse_args()
    planted(args.runs, args.re_max, args.re2_n)
    asyncio.run(project(args.runs, args.files))


if __name__ == "__main__":
    main()
