"""Fetch every starter's packages ahead, so the starter tests install offline.

Tests may send traffic only to this machine, and a starter's preview installs from npm and PyPI.
This script runs in the test command's setup, where the registries are allowed (like pip
install): it renders each starter, runs `npm install` with npm's cache in `.cache/starters-npm`,
and `pip download`s its requirements into `.cache/starters-wheels`. The tests then install with
`npm_config_offline=true` and `PIP_NO_INDEX=1` from copies of those, with no network. A stamp of
the starters' manifests skips the work when nothing changed. It also fetches TESTED_PACKAGES, which tests install
offline likewise, into an npm cache of their own (.cache/tested-npm): their install scripts are not run here, but in
the tests' previews.

    .venv/bin/python scripts/prefetch_starters.py
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import subprocess
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from builder.generation.starters import Starter, StarterVariables, load_starters, render_starter  # noqa: E402
from builder.settings import settings  # noqa: E402
from preview_runtime.corepack import DEFAULT_SPECS, prepare  # noqa: E402

CACHE = REPO / ".cache" / "starters-npm"
WHEELS = REPO / ".cache" / "starters-wheels"
STAMP = REPO / ".cache" / "starters.stamp"
COREPACK = REPO / ".cache" / "corepack"  # the corepack_cache setting's default
MANIFESTS = ("package.json", "requirements.txt", "api/requirements.txt")
# A package with a native addon whose prebuilt binary is on GitHub, which previews cannot reach: a preview builds it
# from its source, offline (tests/integration/test_local_runner.py). bcrypt 5 compiles in seconds; 6 ships its binaries.
TESTED_PACKAGES = {"bcrypt": "5.1.1"}
TESTED_CACHE = REPO / ".cache" / "tested-npm"
TESTED_STAMP = TESTED_CACHE / "packages.json"  # TESTED_PACKAGES, once they are in the cache
# A docs site's tool a preview installs from its wheels, offline: `mkdocs new`'s site previews with MkDocs.
TESTED_WHEELS = ("mkdocs==1.6.1",)
TESTED_WHEELS_DIR = REPO / ".cache" / "tested-wheels"
TESTED_WHEELS_STAMP = TESTED_WHEELS_DIR / "wheels.json"  # TESTED_WHEELS, once they are in the folder
log = logging.getLogger("prefetch_starters")


def starters() -> list[Starter]:
    return load_starters()


def manifests(starter: Starter) -> dict[str, str]:
    files = render_starter(starter, StarterVariables(title="Prefetch"))
    return {name: files[name] for name in MANIFESTS if name in files}


def stamp_of(chosen: list[Starter]) -> str:
    digest = hashlib.sha256()
    for starter in chosen:
        for name, text in sorted(manifests(starter).items()):
            digest.update(f"{starter.name}/{name}\0{text}\0".encode())
    return digest.hexdigest()


def run(argv: list[str], cwd: Path, env: dict[str, str]) -> bool:
    result = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=900)
    if result.returncode != 0:
        log.error("%s failed in %s:\n%s", " ".join(argv[:3]), cwd.name, result.stdout[-2000:] + result.stderr[-2000:])
    return result.returncode == 0


def prepare_managers() -> None:
    """pnpm and yarn at the versions previews run when a project pins none, so they start with no download. Starters
    need neither: a failure is said, not fatal."""
    try:
        prepare(COREPACK, DEFAULT_SPECS, corepack_env(os.environ))
    except (RuntimeError, OSError, subprocess.TimeoutExpired) as exc:
        log.warning(
            "%s; pnpm and yarn projects' previews will download them (a registry mirror without npm's "
            "signatures needs FORJA_COREPACK_INTEGRITY_KEYS=0 for corepack)",
            exc,
        )


def corepack_env(environ: Mapping[str, str]) -> dict[str, str]:
    """The machine's environment with what Forja's settings tell corepack: the registry mirror previews use (unless
    the environment names one) and the integrity keys to check the managers against."""
    env = dict(environ)
    if settings.npm_registry:
        env.setdefault("npm_config_registry", settings.npm_registry)
    if settings.corepack_integrity_keys:
        env["COREPACK_INTEGRITY_KEYS"] = settings.corepack_integrity_keys
    return env


def tested_stamp() -> str:
    return json.dumps(TESTED_PACKAGES, sort_keys=True)


def fetch_tested() -> bool:
    """TESTED_PACKAGES into their npm cache (unless there already), installed without their install scripts: a native
    addon's build here would be this machine's, not a preview's."""
    if TESTED_STAMP.exists() and TESTED_STAMP.read_text() == tested_stamp():
        return True
    log.info("fetching the tested packages %s", ", ".join(f"{name}@{v}" for name, v in TESTED_PACKAGES.items()))
    TESTED_CACHE.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "npm_config_cache": str(TESTED_CACHE), "npm_config_update_notifier": "false"}
    with tempfile.TemporaryDirectory(prefix="forja-prefetch-") as work:
        manifest = {"name": "tested-packages", "private": True, "dependencies": TESTED_PACKAGES}
        (Path(work) / "package.json").write_text(json.dumps(manifest), encoding="utf-8")
        if not run(["npm", "install", "--ignore-scripts", "--no-audit", "--no-fund"], Path(work), env):
            return False
    TESTED_STAMP.write_text(tested_stamp())
    return True


def fetch_tested_wheels() -> bool:
    """TESTED_WHEELS and what they need into their folder (unless there already), for this machine's Python."""
    if TESTED_WHEELS_STAMP.exists() and TESTED_WHEELS_STAMP.read_text() == json.dumps(TESTED_WHEELS):
        return True
    log.info("fetching the tested wheels %s", ", ".join(TESTED_WHEELS))
    TESTED_WHEELS_DIR.mkdir(parents=True, exist_ok=True)
    argv = [sys.executable, "-m", "pip", "download", "-q", "-d", str(TESTED_WHEELS_DIR), *TESTED_WHEELS]
    if not run(argv, TESTED_WHEELS_DIR, dict(os.environ)):
        return False
    TESTED_WHEELS_STAMP.write_text(json.dumps(TESTED_WHEELS))
    return True


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    logging.getLogger("builder").setLevel(logging.WARNING)
    prepare_managers()
    if not fetch_tested() or not fetch_tested_wheels():
        return 1
    chosen = starters()
    stamp = stamp_of(chosen)
    if STAMP.exists() and STAMP.read_text() == stamp:
        log.info("starter packages already fetched into %s", CACHE.parent.relative_to(REPO))
        return 0
    CACHE.mkdir(parents=True, exist_ok=True)
    WHEELS.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "npm_config_cache": str(CACHE), "npm_config_update_notifier": "false"}
    with tempfile.TemporaryDirectory(prefix="forja-prefetch-") as work:
        for starter in chosen:
            folder = Path(work) / starter.name
            for rel, text in manifests(starter).items():
                (folder / rel).parent.mkdir(parents=True, exist_ok=True)
                (folder / rel).write_text(text, encoding="utf-8")
            log.info("fetching the packages of %s", starter.name)
            if (folder / "package.json").exists() and not run(["npm", "install", "--no-audit", "--no-fund"], folder, env):
                return 1
            for requirements in ("requirements.txt", "api/requirements.txt"):
                if (folder / requirements).exists():
                    argv = [sys.executable, "-m", "pip", "download", "-q", "-d", str(WHEELS), "-r", requirements]
                    if not run(argv, folder, env):
                        return 1
    STAMP.write_text(stamp)
    return 0


if __name__ == "__main__":
    sys.exit(main())
