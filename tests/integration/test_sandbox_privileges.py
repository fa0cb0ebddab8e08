"""Issue 51's first finding, replayed: code in a local sandbox run by root tried to take the machine (remount /usr
writable and write there, mount a tmpfs, make a user namespace, ptrace). tests/sandbox_probe.py tries each, from each
kind of local sandbox: a preview's install ahead, its install and dev server, a command run in it (checks, the agent,
a publish's build), its terminal, a published app's sandbox with its /data folder, and the eval's grader. Each must
run as user 10001 with no capability, no new privileges and the seccomp filter, have every attempt refused, and leave
nothing on the host.

CI runs as root, where this means the most; one test runs the same sandbox as an unprivileged user, for the promise
that it holds whoever runs Forja. A control runs the probe in a sandbox made the old way (root keeping its
capabilities, with tmpfs over the folders it writes to, so nothing reaches the host) and sees it succeed: the probe
can tell.
"""

from __future__ import annotations

import json
import os
import pwd
import secrets
import shlex
import shutil
import subprocess
import sys
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from builder.eval import webbench_grader
from preview_runtime.local import LocalRunner
from preview_runtime.local.sandbox import SANDBOX_UID, inside_problem
from preview_runtime.plan import Mount, RunPlan
from preview_runtime.runner import PreviewSpec
from tests.conftest import NO_REGISTRY_NAMES, free_port
from tests.integration.test_cli import run_in_process
from tests.integration.test_local_isolation import _bwrap_or_fail_in_ci, _log, _running
from tests.integration.test_terminal_shells import run_in

PROBE = (Path(__file__).parents[1] / "sandbox_probe.py").read_bytes()
SERVE = "exec python -m http.server $PORT"
VENV = Path(sys.prefix)
# Each attempt the probe makes (besides the writes, one per folder).
ATTEMPTS = {
    "remount /usr writable",
    "mount -o remount,bind,rw /usr",
    "mount a tmpfs",
    "mount -t tmpfs",
    "unshare a user namespace",
    "unshare -U",
    "unshare a mount namespace",
    "ptrace a child",
    "push into the terminal",
}


@pytest.fixture
async def runner(tmp_path: Path) -> AsyncIterator[LocalRunner]:
    _bwrap_or_fail_in_ci()
    instance = LocalRunner(tmp_path / "work", sandbox=True)
    yield instance
    await instance.close()


@pytest.fixture
def token() -> Iterator[str]:
    """Names what the probe tries to leave on the host; afterwards nothing of that name is there."""
    made = secrets.token_hex(6)
    yield made
    planted = [folder / f"forja-probe-{made}" for folder in (Path("/usr/local/share"), Path("/usr/bin"), Path("/etc"), VENV)]
    found = [path for path in planted if path.exists()]
    for path in found:
        path.unlink()
    assert not found, f"a sandbox wrote onto the host: {found}"


def probe_line(token: str) -> str:
    return f"python probe.py {token} {VENV}"


def read_probe(lines: list[str]) -> dict:
    said = [line for line in lines if line.startswith("privileges:")]
    assert said, "the probe printed nothing:\n" + "\n".join(lines[-30:])
    return json.loads(said[-1].removeprefix("privileges:"))


def assert_held(seen: dict, writable: frozenset[str] = frozenset()) -> None:
    """The probe's report: user 10001, no capability, no new privileges, the filter; every attempt refused but the
    writes into `writable` (the sandbox's own folders)."""
    assert seen["Uid"].split()[0] == str(SANDBOX_UID), seen
    assert seen["CapEff"] == "0000000000000000" and seen["CapPrm"] == "0000000000000000", seen
    assert seen["CapBnd"] == "0000000000000000", seen
    assert seen["NoNewPrivs"] == "1" and seen["Seccomp"] == "2", seen
    tried = seen["tried"]
    assert tried["push into the terminal"] == "Operation not permitted", tried  # the filter's answer, not the tty's
    assert ATTEMPTS <= tried.keys() and len(tried) == len(ATTEMPTS) + 4 + len(writable), tried
    assert {name for name, said in tried.items() if said == "ok"} == {f"write into {f}" for f in writable}, tried


