"""The git mirror of a project's history (builder/git/mirror.py) in process, and who may reach /git/ without accounts."""

from __future__ import annotations

import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from builder.api import api, guarded
from builder.composition import Services
from builder.git.commands import repo_path
from builder.git.mirror import PACK_TAGS_AT, project_lock, version_tags
from builder.models import LOCAL_USER_ID, Author, ProjectRole
from builder.services.text_edits import TextChange
from builder.settings import settings
from builder.store import ProjectStore
from tests.accounts import BASE, Person


def git_out(repo: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True, check=True).stdout


async def sync(services: Services, project: str) -> str | None:
    async with project_lock(project):
        head = await services.git.mirror.sync(project)
    return head.commit if head else None


async def test_each_version_is_a_commit_by_its_author_at_its_time_and_kept(
    accounts_on: Services, store: ProjectStore, ana: Person, bo: Person
) -> None:
    services = accounts_on
    project = (
        await services.projects.create("Site", {"index.html": "<h1>Hi</h1>\n"}, message="Start", owner=ana.actor.user_id)
    ).project_id
    made = await services.projects.save(project, {"app.js": "go()\n"}, message="Add the script", author=Author.ai)  # v2
    asked = await store.start_generation(
        project, "Add the script", "claude", "claude-sonnet-4-5", datetime.now(UTC) - timedelta(hours=1)
    )
    await store.finish_generation(asked, version_id=made.version.id, outcome="saved")
    await services.projects.save(project, {"index.html": "<h1>Hello</h1>\n"}, message="Edited index.html")  # v3

    head = await sync(services, project)
    repo = repo_path(project)
    assert head == git_out(repo, "rev-parse", "main").strip()
    log = git_out(repo, "log", "--reverse", "--format=%an <%ae> %at%n%B%x00", "main").split("\0")
    versions = await services.projects.versions(project)
    assert len(versions) == 3
    expected = [
        # An import is its owner's: the version records who saved it.
        f"Ana Lima <ana@example.org> {int(versions[0].created_at.replace(tzinfo=UTC).timestamp())}\nStart\n",
        f"Forja <forja@forja.invalid> {int(versions[1].created_at.replace(tzinfo=UTC).timestamp())}\n"
        "Add the script\n\nModel: claude-sonnet-4-5\n",
        f"Ana Lima <ana@example.org> {int(versions[2].created_at.replace(tzinfo=UTC).timestamp())}\nEdited index.html\n",
    ]
    assert [entry.strip("\n") + "\n" for entry in log if entry.strip()] == expected
    assert git_out(repo, "cat-file", "blob", "v3:index.html") == "<h1>Hello</h1>\n"

    # Versions already mirrored keep their commits: with two people on the project a rebuild would author v3 otherwise.
    await services.access.add_member(project, "bo@example.org", ProjectRole.editor)
    await services.projects.save(project, {"README.md": "# Site\n"}, message="Readme")  # v4
    before = version_tags(repo)
    assert await sync(services, project) == git_out(repo, "rev-parse", "v4").strip()
    after = version_tags(repo)
    assert {n: after[n] for n in (1, 2, 3)} == {n: before[n] for n in (1, 2, 3)}
    assert git_out(repo, "log", "-1", "--format=%an", "v4").strip() == "You"  # nobody in particular: two people
    assert git_out(repo, "rev-parse", "v4^").strip() == after[3]

    # Who saved a version is recorded: Bo's save and his restore are his, Ana's text edit hers, with two people on it.
    await services.projects.save(project, {"README.md": "# Bo's site\n"}, message="Bo's readme", user_id=bo.actor.user_id)
    await services.history.restore(project, 3, bo.actor.user_id)  # v6
    change = TextChange(old="Hello", new="Welcome", dom_path="h1")
    await services.text_edits.replace_text(project, change, ana.actor.user_id)  # v7
    await sync(services, project)
    authors = git_out(repo, "log", "--format=%an <%ae>", "v4..v7").splitlines()
    assert authors == ["Ana Lima <ana@example.org>", "Bo Park <bo@example.org>", "Bo Park <bo@example.org>"]
    assert [v.user_id for v in (await services.projects.versions(project))[3:]] == [
        None,
        bo.actor.user_id,
        bo.actor.user_id,
        ana.actor.user_id,
    ]

    # A mirror ahead of the store (a database restored from a backup, Forja restarted) is made again.
    git_out(repo, "tag", "v19", "v1")
    services.git.mirror.forget(project)
    await sync(services, project)
    assert sorted(version_tags(repo)) == [1, 2, 3, 4, 5, 6, 7]


