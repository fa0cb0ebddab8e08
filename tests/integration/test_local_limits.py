"""Limits and isolation of local previews, against real programs in real bubblewrap and real cgroups (no mocks).

Each test fails when its protection is taken away: without the cgroup the fork bomb reaches its 1,000 processes and
the allocation its 3 GiB, without the watchdog and RLIMIT_FSIZE the files are written whole, with one shared HOME the
second project reads the first one's ~/.npmrc.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import resource
import secrets
import shutil
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from preview_runtime.common import SECRET_NAME
from preview_runtime.local import LocalRunner
from preview_runtime.local.limits import Confinement, Limits, find_cgroups, remove_stale
from preview_runtime.plan import RunPlan
from preview_runtime.runner import PreviewInfo, PreviewSpec, PreviewState, RunnerError
from tests.integration.test_local_runner import Sink

ROOT = Path(__file__).resolve().parents[2]
LIMITS = Limits(memory_bytes=256 << 20, pids=64, cpus=1.0, disk_bytes=128 << 20)


def _unavailable(reason: str) -> None:
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"bubblewrap and writable cgroups are required in CI but {reason}", pytrace=False)
    pytest.skip(f"Local limits tests skipped: {reason}")


@pytest.fixture
def confined() -> None:
    """bubblewrap, and a cgroup for memory and processes."""
    if shutil.which("bwrap") is None:
        _unavailable("bubblewrap (bwrap) is not installed")
    # Judged apart from find_cgroups, so a broken find_cgroups fails these tests instead of skipping them.
    as_root = os.geteuid() == 0 and any(
        os.access(folder, os.W_OK) for folder in ("/sys/fs/cgroup/pids", "/sys/fs/cgroup/cgroup.subtree_control")
    )
    tree = None if as_root else find_cgroups()
    if not as_root and (tree is None or tree.missing()):
        _unavailable(f"Forja cannot make cgroups for {', '.join(tree.missing()) if tree else 'anything'} here")


@pytest.fixture
async def runner(confined: None, tmp_path: Path) -> AsyncIterator[LocalRunner]:
    instance = LocalRunner(tmp_path / "work", limits=LIMITS)
    yield instance
    await instance.close()


def _spec(preview_id: str, dev: str, project_id: str = "project-1") -> PreviewSpec:
    plan = RunPlan(install="", dev=dev, port=8080, has_server=True)
    return PreviewSpec(preview_id=preview_id, project_id=project_id, version=1, files={"index.html": b"x"}, plan=plan)


async def _until(runner: LocalRunner, preview_id: str, *states: PreviewState, within: float = 30) -> PreviewInfo:
    deadline = time.monotonic() + within
    while (info := await runner.status(preview_id)).state not in states:
        assert time.monotonic() < deadline, f"still {info.state} after {within} s: {info.detail}"
        await asyncio.sleep(0.05)
    return info


def _cgroup_folder(pid: int, controller: str) -> Path:
    """The cgroup of `pid` for `controller` (these tests run where find_cgroups found v1 or v2), once it is one of
    Forja's: a spawned process enters its cgroups itself (confine.sh), just after it starts (at most 5 s later here)."""
    deadline = time.monotonic() + 5
    while True:
        folder = _cgroup_now(pid, controller)
        if folder.name.startswith("forja-") or time.monotonic() > deadline:
            return folder
        time.sleep(0.01)


def _cgroup_now(pid: int, controller: str) -> Path:
    for line in Path(f"/proc/{pid}/cgroup").read_text().splitlines():
        _, names, path = line.split(":", 2)
        if controller in names.split(",") or (names == "" and not Path(f"/sys/fs/cgroup/{controller}").is_dir()):
            base = Path(f"/sys/fs/cgroup/{controller}") if names else Path("/sys/fs/cgroup")
            return base / path.lstrip("/")
    raise AssertionError(f"no {controller} cgroup for {pid}")


