"""Resource limits of local previews: a cgroup per spawned process tree where the machine lets Forja make one, rlimits
always, and a watchdog that measures the folders a preview may write (bubblewrap 0.8 cannot size a tmpfs).

cgroup v1 (separate memory, pids and cpu hierarchies) and v2 (one unified tree, delegated to Forja's user by systemd
or writable as root) are both used from the cgroup Forja itself runs in, so a preview's use also counts in whatever
limits Forja's own service has. On v2 a cgroup holding processes cannot hand controllers to its children, so Forja
first moves the processes of its own cgroup into a leaf `forja` beside the previews' cgroups.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import resource
import secrets
import signal
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

logger = logging.getLogger(__name__)

CONTROLLERS = ("memory", "pids", "cpu")
WATCH_INTERVAL_S = 3.0
# Measuring a preview's disk use walks every file of its folder and HOME (npm's cache alone is thousands), which every
# 3 s for ten previews kept a third of a core busy: disk is measured every DISK_INTERVAL_S, or after WATCH_SHARE
# times as long as the last measure took if longer (a big folder), so each watch keeps to about 5% of one core.
# A single file is capped at once all the same (RLIMIT_FSIZE).
DISK_INTERVAL_S = 15.0
WATCH_SHARE = 20
_V1_PARENT = "forja-previews"
_V2_SELF = "forja"  # the leaf Forja's own processes move to on v2
_CPU_PERIOD_US = 100_000
# Of every preview's cgroup, with the pid of the Forja that made it after its label: stale ones are told from anything
# else in Forja's cgroup, and from the cgroups another Forja (or test process) beside this one just made and is about
# to fill.
_PREFIX = "forja-"
_CONFINE = Path(__file__).with_name("confine.sh")


@dataclass(frozen=True)
class Limits:
    """What one preview (and each install-ahead and command run in it) may use."""

    memory_bytes: int = 2048 << 20
    pids: int = 256
    cpus: float = 1.0
    # Its folder, its /tmp and its project's HOME together; also the largest single file (RLIMIT_FSIZE).
    disk_bytes: int = 4096 << 20
    open_files: int = 8192


def size_words(n: int) -> str:
    return f"{n / (1 << 30):g} GiB" if n >= 1 << 30 else f"{n / (1 << 20):g} MiB"


# -- finding where cgroups can be made -----------------------------------------------------------


@dataclass
class CgroupTree:
    """Where Forja makes its previews' cgroups: per controller (v1) or one folder for all (v2)."""

    version: int
    parents: dict[str, Path]  # controller -> folder the previews' cgroups go in (v2: the same folder for all)
    swap: bool  # swap can be limited too (v1 memsw / v2 memory.swap.max)

    def missing(self) -> list[str]:
        return [name for name in CONTROLLERS if name not in self.parents]


def _own_cgroups() -> dict[str, str]:
    """Controller (v1) or "" (v2) -> the path of Forja's own cgroup in that hierarchy."""
    found: dict[str, str] = {}
    with contextlib.suppress(OSError):
        for line in Path("/proc/self/cgroup").read_text().splitlines():
            _, names, path = line.split(":", 2)
            for name in names.split(",") if names else [""]:
                found[name] = path
    return found


def _mounts() -> dict[str, tuple[Path, str]]:
    """Controller (v1) or "" (v2) -> (mount point, the cgroup path mounted there)."""
    found: dict[str, tuple[Path, str]] = {}
    with contextlib.suppress(OSError):
        for line in Path("/proc/self/mountinfo").read_text().splitlines():
            before, _, after = line.partition(" - ")
            fields, rest = before.split(), after.split()
            if len(fields) < 5 or len(rest) < 3:
                continue
            root, point, fstype, options = fields[3], Path(fields[4]), rest[0], rest[2].split(",")
            if fstype == "cgroup2":
                found.setdefault("", (point, root))
            elif fstype == "cgroup":
                for name in CONTROLLERS:
                    if name in options:
                        found.setdefault(name, (point, root))
    return found


