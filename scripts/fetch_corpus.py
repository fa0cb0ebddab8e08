"""Make corpus projects (scripts/corpus.py) and fetch what it installs, so its previews install offline.

Runs in the test command's setup, where the registries are allowed, like scripts/prefetch_starters.py.
For each entry it writes

    .cache/corpus/<name>/app/   the project as a person would import it, with the package-lock.json
                                that `npm install` wrote, or the pnpm-lock.yaml / yarn.lock of a pnpm or
                                yarn entry (no node_modules, .venv or .git)
    .cache/corpus/<name>/npm/   an npm cache holding every package that lockfile installs (a pnpm or yarn
                                entry's: pnpm's store or yarn's cache, in it as the runners expect)
    .cache/corpus/corepack/     corepack's cache with the pnpm and yarn versions those entries install with
    .cache/corpus/wheels/       wheels for every Python entry (shared)
    .cache/corpus/<name>/stamp  what the entry was made from; a later run skips entries whose stamp matches

Each project has its own npm cache because the Docker runner copies the seed into a tmpfs of the preview's
home for every cold install. npm resolves in a scratch cache (`before` needs npm's full package documents,
which are large), then installs from the lockfile into the entry's cache, then installs once more offline
from that cache alone, as the runners will. A failing entry does not stop the others; the exit code is 1
if any failed.

    .venv/bin/python scripts/fetch_corpus.py [NAME...]

With no names it makes the entries a test run uses (scripts/corpus.py's IN_A_TEST_RUN; every entry with
FORJA_CORPUS=all).
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import logging
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from preview_runtime.corepack import PREVIEW_ENV, manager_caches, prepare  # noqa: E402
from preview_runtime.detect.node import DEFAULT_VERSIONS  # noqa: E402
from preview_runtime.plan import plan_for  # noqa: E402
from scripts.corpus import (  # noqa: E402
    COREPACK_DIR,
    CORPUS_DIR,
    DOCS_DIR,
    ENTRIES,
    WHEELS_DIR,
    Docs,
    Entry,
    NpmFiles,
    PypiFiles,
    PythonScaffold,
    Scaffold,
    in_a_test_run,
)

LOCK = REPO / ".cache" / "corpus.lock"
# How long a test waits for an entry the fetch has not made yet (less than pyproject.toml's test timeout).
WAIT_S = 600
AT_ONCE = 3
NOT_IMPORTED = (".git", "node_modules", ".venv")
log = logging.getLogger("fetch_corpus")


class FetchError(Exception):
    pass


def entry_stamp(entry: Entry) -> str:
    """Names what the entry's files are made from (not what the test looks for): source, additions, date, docs files."""
    made_from = (entry.name, entry.source, sorted(entry.added.items()), entry.pip, entry.resolved_before)
    if entry.manager != "npm":  # only then: npm entries' stamps stay what they were
        made_from += (entry.manager,)
    digest = hashlib.sha256(repr(made_from).encode())
    if isinstance(entry.source, Docs):
        for path in sorted((DOCS_DIR / entry.name).rglob("*")):
            if path.is_file():
                digest.update(f"{path.relative_to(DOCS_DIR)}\0".encode() + path.read_bytes())
    return digest.hexdigest()


def is_fetched(entry: Entry) -> bool:
    stamp = CORPUS_DIR / entry.name / "stamp"
    return stamp.exists() and stamp.read_text() == entry_stamp(entry)


