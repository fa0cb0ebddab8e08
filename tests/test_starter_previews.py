"""Every starter really installs and runs in the preview runtime (local runner, in bubblewrap).

Installs come from npm's cache with `npm_config_offline=true` and from a folder of wheels with
`PIP_NO_INDEX=1`, so nothing leaves this machine: the test command's setup
(scripts/prefetch_starters.py) fetched them from the registries, as pip fills the venv. The page
must answer 200 with the starter's own texts, and starters with an API must answer it with JSON.
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
from scripts.prefetch_starters import CACHE, STAMP, WHEELS, stamp_of, starters

SAMPLE = StarterVariables(title="Corner Bakery & Co", tagline="Bread at seven.", features=["Sourdough", "Croissants"])
# Pages whose HTML is built in the browser: the title is in the script the dev server serves.
ENTRY = {name: "/src/site.js" for name in ("react-vite-tailwind", "svelte-vite", "vue-vite", "fullstack-react-fastapi")}
API_PATHS = {"express-api": "/api/items", "fastapi": "/api/items", "fullstack-react-fastapi": "/api/items"}
STARTERS = starters()


@pytest.fixture(scope="module")
def package_caches() -> tuple[Path, Path]:
    if not STAMP.exists() or STAMP.read_text() != stamp_of(STARTERS):
        message = "the starters' packages are missing or stale: run scripts/prefetch_starters.py (scripts/test.sh does)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    return CACHE, WHEELS


@pytest.mark.parametrize("starter", STARTERS, ids=[s.name for s in STARTERS])
async def test_starter_installs_offline_and_serves_its_page(starter, package_caches, tmp_path: Path) -> None:
    npm_cache, wheels = package_caches
    runner = LocalRunner(tmp_path / "work", npm_seed=npm_cache)
    # The preview's HOME is the runner's, the only folder besides the project it may see.
    runner.extra_env = {"npm_config_offline": "true", "PIP_NO_INDEX": "1", "PIP_FIND_LINKS": str(runner.home / "wheels")}
    shutil.copytree(wheels, runner.home / "wheels")
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
        if starter.name in API_PATHS:
            async with httpx.AsyncClient(timeout=10, trust_env=False) as client:
                api = await client.get(info.upstream + API_PATHS[starter.name])
            assert api.status_code == 200 and isinstance(api.json(), list), api.text[:500]
        assert not any("ENOTCACHED" in line or "ENOTFOUND" in line for line in lines)
    finally:
        await runner.close()
