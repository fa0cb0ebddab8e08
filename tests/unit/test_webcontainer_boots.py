"""WebContainers are called ready only on a browser's word: the boots reported in the logs, counted and said."""

from __future__ import annotations

from pathlib import Path

import pytest

import builder.settings
from builder.services.doctor import _webcontainer_readiness
from builder.services.preview_runners import webcontainers_off
from builder.webcontainer_boots import BOOTED, FELL_BACK, LAST, TIMED_OUT, BootTally, describe, tally
from preview_runtime.logs import LogHub, LogLine

PREVIEW_JSX = Path(__file__).resolve().parents[2] / "assets" / "forja_preview.jsx"
# What forja_preview.jsx sends, as a browser words it.
TIMEOUT = (
    "WebContainer: it did not boot within 20 s (its runtime loads from StackBlitz's servers). Falling back to the server runner."
)
UNREACHABLE = (
    "WebContainer: StackBlitz's servers, which WebContainers load from, cannot be reached from this browser. "
    "Falling back to the server runner."
)
BOOT = "WebContainer booted in this browser; mounting the project."
AGAIN = "WebContainers could not start earlier in this tab (it did not boot within 20 s); using the server runner."


def lines(*texts: str, source: str = "webcontainer") -> list[LogLine]:
    return [LogLine(seq=seq, text=text, source=source) for seq, text in enumerate(texts, 1)]


def test_the_browser_side_sends_the_lines_counted() -> None:
    script = PREVIEW_JSX.read_text()
    assert f'"{BOOTED}; mounting the project."' in script
    assert f"`WebContainer: ${{error.message}}. {FELL_BACK}`" in script
    assert f"`it {TIMED_OUT} ${{" in script


def test_boots_and_fallbacks_are_counted_and_a_tab_saying_it_again_is_not_a_boot() -> None:
    found = tally(lines(TIMEOUT, AGAIN, AGAIN, UNREACHABLE, BOOT, "WebContainer: 3 file(s) written into the WebContainer."))
    assert (found.booted, found.fell_back, found.timed_out, found.last_booted) == (1, 2, 1, True)
    found = tally(lines(BOOT, TIMEOUT))
    assert (found.booted, found.fell_back, found.last_booted) == (1, 1, False)
    assert found.last_reason == "it did not boot within 20 s (its runtime loads from StackBlitz's servers)"
    # The same words from another source (a project's own console) are not a boot.
    assert tally(lines(BOOT, source="browser")).seen == 0


def test_only_the_latest_boots_count() -> None:
    found = tally(lines(*[BOOT] * 30, *[TIMEOUT] * 5))
    assert (found.booted, found.fell_back, found.seen) == (LAST - 5, 5, LAST)


def test_the_hub_gives_every_projects_lines_of_a_source_in_order() -> None:
    hub = LogHub()
    hub.emit("one", TIMEOUT, source="webcontainer")
    hub.emit("two", "npm install", source="install")
    hub.emit("two", BOOT, source="webcontainer")
    assert [line.text for line in hub.lines_from("webcontainer")] == [TIMEOUT, BOOT]


def test_what_is_said_never_calls_them_ready_without_a_boot(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(builder.settings.settings, "webcontainers", True)
    monkeypatch.setattr(builder.settings.settings, "preview_runner", "auto")
    where = "Runs in each visitor's browser, not on this server, and loads its runtime from StackBlitz's servers (internet)"

    nothing = _webcontainer_readiness(BootTally())
    assert (nothing.ready, nothing.known) == (False, False)
    assert nothing.reason == describe(BootTally()) and nothing.reason.startswith(where)
    assert "no browser has tried one here yet" in nothing.reason

    no_server = _webcontainer_readiness(None)
    assert (no_server.ready, no_server.known) == (False, False)
    assert "only a running Forja hears from the browsers" in no_server.reason

    failing = _webcontainer_readiness(tally(lines(BOOT, TIMEOUT, TIMEOUT, UNREACHABLE)))
    assert (failing.ready, failing.known) == (False, True)
    assert failing.reason == (
        f"{where}. Last boots here: 1 booted, 3 fell back to the server runner (2 after a timeout); the last one fell "
        "back: StackBlitz's servers, which WebContainers load from, cannot be reached from this browser."
    )

    working = _webcontainer_readiness(tally(lines(TIMEOUT, BOOT)))
    assert (working.ready, working.known) == (True, True)
    assert working.reason.endswith(
        "Last boots here: 1 booted, 1 fell back to the server runner (1 after a timeout); the last one booted."
    )

    monkeypatch.setattr(builder.settings.settings, "webcontainers", False)
    off = _webcontainer_readiness(tally(lines(BOOT)))
    assert (off.ready, off.reason) == (False, "Turned off in the settings (FORJA_WEBCONTAINERS=false).")

    # A server runner asked for by name is the one every preview gets: no browser tries a WebContainer first.
    monkeypatch.setattr(builder.settings.settings, "webcontainers", True)
    monkeypatch.setattr(builder.settings.settings, "preview_runner", "local")
    ruled_out = _webcontainer_readiness(tally(lines(BOOT)))
    assert (ruled_out.ready, ruled_out.reason) == (
        False,
        "Not used: the settings ask for the local runner (FORJA_PREVIEW_RUNNER=local).",
    )
    assert webcontainers_off() == ruled_out.reason
    monkeypatch.setattr(builder.settings.settings, "preview_runner", "auto")
    assert webcontainers_off() == ""
