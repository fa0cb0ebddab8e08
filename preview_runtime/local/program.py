"""A program that is not a preview, spoken to over its stdin and stdout (a team's MCP server started by its command
line), in a sandbox of its own made as a preview's is (spawn.py): bubblewrap only, never without it; an empty scratch
folder of its own, which is its working folder and holds its HOME, and nothing else of this machine's writable (none
of Forja's data folder is even visible); the network of a preview (network.py: only `lo`, and the package registries
through the egress proxy, so `npx -y` or `uvx` can install it); a preview's limits (limits.py). It is killed, its
network closed and its folder removed when the caller is done with it, or after `lifetime_s` at the latest.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import shutil
import time
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from pathlib import Path

from preview_runtime.local.environment import preview_env
from preview_runtime.local.processes import end_group, kill_group
from preview_runtime.local.spawn import Spawner
from preview_runtime.plan import Mount
from preview_runtime.runner import MachineRefused

logger = logging.getLogger(__name__)

HOME = ".home"  # in the scratch folder
_PREFIX = "program-"
# A scratch folder older than its program's lifetime and this is one a Forja that ended (killed, the machine restarted)
# could not remove: its program died with that Forja (bubblewrap's --die-with-parent) or at its lifetime.
_LEFT_MARGIN_S = 60


@asynccontextmanager
async def sandboxed_program(
    spawner: Spawner,
    command: str,
    extra_env: Mapping[str, str],
    say: Callable[[str], None],
    lifetime_s: float,
    kept: Path | None = None,
) -> AsyncIterator[asyncio.subprocess.Process]:
    """`command` (run by sh) started in its sandbox, its stdin, stdout and stderr pipes; MachineRefused, saying why,
    where bubblewrap cannot make one. `extra_env` is added to a preview's environment; `say` hears the sandbox's own
    lines (a limit it broke, its egress proxy's refusals). `kept`: a folder of this program's alone that outlives the
    run, bound in at its own path and holding npm's and uv's caches, so what `npx -y` or `uvx` fetched once starts the
    next run without the registry (its scratch folder, HOME included, goes at each end)."""
    if await spawner.bubblewrap() is None:
        raise MachineRefused(spawner.no_sandbox)
    await asyncio.to_thread(_remove_left, spawner.work_dir, lifetime_s + _LEFT_MARGIN_S)
    scratch = spawner.work_dir / f"{_PREFIX}{secrets.token_hex(8)}"
    home = scratch / HOME
    await asyncio.to_thread(home.mkdir, parents=True)
    mounts: list[Mount] = []
    caches: dict[str, str] = {}
    if kept is not None:
        await asyncio.to_thread(kept.mkdir, parents=True, exist_ok=True)
        mounts.append(Mount(source=str(kept), target=str(kept)))
        caches = {"npm_config_cache": str(kept / "npm"), "UV_CACHE_DIR": str(kept / "uv")}
    env = preview_env(0, home, {**caches, **extra_env})
    for unused in ("PORT", "HOST"):  # it serves nothing: a preview's dev server reads them
        env.pop(unused, None)
    network = None
    try:
        network = await spawner.network(env, say)
        process = await spawner.spawn(
            scratch, command, env, lambda text, _level: say(text), "program", network, mounts=mounts, spoken_to=True
        )
        # At `lifetime_s` the whole of it, whatever the caller is still waiting for: its pipes then close.
        timer = asyncio.get_running_loop().call_later(lifetime_s, kill_group, process.pid)
        try:
            yield process
        finally:
            timer.cancel()
            await asyncio.shield(end_group(process.pid, process))
    finally:
        if network is not None:
            await network.close()
        await asyncio.to_thread(_remove, scratch)


def _remove(scratch: Path) -> None:
    shutil.rmtree(scratch, ignore_errors=True)


def _remove_left(work_dir: Path, older_than_s: float) -> None:
    """Scratch folders left behind; a live program's is younger than its lifetime (another process's too: the forja
    command lists a server's tools while Forja may run one), so it is never among them."""
    cutoff = time.time() - older_than_s
    for scratch in work_dir.glob(f"{_PREFIX}*"):
        with contextlib.suppress(FileNotFoundError):
            if scratch.stat().st_mtime < cutoff:
                _remove(scratch)
