"""builder/services/server_apps.py's pure parts: the sandbox's line, the keys of release sandboxes, a failed build's line."""

from __future__ import annotations

import subprocess
from pathlib import Path

from builder.publish.addresses import app_key, app_preview_id, key_of_app
from builder.services.server_apps import MARKER, network_hint, once_then_start, telling_line
from preview_runtime.production import ProductionPlan


def plan(build: str, start: str) -> ProductionPlan:
    return ProductionPlan(
        kind="server", build=build, output="", spa=False, framework="Node.js", public_env_prefixes=[], start=start
    )


def run(line: str, folder: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["sh", "-c", line], cwd=folder, capture_output=True, text=True, check=False)


def test_the_build_runs_once_then_only_the_start(tmp_path: Path) -> None:
    line = once_then_start(plan("echo built >> builds.txt && echo building", "echo started"))
    first = run(line, tmp_path)
    assert (first.returncode, first.stdout) == (0, "started\n")  # the build's output goes to its log file
    assert (tmp_path / MARKER).is_file() and "building" in (tmp_path / ".forja-publish" / "build.log").read_text()
    assert run(line, tmp_path).stdout == "started\n"
    assert (tmp_path / "builds.txt").read_text() == "built\n"  # a wake (the folder kept) does not build again
    assert once_then_start(plan("", "node app.js")) == "node app.js"


def test_a_failed_build_says_its_last_lines_and_starts_nothing(tmp_path: Path) -> None:
    failed = run(once_then_start(plan("echo broke >&2; exit 3", "echo started")), tmp_path)
    assert failed.returncode == 1 and "broke" in failed.stdout and "started" not in failed.stdout
    assert not (tmp_path / MARKER).exists()


def test_a_release_sandbox_is_known_again_by_its_preview_id() -> None:
    preview_id = app_preview_id(12)
    assert preview_id.startswith("app-12-") and len(preview_id) <= 63
    assert key_of_app("p1", preview_id) == app_key("p1", 12) == "app:p1@12"
    assert key_of_app("p1", "v-abc") is None and key_of_app("p1", "app-x-1") is None


def test_a_failed_server_build_is_told_by_its_error_line() -> None:
    next_font = (
        "Creating an optimized production build ...\nError: next/font: error:\n"
        "Failed to fetch Geist Mono from Google Fonts.\nImport trace:\n    at ignore-listed frames\n"
    )
    assert telling_line(next_font) == "Error: next/font: error: Failed to fetch Geist Mono from Google Fonts."
    # The sandbox kept the build from Google Fonts: the sentence says what to do about it.
    assert "next/font/local" in network_hint(next_font) and "FORJA_PREVIEW_EGRESS_HOSTS" in network_hint(next_font)
    assert network_hint("Error: Cannot find module './Booking'") == ""
    assert telling_line("building\nthe build broke on purpose\n") == "the build broke on purpose"
    assert telling_line("") == ""
