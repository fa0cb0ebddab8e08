"""A project's HOME gets its copy of npm's seed cache only once its commands run npm: a plain site or a Python app
would carry a copy of about 100 MB that nothing reads (an evaluation of 30 sites made 3 GB of them)."""

from __future__ import annotations

import asyncio
import subprocess
from pathlib import Path

import pytest

from preview_runtime.local.homes import node_version, ready_home, runs_npm
from preview_runtime.local.sandbox import NODE_LINKS


@pytest.mark.parametrize(
    ("commands", "expected"),
    [
        (("npm install --no-audit", "npm run dev"), True),
        (("", "npx vite --port 3000"), True),
        (("cd web && npm ci", ""), True),
        (("pip install -r requirements.txt", "python app.py"), False),
        (("", "python -m http.server $PORT"), False),
        (("corepack pnpm@9.15.9 install", "pnpm dev"), True),
        (("yarn install --offline", "yarn start"), True),
        (("", "node server.js --config npm.json"), False),
        (("", "node my-npm-tool.js"), False),
    ],
)
def test_which_commands_run_npm(commands: tuple[str, str], expected: bool) -> None:
    assert runs_npm(*commands) is expected


def test_the_seed_is_copied_the_first_time_a_projects_commands_run_npm(tmp_path: Path) -> None:
    seed = tmp_path / "seed"
    (seed / "_cacache" / "index-v5").mkdir(parents=True)
    (seed / "_cacache" / "index-v5" / "entry").write_text("express")
    work = tmp_path / "work"

    home = asyncio.run(ready_home(work, "site", seed, npm=False))
    assert home.is_dir() and not (home / ".npm").exists()

    again = asyncio.run(ready_home(work, "site", seed, npm=True))  # its package.json came later
    assert again == home and (home / ".npm" / "_cacache" / "index-v5" / "entry").read_text() == "express"


def test_a_home_that_runs_npm_has_the_headers_of_the_node_previews_run_where_node_gyp_looks(tmp_path: Path) -> None:
    """node-gyp of any version (sqlite3 5 brings 8, which reads no nodedir) finds them instead of downloading them."""
    version = subprocess.run([NODE_LINKS["node"], "--version"], capture_output=True, text=True, check=True).stdout.strip()
    assert node_version() == version.removeprefix("v")
    home = asyncio.run(ready_home(tmp_path, "p1", None, npm=True))
    folder = home / ".cache" / "node-gyp" / node_version()
    assert (folder / "include" / "node" / "common.gypi").is_file()
    assert int((folder / "installVersion").read_text()) >= 11  # node-gyp 12 asks for 11, 8 for 9
    assert asyncio.run(ready_home(tmp_path, "p1", None, npm=True)) == home  # a second start finds them there
    assert not (asyncio.run(ready_home(tmp_path, "p2", None, npm=False)) / ".cache").exists()
