"""Process groups of local previews: telling a group's leader from a later process, ending a whole group, and the
memory a preview's processes hold."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import sys
import time
from pathlib import Path

from preview_runtime.listening import process_tree

logger = logging.getLogger(__name__)

TERM_GRACE_S = 5.0
LINUX = sys.platform.startswith("linux")  # /proc tells a process's start time


def start_ticks(pid: int) -> int | None:
    """The process's start time in clock ticks since boot (Linux), to tell it from a later process with its pid."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return int(stat.rsplit(")", 1)[1].split()[19])


def _group_alive(pgid: int) -> bool:
    """Whether a process of the group still runs (zombies waiting for their new parent to reap them do not count)."""
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    if not LINUX:
        return True
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if fields[0] != "Z" and int(fields[2]) == pgid:
            return True
    return False


async def end_group(pgid: int, process: asyncio.subprocess.Process | None) -> None:
    """SIGTERM to the whole group, SIGKILL to what is left after TERM_GRACE_S."""
    for sig, grace in ((signal.SIGTERM, TERM_GRACE_S), (signal.SIGKILL, 2.0)):
        try:
            os.killpg(pgid, sig)
        except ProcessLookupError:
            break
        except PermissionError:
            logger.warning("not allowed to signal process group %s", pgid)
            break
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline:
            if process is not None and process.returncode is None:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(asyncio.shield(process.wait()), timeout=0.05)
                continue
            if not _group_alive(pgid):
                return
            await asyncio.sleep(0.05)
        if not _group_alive(pgid):
            return


def resident_bytes(pid: int, proc: Path = Path("/proc")) -> int | None:
    """The resident memory (VmRSS) of `pid` and every process below it, in bytes; None when `pid` is gone."""
    total, found = 0, False
    for member in process_tree(pid, proc):
        try:
            status = (proc / str(member) / "status").read_text()
        except OSError:
            continue
        found = True
        # Absent for zombies and kernel threads: they hold no memory of their own.
        for line in status.splitlines():
            if line.startswith("VmRSS:"):
                total += int(line.split()[1]) * 1024
                break
    return total if found else None


def kill_group(pgid: int) -> None:
    """SIGKILL to whatever of the group is left, if anything."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)
