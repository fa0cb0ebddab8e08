"""The terminal service's rules that need no shell: the output meter's one-second windows, which files of a
preview's working copy come back as drafts (the running copy's pages with Forja's scripts taken out again), and how a
Docker shell's first output is read for its pid."""

from __future__ import annotations

from builder.services.preview_runners import running_copy
from builder.services.terminal import OutputMeter, clamp_size, compare, without_scripts
from preview_runtime.docker.shell import take_pid_line

PAGE = b"<!doctype html><html><head><title>t</title></head><body><h1>hi</h1></body></html>"


def test_output_past_the_rate_is_dropped_and_said_once_a_second() -> None:
    meter = OutputMeter(bytes_per_s=100)
    assert meter.admit(60, now=10.0) == (60, False)
    assert meter.admit(60, now=10.5) == (40, True)  # the rest of this second is dropped, said once
    assert meter.admit(60, now=10.9) == (0, False)
    assert meter.admit(60, now=11.0) == (60, False)  # a new second
    assert meter.admit(500, now=12.5) == (100, True)


def test_a_docker_shells_pid_line_is_found_across_chunks_and_kept_out_of_the_output() -> None:
    # Typed before the shell turned echo off: its echo comes first, in a chunk that ends inside the pid line.
    assert take_pid_line(b"stty size\r\nforja-sh") == (0, b"stty size\r\n", b"forja-sh")
    assert take_pid_line(b"forja-sh" + b"ell 42\r\n$ ") == (42, b"$ ", b"")
    assert take_pid_line(b"lsforja-shell 7\r\n") == (7, b"ls", b"")
    assert take_pid_line(b"forja-shell 12") == (0, b"", b"forja-shell 12")
    assert take_pid_line(b"from the app's variables\n") == (0, b"from the app's variables\n", b"")


def test_sizes_are_kept_within_what_a_terminal_can_be() -> None:
    assert clamp_size(0, -5) == (2, 2)
    assert clamp_size(100000, 100000) == (500, 200)
    assert clamp_size(80, 24) == (80, 24)


def test_the_running_copys_pages_come_back_as_they_were_written() -> None:
    for places in (False, True):
        running = running_copy({"index.html": PAGE, "app.js": b"x()"}, places=places)["index.html"]
        assert running != PAGE
        assert without_scripts("index.html", running) == PAGE
    assert without_scripts("app.js", b"<script data-forja>") == b"<script data-forja>"


def test_changed_and_new_text_files_are_drafts_and_the_rest_is_named() -> None:
    tree = {"index.html": PAGE, "a.txt": b"same", "gone.txt": b"x", "logo.png": b"\x89PNG\x00"}
    working = {"index.html": PAGE + b"\n", "a.txt": b"same", "new.txt": b"made", "logo.png": b"\x89PNG\x00\x01"}
    found = compare(tree, working)
    assert found.changed == {"index.html": (PAGE + b"\n").decode(), "new.txt": "made"}
    assert found.binary == ["logo.png"]
    assert found.deleted == ["gone.txt"]
    # Installed dependencies are never read back, so their absence is no deletion.
    assert compare({"node_modules/x/index.js": b"x"}, {}).deleted == []
