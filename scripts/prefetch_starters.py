"""Fill an npm cache with every Node starter's packages, so the starter tests install offline.

Tests may send traffic only to this machine, and a starter's preview installs from npm. This
script runs in the test command's setup, where the registries are allowed (like pip install):
it renders each Node starter and runs `npm install` with npm's cache in `.cache/starters-npm`.
The tests then install with `npm_config_offline=true` from a copy of that cache, with no network.
A stamp of the starters' package.json files skips the work when nothing changed.

    .venv/bin/python scripts/prefetch_starters.py
"""

from __future__ import annotations

import hashlib
import logging
import os
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from builder.generation.starters import Starter, StarterVariables, load_starters, render_starter  # noqa: E402

CACHE = REPO / ".cache" / "starters-npm"
STAMP = CACHE / ".forja-stamp"
log = logging.getLogger("prefetch_starters")


def node_starters() -> list[Starter]:
    """Starters that run on Node alone (Python starters need PyPI, which these tests do not cover)."""
    paths = {s.name: s.file_paths() for s in load_starters()}
    return [s for s in load_starters() if "package.json" in paths[s.name] and not any("requirements" in p for p in paths[s.name])]


def stamp_of(starters: list[Starter]) -> str:
    digest = hashlib.sha256()
    for starter in starters:
        files = render_starter(starter, StarterVariables(title="Prefetch"))
        digest.update(starter.name.encode() + b"\0" + files["package.json"].encode() + b"\0")
    return digest.hexdigest()


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    logging.getLogger("builder").setLevel(logging.WARNING)
    starters = node_starters()
    stamp = stamp_of(starters)
    if STAMP.exists() and STAMP.read_text() == stamp:
        log.info("starter packages already cached in %s", CACHE.relative_to(REPO))
        return 0
    CACHE.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "npm_config_cache": str(CACHE), "npm_config_update_notifier": "false"}
    with tempfile.TemporaryDirectory(prefix="forja-prefetch-") as work:
        for starter in starters:
            folder = Path(work) / starter.name
            for rel, text in render_starter(starter, StarterVariables(title="Prefetch")).items():
                (folder / rel).parent.mkdir(parents=True, exist_ok=True)
                (folder / rel).write_text(text, encoding="utf-8")
            log.info("caching the packages of %s", starter.name)
            result = subprocess.run(
                ["npm", "install", "--no-audit", "--no-fund"], cwd=folder, env=env, capture_output=True, text=True, timeout=900
            )
            if result.returncode != 0:
                log.error("npm install failed for %s:\n%s", starter.name, result.stdout[-2000:] + result.stderr[-2000:])
                return 1
    STAMP.write_text(stamp)
    return 0


if __name__ == "__main__":
    sys.exit(main())