def _folder(mount: tuple[Path, str], own: str) -> Path:
    point, root = mount
    relative = own[len(root) :] if root != "/" and own.startswith(root) else own
    return point / relative.lstrip("/")


def _write(path: Path, value: str) -> None:
    path.write_text(value)


def _try_v1(own: dict[str, str], mounts: dict[str, tuple[Path, str]]) -> CgroupTree | None:
    parents: dict[str, Path] = {}
    for name in CONTROLLERS:
        if name not in mounts or name not in own:
            continue
        parent = _folder(mounts[name], own[name]) / _V1_PARENT
        try:
            parent.mkdir(exist_ok=True)
        except OSError:
            continue
        if os.access(parent / "cgroup.procs", os.W_OK):
            parents[name] = parent
    if not parents:
        return None
    swap = "memory" in parents and (parents["memory"] / "memory.memsw.limit_in_bytes").exists()
    return CgroupTree(version=1, parents=parents, swap=swap)


def _try_v2(own: dict[str, str], mounts: dict[str, tuple[Path, str]]) -> CgroupTree | None:
    if "" not in mounts or "" not in own:
        return None
    base = _folder(mounts[""], own[""])
    try:
        available = (base / "cgroup.controllers").read_text().split()
        wanted = [name for name in CONTROLLERS if name in available]
        if not wanted or not os.access(base / "cgroup.subtree_control", os.W_OK):
            return None
        if base != mounts[""][0]:  # not the root: its processes must leave it before it can hand out controllers
            leaf = base / _V2_SELF
            leaf.mkdir(exist_ok=True)
            for pid in (base / "cgroup.procs").read_text().split():
                with contextlib.suppress(ProcessLookupError):
                    _write(leaf / "cgroup.procs", pid)
        _write(base / "cgroup.subtree_control", " ".join(f"+{name}" for name in wanted))
        enabled = (base / "cgroup.subtree_control").read_text().split()
    except OSError as exc:
        logger.info("cannot use cgroup v2 at %s: %s", base, exc)
        return None
    parents = {name: base for name in wanted if name in enabled}
    if not parents:
        return None
    # memory.swap.max exists in each child when the kernel accounts swap; it is set where it exists (Confinement._limit).
    return CgroupTree(version=2, parents=parents, swap=True)


def find_cgroups() -> CgroupTree | None:
    """The cgroups Forja can make for its previews here, or None (none writable, or not Linux)."""
    own, mounts = _own_cgroups(), _mounts()
    tree = _try_v2(own, mounts) if "" in mounts and not any(name in mounts for name in CONTROLLERS) else None
    return tree or _try_v1(own, mounts)


def describe(tree: CgroupTree | None, limits: Limits) -> tuple[str, str]:
    """(what applies, what does not) in words, for the preview log and `forja doctor`."""
    applied = [
        f"files up to {size_words(limits.disk_bytes)} each",
        f"{size_words(limits.disk_bytes)} of disk in its folder, /tmp and home (checked every few seconds)",
        f"{limits.open_files} open files",
        "no core dumps",
    ]
    missing: list[str] = []
    parents = tree.parents if tree else {}
    what = {
        "memory": f"{size_words(limits.memory_bytes)} of memory",
        "pids": f"{limits.pids} processes and threads",
        "cpu": f"{limits.cpus:g} CPU core{'s' if limits.cpus != 1 else ''}",
    }
    for name, words in what.items():
        (applied if name in parents else missing).append(words)
    if tree is not None and "memory" in parents and not tree.swap:
        missing.append("swap (not limited separately)")
    return ", ".join(applied), ", ".join(missing)


# -- one confined process tree ------------------------------------------------------------------


