"""The page's production build, skipped when nothing it is built from changed since the last one.

`reflex run --env prod` compiles the app into .web (seconds) and then runs `npm run export` (Vite: tens of seconds on
two cores) on every start. The compiled sources in .web are everything that build reads besides the installed npm
packages (which package-lock.json stands for), Node and a few environment variables; when their digest matches the one
written after the last good build, that build is served again.

Forja's own address (FORJA_PORT, FORJA_PUBLIC_URL) is not among them: Reflex writes the backend's addresses into
env.json, which Vite bundles into a chunk of its own (`reflex-env-*.js`). A build made for another address is served
with those addresses written over, so a new port, or a copy of the page for a second Forja, needs no new build.

The build ends with each file compressed beside itself in rxconfig's frontend_compression_formats (`NAME.gz` by Reflex,
`NAME.br` by builder.launch.compress), so those formats are among its inputs too, and a file written over is compressed
again. Before that Forja's own steps rewrite the stylesheet and the pages (POST_BUILD): their code is an input as well.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import shutil
import subprocess
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from builder.launch.compress import pack

# Outputs of the build, installed packages, and Reflex's own record of when it last ran: not inputs.
NOT_INPUTS = {"build", "node_modules", ".react-router", ".states", "reflex.json"}
# Environment variables (names, or their beginnings) that Vite and PostCSS read at build time.
BUILD_ENV = ("VITE_", "NODE_", "REFLEX_NO_AUTOPREFIXER")
# Inside the build folder: Reflex removes that folder before it builds, so a build that fails leaves no stamp.
STAMP = Path("build") / "forja-inputs.sha256"
# The digest of what the app was compiled from (app_sources.py) for the build in the folder.
COMPILED_FROM = Path("build") / "forja-sources.sha256"
# The env.json the build in the folder holds: the addresses to write over when another one is asked for.
BUILT_ENV = Path("build") / "forja-env.json"
ENV = "env.json"
# Forja's steps at the end of the build (builder.launch.compress): a change to one makes different files.
POST_BUILD = tuple(
    Path(__file__).with_name(name) for name in ("compress.py", "css_pruning.py", "critical_css.py", "stylesheet_after_load.js")
)


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
        found.extend(here / name for name in sorted(files) if not (here == web_dir and name in {*NOT_INPUTS, ENV}))
    return found


def inputs_digest(web_dir: Path, environ: Mapping[str, str], node: str, formats: Sequence[str] = ()) -> str:
    """A digest of what the page's build reads: the compiled sources in `web_dir` (but env.json, see readdress), Node's
    version, the build's environment variables, the formats its files are compressed in and the code of Forja's steps
    that rewrite them."""
    digest = hashlib.sha256()
    for path in _input_files(web_dir):
        digest.update(f"{path.relative_to(web_dir).as_posix()}\0".encode())
        digest.update(path.read_bytes())
        digest.update(b"\0")
    for name in sorted(name for name in environ if name.startswith(BUILD_ENV)):
        digest.update(f"{name}={environ[name]}\0".encode())
    digest.update(f"node {node}\0".encode())
    digest.update(f"compressed {','.join(formats)}".encode())
    for path in POST_BUILD:
        digest.update(b"\0" + path.read_bytes())
    return digest.hexdigest()


def _addresses(env: dict[str, object], built: dict[str, object]) -> dict[str, str] | None:
    """Old -> new of each address that differs; None when more than the addresses differ (a new build is needed)."""
    if env.keys() != built.keys():
        return None
    changed: dict[str, str] = {}
    for key, value in env.items():
        if value == built[key]:
            continue
        old = built[key]
        if not (isinstance(value, str) and isinstance(old, str) and "://" in old):
            return None
        changed[old] = value
    return changed


def readdress(web_dir: Path) -> bool:
    """Write env.json's addresses over the build's own, in every bundled file that holds them (and its .gz and .br);
    False when the build cannot be reused for this env.json."""
    env_file, built_file = web_dir / ENV, web_dir / BUILT_ENV
    if not (env_file.is_file() and built_file.is_file()):
        return False
    changed = _addresses(json.loads(env_file.read_text()), json.loads(built_file.read_text()))
    if changed is None:
        return False
    for path in (web_dir / "build").rglob("*.js"):
        text = path.read_text(encoding="utf-8", errors="surrogateescape")
        if not any(old in text for old in changed):
            continue
        for old, new in changed.items():
            text = text.replace(old, new)
        data = text.encode("utf-8", errors="surrogateescape")
        path.write_bytes(data)
        if (zipped := path.with_name(path.name + ".gz")).is_file():
            zipped.write_bytes(gzip.compress(data, mtime=0))
        if path.with_name(path.name + ".br").is_file():
            pack(path)
    built_file.write_text(env_file.read_text())
    return True


class PageBuild:
    """Reflex's build step, run only when the page's inputs differ from the last good build's."""

    def __init__(
        self,
        build: Callable[[], None],
        web_dir: Callable[[], Path],
        node: Callable[[], str] = node_version,
        formats: Callable[[], Sequence[str]] = tuple,
        sources: Callable[[], str] | None = None,
    ) -> None:
        self._build = build
        self._web_dir = web_dir
        self._node = node
        self._formats = formats
        self._sources = sources
        self._skipped_compile_of: str | None = None  # .web's digest when its compile was skipped (it stays so)
        self.skipped = False

    def _digest(self, web_dir: Path) -> str:
        return inputs_digest(web_dir, os.environ, self._node(), self._formats())

    def compile_unchanged(self) -> bool:
        """True when the app's sources are those the build in .web was recorded with, and .web still holds what that
        build was made from: Reflex's compile would write the same files again."""
        self._skipped_compile_of = None
        web_dir = self._web_dir()
        recorded, stamp = web_dir / COMPILED_FROM, web_dir / STAMP
        if self._sources is None or not (recorded.is_file() and stamp.is_file()):
            return False
        if recorded.read_text() != self._sources() or stamp.read_text() != (digest := self._digest(web_dir)):
            return False
        self._skipped_compile_of = digest
        return True

    def __call__(self) -> None:
        web_dir = self._web_dir()
        digest = self._skipped_compile_of or self._digest(web_dir)
        stamp = web_dir / STAMP
        unchanged = stamp.is_file() and stamp.read_text() == digest and (web_dir / "build" / "client").is_dir()
        if unchanged and readdress(web_dir):
            self.skipped = True
        else:
            self._build()
            stamp.write_text(digest)
            (web_dir / BUILT_ENV).write_text((web_dir / ENV).read_text())
        if self._sources is not None:
            (web_dir / COMPILED_FROM).write_text(self._sources())
