"""How a local preview's processes start: in bubblewrap (refused without it unless allowed), with the network of
its own that network.py gives it, in a cgroup of its own with rlimits (limits.py), and watched for its limits."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import os
import secrets
import shutil
from collections.abc import Callable, Collection, Mapping, Sequence
from pathlib import Path

from preview_runtime.local.egress import EgressPolicy, registry_hosts
from preview_runtime.local.limits import CgroupTree, Confinement, Limits, describe, find_cgroups, remove_stale, watch
from preview_runtime.local.network import SandboxNetwork, open_network
from preview_runtime.local.registry_reading import registries
from preview_runtime.local.registry_relay import Reading
from preview_runtime.local.sandbox import (
    ENVIRONMENT_FILE,
    NO_SANDBOX,
    SANDBOX_OFF,
    bwrap_args,
    environment_script,
    find_bubblewrap,
    inside_environment,
    write_identity,
)
from preview_runtime.local.seccomp import filter_fd, memory_fd
from preview_runtime.local.upstream import UpstreamProxy
from preview_runtime.logs import LogLevel
from preview_runtime.plan import Mount
from preview_runtime.runner import MachineRefused

logger = logging.getLogger(__name__)

TMP_DIR = ".tmp"  # under the work folder: one folder per spawned sandbox, its /tmp
IDENTITY_SUFFIX = ".etc"
_HOST_PATH = "/usr/sbin:/usr/bin:/sbin:/bin"  # for confine.sh and bwrap, which need nothing else  # beside each /tmp folder: the sandbox's passwd and group (sandbox.write_identity)

# Tells one line to the person: (text, level).
Say = Callable[[str, LogLevel], None]


class Spawner:
    """Starts the processes of one LocalRunner's previews, installs ahead and commands."""

    def __init__(
        self,
        work_dir: Path,
        sandbox: bool,
        allow_unsandboxed: bool,
        limits: Limits,
        egress_hosts: Collection[str],
        upstream_proxy: UpstreamProxy | None = None,
        reading: Reading | None = None,
    ) -> None:
        """`sandbox=False` never uses bubblewrap (tests); without it (or where it cannot make a sandbox) processes
        are refused unless `allow_unsandboxed`."""
        self.work_dir = work_dir
        self.sandbox = sandbox
        self.allow_unsandboxed = allow_unsandboxed
        self.limits = limits
        self.egress_hosts = tuple(egress_hosts)
        self.upstream_proxy = upstream_proxy
        self.reading = reading
        self._bwrap: str | None = None
        self._probed = False
        self._warned_no_sandbox = False
        self._no_sandbox = NO_SANDBOX
        self._cgroups: CgroupTree | None = None
        self._cgroups_probed = False
        self._limits_note = ""  # what limits cannot be applied here, said in each preview's log
        # Spawned process id -> the task watching its limits (limits.watch); it returns the breach, if any.
        self._guards: dict[int, asyncio.Task[str]] = {}

    @property
    def no_sandbox(self) -> str:
        """Why there is no sandbox, once `bubblewrap` found none (sandbox.NO_SANDBOX or what it could not do)."""
        return self._no_sandbox

    def guard(self, pid: int) -> asyncio.Task[str] | None:
        """The task watching the limits of the process `spawn` started with this pid."""
        return self._guards.get(pid)

    async def bubblewrap(self) -> str | None:
        """bwrap's path when it is installed and can build a sandbox here (checked once)."""
        if not self._probed:
            if self.sandbox:
                self._bwrap, self._no_sandbox = await find_bubblewrap(self.work_dir)
            else:
                self._bwrap, self._no_sandbox = None, SANDBOX_OFF
            self._probed = True
        return self._bwrap

    async def sandbox_or_refusal(self) -> str | None:
        """bwrap's path; None when previews run without it (allowed); RunnerError when they may not run at all."""
        self.work_dir.mkdir(parents=True, exist_ok=True)
        bwrap = await self.bubblewrap()
        if bwrap is None and self.sandbox and not self.allow_unsandboxed:
            raise MachineRefused(
                f"{self._no_sandbox}, and Forja does not run generated code on this machine without a sandbox. "
                "Install bubblewrap (apt-get install bubblewrap), use Docker (FORJA_PREVIEW_RUNNER=docker), or set "
                "FORJA_ALLOW_UNSANDBOXED=true to run previews as your user without a sandbox."
            )
        return bwrap

    def _cgroup_tree(self) -> CgroupTree | None:
        """Where previews' cgroups go (found once); what cannot be limited here is logged once and kept to say."""
        if not self._cgroups_probed:
            self._cgroups_probed = True
            self._cgroups = find_cgroups()
            remove_stale(self._cgroups)
            _, missing = describe(self._cgroups, self.limits)
            if missing:
                self._limits_note = f"Limits this machine does not let Forja apply to previews: {missing}."
                logger.warning(self._limits_note)
        return self._cgroups

    async def network(
        self, env: dict[str, str], say: Callable[[str], None], relays: Mapping[str, int] | None = None
    ) -> SandboxNetwork | None:
        """In bubblewrap: the sandbox's sockets and egress proxy (network.py), `env` sending installs through it.
        With `relays` (names the proxy leads to a relay of Forja's on the host, EgressPolicy.relays) it reaches those
        only, no registry: an external coding agent's sandbox reaches its model and nothing else."""
        if await self.bubblewrap() is None:
            return None
        if relays:
            policy = EgressPolicy((), relays=dict(relays))
        else:
            reading = self.reading and dataclasses.replace(self.reading, registries=registries(env, self.egress_hosts))
            policy = EgressPolicy(self.egress_hosts, mirrors=registry_hosts(env), upstream=self.upstream_proxy, reading=reading)
        return await open_network(policy, env, say)

    async def spawn(
        self,
        directory: Path,
        script: str,
        env: Mapping[str, str],
        say: Say,
        label: str,
        net: SandboxNetwork | None = None,
        inbound: bool = False,
        mounts: Sequence[Mount] = (),
        terminal: int | None = None,
        cpus: float | None = None,
        spoken_to: bool = False,
    ) -> asyncio.subprocess.Process:
        """`sh -c script` in `directory`, in a process group of its own, inside bubblewrap (only `directory`, a /tmp
        of its own and HOME writable; `net`'s bridge started first) unless running without it is allowed, in a cgroup
        of its own with rlimits and watched by limits.watch; output and errors together on its stdout. `label` names
        its cgroup (preview, install, command); a command run in a preview does not repeat what its preview said.
        `mounts` (the app's data folders) are bound into the sandbox; without one, `env` already names them on the
        host (plan.outside_paths). `terminal`: a pty's follower side, its stdin, stdout and stderr (a shell) instead of
        a pipe; bubblewrap's --new-session keeps it from being the sandbox's controlling terminal. `cpus`: its CPU limit
        in place of the runner's (RunPlan.cpus). `spoken_to`: stdin a pipe too and stderr a pipe of its own, for a
        program spoken to over stdin and stdout (an MCP server, program.py)."""
        bwrap = await self.sandbox_or_refusal()
        home = Path(env["HOME"])
        tmp = self.work_dir / TMP_DIR / f"{label}-{secrets.token_hex(6)}"
        tmp.mkdir(parents=True)
        script = net.wrap(script, inbound) if net else script
        argv = ["/bin/sh", "-c", script]
        passed: tuple[int, ...] = ()  # closed here once the process has them
        kept: tuple[int, ...] = ()  # passed too, and kept open for the next sandboxes
        launch_env, launch_dir = dict(env), directory
        if bwrap is not None:
            identity = write_identity(tmp.with_name(f"{tmp.name}{IDENTITY_SUFFIX}"), home)
            passed = (filter_fd(), memory_fd("forja-environment", environment_script(env)))
            more = [*(net.bwrap_args() if net else ()), "--ro-bind-data", str(passed[1]), ENVIRONMENT_FILE]
            sandbox = bwrap_args(directory, home, env, tmp, identity, passed[0], mounts, more)
            kept = (lifeline(),)
            argv = [bwrap, *sandbox, "--", "/bin/sh", "-c", inside_environment(script, kept[0])]
            # What builds the sandbox runs on the host: nothing of the project's, neither its variables nor its folder.
            launch_env, launch_dir = {"PATH": _HOST_PATH}, self.work_dir
        else:
            launch_env["TMPDIR"] = str(tmp)
            unsandboxed = f"{self._no_sandbox}: the preview runs as your user without a sandbox"
            if not self._warned_no_sandbox:
                logger.warning(unsandboxed)
                self._warned_no_sandbox = True
            if label != "command":
                say(unsandboxed, LogLevel.warning)
        tree = await asyncio.to_thread(self._cgroup_tree)
        if self._limits_note and label != "command":
            say(self._limits_note, LogLevel.warning)
        limits = dataclasses.replace(self.limits, cpus=cpus) if cpus else self.limits
        confinement = await asyncio.to_thread(Confinement.make, tree, limits, label)
        pipe, stdin, stderr = asyncio.subprocess.PIPE, asyncio.subprocess.DEVNULL, asyncio.subprocess.STDOUT
        if spoken_to:
            stdin, stderr = pipe, pipe
        try:
            process = await asyncio.create_subprocess_exec(
                *confinement.argv(argv),
                cwd=launch_dir,
                env=launch_env,
                stdin=stdin if terminal is None else terminal,
                stdout=pipe if terminal is None else terminal,
                stderr=stderr if terminal is None else terminal,
                start_new_session=True,
                limit=1 << 20,
                pass_fds=(*passed, *kept),
            )
        except BaseException:
            await asyncio.to_thread(confinement.remove)
            await asyncio.to_thread(_remove, tmp)
            raise
        finally:
            for fd in passed:
                os.close(fd)
        guard = asyncio.create_task(self._guard(confinement, process, [directory, tmp, home], say, tmp))
        self._guards[process.pid] = guard
        guard.add_done_callback(lambda _: self._guards.pop(process.pid, None))
        return process

    @staticmethod
    async def _guard(
        confinement: Confinement, process: asyncio.subprocess.Process, areas: list[Path], say: Say, tmp: Path
    ) -> str:
        try:
            return await watch(confinement, process, areas, lambda text: say(text, LogLevel.error))
        finally:
            await asyncio.to_thread(_remove, tmp)


# (pid of the process that made it, read end, write end): see lifeline.
_lifeline: tuple[int, int, int] | None = None


def lifeline() -> int:
    """The read end of a pipe nothing is ever written to, whose write end this process alone holds (both close on exec,
    and a forked child makes a pipe of its own): every sandbox it starts keeps the read end (sandbox.inside_environment),
    which reads end of file the moment this process is gone."""
    global _lifeline
    if _lifeline is None or _lifeline[0] != os.getpid():
        _lifeline = (os.getpid(), *os.pipe())
    return _lifeline[1]


def _remove(tmp: Path) -> None:
    """A spawn's /tmp and its identity folder."""
    shutil.rmtree(tmp, ignore_errors=True)
    shutil.rmtree(tmp.with_name(f"{tmp.name}{IDENTITY_SUFFIX}"), ignore_errors=True)
