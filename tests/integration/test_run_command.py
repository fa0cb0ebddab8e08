"""The run command (scripts/run.sh hands over to `python -m builder.launch`): it refuses a taken port in words, naming
the port, its holder and the setting to change; its console is one line per phase; a second start serves the page it
built before instead of building it again."""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from builder.ports import Port, port_problem
from tests.conftest import free_port

REPO = Path(__file__).resolve().parents[2]
PHASE = re.compile(r"[A-Z][A-Za-z ()]+ \.+ (unchanged, )?\d+(\.\d)? s")


@contextmanager
def held_port() -> Iterator[int]:
    """A port this test process listens on, as another program would."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock.getsockname()[1]


def run_command_env(tmp_path: Path, port: int, preview_port: int) -> dict[str, str]:
    return {
        **{name: value for name, value in os.environ.items() if name != "DATABASE_URL"},
        "FORJA_PORT": str(port),
        "FORJA_HOST": "127.0.0.1",
        "FORJA_PREVIEW_PORT": str(preview_port),
        "FORJA_DATA_DIR": str(tmp_path / "data"),
        "FORJA_PREVIEW_RUNNER": "local",
        "FORJA_WEBCONTAINERS": "false",
        # No seed: the run command would fetch the starters' packages into it, from the registries.
        "FORJA_NPM_SEED_CACHE": "",
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
    }


def test_a_taken_port_is_named_with_its_holder_and_the_setting() -> None:
    with held_port() as port:
        message = port_problem(Port("FORJA_PORT", "Forja's page and API", "127.0.0.1", port, everywhere=True))
    assert f"port {port} on 127.0.0.1 (FORJA_PORT" in message
    assert f"taken by pid {os.getpid()} (" in message
    assert re.search(rf"FORJA_PORT=(?!{port}\b)\d+ bash scripts/run\.sh$", message)
    assert port_problem(Port("FORJA_PORT", "Forja's page and API", "127.0.0.1", port, everywhere=True)) == ""


@pytest.mark.parametrize("setting", ["FORJA_PORT", "FORJA_PREVIEW_PORT"])
def test_the_run_command_refuses_a_taken_port_before_it_builds(tmp_path: Path, setting: str) -> None:
    with held_port() as taken:
        ports = {"FORJA_PORT": free_port(), "FORJA_PREVIEW_PORT": free_port(), setting: taken}
        done = subprocess.run(
            [sys.executable, "-m", "builder.launch", "--log", str(tmp_path / "run.log")],
            cwd=REPO,
            env=run_command_env(tmp_path, ports["FORJA_PORT"], ports["FORJA_PREVIEW_PORT"]),
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert done.returncode == 1
    assert done.stdout == ""
    message = done.stderr.strip()
    assert f"port {taken} on 127.0.0.1 ({setting}," in message
    assert f"taken by pid {os.getpid()} (" in message
    assert re.search(rf"{setting}=\d+ bash scripts/run\.sh$", message)
    assert "Traceback" not in message and "\n" not in message
    assert not (tmp_path / "run.log").exists()  # refused before any phase ran


def test_a_phase_that_fails_shows_its_error_and_where_the_log_is(tmp_path: Path) -> None:
    closed = free_port()  # nothing listens there: the page's npm install is refused at once, on this machine
    env = {
        **run_command_env(tmp_path, free_port(), free_port()),
        "REFLEX_WEB_WORKDIR": str(tmp_path / "web"),
        "NPM_CONFIG_REGISTRY": f"http://127.0.0.1:{closed}/",
        "npm_config_cache": str(tmp_path / "npm-cache"),
        "npm_config_fetch_retries": "0",
    }
    log = tmp_path / "run.log"
    done = subprocess.run(
        [sys.executable, "-m", "builder.launch", "--log", str(log)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 1
    assert PHASE.fullmatch(done.stdout.splitlines()[0]) and done.stdout.startswith("Database ")
    assert done.stderr.startswith("Page packages (npm) failed after ")
    assert "  npm error code ECONNREFUSED\n" in done.stderr
    assert done.stderr.endswith(f"The whole log: {log}\n")
    assert "Initializing builder" in log.read_text() and "Initializing builder" not in done.stdout + done.stderr


@contextmanager
def run_command(env: dict[str, str], console: Path) -> Iterator[subprocess.Popen[bytes]]:
    """The run command's Python half, its console in `console` and its log beside it."""
    with console.open("wb") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "builder.launch", "--log", str(console.with_suffix(".log"))],
            cwd=REPO,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        yield process
    finally:
        with_group_gone(process)


