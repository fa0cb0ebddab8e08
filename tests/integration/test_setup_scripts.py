"""The setup scripts on the machines the README names, each branch walked: scripts/setup.sh (which scripts/run.sh and
scripts/test.sh start with) when bubblewrap is missing (as root, with sudo, with neither, without apt-get), offline,
without python3-venv, with a Python too old; scripts/run.sh when its port is taken.

CI's machine has all of it installed before the tests, so only these tests walk those branches. Each runs the real
scripts with bash, copied into a checkout of their own whose .venv already holds every package (its site-packages
reach this venv's), as on a machine set up before: a run installs nothing unless the test changed something. PATH is a
folder of links to this machine's programs less bwrap, apt-get and sudo; the package tools that must not really run in
a test are the stand-ins in tests/setup_stubs/ (apt-get "installs" a bwrap beside itself). pip and npm are real, aimed
at a closed port on this machine: offline.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import socket
import subprocess
import sys
import sysconfig
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import free_port

REPO = Path(__file__).resolve().parents[2]
STUBS = REPO / "tests" / "setup_stubs"
GRADER = Path("builder/eval/webbench")
ENGINES = [Path("preview_runtime/engines/opencode"), Path("preview_runtime/engines/codex")]
COPIED = ["scripts/setup.sh", "scripts/phase.sh", "scripts/run.sh", "scripts/test.sh", "requirements.txt",
          "requirements-dev.txt", "pyproject.toml", f"{GRADER}/package.json", f"{GRADER}/package-lock.json",
          *(f"{engine}/{name}" for engine in ENGINES for name in ("package.json", "package-lock.json"))]  # fmt: skip
LEFT_OUT = {"bwrap", "apt-get", "sudo"}  # what each test puts on PATH itself, or not
NOBODY = 65534
UP_TO_DATE = re.compile(r"Python packages \.+ up to date, \d+(\.\d)? s")
INSTALLED = re.compile(r"Sandbox \(bubblewrap\) \.+ \d+(\.\d)? s")
VENV_PACKAGES = f"lib/python{sys.version_info.major}.{sys.version_info.minor}/site-packages"


def _unavailable(reason: str) -> None:
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"the setup scripts' tests need this in CI, but {reason}", pytrace=False)
    pytest.skip(f"skipped: {reason}")


def needs_root() -> None:
    """The root branch needs root; the sudo branches need root too, to become the user nobody (setpriv)."""
    if os.geteuid() != 0 or shutil.which("setpriv") is None:
        _unavailable("these tests run setup as root and as nobody, which needs root and setpriv")


def as_nobody(*argv: str) -> list[str]:
    return ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups", *argv]


def python_nobody_runs() -> str:
    """A Python 3.11+ that the user nobody may run from bash (this venv's may lie in root's home)."""
    check = '"$0" -c "import sys; sys.exit(sys.version_info < (3, 11))"'
    for candidate in filter(None, (sys.executable, "/usr/bin/python3", shutil.which("python3"))):
        if subprocess.run(as_nobody("bash", "-c", check, candidate), capture_output=True, timeout=60).returncode == 0:
            return candidate
    _unavailable("no Python 3.11 or newer here may be run by the user nobody")
    raise AssertionError("unreachable")


@pytest.fixture(scope="module")
def workdir() -> Iterator[Path]:
    """A folder every user may read: some tests run setup as nobody, in a checkout in it."""
    folder = Path(tempfile.mkdtemp(prefix="forja-setup-"))
    folder.chmod(0o755)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="module")
def programs(workdir: Path) -> Path:
    """This machine's programs as links, this venv's first (npm, pip), without bwrap, apt-get and sudo."""
    folder = workdir / "programs"
    folder.mkdir()
    for directory in [str(Path(sys.executable).parent), *os.environ.get("PATH", "").split(os.pathsep)]:
        try:
            entries = sorted(Path(directory).iterdir())
        except OSError:
            continue
        for entry in entries:
            link = folder / entry.name
            if entry.name in LEFT_OUT or link.is_symlink() or entry.is_dir() or not os.access(entry, os.X_OK):
                continue
            link.symlink_to(entry)
    return folder


def make_checkout(root: Path) -> None:
    """The files setup reads, copied from this repository; no .venv yet."""
    for name in COPIED:
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO / name, root / name)


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def as_if_installed_online(root: Path) -> None:
    """What `pip install --editable .` (setuptools, from PyPI), the grader's `npm ci` and the coding agents' installs
    (the npm registry) leave, as setup.sh checks them: the forja command and the stamps saying what they were made from."""
    forja = root / ".venv" / "bin" / "forja"
    forja.symlink_to(shutil.which("true") or "/bin/true")
    (root / ".venv" / ".project.sha256").write_text(sha256((root / "pyproject.toml").read_bytes() + f"{root}\n".encode()) + "\n")
    node_modules = root / GRADER / "node_modules"
    node_modules.mkdir()
    (node_modules / ".forja.sha256").write_text(sha256((root / GRADER / "package-lock.json").read_bytes()) + "\n")
    # The coding agents' installs into .cache/engines (the npm registry), each stamped with its package files as
    # setup.sh reads them.
    for source in ENGINES:
        engine = root / ".cache" / "engines" / source.name / "node_modules"
        engine.mkdir(parents=True)
        wanted = (root / source / "package.json").read_bytes() + (root / source / "package-lock.json").read_bytes()
        (engine / ".forja.sha256").write_text(sha256(wanted) + "\n")


@dataclass
class Machine:
    """One test's side of the machine: a home and log the user running setup may write, and the stand-ins' folder."""

    home: Path
    stubs: Path

    @property
    def log(self) -> Path:
        return self.home / "logs" / "setup.log"

    def calls(self) -> list[str]:
        """What the stand-ins were asked, in order: `uid program arguments`."""
        record = self.stubs / "calls.txt"
        return record.read_text().splitlines() if record.exists() else []

    def bwrap_installed(self) -> bool:
        return (self.stubs / "bwrap").is_file()


@pytest.fixture
def machine(workdir: Path) -> Machine:
    folder = Path(tempfile.mkdtemp(dir=workdir))
    folder.chmod(0o755)
    home, stubs = folder / "home", folder / "stubs"
    home.mkdir()
    shutil.copytree(STUBS, stubs)
    if os.geteuid() == 0:  # nobody writes there in the tests that run setup as nobody
        for path in (home, stubs, *stubs.iterdir()):
            os.chown(path, NOBODY, NOBODY)
    return Machine(home=home, stubs=stubs)


def run(
    script: Path, *args: str, machine: Machine, path: list[Path], env: dict[str, str] | None = None, nobody: bool = False
) -> subprocess.CompletedProcess[str]:
    """`bash SCRIPT ARGS` with only `path` on PATH, offline (pip and npm aimed at a closed port), as nobody if asked."""
    closed = f"http://127.0.0.1:{free_port()}/"
    environment = {
        "PATH": os.pathsep.join(map(str, path)),
        "HOME": str(machine.home),
        "LANG": "C.UTF-8",
        "RUN_LOG": str(machine.log),
        "PYTHON": sys.executable,
        "PIP_CONFIG_FILE": os.devnull,
        "PIP_INDEX_URL": f"{closed}simple/",
        "PIP_RETRIES": "0",
        "PIP_DISABLE_PIP_VERSION_CHECK": "1",
        "npm_config_registry": closed,
        "npm_config_cache": str(machine.home / "npm-cache"),
        "npm_config_fetch_retries": "0",
        "npm_config_update_notifier": "false",
        **(env or {}),
    }
    argv = [shutil.which("bash") or "/bin/bash", str(script), *args]
    if nobody:
        argv = as_nobody(*argv)
    return subprocess.run(argv, cwd=machine.home, env=environment, capture_output=True, text=True, timeout=300)


def setup(
    checkout: Path, machine: Machine, path: list[Path], env: dict[str, str] | None = None, nobody: bool = False
) -> subprocess.CompletedProcess[str]:
    """scripts/setup.sh as scripts/run.sh runs it: with what running needs; as root, or as the user nobody."""
    return run(checkout / "scripts" / "setup.sh", "requirements.txt", machine=machine, path=path, env=env, nobody=nobody)


@pytest.fixture(scope="module")
def checkout(workdir: Path, programs: Path) -> Path:
    """A checkout set up before: its .venv's packages are this venv's (a .pth file), so pip finds every requirement
    installed and needs no index; setup's first run here writes its stamp, as a real first run does."""
    root = workdir / "checkout"
    make_checkout(root)
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(root / ".venv")], check=True, timeout=120)
    (root / ".venv" / VENV_PACKAGES / "forja-tests.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    as_if_installed_online(root)
    first = Path(tempfile.mkdtemp(dir=workdir))
    done = setup(root, Machine(home=first, stubs=first), [programs])
    assert done.returncode == 0 and done.stdout.startswith("Python packages ..") and "up to date" not in done.stdout, done
    return root


def moved(checkout: Path, to: Path) -> Path:
    """A copy of the checkout elsewhere, .venv and stamps and all, for a test that changes it."""
    shutil.copytree(checkout, to, symlinks=True)
    return to


def bwrap_on_path(machine: Machine) -> Path:
    """A folder with a bwrap in it, as on a machine that has bubblewrap."""
    folder = machine.home / "bubblewrap"
    folder.mkdir()
    (folder / "bwrap").symlink_to(shutil.which("true") or "/bin/true")
    return folder


def test_a_machine_set_up_before_installs_nothing_offline_and_goes_on(checkout: Path, programs: Path, machine: Machine) -> None:
    done = setup(checkout, machine, [bwrap_on_path(machine), machine.stubs, programs])
    assert done.returncode == 0, done.stderr
    assert UP_TO_DATE.fullmatch(done.stdout.strip()), done.stdout
    assert done.stderr == ""
    assert machine.calls() == []  # bwrap is there: apt-get is not asked


def test_bubblewrap_missing_as_root_is_installed(checkout: Path, programs: Path, machine: Machine) -> None:
    needs_root()
    done = setup(checkout, machine, [machine.stubs, programs])
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    lines = done.stdout.splitlines()
    assert len(lines) == 2 and UP_TO_DATE.fullmatch(lines[0]) and INSTALLED.fullmatch(lines[1]), lines
    assert machine.calls() == ["0 apt-get install -y -q bubblewrap"]
    assert machine.bwrap_installed()
    assert "Setting up bubblewrap" in machine.log.read_text()  # apt-get's output went to the log

    again = setup(checkout, machine, [machine.stubs, programs])
    assert again.returncode == 0 and UP_TO_DATE.fullmatch(again.stdout.strip()) and again.stderr == ""
    assert machine.calls() == ["0 apt-get install -y -q bubblewrap"]  # found this time: not installed again


def test_stale_package_lists_are_read_again_before_bubblewrap_is_installed(
    checkout: Path, programs: Path, machine: Machine
) -> None:
    needs_root()
    done = setup(checkout, machine, [machine.stubs, programs], env={"STUB_APT": "stale"})
    assert done.returncode == 0 and done.stderr == "", done.stderr
    assert INSTALLED.fullmatch(done.stdout.splitlines()[-1])
    assert machine.calls() == [
        "0 apt-get install -y -q bubblewrap",
        "0 apt-get update -q",
        "0 apt-get install -y -q bubblewrap",
    ]
    assert machine.bwrap_installed()


def test_bubblewrap_that_cannot_be_installed_is_said_and_setup_goes_on(checkout: Path, programs: Path, machine: Machine) -> None:
    needs_root()
    done = setup(checkout, machine, [machine.stubs, programs], env={"STUB_APT": "broken"})
    assert done.returncode == 0  # the run command goes on: Docker previews need no bubblewrap
    assert UP_TO_DATE.fullmatch(done.stdout.strip())
    assert done.stderr == (
        f"Could not install bubblewrap (see {machine.log}): local previews are refused without it. "
        "Install it: sudo apt-get install bubblewrap\n"
    )
    assert "E: Unable to locate package bubblewrap" in machine.log.read_text()
    assert [call.split(" ", 2)[2] for call in machine.calls()] == [
        "install -y -q bubblewrap",
        "update -q",
        "install -y -q bubblewrap",
    ]


def test_bubblewrap_missing_for_a_user_with_sudo_is_installed_through_it(
    checkout: Path, programs: Path, machine: Machine
) -> None:
    needs_root()
    done = setup(
        checkout, machine, [machine.stubs, programs], env={"STUB_SUDO": "yes", "PYTHON": python_nobody_runs()}, nobody=True
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    assert INSTALLED.fullmatch(done.stdout.splitlines()[-1])
    assert machine.calls() == [
        f"{NOBODY} sudo -n true",
        f"{NOBODY} sudo -n apt-get install -y -q bubblewrap",
        f"{NOBODY} apt-get install -y -q bubblewrap",
    ]
    assert machine.bwrap_installed()


@pytest.mark.parametrize("sudo", ["asks for a password", "missing"])
def test_bubblewrap_missing_for_a_user_without_sudo_is_said_and_setup_goes_on(
    checkout: Path, programs: Path, machine: Machine, sudo: str
) -> None:
    needs_root()
    if sudo == "missing":
        (machine.stubs / "sudo").unlink()
    done = setup(checkout, machine, [machine.stubs, programs], env={"PYTHON": python_nobody_runs()}, nobody=True)
    assert done.returncode == 0
    assert UP_TO_DATE.fullmatch(done.stdout.strip())
    assert done.stderr == (
        "bubblewrap is missing, and this user cannot install it (not root, and no sudo without a password): local "
        "previews are refused without it. Install it: sudo apt-get install bubblewrap, or use Docker.\n"
    )
    assert machine.calls() == ([f"{NOBODY} sudo -n true"] if sudo == "asks for a password" else [])
    assert not machine.bwrap_installed()


def test_bubblewrap_missing_without_apt_get_is_said_and_setup_goes_on(checkout: Path, programs: Path, machine: Machine) -> None:
    done = setup(checkout, machine, [programs])
    assert done.returncode == 0
    assert UP_TO_DATE.fullmatch(done.stdout.strip())
    assert done.stderr == (
        "bubblewrap is missing: local previews are refused without it. Install it with this system's package manager "
        "(its package is bubblewrap), or use Docker.\n"
    )


def test_new_requirements_offline_say_why_and_stop_setup(
    checkout: Path, programs: Path, machine: Machine, tmp_path: Path
) -> None:
    changed = moved(checkout, tmp_path / "checkout")
    with (changed / "requirements.txt").open("a") as requirements:
        requirements.write("forja-not-on-any-index==1.0\n")
    done = setup(changed, machine, [machine.stubs, programs])
    assert done.returncode == 1
    assert done.stdout == ""
    assert done.stderr.startswith("Python packages failed after ")
    assert "ERROR: No matching distribution found for forja-not-on-any-index==1.0\n" in done.stderr
    assert (
        "  pip could not install the packages of requirements.txt; why is above (no connection to the package index?)."
        " Run this again once it can: what is installed stays.\n"
    ) in done.stderr
    assert done.stderr.endswith(f"The whole log: {machine.log}\n")
    assert machine.calls() == []  # it stopped there: nothing after the Python packages ran
    stamp = Path(".venv/.requirements.sha256")
    assert (changed / stamp).read_text() == (checkout / stamp).read_text()  # still the old one: pip runs again next time


def python_without_ensurepip(root: Path) -> Path:
    """This machine's Python with its standard library less ensurepip, as Debian's python3 is without python3-venv."""
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    (root / "bin").mkdir(parents=True)
    # A copy, not a link: Python looks for its standard library beside where it is (../lib/pythonX.Y).
    shutil.copy2(Path(sys.base_prefix) / "bin" / version, root / "bin" / version)
    library = root / "lib" / stdlib.name
    library.mkdir(parents=True)
    for entry in stdlib.iterdir():
        if entry.name not in ("ensurepip", "site-packages", "dist-packages"):
            (library / entry.name).symlink_to(entry)
    return root / "bin" / version


def test_without_python3_venv_setup_says_what_to_install_each_time(programs: Path, machine: Machine, tmp_path: Path) -> None:
    fresh = tmp_path / "fresh"
    make_checkout(fresh)
    python = str(python_without_ensurepip(tmp_path / "python"))
    advice = "  Could not create .venv: this Python cannot make one. On Debian/Ubuntu: sudo apt-get install python3-venv\n"
    done = setup(fresh, machine, [machine.stubs, programs], env={"PYTHON": python})
    assert done.returncode == 1
    assert done.stdout == ""
    assert done.stderr.startswith("Python packages failed after ")
    assert advice in done.stderr
    assert done.stderr.endswith(f"The whole log: {machine.log}\n")
    assert (fresh / ".venv" / "bin" / "python").exists()  # what venv leaves: a python with no pip

    # The next run makes that .venv again (which, once python3-venv is in, finishes it) rather than use its python.
    again = setup(fresh, machine, [machine.stubs, programs], env={"PYTHON": python})
    assert again.returncode == 1
    assert advice in again.stderr
    assert "No module named pip" not in again.stderr


def older_python() -> str | None:
    """A real Python older than 3.11 on this machine (pyenv's, or the system's), if there is one."""
    named = [shutil.which(f"python3.{minor}") for minor in range(10, 5, -1)]
    candidates = [*filter(None, named), *map(str, sorted(Path.home().glob(".pyenv/versions/*/bin/python")))]
    for candidate in candidates:
        try:
            done = subprocess.run(
                [candidate, "-c", "import sys; print(sys.version_info < (3, 11))"], capture_output=True, text=True, timeout=30
            )
        except OSError:
            continue
        if done.stdout.strip() == "True":
            return candidate
    return None


@pytest.mark.parametrize("python", ["too old", "missing"])
def test_a_python_too_old_or_missing_is_refused_before_anything(
    programs: Path, machine: Machine, tmp_path: Path, python: str
) -> None:
    if python == "too old":
        chosen = older_python()
        if chosen is None:
            _unavailable("no Python older than 3.11 is on this machine")
            return
        version = subprocess.run([chosen, "--version"], capture_output=True, text=True, timeout=30)
        shown = (version.stdout + version.stderr).strip()
    else:
        chosen, shown = str(tmp_path / "no-python3"), "missing, or not a program this user may run"
    fresh = tmp_path / "fresh"
    make_checkout(fresh)
    done = setup(fresh, machine, [machine.stubs, programs], env={"PYTHON": chosen})
    assert done.returncode == 1
    assert done.stdout == ""
    assert done.stderr == (
        f"Forja needs Python 3.11 or newer; '{chosen}' is {shown}.\n"
        "Install it (Debian/Ubuntu: sudo apt-get install python3 python3-venv) or set PYTHON=/path/to/python3.11.\n"
    )
    assert not (fresh / ".venv").exists()


def test_a_moved_checkout_offline_says_what_it_could_not_install_and_goes_on(
    checkout: Path, programs: Path, machine: Machine, tmp_path: Path
) -> None:
    """The forja command is installed again when the checkout moved, the grader when its lockfile changed (here: its
    stamp is gone); offline each says so, and setup goes on: Forja runs without either."""
    elsewhere = moved(checkout, tmp_path / "elsewhere")
    (elsewhere / GRADER / "node_modules" / ".forja.sha256").unlink()
    done = setup(elsewhere, machine, [bwrap_on_path(machine), programs])
    assert done.returncode == 0, done.stderr
    assert UP_TO_DATE.fullmatch(done.stdout.strip())
    said = done.stderr.splitlines()
    assert "Could not install the forja command into .venv (offline?); python -m builder works the same." in said
    assert said[-1] == (
        f"Could not install Playwright Test into {GRADER} (see {machine.log}): the eval's web-bench suite needs it."
    )
    assert "ECONNREFUSED" in machine.log.read_text()  # npm's own words, in the log


@contextmanager
def port_taken(port: int) -> Iterator[None]:
    """`port` held on 127.0.0.1, as another program would; already held by another program is just as taken."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind(("127.0.0.1", port))
            sock.listen()
        except OSError:
            pass
        yield


@pytest.mark.parametrize("forja_port", ["FORJA_PORT", "the default, 3000"])
def test_the_run_command_refuses_a_taken_port_after_setup(
    checkout: Path, programs: Path, machine: Machine, tmp_path: Path, forja_port: str
) -> None:
    port = free_port() if forja_port == "FORJA_PORT" else 3000
    env = {
        "FORJA_HOST": "127.0.0.1",
        "FORJA_PREVIEW_PORT": str(free_port()),
        "FORJA_DATA_DIR": str(tmp_path / "data"),
        "PYTHONPATH": str(REPO),  # builder, which the checkout has not
        **({"FORJA_PORT": str(port)} if forja_port == "FORJA_PORT" else {}),
    }
    with port_taken(port):
        done = run(checkout / "scripts" / "run.sh", machine=machine, path=[bwrap_on_path(machine), programs], env=env)
    assert done.returncode == 1
    assert UP_TO_DATE.fullmatch(done.stdout.strip()), done.stdout  # setup ran, then the Python half refused
    message = done.stderr.strip()
    assert message.startswith(f"Forja cannot start: port {port} on 127.0.0.1 (FORJA_PORT, Forja's page and API) is taken")
    assert re.search(rf"start Forja on another port: FORJA_PORT=(?!{port}\b)\d+ bash scripts/run\.sh$", message)
    assert "Traceback" not in message and "\n" not in message