@dataclass
class Confinement:
    """The cgroup (one folder per controller on v1) and rlimits of one spawned process tree."""

    limits: Limits
    folders: dict[str, Path] = field(default_factory=dict)  # controller -> its cgroup folder
    version: int = 0
    _start: dict[str, int] = field(default_factory=dict)  # event counts when it started

    @classmethod
    def make(cls, tree: CgroupTree | None, limits: Limits, label: str) -> Confinement:
        """Its cgroup(s), limits written; a controller that cannot be set up is left out (rlimits still apply)."""
        confinement = cls(limits=limits, version=tree.version if tree else 0)
        if tree is None:
            return confinement
        name = f"{_PREFIX}{label}-{os.getpid()}-{secrets.token_hex(4)}"
        for controller, parent in tree.parents.items():
            folder = parent / name
            try:
                folder.mkdir(exist_ok=True)
                confinement._limit(controller, folder, tree.swap)
            except OSError as exc:
                logger.warning("could not set the %s limit of %s: %s", controller, folder, exc)
                with contextlib.suppress(OSError):
                    folder.rmdir()
                continue
            confinement.folders[controller] = folder
        confinement._start = confinement.events()
        return confinement

    def _limit(self, controller: str, folder: Path, swap: bool) -> None:
        limits = self.limits
        if controller == "memory" and self.version == 1:
            _write(folder / "memory.limit_in_bytes", str(limits.memory_bytes))
            if swap:
                _write(folder / "memory.memsw.limit_in_bytes", str(limits.memory_bytes))
        elif controller == "memory":
            _write(folder / "memory.max", str(limits.memory_bytes))
            if swap and (folder / "memory.swap.max").exists():
                _write(folder / "memory.swap.max", "0")
        elif controller == "pids":
            _write(folder / "pids.max", str(limits.pids))
        elif controller == "cpu" and self.version == 1:
            _write(folder / "cpu.cfs_period_us", str(_CPU_PERIOD_US))
            _write(folder / "cpu.cfs_quota_us", str(int(limits.cpus * _CPU_PERIOD_US)))
        elif controller == "cpu":
            _write(folder / "cpu.max", f"{int(limits.cpus * _CPU_PERIOD_US)} {_CPU_PERIOD_US}")

    def argv(self, command: Sequence[str]) -> list[str]:
        """`command` run through confine.sh: into the cgroup(s) before it can fork, under the rlimits."""
        procs = [str(folder / "cgroup.procs") for folder in dict.fromkeys(self.folders.values())]
        files = self.limits.open_files
        _, files_hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        if files_hard != resource.RLIM_INFINITY:
            files = min(files, files_hard)
        blocks = self.limits.disk_bytes // 512  # ulimit -f counts 512-byte blocks
        return ["/bin/sh", str(_CONFINE), str(blocks), str(files), *procs, "--", *command]

    def events(self) -> dict[str, int]:
        """Counts of memory kills ("oom_kill") and refused forks ("max") so far."""
        counts: dict[str, int] = {}
        memory, pids = self.folders.get("memory"), self.folders.get("pids")
        sources = []
        if memory is not None:
            sources.append(memory / ("memory.oom_control" if self.version == 1 else "memory.events"))
        if pids is not None:
            sources.append(pids / "pids.events")
        for path in sources:
            with contextlib.suppress(OSError, ValueError):
                for line in path.read_text().splitlines():
                    key, _, value = line.partition(" ")
                    if key in ("oom_kill", "max"):
                        counts[key] = int(value)
        return counts

    def breach(self) -> str:
        """What limit the tree ran into since it started, in plain words ("" for none)."""
        counts = self.events()
        if counts.get("oom_kill", 0) > self._start.get("oom_kill", 0):
            return f"The preview used more than {size_words(self.limits.memory_bytes)} of memory and was stopped (FORJA_PREVIEW_MEMORY_MB)."
        if counts.get("max", 0) > self._start.get("max", 0):
            return (
                f"The preview tried to run more than {self.limits.pids} processes and threads at once "
                "(a fork bomb, or a loop starting processes) and was stopped (FORJA_PREVIEW_PIDS)."
            )
        return ""

    def pids(self) -> list[int]:
        found: set[int] = set()
        for folder in self.folders.values():
            with contextlib.suppress(OSError, ValueError):
                found.update(int(pid) for pid in (folder / "cgroup.procs").read_text().split())
        return sorted(found)

    def kill_all(self) -> None:
        """SIGKILL to every process of the cgroup, again until none is left (a fork bomb forks while it is killed)."""
        if not self.folders:
            return
        kill_file = next(iter(self.folders.values())) / "cgroup.kill"
        if self.version == 2 and kill_file.exists():
            with contextlib.suppress(OSError):
                _write(kill_file, "1")
        for _ in range(200):
            pids = self.pids()
            if not pids:
                return
            for pid in pids:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.kill(pid, signal.SIGKILL)
            time.sleep(0.01)

    def remove(self) -> None:
        """Its cgroup folders, once no process is left in them (killed ones take a moment to leave)."""
        for folder in set(self.folders.values()):
            for _ in range(100):
                try:
                    folder.rmdir()
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    time.sleep(0.02)
            else:
                logger.warning("could not remove the cgroup %s: processes are still in it", folder)
        self.folders.clear()


