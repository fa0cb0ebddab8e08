"""Corpus benchmark: prints figures, asserts nothing.

For every project of the corpus (scripts/corpus.py: upstream scaffolders' output and real apps, fetched by
setup), in each runner, the time from "files ready" until the app's own page answers 200:

  by hand     the project's own commands (install, then the dev server told the preview's address) in the
              same sandbox, as a person would type them: a fresh runner, no dependency cache, no warm pool;
  forja cold  Forja's plan, the first time Forja sees the project;
  forja warm  the same project opened again (Forja's dependency cache filled; Docker's warm pool on).

Both sides install from the same npm cache and wheels (setup fetched them), so "by hand" is a person with a
warm npm cache, which is faster than a first install from the registry. Ratios are Forja / by hand.

    .venv/bin/python bench/corpus.py [--runner local|docker|both] [--only vite-react,django]
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from preview_runtime.local import LocalRunner  # noqa: E402
from preview_runtime.local.deps_cache import copy_seed  # noqa: E402
from preview_runtime.local.homes import project_home  # noqa: E402
from preview_runtime.plan import RunPlan, plan_for  # noqa: E402
from preview_runtime.runner import PreviewSpec, PreviewState, Runner  # noqa: E402
from scripts.corpus import COREPACK_DIR, CORPUS_DIR, ENTRIES, WHEELS_DIR, Entry, app_files  # noqa: E402

OFFLINE = {"npm_config_offline": "true", "PIP_NO_INDEX": "1"}
LIMIT_S = 300


@dataclass
class Row:
    name: str
    runner: str
    hand: float | None = None
    cold: float | None = None
    warm: float | None = None
    problem: str = ""


async def timed(runner: Runner, preview_id: str, files: dict[str, bytes], plan: RunPlan, path: str) -> float:
    """Seconds from start() until `path` answers 200 on the preview's upstream; RuntimeError when it fails."""
    spec = PreviewSpec(preview_id=preview_id, project_id=project_of(preview_id), version=1, files=files, plan=plan)
    started = time.perf_counter()
    await runner.start(spec, lambda *_: None)
    async with httpx.AsyncClient(timeout=30, trust_env=False) as client:
        while time.perf_counter() - started < LIMIT_S:
            info = await runner.status(preview_id)
            if info.state in (PreviewState.failed, PreviewState.stopped):
                raise RuntimeError(info.detail.split("\n", 1)[0] or info.state.value)
            if info.state == PreviewState.running:
                try:
                    # The Host a browser sends through the proxy: Django's DEBUG hosts take *.localhost, not an IP.
                    if (await client.get(info.upstream + path, headers={"Host": "bench.localhost"})).status_code == 200:
                        return time.perf_counter() - started
                except httpx.HTTPError:
                    pass
            await asyncio.sleep(0.1)
    raise RuntimeError(f"not answering after {LIMIT_S} s")


def project_of(preview_id: str) -> str:
    return f"bench-{preview_id.split('-')[0]}"


def local_runner(folder: Path, entry: Entry, project_id: str) -> LocalRunner:
    seed = CORPUS_DIR / entry.name / "npm"
    runner = LocalRunner(folder, npm_seed=seed if seed.is_dir() else None)
    home = project_home(folder, project_id)
    home.mkdir(parents=True, exist_ok=True)
    if seed.is_dir():  # copied before the clock starts: a person's npm cache is already there
        copy_seed(seed, home / ".npm")
    # PIP_FIND_LINKS is bound read-only into the sandbox, wherever it is.
    runner.extra_env = {**OFFLINE, "PIP_FIND_LINKS": str(WHEELS_DIR)}
    if entry.manager != "npm":  # pnpm and yarn from the corpus' corepack cache, bound read-only like PIP_FIND_LINKS
        runner.extra_env["COREPACK_HOME"] = str(COREPACK_DIR)
    return runner


def docker_runner(entry: Entry, *, forja: bool) -> Runner:
    from preview_runtime.docker.config import DockerConfig
    from preview_runtime.docker.runner import DockerRunner

    seed = CORPUS_DIR / entry.name / "npm"
    return DockerRunner(
        DockerConfig(
            network="forja-bench",
            npm_seed=seed if seed.is_dir() else None,
            wheel_seed=WHEELS_DIR if WHEELS_DIR.is_dir() else None,
            corepack_seed=COREPACK_DIR if entry.manager != "npm" else None,
            extra_env=OFFLINE,
            memory_bytes=2 << 30,
            app_size_bytes=2 << 30,
            home_size_bytes=1 << 30,
            pids_limit=512,
            deps_cache=forja,
            warm_pool=1 if forja else 0,
        )
    )