async def test_a_fork_bomb_is_capped_at_the_process_limit(runner: LocalRunner) -> None:
    sink = Sink()
    bomb = "i=0; while [ $i -lt 1000 ]; do sleep 60 & i=$((i+1)); done; wait"
    info = await runner.start(_spec("bomb", bomb), sink)
    folder = _cgroup_folder(int(info.handle), "pids")
    assert folder.name.startswith("forja-preview-"), folder
    most, lag, host_ok = 0, 0.0, True
    peak = "pids.peak" if (folder / "pids.peak").exists() else "pids.current"
    deadline = time.monotonic() + 30
    while (await runner.status("bomb")).state != PreviewState.failed:
        assert time.monotonic() < deadline, "the fork bomb was not stopped"
        with_tick = time.monotonic()
        await asyncio.sleep(0.02)
        lag = max(lag, time.monotonic() - with_tick - 0.02)  # Forja's event loop keeps its pace
        try:
            most = max(most, int((folder / peak).read_text()))  # the peak: no short one is missed
        except FileNotFoundError:  # removed once stopped
            continue
        host = await asyncio.create_subprocess_exec("true")  # the host still starts processes
        host_ok = host_ok and await asyncio.wait_for(host.wait(), timeout=5) == 0
    # Never past the limit. That it reached it is what the message says (the cgroup counted a refused fork); the
    # peak read here can lag it, since the cgroup goes as soon as the preview is stopped.
    assert 0 < most <= LIMITS.pids, most
    assert lag < 1.0 and host_ok
    said = "The preview tried to run more than 64 processes and threads at once"
    assert any(text.startswith(said) for text in sink.texts("forja")), sink.texts()
    assert (await runner.status("bomb")).detail.startswith(said)
    assert not folder.exists()  # its cgroup went with it


async def test_allocating_3_gib_is_stopped_with_a_plain_message(runner: LocalRunner) -> None:
    sink = Sink()
    hog = f"{sys.executable} -c \"x = b'x' * (3 << 30); import time; time.sleep(60)\""
    await runner.start(_spec("hog", hog), sink)
    info = await _until(runner, "hog", PreviewState.failed)
    said = "The preview used more than 256 MiB of memory and was stopped (FORJA_PREVIEW_MEMORY_MB)."
    assert said in sink.texts("forja"), sink.texts()
    assert info.detail.startswith(said)


async def test_filling_tmp_is_stopped_and_the_hosts_tmp_is_untouched(runner: LocalRunner) -> None:
    """512 MiB in files of 32 MiB each (under the per-file limit): the watchdog stops it."""
    sink = Sink()
    name = f"forja-fill-{secrets.token_hex(4)}"
    fill = f"for i in $(seq 16); do head -c 33554432 /dev/zero > /tmp/{name}-$i || exit 1; sleep 0.3; done; sleep 60"
    await runner.start(_spec("fill", fill), sink)
    info = await _until(runner, "fill", PreviewState.failed)
    said = (
        "The preview wrote more than 128 MiB to disk (its folder, /tmp and home together) and was stopped (FORJA_LOCAL_DISK_MB)."
    )
    assert said in sink.texts("forja"), sink.texts()
    assert info.detail.startswith(said)
    assert not [entry for entry in os.listdir("/tmp") if entry.startswith(name)]
    assert not os.listdir(runner.work_dir / ".tmp")  # its /tmp is removed with it


async def test_one_file_larger_than_the_disk_limit_is_cut(runner: LocalRunner) -> None:
    sink = Sink()
    await runner.start(_spec("big", "sleep 60"), sink)
    await _until(runner, "big", PreviewState.starting, PreviewState.running)
    outcome = await runner.run_command("big", "head -c 536870912 /dev/zero > /tmp/big; ls -l /tmp/big", 30)
    assert "File size limit exceeded" in outcome.output
    sizes = [int(line.split()[4]) for line in outcome.output.splitlines() if line.endswith("/tmp/big")]
    assert sizes and sizes[0] <= LIMITS.disk_bytes, outcome.output