def remove_stale(tree: CgroupTree | None) -> None:
    """Empty cgroups left by a Forja that is gone (their processes died with it); never another live Forja's."""
    if tree is None:
        return
    for parent in set(tree.parents.values()):
        with contextlib.suppress(OSError):
            for child in parent.iterdir():
                if child.is_dir() and child.name.startswith(_PREFIX) and not _maker_alive(child.name):
                    with contextlib.suppress(OSError):
                        child.rmdir()


def _maker_alive(name: str) -> bool:
    """Whether the Forja process named in a cgroup's name still runs."""
    parts = name.rsplit("-", 2)
    pid = parts[1] if len(parts) == 3 else ""
    if not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


# -- disk ---------------------------------------------------------------------------------------


def disk_use(areas: Iterable[Path]) -> int:
    """Bytes on disk of the files in `areas`, each file once; a file also linked from elsewhere (node_modules
    restored as hard links to the dependency cache) is not counted: it takes no new space."""
    seen: dict[tuple[int, int], int] = {}
    sizes: dict[tuple[int, int], tuple[int, int]] = {}
    stack = [area for area in areas if area.is_dir()]
    while stack:
        folder = stack.pop()
        try:
            entries = list(os.scandir(folder))
        except OSError:
            continue
        for entry in entries:
            try:
                info = entry.stat(follow_symlinks=False)
            except OSError:
                continue
            if entry.is_dir(follow_symlinks=False):
                stack.append(Path(entry.path))
            key = (info.st_dev, info.st_ino)
            seen[key] = seen.get(key, 0) + 1
            sizes[key] = (info.st_blocks * 512, info.st_nlink)
    return sum(size for key, (size, links) in sizes.items() if seen[key] >= links)


async def watch(
    confinement: Confinement,
    process: asyncio.subprocess.Process,
    areas: list[Path],
    say: Callable[[str], None],
    interval_s: float = WATCH_INTERVAL_S,
) -> str:
    """Until `process` ends: every `interval_s`, off the event loop, look for a breached limit (memory or processes
    from the cgroup's counters; disk by measuring `areas`, less often for a big folder: WATCH_SHARE); at the first,
    say it and kill the whole tree.

    Then end what the tree left running and remove its cgroup. Returns the breach in words ("" for none)."""
    breach = ""
    limit = confinement.limits.disk_bytes

    def look(measure_disk: bool) -> str:
        if found := confinement.breach():
            return found
        if measure_disk and disk_use(areas) > limit:
            return (
                f"The preview wrote more than {size_words(limit)} to disk (its folder, /tmp and home together) and was stopped "
                "(FORJA_LOCAL_DISK_MB)."
            )
        return ""

    try:
        disk_due = 0.0
        while process.returncode is None and not breach:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(process.wait()), timeout=interval_s)
            started = time.monotonic()
            measure_disk = started >= disk_due
            breach = await asyncio.to_thread(look, measure_disk)
            if measure_disk:
                disk_due = started + max(DISK_INTERVAL_S, (time.monotonic() - started) * WATCH_SHARE)
        if breach:
            say(breach)
            await asyncio.to_thread(confinement.kill_all)
    finally:
        # Also when cancelled: what is left of the tree must not outlive its cgroup's removal.
        await asyncio.to_thread(_end, confinement)
    return breach


def _end(confinement: Confinement) -> None:
    confinement.kill_all()
    confinement.remove()
