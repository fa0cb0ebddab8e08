"""The run command's console: one line per phase with its time, from the shell (scripts/phase.sh) and from Python
(builder.launch.console) alike; a failed phase shows the end of its output and where the whole log is."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from builder.launch.console import failure, phase_line

REPO = Path(__file__).resolve().parents[2]


def phase(log: Path, *command: str) -> subprocess.CompletedProcess[str]:
    script = 'RUN_LOG="$1"; shift; source scripts/phase.sh; phase "Python packages" "$@"'
    return subprocess.run(["bash", "-c", script, "phase", str(log), *command], cwd=REPO, capture_output=True, text=True)


def test_a_phase_prints_one_line_and_keeps_the_tools_output_in_the_log(tmp_path: Path) -> None:
    log = tmp_path / "run.log"
    done = phase(log, "sh", "-c", "echo Collecting reflex==0.10.1; echo a pip warning >&2")
    assert done.returncode == 0
    assert re.fullmatch(r"Python packages \.+ \d+\.\d s\n", done.stdout)
    assert done.stderr == ""
    assert log.read_text() == "Collecting reflex==0.10.1\na pip warning\n"
    # The same line as the Python phases print, dots and all.
    assert done.stdout.rsplit(" ", 2)[0] == phase_line("Python packages", 1.5).rsplit(" ", 2)[0]


def test_a_failed_phase_shows_the_end_of_its_output_and_where_the_log_is(tmp_path: Path) -> None:
    log = tmp_path / "run.log"
    done = phase(log, "sh", "-c", "echo resolving; echo 'ERROR: No matching distribution found for reflex==9' >&2; exit 7")
    assert done.returncode == 7
    assert done.stdout == ""
    assert done.stderr.startswith("Python packages failed after ")
    assert "  ERROR: No matching distribution found for reflex==9\n" in done.stderr
    assert done.stderr.endswith(f"The whole log: {log}\n")


def test_python_phase_lines() -> None:
    assert phase_line("Page build", 71.4) == "Page build .............. 71 s"
    assert phase_line("Page build", 4.31, "unchanged") == "Page build .............. unchanged, 4.3 s"


def test_a_failure_shows_the_first_error_above_the_tools_debug_lines(tmp_path: Path) -> None:
    log = tmp_path / "run.log"
    npm = [
        "npm http fetch GET http://127.0.0.1:9/yaml attempt 1 failed with ECONNREFUSED",
        "npm error code ECONNREFUSED",
        "npm error FetchError: request to http://127.0.0.1:9/yaml failed",
    ]
    log.write_text("\n".join(["Compiling...", *npm, *(f"npm silly unfinished npm timer {n}" for n in range(40))]) + "\n")
    shown = failure("Page build", 9.1, log)
    assert shown.startswith("Page build failed after 9.1 s. The end of its output:\n")
    assert "  npm error code ECONNREFUSED\n  npm error FetchError" in shown
    assert "  npm silly unfinished npm timer 39\n" in shown
    assert "npm http fetch" not in shown and "Compiling" not in shown
    assert shown.endswith(f"The whole log: {log}")

    log.write_text("\n".join(f"line {n}" for n in range(30)) + "\n")
    assert failure("Page build", 1, log).splitlines()[1:-1] == [f"  line {n}" for n in range(5, 30)]


def fetched(log: Path, *command: str) -> subprocess.CompletedProcess[str]:
    """`command` run in the background and reported by `fetched`, as scripts/test.sh does the corpus' fetch (set -eu and
    pipefail included), then a last line that says the script went on."""
    script = (
        'set -euo pipefail; log="$1"; shift; source scripts/phase.sh; "$@" >"$log" 2>&1 &'
        ' fetched $! "$log" "every corpus project" "the corpus tests of those skip"; echo "went on"'
    )
    return subprocess.run(
        ["bash", "-c", script, "fetched", str(log), *command], cwd=REPO, capture_output=True, text=True, timeout=120
    )


def test_a_fetch_that_ended_well_says_its_last_line(tmp_path: Path) -> None:
    done = fetched(tmp_path / "fetch.log", "sh", "-c", "echo 'corpus: making a'; echo 'corpus: 40 s, 600 MB in .cache'")
    assert (done.returncode, done.stdout, done.stderr) == (0, "corpus: 40 s, 600 MB in .cache\nwent on\n", "")


def test_a_fetch_that_failed_names_what_failed_and_the_run_goes_on(tmp_path: Path) -> None:
    log = tmp_path / "fetch.log"
    done = fetched(log, "sh", "-c", "echo 'corpus: making a'; echo 'corpus: a failed: npm exited with 1'; exit 1")
    assert (done.returncode, done.stdout) == (0, "went on\n")
    assert done.stderr == (
        f"Could not fetch every corpus project (offline?): the corpus tests of those skip. From {log}:\n"
        "corpus: a failed: npm exited with 1\n"
    )


def test_a_fetch_that_ended_before_naming_a_failure_shows_its_end_and_the_run_goes_on(tmp_path: Path) -> None:
    """The real fetch, refusing a name: nothing in its log says "failed" or "error" (grep found nothing, and under
    pipefail that ended the test command before its tests' status)."""
    log = tmp_path / "fetch.log"
    done = fetched(log, sys.executable, "scripts/fetch_corpus.py", "no-such-entry")
    assert (done.returncode, done.stdout) == (0, "went on\n")
    assert done.stderr == (
        f"Could not fetch every corpus project (offline?): the corpus tests of those skip. From {log}:\n"
        "no corpus entry named no-such-entry\n"
    )