def _spec(preview_id: str, plan: RunPlan, project_id: str = "p") -> PreviewSpec:
    return PreviewSpec(preview_id=preview_id, project_id=project_id, version=1, files={"probe.py": PROBE}, plan=plan)


async def test_a_previews_install_and_dev_server_hold(runner: LocalRunner, token: str) -> None:
    lines, sink = _log()
    line = probe_line(token)
    await runner.start(_spec("held1", RunPlan(install=line, dev=f"{line} && {SERVE}", has_server=True)), sink)  # pyright: ignore[reportArgumentType]
    await _running(runner, "held1")
    probes = [json.loads(text.removeprefix("privileges:")) for text in lines if text.startswith("privileges:")]
    assert len(probes) == 2, lines  # the install's, then the dev server's
    for seen in probes:
        assert_held(seen)


async def test_an_install_ahead_holds(runner: LocalRunner, token: str) -> None:
    lines, sink = _log()
    # Only the dependency files are there when it runs: the probe comes in the command itself.
    install = f"python -c {shlex.quote(PROBE.decode())} {token} {VENV}"
    plan = RunPlan(install=install, dev=SERVE, has_server=True)
    await runner.prepare("p2", {"requirements.txt": b""}, plan, sink)  # pyright: ignore[reportArgumentType]
    assert_held(read_probe(lines))


async def test_a_command_and_the_terminal_hold(runner: LocalRunner, token: str) -> None:
    _, sink = _log()
    await runner.start(_spec("held3", RunPlan(dev=SERVE, has_server=True)), sink)  # pyright: ignore[reportArgumentType]
    await _running(runner, "held3")
    outcome = await runner.run_command("held3", probe_line(token), 60)
    assert_held(read_probe(outcome.output.splitlines()))
    shell = await runner.open_shell("held3", 200, 30)
    try:
        said = await run_in(shell, probe_line(token))
    finally:
        await shell.close()
    assert_held(read_probe(said.splitlines()))


