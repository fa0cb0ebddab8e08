"""Git tokens in Chromium on a real Forja with accounts: the Clone dialog makes one on request and shows two lines (git's
credential store, then a clone whose address holds no token); those lines, run as shown, clone and push; the Account
page lists the token and revokes it, after which git is refused in a sentence. A viewer's dialog offers a token that
only clones. At 1440 and 390 wide; no token in Forja's log.

The people are made in-process on the Forja's own SQLite database, as test_account_people.py does.
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Locator, Page, expect

from builder.services.access import Actor
from builder.services.accounts import AccountService
from tests.e2e.conftest import ARTIFACTS, DESKTOP, PHONE, Traffic, accessible, another_forja
from tests.e2e.test_account_people import (
    PASSWORD,
    PEOPLE,
    Team,
    contexts,  # noqa: F401 (a fixture, used by name)
    on_accounts,
    run,
    sign_in,
)

LOG = "git-tokens-forja.log"
SITE = {"index.html": '<!doctype html>\n<html lang="en"><head><title>Shop</title></head><body><h1>Shop</h1></body></html>\n'}


@pytest.fixture(scope="module")
def team(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Team]:
    """A Forja with accounts; Ana and Bo have accounts on it."""
    folder = tmp_path_factory.mktemp("forja-git-tokens")
    env = {"FORJA_AUTH": "password", "FORJA_VERIFY_GENERATIONS": "false"}
    with another_forja(folder, LOG, env) as base:
        database = f"sqlite+aiosqlite:///{folder / 'data' / 'forja.db'}"

        async def make(accounts: AccountService) -> dict[str, Actor]:
            made = {}
            for key in ("ana", "bo"):
                info = await accounts.create_user(f"{key}@example.org", PEOPLE[key], PASSWORD)
                made[key] = Actor(info.id, info.email, info.name, info.role)
            return made

        yield Team(base, database, run(on_accounts(database, make)))


def git_env(home: Path) -> dict[str, str]:
    return {"PATH": os.environ["PATH"], "HOME": str(home), "GIT_TERMINAL_PROMPT": "0", "GIT_CONFIG_NOSYSTEM": "1"}


def run_shown(lines: str, home: Path) -> subprocess.CompletedProcess[str]:
    """The dialog's lines, pasted into a terminal as they are (bash), in a home folder of the test's own."""
    return subprocess.run(["bash", "-e", "-c", lines], cwd=home, env=git_env(home), capture_output=True, text=True, timeout=120)


def open_clone_dialog(page: Page, team: Team, project: str) -> Locator:
    page.goto(f"{team.base}/p/{project}")
    expect(page.locator("#version-badge")).to_be_visible(timeout=90_000)
    page.locator("#project-menu").click()
    page.locator("#menu-clone").click()
    dialog = page.get_by_role("dialog", name="Clone with git")
    expect(dialog).to_be_visible()
    return dialog


def at_both_widths(page: Page, name: str, where: str, fit: tuple[str, ...], shown: Locator | None = None) -> None:
    """`shown` (else the page) pictured at 1440 and at 390 wide, where each of `fit` stays within the phone's width;
    axe-core's rules at both. The page is wide again afterwards."""
    for size, viewport in (("desktop", DESKTOP), ("phone", PHONE)):
        page.set_viewport_size(viewport)
        path = str(ARTIFACTS / f"git-token-{name}-{size}.png")
        if shown is None:
            page.screenshot(path=path)
        else:
            shown.scroll_into_view_if_needed()
            shown.screenshot(path=path)
    for selector in fit:
        box = page.locator(selector).bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"], selector
    accessible(page, where, widths=(DESKTOP, PHONE))
    page.set_viewport_size(DESKTOP)


