"""HOME of local previews: one folder per project, so one project's dotfiles (`~/.npmrc`, pip's config) never change
what another project's install does. npm's cache in it starts as a copy of the seed (as the Docker runner's entry.sh
does), made once per project, outside the sandbox: the seed itself is never visible to a preview. Only a project whose
commands run a JavaScript package manager gets that copy (about 100 MB with the starters' packages): a plain site or a Python app never reads it."""

from __future__ import annotations

import asyncio
import re
import shutil
from pathlib import Path

from preview_runtime.local.deps_cache import copy_seed

HOMES = ".homes"
OLD_SHARED_HOME = ".home"  # the HOME all previews shared before HOMES: removed on adopt


def project_home(work_dir: Path, project_id: str) -> Path:
    return work_dir / HOMES / project_id


# A command that runs a JavaScript package manager: npm (npx comes with it) reads npm's cache, and pnpm's store and
# yarn's caches live inside it too (preview_runtime/corepack.py), so corepack and what it runs read it as well.
RUNS_NPM = re.compile(r"(?<![\w.-])(?:np[mx]|pnpm|yarn|corepack)(?![\w.-])")


def runs_npm(*commands: str) -> bool:
    return any(RUNS_NPM.search(command) for command in commands)


async def ready_home(work_dir: Path, project_id: str, npm_seed: Path | None, npm: bool) -> Path:
    """The project's HOME, made on first use; npm's cache seeded from `npm_seed` the first time `npm` (its commands
    run npm) is true."""
    home = project_home(work_dir, project_id)
    home.mkdir(parents=True, exist_ok=True)
    if npm and npm_seed is not None and (npm_seed / "_cacache").is_dir() and not (home / ".npm").exists():
        await asyncio.to_thread(copy_seed, npm_seed, home / ".npm")
    return home


def remove_homes(work_dir: Path, project_ids: list[str]) -> None:
    """Remove the homes of projects deleted for good: each holds a copy of npm's seed and whatever its installs cached."""
    for project_id in project_ids:
        shutil.rmtree(project_home(work_dir, project_id), ignore_errors=True)


async def remove_old_shared_home(work_dir: Path) -> None:
    await asyncio.to_thread(shutil.rmtree, work_dir / OLD_SHARED_HOME, True)
