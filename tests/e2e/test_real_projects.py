"""Projects nobody wrote for Forja, imported as a person would: create-vite's React template, unchanged,
previews in the Preview tab; a project Forja cannot run is explained there within seconds, in one sentence, and runs
once the person gives its start command in Run settings.

The template comes from the corpus that setup scaffolds with the pinned create-vite (scripts/fetch_corpus.py),
with its packages in an npm cache of its own that this Forja seeds its previews from, so nothing is fetched.
"""

from __future__ import annotations

import io
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.conftest import corpus_app
from tests.e2e.conftest import ARTIFACTS, DESKTOP, Traffic, another_forja, preview_details


def zipped_folder(folder: Path, top: str) -> bytes:
    """The folder as a person zips it: everything under one top folder."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                archive.write(path, f"{top}/{path.relative_to(folder)}")
    return buffer.getvalue()


def import_zip(page: Page, base: str, archive: Path) -> None:
    page.goto(base)
    page.locator("#import_zip input[type=file]").set_input_files(str(archive))
    page.wait_for_url("**/p/*")


@pytest.fixture(scope="module")
def forja_seeded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    seed = corpus_app("vite-react") / "npm"
    with another_forja(
        tmp_path_factory.mktemp("forja-real"), "forja-real-projects.log", {"FORJA_NPM_SEED_CACHE": str(seed)}
    ) as base:
        yield base


def test_create_vite_react_template_unchanged_previews(forja_seeded: str, page: Page, traffic: Traffic, tmp_path) -> None:
    archive = tmp_path / "vite-react.zip"
    archive.write_bytes(zipped_folder(corpus_app("vite-react") / "app", "my-vite-app"))
    import_zip(page, forja_seeded, archive)
    page.locator("#tab-preview").click()
    frame = page.frame_locator("#preview-frame")
    # create-vite's own page (src/App.jsx): its heading and its counter button, which React must run to work.
    expect(frame.locator("h1")).to_have_text("Get started", timeout=180_000)
    frame.get_by_role("button", name="Count is 0").click()
    expect(frame.get_by_role("button", name="Count is 1")).to_be_visible()
    expect(page.locator("#preview-runner")).to_have_attribute("data-runner", "local")
    expect(page.locator("#preview-runner")).to_have_text("On the server")
    with preview_details(page):
        expect(page.locator("#preview-started-with")).to_have_text(
            'Started with npm run dev from the "dev" script in package.json.'
        )
    page.screenshot(path=str(ARTIFACTS / "real-project-vite-react.png"))
    page.set_viewport_size({"width": 390, "height": 844})
    page.screenshot(path=str(ARTIFACTS / "real-project-vite-react-phone.png"))
    page.locator("#phone-tab-logs").click()  # at phone width the panes are picked from the bottom bar
    expect(page.locator("#logs")).to_contain_text("(Vite)")
    assert traffic.off_machine() == [], f"requests left this machine: {traffic.off_machine()}"


# A page the project's files do not hold: only the person's own command makes it, so seeing it proves the command ran.
OWN_COMMAND = (
    "mkdir -p out && echo '<h1>Started by my command</h1>' > out/index.html && python -m http.server $PORT --bind $HOST -d out"
)

# The dialog's opening animation is over (a screenshot during it shows the page through it).
OPENED = "getComputedStyle(document.querySelector('[role=dialog]')).opacity === '1'"


def test_a_project_forja_cannot_run_is_explained_then_runs_with_a_command_of_ones_own(
    forja_seeded: str, page: Page, tmp_path
) -> None:
    archive = tmp_path / "go-api.zip"
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as project:
        project.writestr("go-api/go.mod", "module example.com/api\n\ngo 1.22\n")
        project.writestr("go-api/main.go", 'package main\n\nfunc main() { println("hi") }\n')
    archive.write_bytes(buffer.getvalue())
    import_zip(page, forja_seeded, archive)
    started = time.monotonic()
    page.locator("#tab-preview").click()
    expect(page.locator("#preview-message")).to_have_text(
        "go.mod says this is a Go project: Forja previews Node.js, Python and plain HTML projects, so it cannot run this one.",
        timeout=10_000,
    )
    assert time.monotonic() - started < 10
    expect(page.locator("#preview-retry")).to_be_visible()
    page.screenshot(path=str(ARTIFACTS / "real-project-unsupported.png"))

    page.set_viewport_size(DESKTOP)
    page.locator("#run-settings-button").click()
    expect(page.locator("#run-settings-folder")).to_have_text("The project's root")
    page.locator("#run-settings-command").fill(OWN_COMMAND)
    page.wait_for_function(OPENED)
    page.screenshot(path=str(ARTIFACTS / "run-settings.png"))
    page.locator("#run-settings-save").click()
    expect(page.frame_locator("#preview-frame").locator("h1")).to_have_text("Started by my command", timeout=60_000)
    with preview_details(page):
        expect(page.locator("#preview-started-with")).to_have_text(f"Started with {OWN_COMMAND} from your run settings.")
    page.screenshot(path=str(ARTIFACTS / "run-settings-running.png"))
    page.set_viewport_size({"width": 390, "height": 844})
    page.locator("#run-settings-button").click()
    expect(page.locator("#run-settings-command")).to_have_value(OWN_COMMAND)
    page.wait_for_function(OPENED)
    page.screenshot(path=str(ARTIFACTS / "run-settings-phone.png"))
    page.keyboard.press("Escape")