def test_the_clone_dialogs_git_token_clones_and_pushes_until_the_account_page_revokes_it(
    browser: Browser,
    contexts: list[BrowserContext],  # noqa: F811 (the fixture imported above)
    traffic: Traffic,
    team: Team,
    tmp_path: Path,
) -> None:
    ana = sign_in(browser, contexts, traffic, team, "ana")
    made = ana.request.post(f"{team.base}/api/projects", data={"name": "Corner Shop", "files": SITE})
    assert made.status == 201, made.text()
    project = made.json()["id"]
    dialog = open_clone_dialog(ana, team, project)
    expect(dialog.locator("#git-token-access")).to_have_text("Clone, fetch and push")
    expect(dialog.locator("#git-token-days")).to_have_text("30 days")
    expect(dialog.locator("#clone-setup")).to_have_count(0)  # no command, and no token, until asked for
    at_both_widths(
        ana, "1-form", "the Clone dialog's git token form", ("#git-token-access", "#git-token-days", "#make-git-token")
    )

    dialog.locator("#make-git-token").click()
    expect(dialog.locator("#clone-setup")).to_contain_text("git credential-store store")
    setup, clone_line = dialog.locator("#clone-setup").inner_text().strip(), dialog.locator("#clone-command").inner_text().strip()
    url = f"{team.base}/git/{project}.git"
    assert clone_line == f"git clone -c credential.helper=store -c credential.useHttpPath=true {url}"
    found = re.search(r"password=(forja_git_[A-Za-z0-9_-]{43}) ", setup)
    assert found is not None, setup
    token = found.group(1)
    assert setup == f"printf '%s\\n' url={url} username=ana password={token} | git credential-store store"
    expect(dialog.locator("#git-token-made")).to_contain_text("The token may clone, fetch and push this project only, until")
    at_both_widths(ana, "2-made", "the Clone dialog with a git token", ("#clone-setup", "#clone-command", "#copy-clone"))

    # Closed, the dialog forgets the token: opened again, it offers a new one.
    dialog.get_by_role("button", name="Done").click()
    expect(dialog).to_be_hidden()
    ana.locator("#project-menu").click()
    ana.locator("#menu-clone").click()
    expect(dialog.locator("#make-git-token")).to_be_visible()
    assert token not in ana.content()
    dialog.get_by_role("button", name="Done").click()

    # The lines as shown clone the project; the token is in git's store in the home folder, not in the clone.
    home = tmp_path / "home"
    home.mkdir()
    cloned = run_shown(f"{setup}\n{clone_line}\n", home)
    assert cloned.returncode == 0, cloned.stderr
    clone = home / project
    assert (clone / "index.html").read_text() == SITE["index.html"]
    assert token not in (clone / ".git" / "config").read_text()
    (clone / "index.html").write_text(SITE["index.html"].replace("<h1>Shop</h1>", "<h1>Corner Shop</h1>"))
    me = ["-c", "user.name=Ana", "-c", "user.email=ana@example.org"]
    subprocess.run(["git", *me, "commit", "-qam", "Rename the shop"], cwd=clone, env=git_env(home), check=True, timeout=60)
    pushed = subprocess.run(
        ["git", "push", "origin", "main"], cwd=clone, env=git_env(home), capture_output=True, text=True, timeout=60
    )
    assert pushed.returncode == 0, pushed.stderr
    ana.reload()
    expect(ana.locator("#version-badge")).to_have_text("v2", timeout=30_000)

    # The Account page lists it (its project, what it may do, when it expires, that it was used) and revokes it.
    ana.goto(f"{team.base}/account")
    section = ana.locator("#git-tokens")
    row = section.locator(f'.git-token-row[data-project="{project}"]')
    expect(row).to_contain_text("Corner Shop")
    expect(row).to_contain_text("Clone and push")
    expect(row).to_contain_text(token[:14])
    expect(row).to_contain_text("expires")
    expect(row).not_to_contain_text("last used never")
    assert token not in ana.content()
    revoke = f'.git-token-row[data-project="{project}"] .revoke-git-token'
    at_both_widths(ana, "3-account", "the Account page's git tokens", (revoke,), shown=section)
    row.locator(".revoke-git-token").click()
    ana.locator(".confirm-revoke-git-token").click()
    expect(row).to_have_count(0)
    expect(section.locator("#no-git-tokens")).to_be_visible()

    fetched = subprocess.run(["git", "fetch"], cwd=clone, env=git_env(home), capture_output=True, text=True, timeout=60)
    assert fetched.returncode != 0
    assert "This git token was revoked. Make a new one in the project's Clone dialog." in fetched.stderr
    for log in (ARTIFACTS / LOG, (ARTIFACTS / LOG).with_suffix(".tools.log")):
        if log.exists():
            assert token not in log.read_text(errors="replace"), log


def test_a_viewers_clone_dialog_makes_a_token_that_only_clones(
    browser: Browser,
    contexts: list[BrowserContext],  # noqa: F811 (the fixture imported above)
    traffic: Traffic,
    team: Team,
    tmp_path: Path,
) -> None:
    ana = sign_in(browser, contexts, traffic, team, "ana")
    made = ana.request.post(f"{team.base}/api/projects", data={"name": "Shared Shop", "files": SITE})
    project = made.json()["id"]
    added = ana.request.post(f"{team.base}/api/projects/{project}/members", data={"email": "bo@example.org", "role": "viewer"})
    assert added.status < 400, added.text()

    bo = sign_in(browser, contexts, traffic, team, "bo")
    dialog = open_clone_dialog(bo, team, project)
    expect(dialog.locator("#git-token-access")).to_have_text("Clone and fetch only (viewers cannot push)")
    dialog.locator("#make-git-token").click()
    expect(dialog.locator("#git-token-made")).to_contain_text("The token may clone and fetch (not push) this project only")
    at_both_widths(bo, "4-viewer", "a viewer's Clone dialog", ("#clone-setup", "#clone-command"))
    home = tmp_path / "home"
    home.mkdir()
    shown = [dialog.locator(line).inner_text().strip() for line in ("#clone-setup", "#clone-command")]
    cloned = run_shown("\n".join(shown), home)
    assert cloned.returncode == 0, cloned.stderr
    clone = home / project
    (clone / "index.html").write_text("<h1>Not mine to change</h1>\n")
    me = ["-c", "user.name=Bo", "-c", "user.email=bo@example.org"]
    subprocess.run(["git", *me, "commit", "-qam", "Try"], cwd=clone, env=git_env(home), check=True, timeout=60)
    pushed = subprocess.run(
        ["git", "push", "origin", "main"], cwd=clone, env=git_env(home), capture_output=True, text=True, timeout=60
    )
    assert pushed.returncode != 0 and "This git token may clone and fetch, not push." in pushed.stderr