async def measure(entry: Entry, kind: str, work: Path) -> Row:
    row = Row(entry.name, kind)
    files = app_files(entry)
    plan = plan_for(files)
    # By hand: the same commands, none of Forja's caches (and no dependency-cache inputs to key one on).
    hand_plan = plan.model_copy(update={"lockfile_hash_inputs": []})
    tag = f"{entry.name[:20]}-{int(time.time())}"
    if kind == "local":
        hand_runner: Runner = local_runner(work / f"{entry.name}-hand", entry, project_of(tag))
        forja_runner: Runner = local_runner(work / f"{entry.name}-forja", entry, project_of(tag))
    else:
        hand_runner, forja_runner = docker_runner(entry, forja=False), docker_runner(entry, forja=True)
        await forja_runner.warm_up()  # type: ignore[attr-defined]
    try:
        row.hand = await timed(hand_runner, f"{tag}-hand", files, hand_plan, entry.path)
        await hand_runner.stop(f"{tag}-hand")
        row.cold = await timed(forja_runner, f"{tag}-cold", files, plan, entry.path)
        await forja_runner.stop(f"{tag}-cold")
        await asyncio.sleep(2)  # the dependency cache is saved after the install; the pool refills
        row.warm = await timed(forja_runner, f"{tag}-warm", files, plan, entry.path)
        await forja_runner.stop(f"{tag}-warm")
    except RuntimeError as exc:
        row.problem = str(exc)[:120]
    finally:
        for runner in (hand_runner, forja_runner):
            await runner.close()
            if kind == "docker":
                await runner.prune_dependency_caches()  # type: ignore[attr-defined]
    return row


def ratio(a: float | None, b: float | None) -> str:
    return f"{a / b:.2f}" if a is not None and b else "-"


def seconds(value: float | None) -> str:
    return f"{value:.1f}" if value is not None else "-"


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runner", choices=["local", "docker", "both"], default="both")
    parser.add_argument("--only", default="", help="comma-separated corpus names")
    args = parser.parse_args()
    chosen = [e for e in ENTRIES if not args.only or e.name in args.only.split(",")]
    if left_out := [e.name for e in chosen if not (CORPUS_DIR / e.name / "app").is_dir()]:
        print(f"not fetched, left out: {', '.join(left_out)} (FORJA_CORPUS=all scripts/fetch_corpus.py fetches every entry)")
    chosen = [e for e in chosen if (CORPUS_DIR / e.name / "app").is_dir()]
    kinds = ["local", "docker"] if args.runner == "both" else [args.runner]
    work = Path(tempfile.mkdtemp(prefix="forja-bench-corpus-"))
    rows: list[Row] = []
    print("| project | runner | by hand s | Forja cold s | Forja warm s | cold/hand | warm/hand |")
    print("| --- | --- | --- | --- | --- | --- | --- |", flush=True)
    try:
        for kind in kinds:
            for entry in chosen:
                row = await measure(entry, kind, work)
                rows.append(row)
                cells = [row.name, kind, seconds(row.hand), seconds(row.cold), seconds(row.warm)]
                cells += [ratio(row.cold, row.hand), ratio(row.warm, row.hand)]
                print("| " + " | ".join(cells) + " |" + (f" {row.problem}" if row.problem else ""), flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    for kind in kinds:
        mine = [r for r in rows if r.runner == kind]
        ok = [r for r in mine if r.warm is not None and r.hand]
        print(f"{kind}: {len(ok)} of {len(mine)} previewed", end="")
        if ok:
            cold = statistics.median(r.cold / r.hand for r in ok if r.cold and r.hand)  # type: ignore[operator]
            warm = statistics.median(r.warm / r.hand for r in ok if r.warm and r.hand)  # type: ignore[operator]
            print(f"; median ratio against by hand: cold {cold:.2f}, warm {warm:.2f}", end="")
        print(flush=True)


if __name__ == "__main__":
    asyncio.run(main())