def with_group_gone(process: subprocess.Popen[bytes]) -> None:
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    process.wait(timeout=30)


def until_running(process: subprocess.Popen[bytes], console: Path, within: float = 600) -> list[str]:
    """The console's lines up to `Forja is running at`."""
    deadline = time.monotonic() + within
    while "Forja is running at" not in console.read_text():
        if process.poll() is not None:
            pytest.fail(f"the run command ended with {process.returncode}:\n{console.read_text()}")
        assert time.monotonic() < deadline, f"Forja did not start within {within:.0f} s:\n{console.read_text()}"
        time.sleep(0.5)
    return console.read_text().splitlines()


def stopped_by_its_supervisor(process: subprocess.Popen[bytes]) -> int:
    """As systemd stops a service: SIGTERM to the run command alone, which stops the server and says nothing more."""
    process.send_signal(signal.SIGTERM)
    return process.wait(timeout=60)


def _link_or_copy(source: str, target: str) -> None:
    try:
        os.link(source, target)
    except OSError:  # another file system
        shutil.copy2(source, target)


def copy_web(source: Path, web: Path) -> None:
    """A copy of the page's folder without its build. Its npm packages are hard links: copying and removing their 350 MB
    took a minute of the test; the npm phase finds them unchanged and the build only reads them (writing new files
    only, in the copy's own folders). Reflex writes the compiled sources over in place: those are real copies."""
    shutil.copytree(
        source, web, symlinks=True, ignore=lambda folder, _: ["build", "node_modules"] if folder == str(source) else []
    )
    if (source / "node_modules").is_dir():
        shutil.copytree(source / "node_modules", web / "node_modules", symlinks=True, copy_function=_link_or_copy)


def test_a_second_start_serves_the_unchanged_page_calmly(tmp_path: Path) -> None:
    port, preview_port = free_port(), free_port()
    web = tmp_path / "web"
    if (REPO / ".web").is_dir():  # its installed npm packages; the page itself is built here
        copy_web(REPO / ".web", web)
    env = {**run_command_env(tmp_path, port, preview_port), "REFLEX_WEB_WORKDIR": str(web)}

    with run_command(env, tmp_path / "first.txt") as first:
        lines = until_running(first, tmp_path / "first.txt")
        assert stopped_by_its_supervisor(first) == 0
    assert "Creating Production Build" in (tmp_path / "first.log").read_text()  # Reflex's output went to the log
    built = [line for line in lines if line.startswith("Page build ")]
    assert len(built) == 1 and "unchanged" not in built[0]

    with run_command(env, tmp_path / "second.txt") as second:
        lines = until_running(second, tmp_path / "second.txt")
        assert re.fullmatch(r"Page build \.+ unchanged, \d+(\.\d)? s", next(line for line in lines if "Page build" in line))
        assert all(PHASE.fullmatch(line) for line in lines[:-1]), lines
        # Neither compiled nor built again: the page's packages, which only a compile can change, are not looked at.
        assert [line.split(" ..")[0] for line in lines[:-1]] == ["Database", "Page build", "Server start"]
        assert lines[-1] == f"Forja is running at http://localhost:{port}"
        page = httpx.get(f"http://127.0.0.1:{port}/", timeout=10)
        assert page.status_code == 200 and "<title>Forja</title>" in page.text
        assert stopped_by_its_supervisor(second) == 0
    assert "Creating Production Build" not in (tmp_path / "second.log").read_text()
    assert "Compiling" in (tmp_path / "first.log").read_text() and "Compiling" not in (tmp_path / "second.log").read_text()
