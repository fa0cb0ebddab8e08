"""Papercuts a new user found (issue 15): what a person sees and clicks in the workspace."""

from __future__ import annotations

import zipfile

import httpx
from playwright.sync_api import Page, expect

from tests.e2e.conftest import ARTIFACTS

FILES = {
    "package.json": '{"name": "pizza-night", "private": true}\n',
    "src/App.jsx": "export default function App() {\n  return <h1>Pizza night</h1>;\n}\n",
    "src/typography/playful.css": "h1 { font-family: cursive; }\n",
}


def shot(page: Page, name: str) -> None:
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"))


def make_project(forja: str, name: str) -> str:
    """A project with two versions, so History has something to show and to export."""
    project_id = httpx.post(f"{forja}/api/projects", json={"name": name, "files": FILES}).json()["id"]
    httpx.put(
        f"{forja}/api/projects/{project_id}/files/src/App.jsx",
        json={"content": FILES["src/App.jsx"].replace("Pizza night", "Pizza party"), "message": "Party"},
    ).raise_for_status()
    return project_id


def test_every_export_button_downloads_its_file(forja: str, page: Page, tmp_path) -> None:
    """Header "Export .zip", History "Download .zip" and "All versions as git" download, not a 404 page."""
    page.goto(f"{forja}/p/{make_project(forja, 'Exports')}")
    expect(page.locator("#version-badge")).to_have_text("v2")

    with page.expect_download() as header_zip:
        page.locator("#export-zip").click()
    assert zipfile.is_zipfile(header_zip.value.path())
    assert header_zip.value.suggested_filename.endswith(".zip")

    page.locator("#tab-history").click()
    page.locator('.history-row[data-version="1"]').click()
    expect(page.locator("#diff-totals")).to_contain_text("Version 1")
    with page.expect_download() as version_zip:
        page.locator("#download-version").click()
    with zipfile.ZipFile(version_zip.value.path()) as archive:
        app = next(name for name in archive.namelist() if name.endswith("src/App.jsx"))
        assert "Pizza night" in archive.read(app).decode()

    with page.expect_download() as bundle:
        page.locator("#download-bundle").click()
    assert bundle.value.path().read_bytes().startswith(b"# v")  # "# v2 git bundle" or "# v3 git bundle"
    assert b"git bundle" in bundle.value.path().read_bytes()[:20]
    # The page stayed where it was: no client-side "404: Page not found".
    expect(page.locator("body")).not_to_contain_text("404")
    expect(page.locator("#diff-totals")).to_be_visible()
