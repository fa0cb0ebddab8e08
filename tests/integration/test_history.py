"""Version history and project management (builder.services.history) on real SQLite and PostgreSQL.

Tests that take the `store` fixture run on both databases; the CLI handlers run on the
`services` fixture's SQLite database.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import os
import subprocess
import zipfile
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import ColumnElement, func, update
from sqlmodel import col, select

import builder.settings
from builder import db
from builder.cli import history, operator
from builder.cli.command import local_services
from builder.client.backend import Duplicated
from builder.client.local import LocalBackend
from builder.composition import Services
from builder.errors import FileTreeError, GitExportError, NotFound
from builder.filetree import read_zip
from builder.git.commands import link_path, repo_path
from builder.git.mirror import project_lock
from builder.models import LOCAL_USER_ID, Author, Blob, Generation, PreviewSession, Project, ShareLink, Version, VersionFile
from builder.services.access import LOCAL_ACTOR
from builder.services.history import slug
from builder.services.preview_runners import local_work_dir
from builder.store import ProjectStore, content_hash
from preview_runtime.local.homes import project_home
from preview_runtime.logs import LogHub

PNG = b"\x89PNG\r\n\x1a\n\x00\xff binary"
V1 = {"index.html": "<h1>Hello</h1>\n", "src/app.js": "one\ntwo\nthree\nfour\nfive\nsix\nseven\n", "logo.png": PNG}


@pytest.fixture
async def svc(store: ProjectStore) -> AsyncIterator[Services]:
    """Services on the parametrized store (SQLite and PostgreSQL)."""
    yield Services(store=store, logs=LogHub())


async def make_history(services: Services) -> str:
    """Version 1 (import), 2 (AI edit + new file + binary change), 3 (user deletes a file)."""
    created = await services.projects.create("Barber shop", V1, owner=LOCAL_USER_ID)
    pid = created.project_id
    await services.projects.save(
        pid,
        {
            "src/app.js": "one\ntwo\nTHREE\nfour\nfive\nsix\nseven\n",
            "src/new.js": "export const x = 1;\n",
            "logo.png": PNG + b"2",
        },
        message="AI edit",
        author=Author.ai,
    )
    await services.projects.save(pid, {}, ["index.html"], message="Removed the page")
    return pid


async def count(store: ProjectStore, model: type, *where: ColumnElement[bool] | bool) -> int:
    async with db.session_factory(store.engine)() as session:
        return (await session.exec(select(func.count()).select_from(model).where(*where))).one()


def text_tree(tree: dict[str, bytes]) -> dict[str, bytes]:
    return dict(sorted(tree.items()))


# -- diff -------------------------------------------------------------------------------------


async def test_diff_against_parent_shows_added_modified_and_binary(svc: Services) -> None:
    pid = await make_history(svc)
    diff = await svc.history.diff(pid, 2)
    assert diff.version == 2 and diff.against == 1
    by_path = {f.path: f for f in diff.files}
    assert [f.path for f in diff.files] == ["logo.png", "src/app.js", "src/new.js"]
    assert by_path["src/app.js"].status == "modified"
    assert by_path["src/app.js"].diff == (
        "--- a/src/app.js\n+++ b/src/app.js\n@@ -1,6 +1,6 @@\n one\n two\n-three\n+THREE\n four\n five\n six\n"
    )
    assert (by_path["src/app.js"].lines_added, by_path["src/app.js"].lines_removed) == (1, 1)
    assert by_path["src/new.js"].status == "added"
    assert by_path["src/new.js"].diff == "--- /dev/null\n+++ b/src/new.js\n@@ -0,0 +1 @@\n+export const x = 1;\n"
    png = by_path["logo.png"]
    assert png.binary and png.status == "modified"
    assert png.diff == "Binary files a/logo.png and b/logo.png differ\n"
    assert png.lines_added == png.lines_removed == 0
    assert (diff.files_changed, diff.lines_added, diff.lines_removed) == (3, 2, 1)


async def test_diff_of_version_one_is_against_the_empty_tree(svc: Services) -> None:
    pid = await make_history(svc)
    diff = await svc.history.diff(pid, 1)
    assert diff.against is None
    assert {f.path: f.status for f in diff.files} == {"index.html": "added", "logo.png": "added", "src/app.js": "added"}
    assert diff.lines_added == 1 + 7 and diff.lines_removed == 0
    assert {f.path: f.diff for f in diff.files}["logo.png"] == "Binary files /dev/null and b/logo.png differ\n"


async def test_diff_against_any_version_both_ways(svc: Services) -> None:
    pid = await make_history(svc)
    forward = await svc.history.diff(pid, 3, against=1)
    assert {f.path: f.status for f in forward.files} == {
        "index.html": "removed",
        "logo.png": "modified",
        "src/app.js": "modified",
        "src/new.js": "added",
    }
    removed = next(f for f in forward.files if f.path == "index.html")
    assert removed.diff == "--- a/index.html\n+++ /dev/null\n@@ -1 +0,0 @@\n-<h1>Hello</h1>\n"
    assert (forward.lines_added, forward.lines_removed) == (2, 2)
    backward = await svc.history.diff(pid, 1, against=3)
    assert {f.path: f.status for f in backward.files} == {
        "index.html": "added",
        "logo.png": "modified",
        "src/app.js": "modified",
        "src/new.js": "removed",
    }
    assert (backward.lines_added, backward.lines_removed) == (2, 2)
    same = await svc.history.diff(pid, 2, against=2)
    assert same.files == [] and same.files_changed == 0


async def test_diff_marks_a_missing_final_newline_and_keeps_other_line_breaks(svc: Services) -> None:
    created = await svc.projects.create("App", {"a.txt": "x\ny"}, owner=LOCAL_USER_ID)
    await svc.projects.save(created.project_id, {"a.txt": "x\ny\n\u2028z\r\n"})
    diff = await svc.history.diff(created.project_id, 2)
    assert diff.files[0].diff == (
        "--- a/a.txt\n+++ b/a.txt\n@@ -1,2 +1,3 @@\n x\n-y\n\\ No newline at end of file\n+y\n+\u2028z\r\n"
    )
    assert (diff.lines_added, diff.lines_removed) == (2, 1)


async def test_diff_output_applies_with_git(svc: Services, tmp_path: Path) -> None:
    pid = await make_history(svc)
    tmp_path = tmp_path / "work"
    text_v1 = {p: d for p, d in (await svc.projects.read_tree(pid, 1)).items() if not p.endswith(".png")}
    for path, data in text_v1.items():
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_bytes(data)
    diff = await svc.history.diff(pid, 3, against=1)
    patch = "".join(f.diff for f in diff.files if not f.binary)
    await asyncio.to_thread(
        subprocess.run, ["git", "apply", "-"], input=patch.encode(), cwd=tmp_path, check=True, env=git_env(tmp_path)
    )
    expected = {p: d for p, d in (await svc.projects.read_tree(pid, 3)).items() if not p.endswith(".png")}
    on_disk = {p.relative_to(tmp_path).as_posix(): p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    assert on_disk == expected


async def test_diff_of_unknown_project_or_version(svc: Services) -> None:
    pid = await make_history(svc)
    with pytest.raises(NotFound, match="no version 9"):
        await svc.history.diff(pid, 9)
    with pytest.raises(NotFound, match="no version 7"):
        await svc.history.diff(pid, 2, against=7)
    with pytest.raises(NotFound, match="no project"):
        await svc.history.diff("nope", 1)


# -- restore ----------------------------------------------------------------------------------


async def test_restore_makes_a_new_version_with_the_old_tree(svc: Services) -> None:
    pid = await make_history(svc)
    before = {n: await svc.projects.read_tree(pid, n) for n in (1, 2, 3)}
    result = await svc.history.restore(pid, 1)
    assert result.version.number == 4 and result.version.parent_number == 3
    assert result.version.author == Author.user and result.version.message == "Restored version 1"
    assert await svc.projects.read_tree(pid) == before[1]
    assert "src/new.js" not in await svc.projects.read_tree(pid)  # added after version 1: gone
    assert result.deleted == ["src/new.js"] and result.changed == ["index.html", "logo.png", "src/app.js"]
    assert [v.number for v in await svc.projects.versions(pid)] == [1, 2, 3, 4]
    assert {n: await svc.projects.read_tree(pid, n) for n in (1, 2, 3)} == before  # nothing lost
    assert any("Saved version 4" in line.text for line in svc.logs.history(pid))

    again = await svc.history.restore(pid, 3)
    assert again.version.number == 5 and await svc.projects.read_tree(pid) == before[3]


async def test_restore_of_the_current_tree_adds_nothing(svc: Services) -> None:
    pid = await make_history(svc)
    result = await svc.history.restore(pid, 3)
    assert result.version.number == 3 and result.changed == result.deleted == []
    assert len(await svc.projects.versions(pid)) == 3
    with pytest.raises(NotFound, match="no version 8"):
        await svc.history.restore(pid, 8)


# -- export -----------------------------------------------------------------------------------


async def test_export_zip_of_an_old_version_equals_its_tree(svc: Services) -> None:
    pid = await make_history(svc)
    filename, data = await svc.history.export_zip(pid, 1)
    assert filename == "barber-shop-v1.zip"
    assert read_zip(data) == await svc.projects.read_tree(pid, 1)
    filename, data = await svc.history.export_zip(pid)
    assert filename == "barber-shop-v3.zip"
    assert zipfile.ZipFile(io.BytesIO(data)).namelist() == ["logo.png", "src/app.js", "src/new.js"]


def test_slug_is_ascii_and_never_empty() -> None:
    assert slug('Café "Olé" / 🚀 app') == "cafe-ole-app"
    assert slug("🚀") == "project"


def git_env(home: Path) -> dict[str, str]:
    return {
        "PATH": os.environ.get("PATH", os.defpath),
        "HOME": str(home),
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_CONFIG_GLOBAL": os.devnull,
        "LC_ALL": "C",
    }


def git(cwd: Path, *args: str) -> str:
    done = subprocess.run(["git", *args], cwd=cwd, env=git_env(cwd), capture_output=True, check=True, text=True)
    return done.stdout


async def test_git_bundle_clones_with_one_commit_per_version(svc: Services, tmp_path: Path) -> None:
    pid = await make_history(svc)
    await svc.projects.rename(pid, "Barber shop ☕")
    await svc.history.restore(pid, 1)
    await svc.projects.save(pid, {'odd "name" é.txt': "quoted path\n"}, message="Line one\n\nMore detail")
    filename, data = await svc.history.export_bundle(pid)
    assert filename == "barber-shop.bundle"
    bundle = tmp_path / filename
    bundle.write_bytes(data)
    git(tmp_path, "clone", "--quiet", str(bundle), "clone")
    clone = tmp_path / "clone"
    git(clone, "bundle", "verify", "--quiet", str(bundle))
    git(clone, "fsck", "--strict")

    versions = await svc.projects.versions(pid)
    log = git(clone, "log", "--reverse", "--format=%H%x00%an%x00%ae%x00%at%x00%ct%x00%B%x01", "main")
    commits = [entry.strip("\n").split("\x00") for entry in log.split("\x01") if entry.strip()]
    assert len(commits) == len(versions) == 5
    for (_sha, name, email, author_time, commit_time, message), version in zip(commits, versions, strict=True):
        assert message.strip() == (version.message or f"Version {version.number}")  # git needs a message
        assert name == {Author.import_: "Import", Author.ai: "Forja AI", Author.user: "You"}[version.author]
        assert email.endswith("@forja.invalid")
        assert int(author_time) == int(commit_time) == int(version.created_at.timestamp())
    parents = git(clone, "log", "--format=%P", "main").split("\n")
    assert [len(p.split()) for p in parents if p] == [1, 1, 1, 1] and parents[-2] == ""  # linear, root first
    assert [t for t in git(clone, "tag", "--list").split()] == ["v1", "v2", "v3", "v4", "v5"]

    current = await svc.projects.read_tree(pid)
    on_disk = {p.relative_to(clone).as_posix(): p.read_bytes() for p in clone.rglob("*") if p.is_file() and ".git" not in p.parts}
    assert on_disk == current
    for version in (1, 2, 3):
        listed = git(clone, "ls-tree", "-r", "-z", "--name-only", f"v{version}").strip("\x00").split("\x00")
        assert sorted(listed) == sorted(await svc.projects.read_tree(pid, version))
        assert git(clone, "show", f"v{version}:src/app.js").encode() == (await svc.projects.read_tree(pid, version))["src/app.js"]


async def test_git_bundle_of_a_project_without_versions(svc: Services) -> None:
    pid = await svc.projects.create_empty("Empty", owner=LOCAL_USER_ID)
    with pytest.raises(NotFound, match="no versions yet"):
        await svc.history.export_bundle(pid)


async def test_git_bundle_leaves_out_dot_git_paths(svc: Services, tmp_path: Path) -> None:
    created = await svc.projects.create(
        "App", {"index.html": "hi", ".GIT/config": "[core]", "a/.git/hooks/x": "evil"}, owner=LOCAL_USER_ID
    )
    _, data = await svc.history.export_bundle(created.project_id)
    (tmp_path / "p.bundle").write_bytes(data)
    git(tmp_path, "clone", "--quiet", "p.bundle", "clone")
    assert git(tmp_path / "clone", "ls-files").split() == ["index.html"]


async def test_git_missing_is_a_plain_error(svc: Services, monkeypatch: pytest.MonkeyPatch) -> None:
    pid = await make_history(svc)
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(GitExportError, match="git is not installed"):
        await svc.history.export_bundle(pid)


# -- duplicate, rename --------------------------------------------------------------------------


async def test_duplicate_from_version_one(svc: Services) -> None:
    pid = await make_history(svc)
    await svc.projects.set_provider(pid, "anthropic", "claude-x")
    copy_id = await svc.history.duplicate(pid, version=1, owner=LOCAL_USER_ID)
    assert copy_id != pid
    copy = await svc.projects.get(copy_id)
    assert copy.name == "Barber shop (copy)" and copy.provider == "anthropic" and copy.model == "claude-x"
    assert [(v.number, v.author, v.message) for v in copy.versions] == [
        (1, Author.import_, "Duplicated from Barber shop version 1")
    ]
    assert copy.versions[0].files_changed == 3 and copy.file_count == 3
    assert await svc.projects.read_tree(copy_id) == await svc.projects.read_tree(pid, 1)
    # The copy shares blobs; the original is untouched and both evolve separately.
    await svc.projects.save(copy_id, {"index.html": "changed"})
    assert (await svc.projects.read_tree(pid, 1))["index.html"] == b"<h1>Hello</h1>\n"
    assert len(await svc.projects.versions(pid)) == 3
    named = await svc.history.duplicate(pid, name="  Fork  ", owner=LOCAL_USER_ID)
    assert (await svc.projects.get(named)).name == "Fork"
    # A copy of a copy is numbered, not "(copy) (copy)".
    second = await svc.history.duplicate(copy_id, owner=LOCAL_USER_ID)
    assert (await svc.projects.get(second)).name == "Barber shop (copy 2)"
    third = await svc.history.duplicate(second, owner=LOCAL_USER_ID)
    assert (await svc.projects.get(third)).name == "Barber shop (copy 3)"
    assert await svc.projects.read_tree(named) == await svc.projects.read_tree(pid)
    with pytest.raises(NotFound):
        await svc.history.duplicate(pid, version=9, owner=LOCAL_USER_ID)


async def test_duplicate_detects_the_stack_of_the_copied_version(svc: Services) -> None:
    created = await svc.projects.create("App", {"index.html": "hi"}, owner=LOCAL_USER_ID)
    await svc.projects.save(
        created.project_id, {"package.json": '{"dependencies": {"react": "18"}, "devDependencies": {"vite": "5"}}'}
    )
    assert (await svc.projects.get(created.project_id)).stack == ["react", "vite"]
    copy = await svc.history.duplicate(created.project_id, version=1, owner=LOCAL_USER_ID)
    assert (await svc.projects.get(copy)).stack == ["html"]


async def test_rename(svc: Services) -> None:
    pid = await make_history(svc)
    assert (await svc.projects.rename(pid, "  New   name ")).name == "New name"
    with pytest.raises(FileTreeError, match="cannot be empty"):
        await svc.projects.rename(pid, "   ")


# -- trash ------------------------------------------------------------------------------------


async def test_trash_hides_and_restore_brings_back(svc: Services) -> None:
    pid = await make_history(svc)
    other = (await svc.projects.create("Other", {"a.js": "a"}, owner=LOCAL_USER_ID)).project_id
    await svc.history.delete(pid)
    assert [p.id for p in await svc.projects.summaries(LOCAL_ACTOR)] == [other]
    for read in (svc.projects.get(pid), svc.projects.read_tree(pid, 1), svc.projects.versions(pid)):
        with pytest.raises(NotFound):
            await read
    with pytest.raises(NotFound):
        await svc.projects.save(pid, {"x.js": "x"})
    with pytest.raises(NotFound):
        await svc.history.delete(pid)  # already in the trash
    trash = await svc.history.list_trash(LOCAL_ACTOR)
    assert [t.id for t in trash] == [pid]
    assert trash[0].name == "Barber shop" and trash[0].current_version == 3
    assert trash[0].purge_at == trash[0].deleted_at + timedelta(days=30)

    restored = await svc.history.undelete(pid)
    assert restored.id == pid and restored.current_version == 3
    assert {p.id for p in await svc.projects.summaries(LOCAL_ACTOR)} == {pid, other}
    assert await svc.history.list_trash(LOCAL_ACTOR) == []
    assert len(await svc.projects.versions(pid)) == 3
    with pytest.raises(NotFound, match="in the trash"):
        await svc.history.undelete(pid)
    with pytest.raises(NotFound, match="in the trash"):
        await svc.history.undelete("nope")


async def set_deleted_at(store: ProjectStore, project_id: str, when: datetime) -> None:
    async with db.session_factory(store.engine)() as session, session.begin():
        await session.exec(update(Project).where(col(Project.id) == project_id).values(deleted_at=when))


async def test_purge_deletes_old_trash_and_unshared_blobs_only(
    svc: Services, store: ProjectStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(builder.settings.settings, "data_dir", tmp_path)
    pid = await make_history(svc)
    # Another project shares one blob (app.js of version 2's edit is unique to pid; index.html is shared).
    keeper = (
        await store.create_project("Keeper", {"index.html": "<h1>Hello</h1>\n", "k.js": "k"}, owner=LOCAL_USER_ID)
    ).project_id
    recent = (await store.create_project("Recent", {"r.js": "r"}, owner=LOCAL_USER_ID)).project_id
    versions = await store.list_versions(pid)
    generation = await store.start_generation(pid, "make it", "offline", "", stale_before=datetime.now(UTC) - timedelta(hours=1))
    await store.finish_generation(generation, outcome="saved", version_id=versions[1].id)
    async with db.session_factory(store.engine)() as session, session.begin():
        session.add(PreviewSession(project_id=pid, version_id=versions[2].id, runner="local"))
        session.add(ShareLink(project_id=pid, version_id=versions[2].id, token_hash=content_hash(b"token")))
    trees = [await store.read_tree(pid, n) for n in (1, 2, 3)]
    own = {content_hash(d) for t in trees for d in t.values()} - {content_hash(b"<h1>Hello</h1>\n")}
    shared = content_hash(b"<h1>Hello</h1>\n")

    homes = {project: project_home(local_work_dir(), project) for project in (pid, recent)}
    for home in homes.values():  # what the local runner kept for each: a home with npm's cache in it
        (home / ".npm").mkdir(parents=True)
    for project in (pid, recent):  # and git: each project's repository, and a remote's link
        async with project_lock(project):
            await svc.git.mirror.sync(project)
        link_path(project).parent.mkdir(parents=True, exist_ok=True)
        link_path(project).write_text("{}")
    await svc.history.delete(pid)
    await svc.history.delete(recent)
    assert (await svc.history.purge_expired()).projects == []  # trashed just now: kept
    await set_deleted_at(store, pid, datetime.now(UTC) - timedelta(days=31))
    await set_deleted_at(store, recent, datetime.now(UTC) - timedelta(days=29))

    result = await svc.history.purge_expired(days=30)
    assert result.projects == [pid] and result.versions == 3 and result.blobs == len(own)
    assert await count(store, Project, Project.id == pid) == 0
    assert await count(store, Version, Version.project_id == pid) == 0
    assert await count(store, VersionFile, VersionFile.version_id.in_([v.id for v in versions])) == 0  # type: ignore[attr-defined]
    for model in (Generation, PreviewSession, ShareLink):
        assert await count(store, model, model.project_id == pid) == 0
    assert await count(store, Blob, Blob.hash.in_(own)) == 0  # type: ignore[attr-defined]
    assert await count(store, Blob, Blob.hash == shared) == 1
    assert (await store.read_tree(keeper))["index.html"] == b"<h1>Hello</h1>\n"
    assert [t.id for t in await svc.history.list_trash(LOCAL_ACTOR)] == [recent]
    assert not homes[pid].exists() and homes[recent].is_dir()  # a project's home goes with it, not before
    assert not repo_path(pid).exists() and not link_path(pid).exists()
    assert (repo_path(recent) / "HEAD").is_file() and link_path(recent).is_file()
    assert (await svc.history.purge_expired(days=30)).projects == []
    assert (await svc.history.purge_expired(days=0)).projects == [recent]
    assert await count(store, Project) == 1


async def test_purge_keeps_blobs_of_a_duplicate(svc: Services, store: ProjectStore) -> None:
    pid = await make_history(svc)
    copy = await svc.history.duplicate(pid, version=2, owner=LOCAL_USER_ID)
    await svc.history.delete(pid)
    await set_deleted_at(store, pid, datetime.now(UTC) - timedelta(days=40))
    result = await svc.history.purge_expired()
    assert result.projects == [pid]
    assert result.blobs > 0  # version 1's app.js and logo were only the original's
    assert len(await svc.projects.read_tree(copy)) == 4
    assert await svc.projects.read_tree(copy) == {
        "index.html": b"<h1>Hello</h1>\n",
        "logo.png": PNG + b"2",
        "src/app.js": b"one\ntwo\nTHREE\nfour\nfive\nsix\nseven\n",
        "src/new.js": b"export const x = 1;\n",
    }


# -- CLI handlers (builder.cli wires them; here they run directly) ------------------------------


# The history commands, and the operator's (purge-trash) with them.
COMMANDS = history.COMMANDS | operator.COMMANDS


def cli_parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="python -m builder")
    sub = root.add_subparsers(dest="command", required=True)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--json", action="store_true")
    history.add_parsers(sub, common)
    operator.add_parsers(sub, common)
    return root


async def run_cli(services: Services, *argv: str) -> tuple[object, str]:
    """The command as builder.cli runs it without accounts: on this database, as the local user."""
    args = cli_parser().parse_args(argv)
    command = COMMANDS[args.command]
    if command.needs is local_services:
        return await command.run(services, args)
    backend = LocalBackend(services, LOCAL_ACTOR)
    try:
        return await command.run(backend, args)
    finally:
        await backend.close()


def test_every_command_has_a_parser() -> None:
    parser = cli_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    assert set(sub.choices) == set(COMMANDS)
    args = parser.parse_args(["diff", "abc", "3", "--against", "1", "--json"])
    assert (args.id, args.version, args.against, args.json) == ("abc", 3, 1, True)
    with pytest.raises(SystemExit):
        parser.parse_args(["purge-trash", "--days", "-1"])


async def test_cli_history_diff_restore(services: Services) -> None:
    pid = await make_history(services)
    value, text = await run_cli(services, "history", pid)
    lines = text.splitlines()
    assert len(lines) == 3 and lines[0].startswith("* v3") and "You" in lines[0] and "Removed the page" in lines[0]
    assert "Forja AI" in lines[1] and "3 files" in lines[1] and "Import" in lines[2]
    assert [v.number for v in value] == [1, 2, 3]  # type: ignore[attr-defined]

    _, text = await run_cli(services, "diff", pid, "2")
    assert "--- a/src/app.js\n+++ b/src/app.js\n" in text and "-three\n+THREE\n" in text
    assert "Binary files a/logo.png and b/logo.png differ" in text
    assert text.endswith("3 files changed, 2 lines added, 1 removed (version 2 against version 1).")
    _, text = await run_cli(services, "diff", pid, "2", "--against", "2")
    assert text == "No changes between version 2 and version 2."

    value, text = await run_cli(services, "restore", pid, "1")
    assert text == "Restored version 1 as version 4." and value.number == 4  # type: ignore[attr-defined]
    _, text = await run_cli(services, "restore", pid, "4")
    assert text == "Version 4 already matches the current version 4."


async def test_cli_export_bundle(services: Services, tmp_path: Path) -> None:
    pid = await make_history(services)
    out = tmp_path / "p.bundle"
    value, text = await run_cli(services, "export-bundle", pid, "--out", str(out))
    assert value["commits"] == 3 and out.stat().st_size == value["bytes"]  # type: ignore[index]
    assert text == f"Wrote 3 versions as git commits to {out}; open it with: git clone {out}"
    git(tmp_path, "clone", "--quiet", str(out), "c")
    assert git(tmp_path / "c", "rev-list", "--count", "HEAD").strip() == "3"


async def test_cli_clone_url_prints_the_command_that_clones(
    services: Services, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pid = await make_history(services)
    value, text = await run_cli(services, "clone-url", pid)
    assert text == f"git clone {builder.settings.settings.base_url}/git/{pid}.git"  # no accounts: no token to give
    assert value == {"id": pid, "url": text.removeprefix("git clone ")}
    with pytest.raises(NotFound):
        await run_cli(services, "clone-url", "nope")


async def test_cli_rename_duplicate_delete_trash_undelete_purge(services: Services) -> None:
    pid = await make_history(services)
    _, text = await run_cli(services, "rename", pid, "Salon")
    assert text == f"Renamed {pid} to Salon"
    value, new_id = await run_cli(services, "duplicate", pid, "--version", "1", "--name", "Salon v1")
    assert value == Duplicated(id=str(new_id), name="Salon v1", version=1)
    assert await services.projects.read_tree(str(new_id)) == await services.projects.read_tree(pid, 1)

    _, text = await run_cli(services, "delete", pid)
    assert text == f"Moved {pid} to the trash; undo with: python -m builder undelete {pid}"
    value, text = await run_cli(services, "trash")
    assert [t.id for t in value] == [pid] and text.startswith(pid) and text.endswith("Salon")  # type: ignore[attr-defined]
    _, text = await run_cli(services, "undelete", pid)
    assert text == f"Restored {pid} (Salon) from the trash."
    _, text = await run_cli(services, "trash")
    assert text == "The trash is empty."
    await run_cli(services, "delete", pid)
    value, text = await run_cli(services, "purge-trash", "--days", "0")
    assert value.projects == [pid]  # type: ignore[attr-defined]
    assert text.startswith("Deleted 1 projects for good (3 versions,")
    with pytest.raises(NotFound):
        await run_cli(services, "undelete", pid)