async def test_the_rlimits_hold_for_the_dev_server_and_commands_and_cannot_be_raised(runner: LocalRunner) -> None:
    await runner.start(_spec("rl", "cat /proc/self/limits; sleep 60"), sink := Sink())
    deadline = time.monotonic() + 10
    while not any(text.startswith("Max open files") for text in sink.texts()):
        assert time.monotonic() < deadline, sink.texts()
        await asyncio.sleep(0.05)
    outcome = await runner.run_command("rl", "cat /proc/self/limits; ulimit -n 100000 && echo raised", 10)
    files = min(LIMITS.open_files, resource.getrlimit(resource.RLIMIT_NOFILE)[1])
    for said in ("\n".join(sink.texts()), outcome.output):
        limits = {line[:26].strip(): line[26:].split()[:2] for line in said.splitlines() if line.startswith("Max ")}
        assert limits["Max core file size"] == ["0", "0"], said
        assert limits["Max file size"] == [str(LIMITS.disk_bytes)] * 2, said
        assert limits["Max open files"] == [str(files)] * 2, said
    assert "raised" not in outcome.output


async def test_a_projects_npmrc_does_not_reach_another_project(runner: LocalRunner) -> None:
    await runner.start(_spec("one", "echo registry=http://127.0.0.1:9/ > ~/.npmrc; sleep 60", "project-a"), Sink())
    await _until(runner, "one", PreviewState.starting, PreviewState.running)
    await runner.start(_spec("two", "sleep 60", "project-b"), Sink())
    await _until(runner, "two", PreviewState.starting, PreviewState.running)
    for _ in range(100):
        if (runner.work_dir / ".homes" / "project-a" / ".npmrc").exists():
            break
        await asyncio.sleep(0.05)
    outcome = await runner.run_command("two", 'echo "$HOME"; cat ~/.npmrc', 10)
    assert outcome.output.splitlines()[0] == str(runner.work_dir / ".homes" / "project-b")
    assert "registry=" not in outcome.output and outcome.exit_code != 0
    # And not through the other project's folder either: it is not in this sandbox.
    other = await runner.run_command("two", f"cat {runner.work_dir / '.homes' / 'project-a' / '.npmrc'}", 10)
    assert other.exit_code != 0


async def test_shared_caches_are_read_only_in_the_sandbox(confined: None, tmp_path: Path) -> None:
    seed, wheels = tmp_path / "seed", tmp_path / "wheels"
    (seed / "_cacache").mkdir(parents=True)
    (seed / "_cacache" / "index").write_text("seed")
    wheels.mkdir()
    runner = LocalRunner(tmp_path / "work", npm_seed=seed, limits=LIMITS, env={"PIP_FIND_LINKS": str(wheels)})
    try:
        # A project whose commands run npm gets the copy (one that never runs it gets none: tests/unit/test_homes.py).
        await runner.start(_spec("caches", "npm --version >/dev/null; exec sleep 60"), Sink())
        await _until(runner, "caches", PreviewState.starting, PreviewState.running)
        copy = await runner.run_command("caches", "cat ~/.npm/_cacache/index && echo mine > ~/.npm/_cacache/index", 10)
        assert copy.exit_code == 0 and copy.output.startswith("seed")  # the project's own copy: writable
        for target in (seed / "_cacache" / "index", wheels / "evil.whl"):
            attempt = await runner.run_command("caches", f"echo changed > {target}", 10)
            assert attempt.exit_code != 0, target
        assert (seed / "_cacache" / "index").read_text() == "seed"
        assert not (wheels / "evil.whl").exists()
    finally:
        await runner.close()


