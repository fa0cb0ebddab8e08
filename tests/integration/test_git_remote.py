"""A project linked to a remote repository (PUT/POST /api/projects/{id}/remote...): push, pull, both sides moved.

The remote is a real bare repository served on loopback by git's own `git http-backend` behind a tiny WSGI server
that asks for a token as the password of HTTP Basic, as a git host does; the other side is the real `git` CLI.
"""

from __future__ import annotations

import base64
import logging
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

import builder.git.addresses
import builder.settings
from builder.composition import Services
from builder.git.commands import HTTP_BACKEND, repo_path
from builder.git.remote import BRANCH_RULES, link_path
from builder.models import ProjectRole
from builder.settings import settings
from preview_runtime.common import folder_bytes
from tests.accounts import Person, someone
from tests.git_host import TOKEN, Host, git, served_host
from tests.integration.test_cli import Cli

pytestmark = pytest.mark.skipif(not Path(HTTP_BACKEND).exists(), reason="git is not installed")

TREE = {"index.html": "<h1>Hello</h1>\n", "README.md": "# Site\n"}


@pytest.fixture(scope="module")
def host(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Host]:
    with served_host(tmp_path_factory.mktemp("git-host")) as served:
        yield served


@dataclass
class Team:
    services: Services
    ana: Person  # owns the project
    vi: Person  # a viewer
    project: str


