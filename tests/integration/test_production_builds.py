"""A production build in a real preview, and its files handed back (Runner.collect).

The React starter previews in the local runner (in bubblewrap when this machine has it), installed offline from the
starters' npm cache (scripts/prefetch_starters.py); its production build runs beside the dev server as
production_plan says, and collect() brings back what Vite wrote: the page and its hashed assets. A link the
project's own code plants in the output, leading out of it, is refused.
"""

from __future__ import annotations

import asyncio
import re
import time
from pathlib import Path

import pytest

from builder.generation.starters import StarterVariables, render_starter
from preview_runtime.local import LocalRunner
from preview_runtime.plan import plan_for
from preview_runtime.production import production_plan
from preview_runtime.runner import PreviewSpec, PreviewState, RunnerError
from scripts.prefetch_starters import starters

SAMPLE = StarterVariables(title="Corner Bakery", tagline="Bread at seven.")
MB = 1_000_000


async def test_a_vite_production_build_comes_back_from_the_local_preview(package_caches, tmp_path: Path) -> None:
    npm_cache, _ = package_caches
    runner = LocalRunner(tmp_path / "work", npm_seed=npm_cache)
    runner.extra_env = {"npm_config_offline": "true"}
    starter = next(s for s in starters() if s.name == "react-vite-tailwind")
    files = {path: text.encode() for path, text in render_starter(starter, SAMPLE).items()}
    spec = PreviewSpec(preview_id="prod1", project_id="p", version=1, files=files, plan=plan_for(files))
    lines: list[str] = []
    try:
        await runner.start(spec, lambda _id, text, _level, _source: lines.append(text))
        deadline = time.monotonic() + 240
        while (info := await runner.status("prod1")).state != PreviewState.running:
            assert info.state != PreviewState.failed, f"{info.detail}\n" + "\n".join(lines[-30:])
            assert time.monotonic() < deadline, "not running after 240 s:\n" + "\n".join(lines[-30:])
            await asyncio.sleep(0.2)

        plan = production_plan(files)
        built = await runner.run_command("prod1", plan.build, 180)
        assert built.exit_code == 0, built.output
        site = await runner.collect("prod1", plan.output, 20 * MB)
        scripts = [path for path in site if re.fullmatch(r"assets/index-[\w-]{8}\.js", path)]
        assert len(scripts) == 1, sorted(site)
        assert f'src="/{scripts[0]}"'.encode() in site["index.html"]
        assert b"Corner Bakery" in site[scripts[0]]  # the starter's own text, bundled
        assert site["favicon.svg"] == files["public/favicon.svg"]  # Vite copies public/ as it is

        with pytest.raises(RunnerError, match=r"The build output is over 0\.01 MB"):
            await runner.collect("prod1", plan.output, 10_000)
        with pytest.raises(RunnerError, match=r"The build wrote nothing in build/"):
            await runner.collect("prod1", "build", 20 * MB)
        # The project's code plants links in its output: one out of it is refused, one inside is a copy.
        planted = await runner.run_command(
            "prod1", "ln -s ../../../../../etc/passwd dist/passwd && ln -s index.html dist/200.html", 10
        )
        assert planted.exit_code == 0, planted.output
        with pytest.raises(RunnerError, match=r"dist/passwd is a link to \.\./\.\./\.\./\.\./\.\./etc/passwd, outside dist/"):
            await runner.collect("prod1", plan.output, 20 * MB)
        await runner.run_command("prod1", "rm dist/passwd", 10)
        assert (await runner.collect("prod1", plan.output, 20 * MB))["200.html"] == site["index.html"]
    finally:
        await runner.close()