async def test_a_long_historys_tags_are_packed_and_still_name_every_version(services: Services) -> None:
    project = (await services.projects.create("Long", {"n.txt": "0\n"}, message="Start", owner=LOCAL_USER_ID)).project_id
    for n in range(1, PACK_TAGS_AT + 2):
        await services.projects.save(project, {"n.txt": f"{n}\n"}, message=f"Count {n}")
    await sync(services, project)
    repo = repo_path(project)
    count = PACK_TAGS_AT + 2
    # git reads each loose ref at every request; packed, they are one file.
    assert not list((repo / "refs" / "tags").iterdir())
    assert (repo / "packed-refs").read_text().count("refs/tags/v") == count
    assert sorted(version_tags(repo)) == list(range(1, count + 1))

    # A new version's tag is loose until enough of them are; every tag names its version's commit either way.
    await services.projects.save(project, {"n.txt": "last\n"}, message="Last")
    await sync(services, project)
    assert [p.name for p in (repo / "refs" / "tags").iterdir()] == [f"v{count + 1}"]
    tags = version_tags(repo)
    assert sorted(tags) == list(range(1, count + 2))
    assert git_out(repo, "cat-file", "blob", f"{tags[count]}:n.txt") == f"{count - 1}\n"
    assert git_out(repo, "rev-parse", "main").strip() == tags[count + 1]


@pytest.mark.parametrize(("address", "status"), [("127.0.0.1", 200), ("::1", 200), ("203.0.113.9", 404)])
async def test_without_accounts_only_this_machine_may_use_git(
    services: Services, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, address: str, status: int
) -> None:
    monkeypatch.setattr(settings, "data_dir", tmp_path / "data")
    project = (await services.projects.create("Site", {"index.html": "<h1>Hi</h1>\n"}, owner=LOCAL_USER_ID)).project_id
    transport = httpx.ASGITransport(app=guarded(api), client=(address, 40000))
    async with httpx.AsyncClient(transport=transport, base_url=BASE) as http:
        answer = await http.get(f"/git/{project}.git/info/refs", params={"service": "git-upload-pack"})
    assert answer.status_code == status, answer.text
    if status == 200:
        assert answer.headers["content-type"] == "application/x-git-upload-pack-advertisement"
        assert b"refs/heads/main" in answer.content


async def test_the_readable_alias_is_the_same_repository_with_the_same_rules(
    accounts_on: Services, ana: Person, bo: Person
) -> None:
    services = accounts_on
    made = await services.projects.create("My Shop!", {"index.html": "<h1>Hi</h1>\n"}, owner=ana.actor.user_id)
    refs = {"service": "git-upload-pack"}
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=guarded(api)), base_url=BASE) as http:
        by_id = await http.get(f"/git/{made.project_id}.git/info/refs", params=refs, auth=("ana", ana.token))
        by_name = await http.get("/git/ana/my-shop.git/info/refs", params=refs, auth=("ana", ana.token))
        assert by_id.status_code == by_name.status_code == 200 and by_name.content == by_id.content
        stranger = await http.get("/git/ana/my-shop.git/info/refs", params=refs, auth=("bo", bo.token))
        nobody = await http.get("/git/ana/no-such-shop.git/info/refs", params=refs, auth=("ana", ana.token))
        assert stranger.status_code == nobody.status_code == 404 and stranger.text == nobody.text == "Not found.\n"
        await services.projects.create("My shop", {"index.html": "<h1>Two</h1>\n"}, owner=ana.actor.user_id)
        twice = await http.get("/git/ana/my-shop.git/info/refs", params=refs, auth=("ana", ana.token))
        assert twice.status_code == 404 and "use /git/<id>.git" in twice.text