@pytest.fixture
async def team(services: Services, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> AsyncIterator[Team]:
    monkeypatch.setattr(settings, "auth", "password")
    monkeypatch.setattr(settings, "data_dir", tmp_path / "data")
    monkeypatch.setattr(builder.settings.settings, "git_import_private", True)  # the host is on loopback
    async with someone(services, "ana@example.org", "Ana Lima") as ana, someone(services, "vi@example.org", "Vi") as vi:
        project = (await services.projects.create("Site", TREE, message="Start", owner=ana.actor.user_id)).project_id
        await services.access.add_member(project, vi.actor.email, ProjectRole.viewer)
        yield Team(services, ana, vi, project)


async def link(team: Team, host: Host, name: str, token: str = TOKEN) -> None:
    host.bare(name)
    answer = await team.ana.http.put(f"/api/projects/{team.project}/remote", json={"url": host.url(name), "token": token})
    assert answer.status_code == 200, answer.text
    assert answer.json()["has_token"] is True and token not in answer.text


async def sync(team: Team, action: str, status: int = 200, **body: object) -> dict[str, Any]:
    answer = await team.ana.http.post(f"/api/projects/{team.project}/remote/{action}", json=body)
    assert answer.status_code == status, answer.text
    assert TOKEN not in answer.text
    return answer.json()


def files_at(clone: Path, ref: str = "HEAD") -> dict[str, str]:
    names = git("ls-tree", "-r", "--name-only", ref, cwd=clone).split()
    return {name: git("show", f"{ref}:{name}", cwd=clone) for name in names}


async def forja_files(team: Team) -> dict[str, str]:
    return {p: b.decode() for p, b in (await team.services.projects.read_tree(team.project)).items()}


def commit(clone: Path, path: str, text: str, message: str) -> None:
    (clone / path).write_text(text)
    git("commit", "--quiet", "-am", message, cwd=clone)
    git("push", "--quiet", "origin", "main", cwd=clone)


async def test_push_then_pull_round_trip_and_the_token_stays_secret(
    team: Team, host: Host, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    await team.services.projects.save(team.project, {"app.js": "go()\n"}, message="Add the script")
    await link(team, host, "round")
    pushed = await sync(team, "push")
    assert pushed["message"].startswith("Pushed up to version 2 to main of http://127.0.0.1:")

    clone = host.clone("round", tmp_path / "clone")
    assert git("log", "--reverse", "--format=%s", cwd=clone).splitlines() == ["Start", "Add the script"]
    assert files_at(clone) == await forja_files(team)
    assert (await sync(team, "push"))["message"].startswith("main of ")  # already there: nothing sent

    commit(clone, "index.html", "<h1>Edited elsewhere</h1>\n", "Edit the title")
    ahead = await sync(team, "push", 409)
    assert ahead["detail"].endswith("has commits Forja does not have; pull them first.") and "both_moved" not in ahead
    pulled = await sync(team, "pull")
    assert pulled["versions"] == [3]
    versions = await team.services.projects.versions(team.project)
    assert versions[-1].message == "Pulled by Ana Lima: Edit the title"
    assert await forja_files(team) == files_at(clone)
    assert (await sync(team, "pull"))["versions"] == []

    # Anyone on the project sees where it syncs to, nobody sees the token: not in answers, logs, or any file on disk.
    seen = await team.vi.http.get(f"/api/projects/{team.project}/remote")
    assert seen.status_code == 200 and seen.json()["url"] == host.url("round") and seen.json()["has_token"] is True
    refused = await team.vi.http.post(f"/api/projects/{team.project}/remote/push", json={})
    assert refused.status_code == 403
    basic = base64.b64encode(f"forja:{TOKEN}".encode()).decode()
    assert TOKEN not in seen.text and TOKEN not in caplog.text and basic not in caplog.text
    for path in settings.data_dir.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            assert TOKEN.encode() not in data and basic.encode() not in data, path
    assert "extraheader" not in (repo_path(team.project) / "config").read_text().lower()
    assert link_path(team.project).stat().st_mode & 0o077 == 0

    gone = await team.ana.http.delete(f"/api/projects/{team.project}/remote")
    assert gone.status_code == 204
    assert (await team.ana.http.get(f"/api/projects/{team.project}/remote")).status_code == 404


async def test_when_both_moved_nothing_is_overwritten_and_the_two_ways_on_work(team: Team, host: Host, tmp_path: Path) -> None:
    await link(team, host, "both")
    await sync(team, "push")
    clone = host.clone("both", tmp_path / "clone")
    commit(clone, "README.md", "# Site, from the remote\n", "Readme elsewhere")
    await team.services.projects.save(team.project, {"app.js": "go()\n"}, message="Add the script")  # v2
    remote_main = git("rev-parse", "origin/main", cwd=clone).strip()

    for action in ("push", "pull"):
        said = await sync(team, action, 409)
        assert said["detail"].startswith("Both sides moved: http://127.0.0.1:"), said
        assert "has 1 commit(s) Forja does not, and Forja has 1 version(s) it does not" in said["detail"]
        assert said["both_moved"] is True and said["new_branch"].startswith("forja/")
    git("fetch", "--quiet", cwd=clone)
    assert git("rev-parse", "origin/main", cwd=clone).strip() == remote_main
    assert len(await team.services.projects.versions(team.project)) == 2

    # (a) Forja's history to a branch of its own.
    branch = said["new_branch"]
    await sync(team, "push", to_branch=branch)
    git("fetch", "--quiet", cwd=clone)
    assert files_at(clone, f"origin/{branch}") == await forja_files(team)
    # (b) a merge: the two sides changed different files.
    merged = await sync(team, "pull", merge=True)
    assert merged["versions"] == [3]
    assert await forja_files(team) == {
        "index.html": TREE["index.html"],
        "README.md": "# Site, from the remote\n",
        "app.js": "go()\n",
    }
    await sync(team, "push")  # a fast-forward now
    git("pull", "--quiet", "--ff-only", cwd=clone)
    assert files_at(clone) == await forja_files(team)

    # Both change index.html: the merge is refused and nothing changes on either side.
    commit(clone, "index.html", "<h1>Remote title</h1>\n", "Remote title")
    await team.services.projects.save(team.project, {"index.html": "<h1>Forja title</h1>\n"}, message="Forja title")
    before = await forja_files(team)
    refused = await sync(team, "pull", 409, merge=True)
    assert refused["detail"].startswith("Both sides changed index.html; Forja merges only changes to different files")
    assert await forja_files(team) == before
    assert len(await team.services.projects.versions(team.project)) == 4


async def test_a_pull_checks_the_commits_a_merge_brings_and_its_objects_count_in_the_storage(
    team: Team, host: Host, tmp_path: Path
) -> None:
    await link(team, host, "merged")
    await sync(team, "push")
    clone = host.clone("merged", tmp_path / "clone")
    # A side branch with a link out, merged into main with main's own tree: main's line holds nothing wrong.
    git("checkout", "--quiet", "-b", "side", cwd=clone)
    (clone / "escape").symlink_to("/etc/passwd")
    git("add", "-A", cwd=clone)
    git("commit", "--quiet", "-m", "Side: a link", cwd=clone)
    side = git("rev-parse", "--short=10", "HEAD", cwd=clone).strip()
    git("checkout", "--quiet", "main", cwd=clone)
    git("merge", "--quiet", "--no-edit", "-s", "ours", "side", cwd=clone)
    git("push", "--quiet", "origin", "main", cwd=clone)

    refused = await sync(team, "pull", 422)
    assert refused["detail"] == (
        f"escape in {side} is a symbolic link; Forja keeps regular files only. Remove it first. Forja checks every new "
        "commit, merged ones too: take this one out of the history first."
    )
    assert len(await team.services.projects.versions(team.project)) == 1
    # The fetched objects stay in the mirror (no ref names them): what it takes on disk is measured again.
    storage = await team.services.quotas.storage_bytes(team.ana.actor.user_id)
    files = sum(len(text.encode()) for text in set(TREE.values()))
    assert storage == files + folder_bytes(repo_path(team.project))


async def test_a_wrong_token_is_refused_in_words(team: Team, host: Host, monkeypatch: pytest.MonkeyPatch) -> None:
    await link(team, host, "guarded", token="ghp_wrong_token_000")
    for action in ("push", "pull"):
        said = await sync(team, action, 400)
        assert "refused Forja's credentials" in said["detail"] and "ghp_wrong_token_000" not in said["detail"]
    bad = await team.ana.http.put(
        f"/api/projects/{team.project}/remote", json={"url": host.url("x").replace("http://", f"http://u:{TOKEN}@")}
    )
    assert bad.status_code == 422 and "not in the address" in bad.json()["detail"] and TOKEN not in bad.text
    monkeypatch.setattr(settings, "git_import_private", False)
    plain = await team.ana.http.put(
        f"/api/projects/{team.project}/remote", json={"url": "http://192.0.2.7/x.git", "token": TOKEN}
    )
    assert plain.status_code == 422 and "only over https://" in plain.json()["detail"] and TOKEN not in plain.text
    monkeypatch.setattr(settings, "git_import_private", True)
    odd = await sync(team, "push", 422, to_branch="a..b")
    assert odd["detail"] == f"'a..b' is not {BRANCH_RULES}."


def test_the_cli_links_pushes_and_pulls(host: Host, tmp_path: Path) -> None:
    cli = Cli(tmp_path / "data", FORJA_GIT_IMPORT_PRIVATE="1")
    folder = tmp_path / "site"
    folder.mkdir()
    (folder / "index.html").write_text(TREE["index.html"])
    project = cli.ok("import", str(folder)).strip()
    host.bare("cli")
    said = cli.json("remote", "set", project, host.url("cli"), "--token-stdin", input=TOKEN + "\n")
    assert said["url"] == host.url("cli") and said["has_token"] is True and TOKEN not in str(said)
    assert "Pushed up to version 1 to main" in cli.ok("remote", "push", project)
    clone = host.clone("cli", tmp_path / "clone")
    commit(clone, "index.html", "<h1>From the CLI's remote</h1>\n", "Remote edit")
    assert cli.json("remote", "pull", project)["versions"] == [2]


async def test_git_talks_to_the_addresses_forja_checked_not_to_a_second_lookup(
    team: Team, host: Host, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A name no resolver knows (.invalid) leads to the host only through the addresses Forja resolved and checked:
    git connects to those (http.curloptResolve) at each link, push and pull, so a name that answers differently a
    moment later (DNS rebinding) cannot send Forja's git elsewhere."""
    asked: list[str] = []

    def made_up(name: str, _port: int) -> list[str]:
        asked.append(name)
        return ["127.0.0.1"] if name == "git.forja-test.invalid" else []

    monkeypatch.setattr(builder.git.addresses, "resolve", made_up)
    host.bare("pinned")
    url = host.url("pinned").replace("127.0.0.1", "git.forja-test.invalid")
    answer = await team.ana.http.put(f"/api/projects/{team.project}/remote", json={"url": url, "token": TOKEN})
    assert answer.status_code == 200, answer.text
    pushed = await sync(team, "push")
    assert pushed["message"] == "Pushed up to version 1 to main of " + url + "."
    assert (host.root / "pinned.git" / "refs" / "heads" / "main").exists()
    assert set(asked) == {"git.forja-test.invalid"} and len(asked) >= 3  # the link, then each git command of the push

    gone = await team.ana.http.put(
        f"/api/projects/{team.project}/remote", json={"url": url.replace("git.forja-", "nowhere.forja-"), "token": TOKEN}
    )
    assert gone.status_code == 422
    assert gone.json()["detail"] == "nowhere.forja-test.invalid cannot be found from this server: check the repository's address."
