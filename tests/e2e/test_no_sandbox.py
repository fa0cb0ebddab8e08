"""A machine without bubblewrap, as a person sees it: previews are refused with the fixes named, unless they allowed
running without a sandbox, and then a banner in the Preview tab says so for as long as the preview runs.

bubblewrap is installed here (the tests need it), so each Forja below gets a PATH that lacks it: a folder of links to
everything on the PATH but `bwrap`.
"""

from __future__ import annotations

import os
import re
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import ARTIFACTS, Traffic, another_forja


def path_without_bwrap(folder: Path) -> str:
    folder.mkdir(parents=True)
    for directory in os.environ.get("PATH", "").split(os.pathsep):
        if not os.path.isdir(directory):
            continue
        for name in os.listdir(directory):
            link = folder / name
            if name != "bwrap" and not link.exists():
                link.symlink_to(os.path.join(directory, name))
    # This Python's own folder first, as every test Forja's PATH has it: the page's build then finds the same npm and
    # is reused (a PATH that names npm elsewhere reinstalled the page's packages and rebuilt it, a minute each).
    path = f"{Path(sys.executable).parent}{os.pathsep}{folder}"
    assert shutil.which("bwrap", path=path) is None
    return path


@pytest.fixture(scope="module")
def forja_unsandboxed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    folder = tmp_path_factory.mktemp("no-bwrap")
    env = {"PATH": path_without_bwrap(folder / "bin"), "FORJA_ALLOW_UNSANDBOXED": "true"}
    with another_forja(folder, "forja-unsandboxed.log", env) as base:
        yield base


def build_offline(page: Page, base: str) -> None:
    page.goto(base)
    page.locator("#prompt").fill("A landing page for a bakery")
    page.locator("#build-button").click()
    page.wait_for_url(re.compile(r"/p/[0-9a-f]+$"))
    expect(page.locator("#version-badge")).to_have_text("v1", timeout=30_000)


def test_an_unsandboxed_preview_carries_a_banner_that_stays(forja_unsandboxed: str, page: Page, traffic: Traffic) -> None:
    build_offline(page, forja_unsandboxed)
    page.locator("#tab-preview").click()
    banner = page.locator("#preview-unsandboxed")
    expect(banner).to_contain_text("WITHOUT a sandbox", timeout=60_000)
    expect(page.frame_locator("#preview-frame").locator("body")).not_to_be_empty(timeout=120_000)
    page.reload()  # not a notice that goes away: it is there whenever the preview is
    page.locator("#tab-preview").click()
    expect(banner).to_be_visible(timeout=60_000)
    expect(page.frame_locator("#preview-frame").locator("body")).to_contain_text("Bakery", timeout=60_000)
    expect(page.locator("#stop-generation")).to_have_count(0, timeout=60_000)  # the generation and its check are over
    page.screenshot(path=str(ARTIFACTS / "preview-unsandboxed-banner.png"))
    page.set_viewport_size({"width": 390, "height": 844})
    page.screenshot(path=str(ARTIFACTS / "preview-unsandboxed-banner-phone.png"))
    assert traffic.off_machine() == []


@pytest.fixture(scope="module")
def forja_refusing(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    folder = tmp_path_factory.mktemp("no-bwrap-refused")
    with another_forja(folder, "forja-refusing.log", {"PATH": path_without_bwrap(folder / "bin")}) as base:
        yield base


def test_without_a_sandbox_the_preview_is_refused_with_the_fixes_named(forja_refusing: str, page: Page) -> None:
    build_offline(page, forja_refusing)
    page.locator("#tab-preview").click()
    pane = page.locator("#preview-message")
    expect(pane).to_contain_text("Install bubblewrap", timeout=60_000)
    expect(pane).to_contain_text("FORJA_ALLOW_UNSANDBOXED")
    expect(page.locator("#preview-unsandboxed")).to_have_count(0)
    # The check says it could not look, once, and offers no "Fix this": no change to the app helps.
    # The check runs after the preview's own start, so on a loaded machine it comes a while later.
    check = page.locator('.chat-entry[data-kind="check"]')
    expect(check).to_contain_text("Not checked: bubblewrap is not installed", timeout=60_000)
    expect(page.locator("#fix-this")).to_have_count(0)
    # Nor does the Preview tab offer a repair, or say that one needs a model.
    expect(page.get_by_role("button", name="Fix this error")).to_have_count(0)
    expect(page.get_by_text("Fixing this error for you needs a model")).to_have_count(0)
    page.screenshot(path=str(ARTIFACTS / "preview-refused-without-sandbox.png"))
