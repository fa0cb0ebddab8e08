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
from preview_runtime.local.environment import NODE_ROOT

HOMES = ".homes"
OLD_SHARED_HOME = ".home"  # the HOME all previews shared before HOMES: removed on adopt


def project_home(work_dir: Path, project_id: str) -> Path:
    return work_dir / HOMES / project_id


# A command that runs a JavaScript package manager: npm (npx comes with it) reads npm's cache, and pnpm's store and
# yarn's caches live inside it too (preview_runtime/corepack.py), so corepack and what it runs read it as well.
RUNS_NPM = re.compile(r"(?<![\w.-])(?:np[mx]|pnpm|yarn|corepack)(?![\w.-])")


# node-gyp's own folder of Node's headers in HOME, ~/.cache/node-gyp/<version>, where every node-gyp looks before it
# downloads them from nodejs.org (which previews cannot reach): only node-gyp 11 and later read environment.NODE_HEADERS,
# and a package may bring an older one of its own (sqlite3 5 brings 8), which its install script runs first. Its
# installVersion (the layout of the folder) is the newest asked for yet (node-gyp 8 asks for 9, 12 for 11).
_NODE_GYP_LAYOUT = "11"


def node_version(root: Path = NODE_ROOT) -> str:
    """The version of the Node in `root` ("24.19.0"), read from its headers; "" without them."""
    try:
        text = (root / "include" / "node" / "node_version.h").read_text()
    except OSError:
        return ""
    parts = [re.search(rf"#define NODE_{part}_VERSION (\d+)", text) for part in ("MAJOR", "MINOR", "PATCH")]
    return ".".join(match.group(1) for match in parts if match) if all(parts) else ""


def link_node_headers(home: Path, root: Path = NODE_ROOT) -> None:
    """The headers of the Node in `root` as node-gyp's own download of them in `home` (see _NODE_GYP_LAYOUT)."""
    version = node_version(root)
    folder = home / ".cache" / "node-gyp" / version
    if not version or (folder / "include").is_symlink():
        return
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "include").symlink_to(root / "include")
    (folder / "installVersion").write_text(f"{_NODE_GYP_LAYOUT}\n")


def runs_npm(*commands: str) -> bool:
    return any(RUNS_NPM.search(command) for command in commands)


async def ready_home(work_dir: Path, project_id: str, npm_seed: Path | None, npm: bool) -> Path:
    """The project's HOME, made on first use; npm's cache seeded from `npm_seed` the first time `npm` (its commands
    run npm) is true, and Node's headers put where node-gyp looks for them."""
    home = project_home(work_dir, project_id)
    home.mkdir(parents=True, exist_ok=True)
    if npm and npm_seed is not None and (npm_seed / "_cacache").is_dir() and not (home / ".npm").exists():
        await asyncio.to_thread(copy_seed, npm_seed, home / ".npm")
    if npm:
        link_node_headers(home)
    return home


def remove_homes(work_dir: Path, project_ids: list[str]) -> None:
    """Remove the homes of projects deleted for good: each holds a copy of npm's seed and whatever its installs cached."""
    for project_id in project_ids:
        shutil.rmtree(project_home(work_dir, project_id), ignore_errors=True)


async def remove_old_shared_home(work_dir: Path) -> None:
    await asyncio.to_thread(shutil.rmtree, work_dir / OLD_SHARED_HOME, True)
