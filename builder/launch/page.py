"""The page's production build, skipped when nothing it is built from changed since the last one.

`reflex run --env prod` compiles the app into .web (seconds) and then runs `npm run export` (Vite: tens of seconds on
two cores) on every start. The compiled sources in .web are everything that build reads besides the installed npm
packages (which package-lock.json stands for), Node and a few environment variables; when their digest matches the one
written after the last good build, that build is served again.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from collections.abc import Callable, Mapping
from pathlib import Path

# Outputs of the build, installed packages, and Reflex's own record of when it last ran: not inputs.
NOT_INPUTS = {"build", "node_modules", ".react-router", ".states", "reflex.json"}
# Environment variables (names, or their beginnings) that Vite and PostCSS read at build time.
BUILD_ENV = ("VITE_", "NODE_", "REFLEX_NO_AUTOPREFIXER")
# Inside the build folder: Reflex removes that folder before it builds, so a build that fails leaves no stamp.
STAMP = Path("build") / "forja-inputs.sha256"


def node_version() -> str:
    node = shutil.which("node")
    if node is None:
        return ""
    return subprocess.run([node, "--version"], capture_output=True, text=True, check=False).stdout.strip()


def _input_files(web_dir: Path) -> list[Path]:
    found: list[Path] = []
    for folder, dirs, files in os.walk(web_dir):
        here = Path(folder)
        dirs[:] = sorted(name for name in dirs if not (here == web_dir and name in NOT_INPUTS))
        found.extend(here / name for name in sorted(files) if not (here == web_dir and name in NOT_INPUTS))
    return found


def inputs_digest(web_dir: Path, environ: Mapping[str, str], node: str) -> str:
    """A digest of what the page's build reads: the compiled sources in `web_dir`, Node's version, the build's
    environment variables."""
    digest = hashlib.sha256()
    for path in _input_files(web_dir):
        digest.update(f"{path.relative_to(web_dir).as_posix()}\0".encode())
        digest.update(path.read_bytes())
        digest.update(b"\0")
    for name in sorted(name for name in environ if name.startswith(BUILD_ENV)):
        digest.update(f"{name}={environ[name]}\0".encode())
    digest.update(f"node {node}".encode())
    return digest.hexdigest()


class PageBuild:
    """Reflex's build step, run only when the page's inputs differ from the last good build's."""

    def __init__(self, build: Callable[[], None], web_dir: Callable[[], Path], node: Callable[[], str] = node_version) -> None:
        self._build = build
        self._web_dir = web_dir
        self._node = node
        self.skipped = False

    def __call__(self) -> None:
        web_dir = self._web_dir()
        digest = inputs_digest(web_dir, os.environ, self._node())
        stamp = web_dir / STAMP
        if stamp.is_file() and stamp.read_text() == digest and (web_dir / "build" / "client").is_dir():
            self.skipped = True
            return
        self._build()
        stamp.write_text(digest)
