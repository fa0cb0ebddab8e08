"""LocalRunner: previews as plain processes on this machine, for one person on their own computer.

Used when no Docker engine is reachable. Each preview gets a folder `work_dir/<preview_id>/` with the version's
files, a free loopback port (PORT, with HOST=127.0.0.1), and one shell running `INSTALL && DEV` in its own process
group, inside bubblewrap (sandbox.py; without it previews are refused unless running unsandboxed is allowed), with a
minimal environment (environment.py) and resource limits (limits.py), all started by spawn.py. HOME is `work_dir/.homes/<project id>`
(homes.py), reused by that project's previews so npm's and pip's caches are. An npm install's node_modules is kept
in `work_dir/.deps/<dependency key>` (deps_cache.py) and linked into the next preview of the same dependency files
instead of installing.

`park` ends a running preview's processes and its sandbox but keeps its folder (node_modules, .venv and all) and a
record of how to run it (records.py); `wake` runs its dev server there again in a new sandbox, without installing when
its dependency files are the ones it was installed from.

`prepare` runs that install before the preview exists (while a model still writes the rest of the project), in
`work_dir/.prepare/<scratch>` holding the dependency files only, with the same environment, sandbox and HOME, and
fills the same cache; a preview of those files started meanwhile waits for it (preparation.py).

In bubblewrap a preview has a network namespace of its own holding only `lo` (network.py): its code cannot reach
Forja's API, other previews or any service of this machine, and may listen on any address and port in there. Its
upstream is a bridge on the host's 127.0.0.1 to the port its dev server listens on inside; its installs reach the
package registries only, through an egress proxy (egress.py). Without bubblewrap it shares the host's network: dev
servers told `--host 0.0.0.0` in the run plan's dev command are then rewritten to 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
import secrets
import shutil
import time
from collections.abc import Callable, Collection, Mapping
from functools import partial
from pathlib import Path

from preview_runtime.corepack import missing_manager
from preview_runtime.listening import Deadlines
from preview_runtime.local.collect import collect_folder
from preview_runtime.local.commands import run_beside
from preview_runtime.local.deps_cache import NODE_WATCH, NPM_INSTALL_ONLY, DepsCache, restore_deps
from preview_runtime.local.egress import DEFAULT_EGRESS_HOSTS
from preview_runtime.local.engine_run import ENGINES_DIR, run_engine
from preview_runtime.local.environment import PASSED_ENV, in_venv, loopback_only, preview_env
from preview_runtime.local.files import INCOMING, free_port, write_files
from preview_runtime.local.homes import ready_home, remove_old_shared_home, runs_npm
from preview_runtime.local.limits import Limits
from preview_runtime.local.network import SandboxNetwork
from preview_runtime.local.preparation import Preparation, install_ahead
from preview_runtime.local.processes import LINUX, end_group, kill_group, resident_bytes, start_ticks
from preview_runtime.local.records import Parked, hashes, read_kept, read_record, write_record
from preview_runtime.local.registry_relay import Reading
from preview_runtime.local.shell import open_pty_shell
from preview_runtime.local.spawn import TMP_DIR, Spawner
from preview_runtime.local.supervise import LocalRun, supervise
from preview_runtime.local.upstream import UpstreamProxy
from preview_runtime.logs import LogLevel
from preview_runtime.plan import RunPlan, dependency_files, npm_folder_env, npm_script, outside_paths
from preview_runtime.runner import (
    CommandOutcome,
    EngineJob,
    EngineOutcome,
    LogSink,
    PreviewInfo,
    PreviewSpec,
    PreviewState,
    Runner,
    RunnerError,
    Shell,
)

logger = logging.getLogger(__name__)

_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")
_DEPS = ".deps"
_RECORDS = ".runs"
_PREPARE = ".prepare"


class LocalRunner(Runner):
    name = "local"

    def __init__(
        self,
        work_dir: Path,
        ttl_seconds: int = 3600,
        env: Mapping[str, str] | None = None,
        sandbox: bool = True,
        npm_seed: Path | None = None,
        silent_s: float = 90,
        deadlines: Deadlines | None = None,
        egress_hosts: Collection[str] = DEFAULT_EGRESS_HOSTS,
        upstream_proxy: UpstreamProxy | None = None,
        limits: Limits | None = None,
        allow_unsandboxed: bool = False,
        reading: Reading | None = None,
    ) -> None:
        """`env`: extra variables for every preview (a registry mirror, a CA bundle); `sandbox=False` never uses bwrap.

        `silent_s`: a dev server that prints nothing and listens on no port for this long is ended as stuck;
        `deadlines`: how long its install, and its dev server until it answers, may take.

        `npm_seed`: an npm cache (scripts/prefetch_starters.py fills one with the starters' packages) copied
        into each project's npm cache before its first preview, so those packages install without a network.

        Without bubblewrap (or where it cannot make a sandbox) previews are refused, unless `allow_unsandboxed`;
        `sandbox=False` runs them without it (tests).

        `egress_hosts`: the hosts sandboxed installs may reach, besides the registries `env` names (egress.py);
        `upstream_proxy`: the machine's own proxy, through which they are reached (`UpstreamProxy.from_env`);
        `reading`: how the egress proxy reads the registries' traffic, asking about each package (registry_relay.py).
        """
        self.work_dir = Path(work_dir)
        self.npm_seed = npm_seed
        self.ttl_seconds = ttl_seconds
        self.silent_s = silent_s
        self.deadlines = deadlines or Deadlines()
        self.extra_env = dict(env or {})
        self.sandbox = sandbox
        self._spawner = Spawner(
            self.work_dir, sandbox, allow_unsandboxed, limits or Limits(), egress_hosts, upstream_proxy, reading
        )
        self._runs: dict[str, LocalRun] = {}
        self._parked: dict[str, Parked] = {}
        self._deps = DepsCache(self.work_dir / _DEPS)
        # Project id -> its latest preparation (see prepare), kept once finished so the same files again do nothing.
        self._preparations: dict[str, Preparation] = {}
        self._prepare_locks: dict[str, asyncio.Lock] = {}

    # -- folders and records -----------------------------------------------------------------

    def _dir(self, preview_id: str) -> Path:
        if not _ID.match(preview_id):
            raise RunnerError(f"Not a usable preview id: {preview_id!r}")
        return self.work_dir / preview_id

    def _record(self, preview_id: str) -> Path:
        return self.work_dir / _RECORDS / f"{preview_id}.json"

    def _write_record(self, preview_id: str, pgid: int | None, parked: Parked | None = None) -> None:
        write_record(self._record(preview_id), pgid, parked)

    # -- Runner ------------------------------------------------------------------------------

    async def start(self, spec: PreviewSpec, log: LogSink) -> PreviewInfo:
        directory = self._dir(spec.preview_id)
        if spec.preview_id in self._runs or spec.preview_id in self._parked:
            await self.stop(spec.preview_id)
        await self._spawner.sandbox_or_refusal()
        passed = {name: os.environ[name] for name in PASSED_ENV if name in os.environ}  # what preview_env passes on
        if problem := missing_manager(spec.plan.install, {**passed, **self.extra_env}):
            raise RunnerError(problem)
        home = await self._ready_home(spec.project_id, spec.plan.install, spec.plan.dev)
        self._write_record(spec.preview_id, None)  # before the folder: adopt() only removes folders it has a record of
        await asyncio.to_thread(shutil.rmtree, directory, True)
        directory.mkdir()
        try:
            await asyncio.to_thread(write_files, directory, spec.files)
        except BaseException:
            await self._forget(spec.preview_id)
            raise
        return await self._begin(spec, directory, home, log, installed=False)

    async def _begin(self, spec: PreviewSpec, directory: Path, home: Path, log: LogSink, installed: bool) -> PreviewInfo:
        """Run the preview in its folder (the files are there): install unless `installed`, then its dev server."""
        port = self._free_port()
        # Forja's own win (where its data is; PORT, PATH...).
        env = {**spec.plan.env, **spec.plan.kept_env, **preview_env(port, home, self.extra_env, install=spec.plan.install)}
        bwrap = await self._spawner.bubblewrap()
        sandboxed = bwrap is not None
        run = LocalRun(spec, directory, port, log, sandboxed, silent_s=self.silent_s, deadlines=self.deadlines)
        dev = spec.plan.dev.strip()
        if (script := npm_script(spec.plan.dev, spec.files)) is not None:
            # The script itself, as npm would run it, without npm's own Node process (see plan.npm_script).
            command, npm_env = script
            dev = command
            env |= {**npm_env, **npm_folder_env(str(directory))}
            env["PATH"] = f"{directory / 'node_modules' / '.bin'}:{env['PATH']}"
        if bwrap is None:
            dev = loopback_only(dev)  # every interface would be this machine's, not a namespace's
            env = outside_paths(env, spec.plan.mounts)  # no sandbox to mount /data in: the host folder itself
        cache = self._deps.key(spec.project_id, spec.plan, spec.files)
        try:
            run.network = await self._spawner.network(env, partial(run.emit, level=LogLevel.warning, source="forja"))
            if run.network is not None:  # the upstream: the host's end of the bridge to the dev server's port
                await run.network.expose(lambda: int(run.address.rsplit(":", 1)[1]))
        except BaseException:
            await self._forget(spec.preview_id, run.network)
            raise
        self._runs[spec.preview_id] = run
        preparation = self._preparations.get(spec.project_id)
        if not installed and preparation is not None and preparation.cache == cache and preparation.in_flight:
            # A second install beside it would fetch the same packages again on the same cores: wait, then restore.
            run.state = PreviewState.installing
            run.emit(
                "Waiting for the dependencies already being installed for these files: one install, not two.",
                LogLevel.info,
                "forja",
            )
            run.supervisor = asyncio.create_task(
                self._launch_after(preparation, run, env, dev, cache), name=f"local-preview-{spec.preview_id}"
            )
            return self._info(run)
        try:
            await self._launch(run, env, dev, cache, installed)
        except BaseException:
            self._runs.pop(spec.preview_id, None)
            await self._forget(spec.preview_id, run.network)
            raise
        return self._info(run)

    async def _launch_after(self, preparation: Preparation, run: LocalRun, env: dict[str, str], dev: str, cache: Path) -> None:
        await preparation.finished.wait()
        try:
            await self._launch(run, env, dev, cache)
        except Exception as exc:  # nobody awaits this task: the preview's state says what went wrong
            run.state, run.detail = PreviewState.failed, str(exc)
            run.emit(run.detail, LogLevel.error, "forja")

    async def _launch(self, run: LocalRun, env: dict[str, str], dev: str, cache: Path, installed: bool = False) -> None:
        """Restore the dependencies or install them (unless `installed`: a woken preview's folder has them), then run
        the dev server, in one shell that `supervise` follows."""
        install = run.spec.plan.install.strip()
        if installed and install:
            in_venv(install, run.directory, env)  # its venv's python and scripts first on PATH, as after an install
            run.emit("Dependencies kept from before it was parked (same dependency files): no install.", LogLevel.info, "forja")
            install = ""
        elif NPM_INSTALL_ONLY.fullmatch(install) and run.spec.plan.lockfile_hash_inputs:
            if await asyncio.to_thread(restore_deps, cache, run.directory):
                run.emit(
                    "Dependencies restored from the cache (same package.json and lockfile as before): no install.",
                    LogLevel.info,
                    "forja",
                )
                install = ""
            else:
                run.deps_cache = cache
        install = in_venv(install, run.directory, env)
        marker = f"forja-dev-server-starts-{secrets.token_hex(8)}"
        if install:
            script = f"{{ {install}\n}} && printf '%s\\n' {marker} && {{ {dev}\n}}"
            run.state, run.source = PreviewState.installing, "install"
        else:
            script, marker = dev, ""
            run.state, run.source = PreviewState.starting, "dev-server"
            run.dev_started.set()
        run.env, run.watches_files = env, bool(NODE_WATCH.search(dev))
        try:
            run.process = await self._spawner.spawn(
                run.directory,
                script,
                env,
                partial(run.emit, source="forja"),
                "preview",
                run.network,
                True,
                run.spec.plan.mounts,
                cpus=run.spec.plan.cpus,
            )
        except OSError as exc:
            raise RunnerError(f"Could not run the preview's commands: {exc}") from exc
        run.guard = self._spawner.guard(run.process.pid)
        self._write_record(run.preview_id, run.process.pid)
        where = f"127.0.0.1:{run.port}"
        if run.network is not None:
            where = f"port {run.port} in a bubblewrap sandbox with a network of its own (127.0.0.1:{run.network.host_port} here)"
        run.emit(
            f"Running on {where}: {install + ' && ' if install else ''}{dev}",
            LogLevel.info,
            "forja",
        )
        run.supervisor = asyncio.create_task(supervise(run, marker, self._dev_started), name=f"local-preview-{run.preview_id}")

    async def prepare(self, project_id: str, files: Mapping[str, bytes], plan: RunPlan, log: LogSink) -> None:
        """Install the dependencies of `files` before the project's preview starts, in a scratch folder holding its
        dependency files only, with a preview's environment, sandbox and HOME; returns once that install is over.

        npm's node_modules go into the dependency cache under the key a preview of the same files uses, so its
        start restores them instead of installing (and a start while this runs waits for it). A pip install leaves
        no venv to cache, but fills pip's cache in the shared HOME, so the preview's own install downloads nothing.
        `log` gets the install's output (source "install") with an empty preview id: no preview exists yet.
        """
        install = plan.install.strip()
        if not install:
            return
        needed = {**dependency_files(files), **{path: files[path] for path in plan.lockfile_hash_inputs if path in files}}
        cache = self._deps.key(project_id, plan, needed)
        async with self._prepare_locks.setdefault(project_id, asyncio.Lock()):
            current = self._preparations.get(project_id)
            if current is not None and current.cache == cache:
                return
            if current is not None:
                await current.cancel()
                del self._preparations[project_id]
            if (cache / ".complete").exists():
                return
            preparation = Preparation(cache=cache, directory=self.work_dir / _PREPARE / secrets.token_hex(6))
            self._preparations[project_id] = preparation

        try:
            # A workspace's plan names no inputs: its members' node_modules are not in the cache (see detect.workspaces).
            cached = bool(NPM_INSTALL_ONLY.fullmatch(install) and plan.lockfile_hash_inputs)
            await self._install_ahead(project_id, preparation, install, needed, log, cached)
        finally:
            await preparation.end_install()
            await asyncio.to_thread(shutil.rmtree, preparation.directory, True)
            preparation.finished.set()

    async def _install_ahead(
        self, project_id: str, preparation: Preparation, install: str, files: Mapping[str, bytes], log: LogSink, cached: bool
    ) -> None:
        def say(text: str, level: LogLevel) -> None:
            log("", text, level, "forja")

        try:
            await self._spawner.sandbox_or_refusal()
        except RunnerError as exc:
            say(str(exc), LogLevel.warning)
            return
        home = await self._ready_home(project_id, install)
        preparation.directory.mkdir(parents=True)
        await asyncio.to_thread(write_files, preparation.directory, files)
        env = preview_env(self._free_port(), home, self.extra_env, install=install)
        script = in_venv(install, preparation.directory, env)
        save = partial(self._deps.save, preparation.directory, preparation.cache, say) if cached else None
        await install_ahead(self._spawner, preparation, install, script, env, log, save)

    def _run(self, preview_id: str) -> LocalRun:
        run = self._runs.get(preview_id)
        if run is None:
            parked = " (it is parked)" if preview_id in self._parked else ""
            raise RunnerError(f"That preview is not running{parked}; start it again.")
        return run

    async def status(self, preview_id: str) -> PreviewInfo:
        if (parked := self._parked.get(preview_id)) is not None:
            return self._parked_info(preview_id, parked)
        return self._info(self._run(preview_id))

    async def park(self, preview_id: str) -> PreviewInfo:
        """End the preview's processes and its sandbox; keep its folder and a record of how to run it there."""
        run = self._run(preview_id)
        if run.state != PreviewState.running:
            raise RunnerError(f"Only a running preview can be parked (it is {run.state.value}).")
        await self._end(run)
        spec = run.spec
        parked = Parked(
            project_id=spec.project_id,
            version=spec.version,
            plan=spec.plan,
            installed_from=hashes(spec.files),
            sandboxed=run.sandboxed,
            app_env=bool(spec.plan.env),
        )
        await asyncio.to_thread(self._write_record, preview_id, None, parked)
        del self._runs[preview_id]
        self._parked[preview_id] = parked
        if run.network is not None:
            await run.network.close()
        return self._parked_info(preview_id, parked)

    async def wake(self, preview_id: str, log: LogSink) -> PreviewInfo:
        """Its dev server in its kept folder again, in a new sandbox; installs only when a dependency file changed."""
        parked = self._parked.get(preview_id)
        if parked is None:
            raise RunnerError("That preview is not parked here.")
        directory = self._dir(preview_id)
        if not directory.is_dir():
            self._parked.pop(preview_id, None)
            await self._forget(preview_id)
            raise RunnerError("its folder is gone")
        await self._spawner.sandbox_or_refusal()
        home = await self._ready_home(parked.project_id, parked.plan.install, parked.plan.dev)
        files = await asyncio.to_thread(read_kept, directory, parked.installed_from)
        spec = PreviewSpec(
            preview_id=preview_id, project_id=parked.project_id, version=parked.version, files=files, plan=parked.plan
        )
        del self._parked[preview_id]
        self._write_record(preview_id, None)
        try:
            return await self._begin(spec, directory, home, log, installed=hashes(files) == parked.installed_from)
        except BaseException:
            self._parked[preview_id] = parked
            raise

    async def push_files(self, preview_id: str, changed: Mapping[str, bytes], deleted: list[str]) -> None:
        run = self._run(preview_id)
        run.touched = time.monotonic()
        await asyncio.to_thread(write_files, run.directory, changed, deleted)

    async def stop(self, preview_id: str) -> None:
        """End the preview, running or parked, and remove its folder and record."""
        self._parked.pop(preview_id, None)
        run = self._runs.pop(preview_id, None)
        if run is not None:
            await self._end(run)
            if run.saving_deps is not None:  # its folder goes next: the copy of its node_modules must be whole first
                await asyncio.wait([run.saving_deps])
        await self._forget(preview_id, run.network if run is not None else None)

    @staticmethod
    async def _end(run: LocalRun) -> None:
        """End everything the preview runs (its dev server, its commands); its folder stays."""
        run.stopping = True
        if run.process is None and run.supervisor is not None:
            run.supervisor.cancel()  # still waiting for a preparation: nothing runs yet
        if run.process is not None:
            await end_group(run.process.pid, run.process)
        for pgid in list(run.commands):
            kill_group(pgid)
        if run.supervisor is not None:
            with contextlib.suppress(asyncio.CancelledError, TimeoutError):
                await asyncio.wait_for(run.supervisor, timeout=3)
        run.state = PreviewState.stopped
        run.ended.set()

    async def run_command(self, preview_id: str, command: str, timeout_s: float) -> CommandOutcome:
        """In the preview's folder with the dev server's environment, in the same sandbox when it has one (a new
        bubblewrap around the same folder), as a process group of its own: all of it is killed at `timeout_s`."""
        run = self._run(preview_id)
        if not self._info(run).installed or run.process is None:
            raise RunnerError(
                f"The preview is not running (it is {run.state.value}): commands run once its dependencies are installed."
            )
        run.touched = time.monotonic()
        return await run_beside(self._spawner, run, command, timeout_s)

    async def run_engine(
        self, project_id: str, files: Mapping[str, bytes], job: EngineJob, say: Callable[[str], None]
    ) -> EngineOutcome:
        """In a folder of its own with the project's HOME and a preview's environment, in the same sandbox and limits
        as its commands (local/engine_run.py)."""
        await self._spawner.sandbox_or_refusal()
        home = await self._ready_home(project_id)
        env = preview_env(self._free_port(), home, self.extra_env)
        return await run_engine(self._spawner, self.work_dir, env, files, job, say)

    async def open_shell(self, preview_id: str, cols: int, rows: int) -> Shell:
        """Spawned as run_command's commands are (same folder, environment, sandbox and limits), on a pty."""
        run = self._run(preview_id)
        if not self._info(run).installed or run.process is None:
            raise RunnerError(
                f"The preview is not running (it is {run.state.value}): a terminal opens once its dependencies are installed."
            )
        run.touched = time.monotonic()
        return await open_pty_shell(self._spawner, run, cols, rows)

    async def collect(self, preview_id: str, folder: str, limit_bytes: int) -> dict[str, bytes]:
        """From the preview's folder (running or parked), never through a link (local/collect.py)."""
        if preview_id not in self._runs and preview_id not in self._parked:
            raise RunnerError("That preview is not here any more; start it again.")
        return await asyncio.to_thread(collect_folder, self._dir(preview_id), folder, limit_bytes)

    def last_inbound(self, preview_id: str) -> float | None:
        """The sandbox's bridge in sees each connection (unsandboxed previews have none: None)."""
        run = self._runs.get(preview_id)
        return run.network.last_inbound if run is not None and run.network is not None else None

    async def memory_bytes(self, preview_id: str) -> int | None:
        """The resident memory of the preview's processes together (its shell, bubblewrap, the dev server...); 0 when
        it is parked (nothing of it runs)."""
        if preview_id in self._parked:
            return 0
        run = self._runs.get(preview_id)
        if run is None or run.process is None or run.process.returncode is not None:
            return None
        return await asyncio.to_thread(resident_bytes, run.process.pid)

    async def adopt(self) -> list[PreviewInfo]:
        """The previews of a Forja that is gone: parked ones are taken back as they are (folder and record); of the
        others, end any of their processes still alive and remove their folders.

        Sandboxed previews died with that Forja (bwrap --die-with-parent); unsandboxed ones ran in their own session
        and may have outlived it, so their process group is ended if its leader is still the process recorded.
        """
        # Preparations of that Forja: their installs died with it (sandboxed) or ran to their end; they were scratch.
        await asyncio.to_thread(shutil.rmtree, self.work_dir / _PREPARE, True)
        await asyncio.to_thread(shutil.rmtree, self.work_dir / TMP_DIR, True)
        # Coding agents' runs of that Forja: sandboxed, they died with it; their copies of the files were scratch.
        await asyncio.to_thread(shutil.rmtree, self.work_dir / ENGINES_DIR, True)
        for incoming in self.work_dir.glob(f".*{INCOMING}*"):  # a push into a preview that Forja's end cut short
            await asyncio.to_thread(shutil.rmtree, incoming, True)
        await remove_old_shared_home(self.work_dir)
        records = self.work_dir / _RECORDS
        if not records.is_dir():
            return []
        adopted: list[PreviewInfo] = []
        for record in sorted(records.glob("*.json")):
            preview_id = record.stem
            if preview_id in self._runs or preview_id in self._parked or not _ID.match(preview_id):
                continue
            data = await asyncio.to_thread(read_record, record)
            if data.parked is not None and not data.parked.app_env and (self.work_dir / preview_id).is_dir():
                self._parked[preview_id] = data.parked
                adopted.append(self._parked_info(preview_id, data.parked))
                continue
            pgid = data.pgid
            if pgid is not None and pgid > 1:
                ticks = start_ticks(pgid)
                # Leader alive and the same process: end its group. Leader gone: a live group with that id can only be
                # the old one (Linux does not hand out a pid still used as a group id).
                if (ticks is not None and ticks == data.start_ticks) or (ticks is None and LINUX):
                    await end_group(pgid, None)
            await asyncio.to_thread(shutil.rmtree, self.work_dir / preview_id, True)
            record.unlink(missing_ok=True)
        return adopted

    async def reap(self) -> list[str]:
        """Stop the previews not started or written to for ttl_seconds; their ids."""
        now = time.monotonic()
        expired = [pid for pid, run in self._runs.items() if now - run.touched > self.ttl_seconds]
        for preview_id in expired:
            run = self._runs.get(preview_id)
            if run is not None:
                unused = f"{self.ttl_seconds // 60} minutes" if self.ttl_seconds >= 120 else f"{self.ttl_seconds} seconds"
                run.emit(f"Stopping the preview: nothing was saved to it for {unused}.", LogLevel.info, "forja")
            await self.stop(preview_id)
        return expired

    async def close(self) -> None:
        """Stop every running preview and preparation (Forja is shutting down); parked ones stay for adopt()."""
        for preview_id in list(self._runs):
            await self.stop(preview_id)
        for preparation in list(self._preparations.values()):
            await preparation.cancel()

    # -- internals ---------------------------------------------------------------------------

    def _info(self, run: LocalRun) -> PreviewInfo:
        return PreviewInfo(
            preview_id=run.preview_id,
            project_id=run.spec.project_id,
            version=run.spec.version,
            runner=self.name,
            state=run.state,
            upstream=f"http://127.0.0.1:{run.network.host_port}" if run.network else f"http://{run.address}",
            detail=run.detail,
            handle=str(run.process.pid) if run.process else "",
            installed=run.dev_started.is_set() and run.state in (PreviewState.starting, PreviewState.running),
            sandboxed=run.sandboxed,
        )

    def _parked_info(self, preview_id: str, parked: Parked) -> PreviewInfo:
        return PreviewInfo(
            preview_id=preview_id,
            project_id=parked.project_id,
            version=parked.version,
            runner=self.name,
            state=PreviewState.parked,
            sandboxed=parked.sandboxed,
        )

    async def _ready_home(self, project_id: str, *commands: str) -> Path:
        """The work folder and the project's HOME exist, npm's cache seeded when `commands` run npm (see npm_seed)."""
        if not _ID.match(project_id):
            raise RunnerError(f"Not a usable project id: {project_id!r}")
        self.work_dir.mkdir(parents=True, exist_ok=True)
        return await ready_home(self.work_dir, project_id, self.npm_seed, runs_npm(*commands))

    def _free_port(self) -> int:
        return free_port({run.port for run in self._runs.values()})

    async def _forget(self, preview_id: str, network: SandboxNetwork | None = None) -> None:
        """Remove a preview's folder and record, and close its network."""
        if network is not None:
            await network.close()
        await asyncio.to_thread(shutil.rmtree, self._dir(preview_id), True)
        self._record(preview_id).unlink(missing_ok=True)

    def _dev_started(self, run: LocalRun) -> None:
        if run.deps_cache is not None:
            say = partial(run.emit, source="forja")
            after = run.ended if run.watches_files else run.settled
            run.saving_deps = self._deps.save_later(run.directory, run.deps_cache, say, after=after)
