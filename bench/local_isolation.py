"""Warm start of the local runner: `runner.start` -> the first 200 through the preview's upstream. Prints figures.

For the html and react-vite-tailwind starters, in bubblewrap, with a warm dependency cache: each starter is started
once first (installing from the seeded npm cache, offline), stopped, then started --runs more times with new preview
ids. What the network isolation (own network namespace, socket bridge, egress proxy) adds shows here: compare
figures from before and after it.

    .venv/bin/python bench/local_isolation.py [--runs 5]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from builder.generation.starters import StarterVariables, get_starter, render_starter  # noqa: E402
from preview_runtime.local import LocalRunner  # noqa: E402
from preview_runtime.plan import plan_for  # noqa: E402
from preview_runtime.runner import PreviewSpec, PreviewState  # noqa: E402

logger = logging.getLogger("bench.local_isolation")
STARTERS = ("html", "react-vite-tailwind")


async def first_200(runner: LocalRunner, spec: PreviewSpec) -> float:
    """Seconds from start() to the first 200 from the upstream the runner reports."""
    started = time.monotonic()
    await runner.start(spec, lambda *_: None)
    async with httpx.AsyncClient(timeout=2, trust_env=False) as client:
        while time.monotonic() - started < 120:
            info = await runner.status(spec.preview_id)
            if info.state == PreviewState.failed:
                raise RuntimeError(f"{spec.preview_id} failed: {info.detail}")
            if info.state == PreviewState.running:
                try:
                    if (await client.get(info.upstream + "/")).status_code == 200:
                        return time.monotonic() - started
                except httpx.HTTPError:
                    pass
            await asyncio.sleep(0.02)
    raise RuntimeError(f"{spec.preview_id} did not answer 200 within 120 s")


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)
    with tempfile.TemporaryDirectory() as work:
        runner = LocalRunner(Path(work), npm_seed=REPO / ".cache" / "starters-npm", env={"npm_config_offline": "true"})
        try:
            for name in STARTERS:
                rendered = render_starter(get_starter(name), StarterVariables(title="Bench"))
                files = {path: text.encode() for path, text in rendered.items()}
                plan = plan_for(files)
                spec = PreviewSpec(preview_id=f"{name}-fill", project_id=name, version=1, files=files, plan=plan)
                fill = await first_200(runner, spec)
                await runner.stop(spec.preview_id)
                figures: list[float] = []
                for run in range(args.runs):
                    spec = PreviewSpec(preview_id=f"{name}-{run}", project_id=name, version=1, files=files, plan=plan)
                    figures.append(await first_200(runner, spec))
                    await runner.stop(spec.preview_id)
                logger.info(
                    "%-20s first start %.2f s; warm: median %.2f s, min %.2f s, max %.2f s (%d runs)",
                    name,
                    fill,
                    statistics.median(figures),
                    min(figures),
                    max(figures),
                    len(figures),
                )
        finally:
            await runner.close()


if __name__ == "__main__":
    asyncio.run(main())
