"""What code in a sandbox tries, to take the machine that runs it: copied into a project and run there by
tests/integration/test_sandbox_privileges.py (and tests/integration/test_docker_runner.py), never imported.

Prints one line, `privileges: {json}`: the process's user, capabilities, no-new-privileges and seccomp mode as
/proc/self/status gives them, and for each attempt whether it worked ("ok") or what refused it. Each attempt is made
twice where it can be, through the system call itself (ctypes) and through the program a person would type, so that
a refusal is the kernel's, not a missing program's. argv[1]: a token naming the files it tries to leave behind;
argv[2:]: folders it tries to write into (Forja's venv, say).
"""

import ctypes
import ctypes.util
import json
import os
import subprocess
import sys
import time

libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
CLONE_NEWUSER, CLONE_NEWNS = 0x10000000, 0x00020000
MS_REMOUNT, MS_BIND = 32, 4096
PTRACE_ATTACH, PTRACE_DETACH = 16, 17
TIOCSTI = 0x5412


def call(result: int) -> str:
    return "ok" if result == 0 else os.strerror(ctypes.get_errno())


def program(*argv: str) -> str:
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=10)
    except OSError as exc:
        return f"not run: {exc}"
    return "ok" if done.returncode == 0 else (done.stderr.strip().splitlines() or [f"exit {done.returncode}"])[0]


def write(folder: str, token: str) -> str:
    try:
        with open(os.path.join(folder, f"forja-probe-{token}"), "x") as out:
            out.write("planted by a sandbox\n")
    except OSError as exc:
        return exc.strerror or str(exc)
    return "ok"


def ptrace_a_child() -> str:
    child = subprocess.Popen(["sleep", "5"])
    try:
        time.sleep(0.05)
        result = libc.ptrace(PTRACE_ATTACH, child.pid, None, None)
        said = call(result)
        if result == 0:
            libc.ptrace(PTRACE_DETACH, child.pid, None, None)
        return said
    finally:
        child.kill()
        child.wait()


def main() -> None:
    token, folders = sys.argv[1], sys.argv[2:]
    with open("/proc/self/status") as status:
        fields = dict(line.rstrip("\n").split(":\t", 1) for line in status if ":\t" in line)
    os.makedirs("probe-mnt", exist_ok=True)
    tried = {
        "remount /usr writable": call(libc.mount(None, b"/usr", None, MS_REMOUNT | MS_BIND, None)),
        "mount -o remount,bind,rw /usr": program("mount", "-o", "remount,bind,rw", "/usr"),
        "mount a tmpfs": call(libc.mount(b"none", b"probe-mnt", b"tmpfs", 0, None)),
        "mount -t tmpfs": program("mount", "-t", "tmpfs", "none", "probe-mnt"),
        "unshare a user namespace": call(libc.unshare(CLONE_NEWUSER)),
        "unshare -U": program("unshare", "-U", "true"),
        "unshare a mount namespace": call(libc.unshare(CLONE_NEWNS)),
        "ptrace a child": ptrace_a_child(),
        # Refused by a filter whatever fd 0 is; without one, a pipe or /dev/null answers "not a terminal" instead.
        "push into the terminal": call(libc.ioctl(0, TIOCSTI, ctypes.c_char_p(b"x"))),
    }
    for folder in ["/usr/local/share", "/usr/bin", "/etc", *folders]:
        tried[f"write into {folder}"] = write(folder, token)
    keep = ("Uid", "Gid", "CapEff", "CapPrm", "CapBnd", "NoNewPrivs", "Seccomp")
    print("privileges:", json.dumps({**{name: fields.get(name, "") for name in keep}, "tried": tried}), flush=True)


main()
