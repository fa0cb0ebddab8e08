"""Checked-generation benchmark: from the model's last token to a verified, visible app. Prints figures, asserts nothing.

The React starter (templates/react-vite-tailwind), package.json first as the system prompt asks, is streamed by the
local protocol server (tests/llm_server.py) through the real anthropic SDK at each rate; the generation runs through
Forja's service layer with the local runner behind Traefik and headless Chromium, offline, from the seeded npm cache,
as `bash scripts/run.sh` would. Caches are warm: one generation runs first and is not counted, so npm's cache and
Chromium are warm; each counted run is a new project, whose dependencies install while the answer streams.

For each run:
  last token -> verified   the stream's end (the engine's summary event) to the check's passing verification event;
  check                    the check alone (the preview's start from the saved version, and the browser's look);
  share of wall time       the check's time over the whole generation's (request to done).

    .venv/bin/python bench/verify.py [--rates 100,1000] [--runs 5]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import builder.settings  # noqa: E402
from builder import db  # noqa: E402
from builder.composition import Services  # noqa: E402
from builder.generation.engine import GenerationEvent  # noqa: E402
from builder.generation.starters import StarterVariables, load_starters, render_starter  # noqa: E402
from builder.models import LOCAL_USER_ID  # noqa: E402
from builder.store import ProjectStore  # noqa: E402
from preview_runtime.logs import LogHub  # noqa: E402
from tests.conftest import TEST_ANTHROPIC_KEY, free_port  # noqa: E402
from tests.llm_server import CHARS_PER_TOKEN, ScriptedLLMServer, ToolAnswer  # noqa: E402


def starter_answer() -> dict:
    starter = next(s for s in load_starters() if s.name == "react-vite-tailwind")
    files = render_starter(starter, StarterVariables(title="Barber shop"))
    ordered = ["package.json", *sorted(p for p in files if p != "package.json")]
    return {
        "title": "Barber shop",
        "summary": "A booking page for the barber shop.",
        "files": [{"path": p, "content": files[p]} for p in ordered],
    }


def configure(data_dir: Path, llm: ScriptedLLMServer) -> None:
    values = {
        "data_dir": data_dir,
        "anthropic_api_key": TEST_ANTHROPIC_KEY,
        "anthropic_base_url": llm.anthropic_base_url,
        "provider": "anthropic",
        "preview_runner": "local",
        "preview_port": free_port(),
        "preview_offline": True,
        "verify_generations": True,
        "auto_fix_attempts": 0,
    }
    for name, value in values.items():
        setattr(builder.settings.settings, name, value)


async def one_run(services: Services, llm: ScriptedLLMServer, answer: dict, rate: float) -> dict[str, float]:
    llm.queue(ToolAnswer(answer, chunks=16, tokens_per_second=rate))
    project_id = await services.projects.create_empty("Bench", owner=LOCAL_USER_ID)
    started = time.monotonic()
    await services.generations.start(project_id, "A booking page for my barber shop", "anthropic")
    seen: dict[str, float] = {}
    final: GenerationEvent | None = None
    async for event in services.generations.follow(project_id):
        seen.setdefault(event.type, time.monotonic())
        final = event
    assert final is not None and final.type == "done", final
    verification = final.verification or {}
    if verification.get("status") != "passed":
        raise SystemExit(f"the check did not pass: {json.dumps(verification, indent=2)}")
    await services.previews.stop(project_id)
    total = seen["done"] - started
    checked = [line.text for line in services.logs.history(project_id) if line.source == "check"]
    print(f"    {checked[-1].splitlines()[0]}")
    return {
        "last_token_to_verified": seen["verification"] - seen["summary"],
        "check": float(verification["duration_s"]),
        "share": float(verification["duration_s"]) / total,
        "total": total,
    }


def p50(values: list[float]) -> float:
    return statistics.median(values)


async def main(rates: list[float], runs: int) -> None:
    answer = starter_answer()
    tokens = len(json.dumps(answer)) // CHARS_PER_TOKEN
    with tempfile.TemporaryDirectory(prefix="forja-bench-verify-") as folder, ScriptedLLMServer() as llm:
        data = Path(folder)
        configure(data, llm)
        db.migrate(f"sqlite:///{data / 'forja.db'}")
        services = Services(ProjectStore(db.create_engine(f"sqlite+aiosqlite:///{data / 'forja.db'}")), LogHub())
        try:
            print(f"React starter: {len(answer['files'])} files, about {tokens} tokens; {runs} runs per rate after one warm-up")
            await one_run(services, llm, answer, max(rates))
            for rate in rates:
                results = [await one_run(services, llm, answer, rate) for _ in range(runs)]
                ready = [r["last_token_to_verified"] for r in results]
                checks = [r["check"] for r in results]
                shares = [r["share"] for r in results]
                totals = [r["total"] for r in results]
                print(
                    f"{rate:>6.0f} tok/s  last token -> verified: p50 {p50(ready):.2f} s (max {max(ready):.2f})"
                    f"  check alone: p50 {p50(checks):.2f} s"
                    f"  check / wall time: p50 {p50(shares):.1%} (max {max(shares):.1%})"
                    f"  generation wall time: p50 {p50(totals):.1f} s"
                )
        finally:
            await services.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="From the model's last token to a verified, visible app.")
    parser.add_argument("--rates", default="100,1000", help="tokens per second, comma-separated")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    asyncio.run(main([float(r) for r in args.rates.split(",")], args.runs))