def wait_for(entry: Entry, within: float = WAIT_S) -> bool:
    """Whether the entry is fetched, after waiting (at most `within` seconds) while a fetch holds the lock: the test
    command runs this script beside the first tests."""
    if not is_fetched(entry) and LOCK.exists():
        deadline = time.monotonic() + within
        with LOCK.open("a") as lock:
            while True:
                try:
                    fcntl.flock(lock, fcntl.LOCK_SH | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() > deadline:
                        break
                    time.sleep(1)
    return is_fetched(entry)


def run(argv: list[str], cwd: Path, env: dict[str, str], timeout: float = 900) -> str:
    result = subprocess.run(
        argv, cwd=cwd, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=timeout, check=False
    )
    if result.returncode != 0:
        tail = (result.stdout[-3000:] + "\n" + result.stderr[-3000:]).strip()
        raise FetchError(f"`{' '.join(argv[:6])}` exited with {result.returncode} in {cwd}:\n{tail}")
    return result.stdout


class Fetcher:
    """Fetches entries inside one scratch folder (scaffolders' and resolution caches live there and go with it)."""

    def __init__(self, scratch: Path) -> None:
        self.scratch = scratch
        self.wheels_lock = threading.Lock()
        self.resolve_cache = scratch / "resolve-npm"
        config = scratch / "config"
        config.mkdir()
        # The runners install with no user npmrc; a user's omit-lockfile-registry-resolved would write a lockfile
        # without tarball addresses, which then needs package documents the entry's cache does not hold.
        self.npmrc = scratch / "npmrc"
        self.npmrc.write_text("")
        self.env = {
            **os.environ,
            "npm_config_userconfig": str(self.npmrc),
            "npm_config_update_notifier": "false",
            "npm_config_fund": "false",
            "npm_config_audit": "false",
            "npm_config_yes": "true",
            # Scaffolders remember answers (create-next-app) and history (better-t-stack) under XDG_CONFIG_HOME.
            "XDG_CONFIG_HOME": str(config),
            "NG_CLI_ANALYTICS": "false",
            "NEXT_TELEMETRY_DISABLED": "1",
            "ASTRO_TELEMETRY_DISABLED": "1",
            "NUXT_TELEMETRY_DISABLED": "1",
        }

    def npm_env(self, cache: Path, before: str | None = None) -> dict[str, str]:
        env = {**self.env, "npm_config_cache": str(cache)}
        if before:
            env["npm_config_before"] = before
        return env

    def fetch(self, entry: Entry) -> None:
        work = Path(tempfile.mkdtemp(prefix=f"{entry.name}-", dir=self.scratch))
        app = self.make_project(entry, work)
        for name in NOT_IMPORTED:
            for found in list(app.rglob(name)):
                shutil.rmtree(found, ignore_errors=True)
        for rel, text in entry.added.items():
            (app / rel).parent.mkdir(parents=True, exist_ok=True)
            (app / rel).write_text(text, encoding="utf-8")
        npm_cache = work / "npm"
        if (app / "package.json").exists() and entry.manager != "npm":
            self.fetch_with_corepack(entry, app, npm_cache, work)
        elif (app / "package.json").exists():
            self.fetch_npm(entry, app, npm_cache, work)
        if entry.pip:
            self.fetch_wheels(entry, app)
        target = CORPUS_DIR / entry.name
        shutil.rmtree(target, ignore_errors=True)
        target.mkdir(parents=True)
        app.rename(target / "app")
        if npm_cache.exists():
            npm_cache.rename(target / "npm")
        (target / "stamp").write_text(entry_stamp(entry))
        shutil.rmtree(work, ignore_errors=True)

    # -- the project's files --------------------------------------------------------------------------

    def make_project(self, entry: Entry, work: Path) -> Path:
        source, app = entry.source, work / entry.name
        if isinstance(source, Scaffold):
            command = [part.replace("{dir}", entry.name) for part in source.command]
            env = self.npm_env(self.scratch / "scaffold-npm", entry.resolved_before)
            run(["npm", "exec", "--yes", f"--package={source.package}", "--", *command], work, env)
        elif isinstance(source, PythonScaffold):
            venv = work / "venv"
            run([sys.executable, "-m", "venv", str(venv)], work, self.env)
            # This pip, not the venv's older one, knows --uploaded-prior-to.
            pip = [sys.executable, "-m", "pip", "--python", str(venv / "bin" / "python"), "install", "-q"]
            run([*pip, *pip_date(entry), source.requirement], work, self.env)
            app.mkdir()
            command = [part.replace("{dir}", str(app)) for part in source.command]
            run([str(venv / "bin" / command[0]), *command[1:]], work, self.env)
        elif isinstance(source, NpmFiles):
            env = self.npm_env(self.scratch / "scaffold-npm")
            packed = json.loads(run(["npm", "pack", source.package, "--json", "--pack-destination", str(work)], work, env))
            with tarfile.open(work / packed[0]["filename"]) as archive:
                archive.extractall(work / "unpacked", filter="data")
            copy_folder(work / "unpacked" / "package" / source.path, app, source.drop)
        elif isinstance(source, PypiFiles):
            kind = ["--no-binary", ":all:"] if source.archive == "sdist" else ["--only-binary", ":all:"]
            download = work / "download"
            argv = [sys.executable, "-m", "pip", "download", "-q", "--no-deps", *kind, *pip_date(entry), "-d", str(download)]
            run([*argv, source.requirement], work, self.env)
            unpacked = work / "unpacked"
            (archive_path,) = download.iterdir()
            if source.archive == "sdist":
                with tarfile.open(archive_path) as archive:
                    archive.extractall(unpacked, filter="data")
                (root,) = unpacked.iterdir()  # an sdist holds one folder, name-version
            else:
                with zipfile.ZipFile(archive_path) as archive:
                    archive.extractall(unpacked)
                root = unpacked
            copy_folder(root / source.path, app)
        else:
            copy_folder(DOCS_DIR / entry.name, app)
        if not app.is_dir():
            raise FetchError(f"{entry.name}: the source made no folder {app.name}")
        return app

    # -- what it installs ---------------------------------------------------------------------------------

    def fetch_npm(self, entry: Entry, app: Path, cache: Path, work: Path) -> None:
        """Lock as of the entry's date, fill the entry's cache from the lockfile, then prove an offline install works."""
        resolve = work / "resolve"
        copy_folder(app, resolve)
        lock_only = ["npm", "install", "--package-lock-only", "--ignore-scripts", "--no-audit", "--no-fund"]
        run(lock_only, resolve, self.npm_env(self.resolve_cache, entry.resolved_before))
        shutil.copy2(resolve / "package-lock.json", app / "package-lock.json")
        fill = work / "fill"
        copy_folder(app, fill)
        run(["npm", "install", "--no-audit", "--no-fund"], fill, self.npm_env(cache))
        if (fill / "package-lock.json").read_bytes() != (app / "package-lock.json").read_bytes():
            log.info("corpus: the install rewrote %s's lockfile; keeping its version", app.name)
            shutil.copy2(fill / "package-lock.json", app / "package-lock.json")
        offline = work / "offline"
        copy_folder(app, offline)
        env = {**self.npm_env(cache), "npm_config_offline": "true"}
        run(["npm", "install", "--no-audit", "--no-fund"], offline, env)
        for folder in (resolve, fill, offline):
            shutil.rmtree(folder, ignore_errors=True)

    def fetch_with_corepack(self, entry: Entry, app: Path, cache: Path, work: Path) -> None:
        """A pnpm or yarn project: its lockfile, the manager detection runs prepared into the shared corepack cache,
        pnpm's store or yarn's cache filled inside the entry's npm cache (where the runners look for them, see
        preview_runtime/corepack.py), then an install from those alone, as the runners will."""
        resolve = work / "resolve"
        copy_folder(app, resolve)
        if entry.manager == "yarn":
            # Version 2 keeps the "dependencies" tree of version 1, the one `yarn import` reads.
            lock_only = ["npm", "install", "--package-lock-only", "--lockfile-version=2", "--ignore-scripts", "--no-audit"]
            run(lock_only, resolve, self.npm_env(self.resolve_cache, entry.resolved_before))
            yarn = f"yarn@{DEFAULT_VERSIONS['yarn']}"
            prepare(COREPACK_DIR, [yarn], self.corepack_env(cache))
            run(["corepack", yarn, "import"], resolve, self.corepack_env(cache))
            shutil.copy2(resolve / "yarn.lock", app / "yarn.lock")
        install = plan_for(app_tree(app)).install
        spec = re.search(r"corepack (\S+@\S+) install", install)
        if spec is None:
            raise FetchError(f"{entry.name}: detection installs with `{install}`, not a {entry.manager} through corepack")
        prepare(COREPACK_DIR, [spec.group(1)], self.corepack_env(cache))
        fill = work / "fill"
        copy_folder(app, fill)
        run(["sh", "-c", install], fill, self.corepack_env(cache))
        lockfile = "pnpm-lock.yaml" if entry.manager == "pnpm" else "yarn.lock"
        shutil.copy2(fill / lockfile, app / lockfile)
        offline = work / "offline"
        copy_folder(app, offline)
        # Only --offline: beside --prefer-offline, yarn fetches what its cache lacks.
        run(["sh", "-c", install.replace("--prefer-offline", "--offline")], offline, self.corepack_env(cache))
        # The runners copy an npm cache for a seed only when it is one (npm's own index folder in it).
        (cache / "_cacache").mkdir(parents=True, exist_ok=True)
        for folder in (resolve, fill, offline):
            shutil.rmtree(folder, ignore_errors=True)

    def corepack_env(self, cache: Path) -> dict[str, str]:
        # This machine's registry serves packages without npm's signatures, which corepack checks by default; it
        # still checks each tarball against the integrity hash the registry lists.
        env = {"COREPACK_HOME": str(COREPACK_DIR), "COREPACK_INTEGRITY_KEYS": "0", **PREVIEW_ENV}
        return {**self.npm_env(cache), **env, **manager_caches(str(cache))}

    def fetch_wheels(self, entry: Entry, app: Path) -> None:
        """Wheels for the entry into the shared folder, then a dry-run install from that folder alone; one entry at a
        time (two pips writing one wheel file would leave it half written for the other's install)."""
        with self.wheels_lock:
            self._fetch_wheels(entry, app)

    def _fetch_wheels(self, entry: Entry, app: Path) -> None:
        WHEELS_DIR.mkdir(parents=True, exist_ok=True)
        pip = [sys.executable, "-m", "pip"]
        run([*pip, "download", "-q", *pip_date(entry), "-d", str(WHEELS_DIR), *entry.pip], app, self.env)
        # --isolated: no find-links or index from the machine's pip config or PIP_* variables may help.
        offline = [
            "--isolated",
            "install",
            "-q",
            "--dry-run",
            "--ignore-installed",
            "--no-index",
            "--find-links",
            str(WHEELS_DIR),
        ]
        run([*pip, *offline, *entry.pip], app, self.env)


def pip_date(entry: Entry) -> list[str]:
    return ["--uploaded-prior-to", entry.resolved_before]


def app_tree(app: Path) -> dict[str, bytes]:
    return {p.relative_to(app).as_posix(): p.read_bytes() for p in sorted(app.rglob("*")) if p.is_file()}


def copy_folder(source: Path, target: Path, drop: tuple[str, ...] = ()) -> None:
    if not source.is_dir():
        raise FetchError(f"{source} is not a folder")
    shutil.copytree(source, target, symlinks=True, ignore=lambda folder, names: [n for n in names if n in drop])


def folder_size(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file() and not f.is_symlink())


def main(argv: list[str]) -> int:
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    if unknown := set(argv) - {e.name for e in ENTRIES}:
        log.error("no corpus entry named %s", ", ".join(sorted(unknown)))
        return 2
    chosen = [e for e in ENTRIES if e.name in argv] if argv else in_a_test_run()
    if all(is_fetched(entry) for entry in chosen):
        log.info("corpus: already fetched into %s", CORPUS_DIR.relative_to(REPO))
        return 0
    CORPUS_DIR.mkdir(parents=True, exist_ok=True)
    failed: list[str] = []
    started = time.monotonic()
    # Held while fetching: the corpus tests wait for it when the test command runs the fetch beside the first tests.
    with LOCK.open("a") as lock, tempfile.TemporaryDirectory(prefix="forja-corpus-") as scratch:
        fcntl.flock(lock, fcntl.LOCK_EX)
        fetcher = Fetcher(Path(scratch))

        def fetch(entry: Entry) -> None:
            began = time.monotonic()
            log.info("corpus: making %s (%s)", entry.name, entry.origin)
            try:
                fetcher.fetch(entry)
            except (FetchError, OSError, ValueError, RuntimeError, subprocess.TimeoutExpired) as exc:
                log.error("corpus: %s failed: %s", entry.name, exc)
                failed.append(entry.name)
                return
            size = folder_size(CORPUS_DIR / entry.name)
            log.info("corpus: %s done in %.0f s, %.0f MB", entry.name, time.monotonic() - began, size / 1e6)

        # Several at once: each waits on the registries as much as it works.
        with ThreadPoolExecutor(max_workers=AT_ONCE) as pool:
            list(pool.map(fetch, [entry for entry in chosen if not is_fetched(entry)]))
    total = folder_size(CORPUS_DIR)
    log.info("corpus: %.0f s, %.0f MB in %s", time.monotonic() - started, total / 1e6, CORPUS_DIR.relative_to(REPO))
    if failed:
        log.error("corpus: %d failed: %s", len(failed), ", ".join(failed))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
