"""The Environment dialog, as a person uses it: from the project menu, a secret and a public variable added, listed by
name only (the public one marked), one removed; the page never holds a value once saved; its words fit the app (a page
with no server is told what it uses is in the page, and has no data part; a server app's variables stay on its server,
and its preview's data is reset, asked first). At 1440x900 and 390x844. The Clone dialog beside it in the project menu."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import httpx
from playwright.sync_api import Page, expect

from tests.e2e.conftest import ARTIFACTS, DESKTOP, PHONE, accessible
from tests.git_host import TOKEN, git, served_host

SECRET = "sk_test_e2e_9d8c7b6a5f4e3d2c"
SERVER = 'require("node:http").createServer((_q, res) => res.end("<h1>Shop</h1>")).listen(process.env.PORT);\n'


def shot(page: Page, name: str) -> None:
    page.screenshot(path=str(ARTIFACTS / f"env-{name}.png"))


def add(page: Page, name: str, value: str) -> None:
    page.locator("#env-name").fill(name)
    page.locator("#env-value").fill(value)
    page.locator("#env-save").click()
    expect(page.locator("#env-notice")).to_contain_text(f"{name} is saved")
    expect(page.locator("#env-value")).to_have_value("")


def test_a_person_sets_the_apps_variables_and_sees_only_their_names(forja: str, page: Page) -> None:
    files = {"index.html": "<!doctype html><h1>Shop</h1>\n"}
    project = httpx.post(f"{forja}/api/projects", json={"name": "Env Shop", "files": files}, timeout=30).json()["id"]
    page.set_viewport_size(DESKTOP)
    page.goto(f"{forja}/p/{project}")
    expect(page.locator("#version-badge")).to_be_visible(timeout=90_000)
    page.locator("#project-menu").click()
    page.locator("#menu-env").click()
    dialog = page.get_by_role("dialog", name="Environment")
    expect(dialog).to_be_visible()
    expect(page.locator("#env-empty")).to_be_visible()
    # A page with no server: no build's names, no database, and what it uses is in the page for anyone to read.
    expect(page.locator("#env-public-words")).to_contain_text("pages only, with no server of its own")
    expect(dialog).not_to_contain_text("VITE_")
    expect(dialog).not_to_contain_text("DATABASE_URL")
    expect(page.locator("#data-part")).to_have_count(0)

    add(page, "STRIPE_KEY", SECRET)
    add(page, "VITE_SHOP_TITLE", "Corner shop")
    rows = page.locator(".env-row")
    expect(rows).to_have_count(2)
    # A plain page builds nothing in: no name is marked as put into the page (a Vite app's VITE_ names are).
    expect(page.locator('.env-row[data-name="VITE_SHOP_TITLE"]')).to_be_visible()
    expect(rows.filter(has_text="public: built into the page")).to_have_count(0)
    assert SECRET not in page.content()
    shot(page, "1-dialog-desktop")
    accessible(page, "the Environment dialog")

    page.set_viewport_size(PHONE)
    expect(dialog).to_be_visible()
    shot(page, "2-dialog-phone")
    accessible(page, "the Environment dialog on a phone", widths=(PHONE,))

    page.locator('.env-row[data-name="VITE_SHOP_TITLE"] .env-remove').click()
    expect(page.locator("#env-notice")).to_contain_text("VITE_SHOP_TITLE is removed")
    expect(rows).to_have_count(1)
    listed = httpx.get(f"{forja}/api/projects/{project}/env", timeout=30)
    assert [v["name"] for v in listed.json()] == ["STRIPE_KEY"] and SECRET not in listed.text

    # A name that changes how programs load code is refused in words, and nothing is saved.
    page.locator("#env-name").fill("ld_preload")
    page.locator("#env-value").fill("./lib.so")
    page.locator("#env-save").click()
    refused = page.locator("#env-error")
    expect(refused).to_have_text("LD_PRELOAD changes how programs load code; Forja does not let an app set it.")
    expect(rows).to_have_count(1)
    # What the person typed stays, to save under another name.
    expect(page.locator("#env-value")).to_have_value("./lib.so")
    expect(page.locator("#env-name")).to_have_value("LD_PRELOAD")
    shot(page, "3-refused-phone")
    page.set_viewport_size(DESKTOP)
    shot(page, "4-refused-desktop")

    # An app with a server of its own (node:http): the dialog speaks of its server and its data. Left open on the
    # other project, it is closed on this one (it showed that one's variables).
    server = {"server.js": SERVER, "package.json": '{"name": "env-shop", "scripts": {"start": "node server.js"}}\n'}
    made = httpx.post(f"{forja}/api/projects", json={"name": "Env Server", "files": server}, timeout=30)
    page.goto(f"{forja}/p/{made.json()['id']}")
    expect(page.locator("#version-badge")).to_be_visible(timeout=90_000)
    expect(dialog).to_be_hidden()
    page.locator("#project-menu").click()
    page.locator("#menu-env").click()
    expect(page.locator("#env-public-words")).to_have_text(
        "They stay on the server: the page shows one only if the app's own code puts it there."
    )
    expect(page.locator("#env-intro")).to_contain_text("Its server gets them")
    expect(page.locator("#data-part")).to_contain_text("DATABASE_URL")
    shot(page, "5-server-desktop")
    page.set_viewport_size(PHONE)
    shot(page, "6-server-phone")
    page.set_viewport_size(DESKTOP)

    # The preview's data: reset only once asked.
    page.locator("#data-reset").click()
    asked = page.get_by_role("alertdialog", name="Reset the preview's data?")
    expect(asked).to_contain_text("The published app's data stays")
    asked.locator(".data-reset-confirm").click()
    expect(page.locator("#env-notice")).to_contain_text("The preview's data is reset")


def test_the_clone_dialog_shows_the_command_that_clones_the_project(forja: str, page: Page, tmp_path: Path) -> None:
    """The project menu's Clone dialog (here without accounts: no token in the command), at 1440 and 390 wide; its
    command, run as shown, clones the project, and a commit pushed from the clone is the next version, running."""
    files = {"index.html": "<!doctype html><h1>Clone me</h1>\n"}
    project = httpx.post(f"{forja}/api/projects", json={"name": "Clone Shop", "files": files}, timeout=30).json()["id"]
    page.set_viewport_size(DESKTOP)
    page.goto(f"{forja}/p/{project}")
    expect(page.locator("#version-badge")).to_be_visible(timeout=90_000)
    page.locator("#project-menu").click()
    page.locator("#menu-clone").click()
    dialog = page.get_by_role("dialog", name="Clone with git")
    expect(dialog).to_be_visible()
    command = f"git clone {forja}/git/{project}.git"
    expect(page.locator("#clone-command")).to_have_text(command)
    page.screenshot(path=str(ARTIFACTS / "clone-1-dialog-desktop.png"))
    accessible(page, "the Clone dialog")

    page.set_viewport_size(PHONE)
    expect(dialog).to_be_visible()
    box = page.locator("#clone-command").bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]
    page.screenshot(path=str(ARTIFACTS / "clone-2-dialog-phone.png"))
    accessible(page, "the Clone dialog on a phone", widths=(PHONE,))

    shown = page.locator("#clone-command").inner_text().split()
    dialog.get_by_role("button", name="Done").click()
    expect(dialog).to_be_hidden()
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), "GIT_TERMINAL_PROMPT": "0", "GIT_CONFIG_NOSYSTEM": "1"}
    clone = tmp_path / "clone"
    subprocess.run([*shown, str(clone)], env=env, check=True, capture_output=True, timeout=60)
    assert (clone / "index.html").read_text() == files["index.html"]

    # Edited in "my editor", pushed: a new version, in the conversation, running in the preview.
    (clone / "index.html").write_text("<!doctype html><h1>Pushed from git</h1>\n")
    me = ["-c", "user.name=Dev", "-c", "user.email=dev@example.org"]
    subprocess.run(["git", *me, "commit", "-qam", "Edit in my editor"], cwd=clone, env=env, check=True, timeout=60)
    subprocess.run(["git", "push", "-q", "origin", "main"], cwd=clone, env=env, check=True, capture_output=True, timeout=60)
    page.set_viewport_size(DESKTOP)
    page.reload()
    expect(page.locator("#version-badge")).to_have_text("v2", timeout=30_000)
    expect(page.locator(".chat-entry").filter(has_text="Pushed by You: Edit in my editor")).to_be_visible()
    page.locator("#tab-preview").click()
    expect(page.frame_locator("#preview-frame").locator("h1")).to_have_text("Pushed from git", timeout=60_000)
    page.screenshot(path=str(ARTIFACTS / "clone-3-pushed.png"))

    # Linked to a remote (a git host on loopback asking for a token): pushed; then both sides move, and the merge of
    # changes to different files is offered and done. At 390 wide the section fits.
    (tmp_path / "host").mkdir()
    with served_host(tmp_path / "host") as host:
        host.bare("shop")
        page.locator("#project-menu").click()
        page.locator("#menu-clone").click()
        expect(dialog).to_be_visible()
        page.locator("#remote-url").fill(host.url("shop"))
        page.locator("#remote-token").fill(TOKEN)
        page.locator("#remote-link").click()
        expect(page.locator("#remote-notice")).to_have_text(f"Linked to {host.url('shop')} (main).")
        expect(page.locator("#remote-token")).to_have_value("")
        page.locator("#remote-push").click()
        expect(page.locator("#remote-notice")).to_contain_text("Pushed up to version 2 to main")
        assert TOKEN not in page.content()

        elsewhere = host.clone("shop", tmp_path / "elsewhere")
        (elsewhere / "README.md").write_text("# Shop\n")
        git("add", "README.md", cwd=elsewhere)
        git("commit", "--quiet", "-m", "Readme", cwd=elsewhere)
        git("push", "--quiet", "origin", "main", cwd=elsewhere)
        httpx.put(f"{forja}/api/projects/{project}/files/app.js", json={"content": "go()\n"}, timeout=30)  # v3
        page.set_viewport_size(PHONE)
        page.locator("#remote-pull").click()
        expect(page.locator("#remote-both-moved")).to_contain_text("Both sides moved:")
        for button in ("#remote-pull", "#remote-push-branch", "#remote-merge"):
            box = page.locator(button).bounding_box()
            assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"], button
        page.screenshot(path=str(ARTIFACTS / "clone-4-both-moved-phone.png"))
        accessible(page, "the Remote section on a phone", widths=(PHONE,))
        page.locator("#remote-merge").click()
        expect(page.locator("#remote-notice")).to_contain_text("Pulled 1 commit(s) from main")
        expect(page.locator("#version-badge")).to_have_text("v4", timeout=30_000)
        page.set_viewport_size(DESKTOP)
        page.screenshot(path=str(ARTIFACTS / "clone-5-merged-desktop.png"))