async def test_a_published_apps_sandbox_with_its_data_folder_holds(runner: LocalRunner, token: str, tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    lines, sink = _log()
    plan = RunPlan(dev=f"{probe_line(token)} /data && {SERVE}", has_server=True, mounts=[Mount(source=str(data), target="/data")])
    await runner.start(_spec("held4", plan), sink)  # pyright: ignore[reportArgumentType]
    await _running(runner, "held4")
    # Its own /data is its to write, and nothing else is.
    assert_held(read_probe(lines), writable=frozenset({"/data"}))
    assert (data / f"forja-probe-{token}").read_text() == "planted by a sandbox\n"


async def test_the_eval_grader_holds(tmp_path: Path, token: str) -> None:
    """Web-Bench's tests are code from a checkout: Playwright Test runs them in the same sandbox."""
    _bwrap_or_fail_in_ci()
    if not webbench_grader.PLAYWRIGHT.is_file():
        pytest.fail("the Web-Bench grader is not installed (scripts/setup.sh installs it)")
    work = tmp_path / "grade"
    for folder in ("home", "tmp"):
        (work / webbench_grader.GRADER / folder).mkdir(parents=True)
    (work / "test").mkdir()
    (work / "probe.py").write_bytes(PROBE)
    (work / "test" / "probe.spec.js").write_text(
        "const { test } = require('@playwright/test')\n"
        "const { execFileSync } = require('child_process')\n"
        "test('probe', () => {\n"
        f"  const said = execFileSync({json.dumps(sys.executable)}, ['probe.py', '{token}', {json.dumps(str(VENV))}], "
        f"{{ cwd: {json.dumps(str(work))} }})\n"
        f"  require('fs').writeFileSync({json.dumps(str(work / 'probe.out'))}, said)\n"
        "})\n"
    )
    env = webbench_grader._environment(work, "http://127.0.0.1:9", "")  # pyright: ignore[reportPrivateUsage]
    output, timed_out = await webbench_grader._run(work, env, ["test/probe.spec.js"], 120)  # pyright: ignore[reportPrivateUsage]
    assert not timed_out and (work / "probe.out").is_file(), output
    assert_held(read_probe((work / "probe.out").read_text().splitlines()))


def _old_style(home: Path) -> list[str]:
    """bubblewrap as it was before: root keeps its capabilities. tmpfs over the system folders the probe writes to,
    so nothing reaches the host; the programs it runs come from a view of /usr/bin in its folder."""
    args = ["--unshare-all", "--die-with-parent", "--ro-bind", "/", "/", "--proc", "/proc", "--dev", "/dev"]
    for folder in ("/usr/local/share", "/usr/bin", "/etc"):
        args += ["--tmpfs", folder]
    args += ["--bind", str(home), str(home), "--ro-bind", "/usr/bin", str(home / "bin"), "--chdir", str(home)]
    return [*args, "--setenv", "PATH", f"{home / 'bin'}:/bin"]


def test_the_probe_sees_a_sandbox_that_keeps_roots_powers(tmp_path: Path) -> None:
    _bwrap_or_fail_in_ci()
    if os.geteuid() != 0:
        pytest.skip("only root's sandbox kept its capabilities")
    (tmp_path / "probe.py").write_bytes(PROBE)
    (tmp_path / "bin").mkdir()
    argv = ["bwrap", *_old_style(tmp_path), "--", sys.executable, "probe.py", "control"]
    done = subprocess.run(argv, capture_output=True, text=True, check=True, timeout=60)
    seen = read_probe(done.stdout.splitlines())
    assert seen["CapEff"] != "0000000000000000" and seen["Seccomp"] == "0", seen
    worked = {name for name, said in seen["tried"].items() if said == "ok"}
    assert {"mount a tmpfs", "mount -t tmpfs", "unshare a mount namespace", "ptrace a child"} <= worked, seen
    assert {"write into /usr/local/share", "write into /usr/bin", "write into /etc"} <= worked, seen


def test_the_sandbox_holds_when_forja_runs_as_a_user(request: pytest.FixtureRequest, token: str) -> None:
    """The same sandbox, started by an unprivileged user (nobody), as Forja run by a person: the same promise."""
    _bwrap_or_fail_in_ci()
    if os.geteuid() != 0:
        pytest.skip("run as root, this test becomes another user; run as a user, the other tests are this one")
    nobody = pwd.getpwnam("nobody")
    folder = Path(tempfile.mkdtemp(prefix="forja-as-user-"))  # not under pytest's folder, root's alone
    request.addfinalizer(lambda: shutil.rmtree(folder, ignore_errors=True))
    shutil.copy(Path(__file__).parents[1] / "sandbox_probe.py", folder / "probe.py")
    os.chown(folder, nobody.pw_uid, nobody.pw_gid)
    script = (
        "import asyncio, subprocess, sys\n"
        "from pathlib import Path\n"
        "from preview_runtime.local.sandbox import bwrap_args, find_bubblewrap, write_identity\n"
        "from preview_runtime.local.seccomp import filter_fd\n"
        f"folder = Path({str(folder)!r})\n"
        "found, said = asyncio.run(find_bubblewrap(folder))\n"
        "print('found:', found, said, flush=True)\n"
        "fd = filter_fd()\n"
        "args = bwrap_args(folder, folder, {}, folder, write_identity(folder / 'etc', folder), fd)\n"
        f"argv = [found, *args, '--', sys.executable, 'probe.py', {token!r}, {str(VENV)!r}]\n"
        "subprocess.run(argv, pass_fds=(fd,), check=True)\n"
    )
    # The machine's own Python with Forja's packages: the venv's interpreter may live where that user cannot go (here,
    # under /root), as a person's own Forja never does.
    python = shutil.which("python3", path="/usr/bin:/bin")
    if python is None:
        pytest.fail("the machine has no python3 for another user to run")
    repository = Path(__file__).parents[2]
    packages = next(VENV.glob("lib/python3*/site-packages"))
    done = subprocess.run(
        ["setpriv", f"--reuid={nobody.pw_uid}", f"--regid={nobody.pw_gid}", "--clear-groups", python, "-c", script],
        capture_output=True,
        text=True,
        cwd=repository,
        env={"PATH": os.environ["PATH"], "HOME": str(folder), "PYTHONPATH": f"{repository}:{packages}"},
        timeout=60,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "found: /" in done.stdout and f"Runs as user {SANDBOX_UID}" in done.stdout, done.stdout
    assert_held(read_probe(done.stdout.splitlines()))


def test_a_process_with_privileges_is_told_from_a_sandboxed_one() -> None:
    """What find_bubblewrap reads of its probe, tried on this test process itself (outside any sandbox, with no
    filter): were bubblewrap to start it so, previews would be refused as without bubblewrap."""
    status = Path("/proc/self/status").read_text()
    problem = inside_problem(status)
    assert problem.startswith(f"runs as user {os.getuid()}, not {SANDBOX_UID}") and problem.endswith("has no system call filter")
    assert ("keeps capabilities" in problem) == (os.geteuid() == 0), problem


def test_doctor_says_what_the_sandbox_is() -> None:
    """`python -m builder doctor` reports the sandbox's user, capabilities and filter, read from inside one."""
    _bwrap_or_fail_in_ci()
    env = {**os.environ, "FORJA_PORT": str(free_port()), **NO_REGISTRY_NAMES}
    done = run_in_process(["doctor", "--json"], env)
    checks = {check["name"]: check for check in json.loads(done.stdout)["checks"]}
    assert checks["sandbox"]["ok"] is True, checks["sandbox"]
    assert f"Runs as user {SANDBOX_UID} with no capabilities, no new privileges and " in checks["sandbox"]["detail"]
    assert "system call refused" in checks["sandbox"]["detail"]


async def test_the_programs_that_build_the_sandbox_never_see_the_apps_variables(runner: LocalRunner) -> None:
    """bubblewrap and confine.sh run on the host as Forja's user: an app's variable there (a loader's LD_PRELOAD, say)
    would act before the walls exist. They get a bare environment; the app's processes get theirs from a file in
    memory, read inside the sandbox."""
    lines, sink = _log()
    plan = RunPlan(dev=f"echo seen=$APP_MARK && {SERVE}", has_server=True, env={"APP_MARK": "a value with 'quotes' and $dollars"})
    await runner.start(_spec("env1", plan), sink)  # pyright: ignore[reportArgumentType]
    await _running(runner, "env1")
    assert "seen=a value with 'quotes' and $dollars" in lines, lines
    bubblewrap = runner._run("env1").process  # pyright: ignore[reportPrivateUsage]
    assert bubblewrap is not None
    program, environment, argv = _host_side(bubblewrap.pid)
    assert program == "bwrap"
    # The shell that ran confine.sh before it became bwrap sets PWD: the launcher's own folder, Forja's work folder.
    assert environment == {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "PWD": str(runner.work_dir)}, environment
    assert b"a value with" not in argv  # the value; the dev command itself names the variable


def _host_side(pid: int) -> tuple[str, dict[str, str], bytes]:
    """The program, environment and command line of a process, as the host sees it."""
    proc = Path(f"/proc/{pid}")
    entries = [entry.decode() for entry in (proc / "environ").read_bytes().split(b"\0") if entry]
    environment = dict(entry.split("=", 1) for entry in entries)
    return (proc / "exe").resolve().name, environment, (proc / "cmdline").read_bytes()
