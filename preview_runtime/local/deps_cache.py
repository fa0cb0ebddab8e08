"""node_modules of a finished npm install, kept as hard links under work_dir/.deps/<key> and linked back next time."""

from __future__ import annotations

import asyncio
import errno
import os
import re
import secrets
import shutil
import subprocess
from collections.abc import Mapping
from pathlib import Path

from preview_runtime.local.spawn import Say
from preview_runtime.logs import LogLevel
from preview_runtime.plan import RunPlan, dependency_key

DEPS_KEEP = 20  # most cached dependency sets kept; the least recently used go first
NPM_INSTALL_ONLY = re.compile(r"npm (install|ci)\b[^&|;]*")  # installs whose result is node_modules alone
# Node's own watch mode (`node --watch server.js`) restarts its program when a file it loaded changes, node_modules'
# too, and a new hard link changes a file (its link count, so inotify tells of it): such a dev server's node_modules is
# linked into the cache once it has ended (stopped or parked), not while it runs.
NODE_WATCH = re.compile(r"\bnode\b[^;&|]*\s--watch(?:-path)?\b")


def copy_seed(seed: Path, cache: Path) -> None:
    """A copy, not links: npm appends to its index files in place, which would change the seed. A copy that cannot be
    made whole leaves nothing; one refused for want of room raises ENOSPC alone (shutil's own error would quote every
    file it could not copy: thousands of lines)."""
    partial = cache.with_name(f".npm.partial-{secrets.token_hex(4)}")
    try:
        shutil.copytree(seed, partial, symlinks=True)
    except OSError as exc:
        shutil.rmtree(partial, ignore_errors=True)
        if exc.errno == errno.ENOSPC or (isinstance(exc, shutil.Error) and "[Errno 28]" in str(exc)):
            raise OSError(errno.ENOSPC, "No room left on the disk for the preview's npm cache", str(cache)) from None
        raise
    try:
        partial.rename(cache)
    except OSError:  # a preview started at the same time seeded it first
        shutil.rmtree(partial, ignore_errors=True)
        if not cache.exists():
            raise


def _link_tree(source: Path, target: Path) -> None:
    """Copy a folder as hard links (symlinks stay symlinks): instant, and no extra space. At the lowest CPU priority:
    a save runs beside the dev server's start or a publish's build, which someone waits for."""
    subprocess.run(["nice", "-n", "19", "cp", "-a", "--link", str(source), str(target)], check=True, capture_output=True)


def restore_deps(cache: Path, project: Path) -> bool:
    if not (cache / ".complete").exists() or (project / "node_modules").exists():
        return False
    os.utime(cache)  # recently used: pruned last
    _link_tree(cache / "node_modules", project / "node_modules")
    return True


def save_deps(project: Path, cache: Path) -> bool:
    if (cache / ".complete").exists() or not (project / "node_modules").is_dir():
        return False
    partial = cache.with_name(f"{cache.name}.partial-{secrets.token_hex(4)}")
    partial.mkdir(parents=True)
    try:
        _link_tree(project / "node_modules", partial / "node_modules")
        for tool_cache in (".vite", ".cache"):  # written by the running dev server, not part of the install
            shutil.rmtree(partial / "node_modules" / tool_cache, ignore_errors=True)
        (partial / ".complete").touch()
        partial.rename(cache)
    except (OSError, subprocess.CalledProcessError) as exc:
        shutil.rmtree(partial, ignore_errors=True)
        if cache.exists():  # another preview of the project saved it first
            return False
        raise OSError(str(exc)) from exc
    return True


def prune_deps(folder: Path, keep: int) -> None:
    cached = sorted((p for p in folder.iterdir() if ".partial-" not in p.name), key=lambda p: p.stat().st_mtime)
    for old in cached[:-keep]:
        shutil.rmtree(old, ignore_errors=True)


class DepsCache:
    """The dependency sets kept in `folder`, one per dependency key (plan.dependency_key)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._saving: set[asyncio.Task[None]] = set()  # asyncio keeps a task only weakly

    def key(self, project_id: str, plan: RunPlan, files: Mapping[str, bytes]) -> Path:
        return self.folder / dependency_key(plan, files, [project_id])

    async def save(self, directory: Path, cache: Path, say: Say, after: asyncio.Event | None = None) -> None:
        """Keep a fresh node_modules for the next start (once `after` is set); a cache that cannot be written is only a
        slower start."""
        if after is not None:
            await after.wait()
        try:
            saved = await asyncio.to_thread(save_deps, directory, cache)
        except OSError as exc:
            say(f"Could not cache the dependencies: {exc}", LogLevel.warning)
            return
        if saved:
            say("Dependencies cached: the next start of this project skips the install.", LogLevel.info)
            await asyncio.to_thread(prune_deps, self.folder, DEPS_KEEP)

    def save_later(self, directory: Path, cache: Path, say: Say, after: asyncio.Event) -> asyncio.Task[None]:
        """`save` in a task of its own."""
        self._saving.add(task := asyncio.create_task(self.save(directory, cache, say, after)))
        task.add_done_callback(self._saving.discard)
        return task