async def test_without_a_sandbox_previews_are_refused_unless_allowed(
    confined: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    no_bwrap = tmp_path / "bin"
    no_bwrap.mkdir()
    monkeypatch.setenv("PATH", str(no_bwrap))  # bubblewrap is not installed, as far as Forja can tell
    refusing = LocalRunner(tmp_path / "refusing", limits=LIMITS)
    with pytest.raises(RunnerError) as refused:
        await refusing.start(_spec("refused", "sleep 60"), Sink())
    for fix in ("apt-get install bubblewrap", "Docker", "FORJA_ALLOW_UNSANDBOXED=true"):
        assert fix in str(refused.value)
    assert not (tmp_path / "refusing" / "refused").exists()

    allowing = LocalRunner(tmp_path / "allowing", limits=LIMITS, allow_unsandboxed=True)
    sink = Sink()
    try:
        info = await allowing.start(_spec("allowed", "sleep 60"), sink)
        assert info.sandboxed is False
        assert "bubblewrap is not installed: the preview runs as your user without a sandbox" in sink.texts("forja")
        # Limits still apply without the sandbox.
        assert _cgroup_folder(int(info.handle), "memory").name.startswith("forja-preview-")
    finally:
        await allowing.close()


async def test_no_key_looking_variable_reaches_a_preview(runner: LocalRunner, monkeypatch: pytest.MonkeyPatch) -> None:
    values = {name: f"v-{secrets.token_hex(6)}" for name in ("ANTHROPIC_API_KEY", "OPENAI_API_KEY", "GITHUB_TOKEN")}
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    await runner.start(_spec("env", "sleep 60"), Sink())
    await _until(runner, "env", PreviewState.starting, PreviewState.running)
    outcome = await runner.run_command("env", "env", 10)
    names = [line.split("=", 1)[0] for line in outcome.output.splitlines() if "=" in line]
    assert "PATH" in names and not [name for name in names if SECRET_NAME.search(name)]
    assert not [value for value in values.values() if value in outcome.output]


_READ_PARENT = """
import os, subprocess, sys
from preview_runtime.local.environment import make_undumpable
if sys.argv[1] == "undumpable":
    assert make_undumpable()
child = subprocess.run(["cat", f"/proc/{os.getpid()}/environ"], capture_output=True)
print("read" if b"FORJA_SECRET_MARK" in child.stdout else "denied")
"""


def test_forjas_environ_is_unreadable_by_its_users_other_processes(confined: None) -> None:
    """As an unprivileged user (nobody), as Forja and an unsandboxed preview would both run: the preview cannot read
    Forja's /proc/<pid>/environ once Forja made itself undumpable, and could before (root could still)."""
    if os.geteuid() != 0 or shutil.which("setpriv") is None:
        _unavailable("switching to the user nobody needs root and setpriv")
    env = {"PATH": os.environ["PATH"], "PYTHONPATH": str(ROOT), "FORJA_SECRET_MARK": "1"}

    def as_nobody(mode: str) -> str:
        argv = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", sys.executable, "-c", _READ_PARENT, mode]
        done = subprocess.run(argv, cwd="/", env=env, capture_output=True, text=True, timeout=30)
        assert done.returncode == 0, done.stderr
        return done.stdout.strip()

    assert as_nobody("dumpable") == "read"
    assert as_nobody("undumpable") == "denied"


def test_only_the_cgroups_of_forjas_that_are_gone_are_removed(confined: None) -> None:
    """Two Forjas (or test processes) on one machine share the cgroup parent: each sweeps the empty cgroups left by
    dead ones at start, never one another's, made and about to be entered by a preview's first process."""
    tree = find_cgroups()
    assert tree is not None
    mine = Confinement.make(tree, LIMITS, "sweep")
    gone = subprocess.Popen(["true"])
    gone.wait()
    stale = [parent / f"forja-sweep-{gone.pid}-0000" for parent in set(tree.parents.values())]
    try:
        for folder in stale:
            folder.mkdir()
        remove_stale(tree)
        assert all(folder.is_dir() for folder in mine.folders.values())
        assert not any(folder.exists() for folder in stale)
    finally:
        mine.remove()
        for folder in stale:
            with contextlib.suppress(OSError):
                folder.rmdir()
