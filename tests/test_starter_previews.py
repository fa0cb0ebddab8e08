"""Every Node starter really installs and runs in the preview runtime (local runner, in bubblewrap).

Installs come from npm's cache with `npm_config_offline=true`, so nothing leaves this machine:
the test command's setup (scripts/prefetch_starters.py) filled that cache from the registry, as
pip fills the venv. The page must answer 200 through the runner with the starter's own title.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import time
from pathlib import Path

import httpx
import pytest

from builder.generation.starters import StarterVariables, render_starter
from preview_runtime.local_runner import LocalRunner
from preview_runtime.plan import plan_for
from preview_runtime.runner import PreviewSpec, PreviewState
from scripts.prefetch_starters import CACHE, STAMP, node_starters, stamp_of

SAMPLE = StarterVariables(title="Corner Bakery & Co", tagline="Bread at seven.", features=["Sourdough", "Croissants"])
# Pages whose HTML is built in the browser: the title is in the script the dev server serves.
ENTRY = {"react-vite-tailwind": "/src/site.js", "svelte-vite": "/src/site.js", "vue-vite": "/src/site.js"}
STARTERS = node_starters()


@pytest.fixture(scope="module")
def npm_cache() -> Path:
    if not STAMP.exists() or STAMP.read_text() != stamp_of(STARTERS):
        message = "the starters' npm cache is missing or stale: run scripts/prefetch_starters.py (scripts/test.sh does)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    return CACHE


@pytest.mark.parametrize("starter", STARTERS, ids=[s.name for s in STARTERS])
async def test_starter_installs_offline_and_serves_its_page(starter, npm_cache: Path, tmp_path: Path) -> None:
    runner = LocalRunner(tmp_path / "work", env={"npm_config_offline": "true"})
    # The preview's HOME is the runner's; npm's cache is HOME/.npm (a copy: npm writes to it).
    shutil.copytree(npm_cache, runner.home / ".npm", symlinks=True)
    files = {path: text.encode() for path, text in render_starter(starter, SAMPLE).items()}
    spec = PreviewSpec(preview_id="starter1", project_id="p", version=1, files=files, plan=plan_for(files))
    lines: list[str] = []
    try:
        await runner.start(spec, lambda _id, text, _level, _source: lines.append(text))
        deadline = time.monotonic() + 240
        while (info := await runner.status("starter1")).state != PreviewState.running:
            assert info.state != PreviewState.failed, f"{info.detail}\n" + "\n".join(lines[-30:])
            assert time.monotonic() < deadline, "not running after 240 s:\n" + "\n".join(lines[-30:])
            await asyncio.sleep(0.2)
        async with httpx.AsyncClient(timeout=10, trust_env=False) as client:
            page = await client.get(info.upstream + "/")
            assert page.status_code == 200
            body = page.text if starter.name not in ENTRY else (await client.get(info.upstream + ENTRY[starter.name])).text
        # HTML escapes the ampersand, JavaScript strings may too; the rest of the title is as written.
        assert "Corner Bakery" in body and "Bread at seven." in body, body[:500]
        assert not any("ENOTCACHED" in line or "ENOTFOUND" in line for line in lines)
    finally:
        await runner.close()
