"""ProjectStore on real SQLite and real PostgreSQL (the `store` fixture runs every test on both)."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import func
from sqlmodel import select

from builder import db
from builder.errors import FileTreeError, NotFound, VersionMoved
from builder.filetree import Limits
from builder.models import LOCAL_USER_ID, Author, Blob, Version
from builder.store import ProjectStore, content_hash

REACT_VITE = b'{"dependencies": {"react": "^18.3.1", "react-dom": "^18.3.1"}, "devDependencies": {"vite": "^5.4.0"}}'


async def blob_count(store: ProjectStore, digest: str | None = None) -> int:
    query = select(func.count()).select_from(Blob)
    if digest is not None:
        query = query.where(Blob.hash == digest)
    async with db.session_factory(store.engine)() as session:
        return (await session.exec(query)).one()


async def version_count(store: ProjectStore) -> int:
    async with db.session_factory(store.engine)() as session:
        return (await session.exec(select(func.count()).select_from(Version))).one()


async def test_create_project_makes_version_one_by_import(store: ProjectStore) -> None:
    result = await store.create_project(
        "  My   app ", {"index.html": "<h1>Hi</h1>", "src/app.js": "console.log(1)"}, owner=LOCAL_USER_ID
    )
    assert result.version.number == 1
    assert result.version.parent_number is None
    assert result.version.author == Author.import_
    assert result.version.files_changed == 2
    assert result.changed == ["index.html", "src/app.js"]

    detail = await store.get_project(result.project_id)
    assert detail.name == "My app"
    assert detail.current_version == 1
    assert detail.file_count == 2
    assert [v.number for v in detail.versions] == [1]
    assert detail.versions[0].author == Author.import_
    assert await store.read_tree(result.project_id) == {"index.html": b"<h1>Hi</h1>", "src/app.js": b"console.log(1)"}


async def test_create_project_refuses_an_empty_tree(store: ProjectStore) -> None:
    with pytest.raises(FileTreeError, match="at least one file"):
        await store.create_project("Empty", {}, owner=LOCAL_USER_ID)
    assert await store.list_projects() == []


async def test_commit_adds_version_with_parent_and_counts_only_changed_files(store: ProjectStore) -> None:
    created = await store.create_project("App", {"a.js": "a", "b.js": "b", "c.js": "c"}, owner=LOCAL_USER_ID)
    result = await store.commit(created.project_id, {"a.js": "a", "b.js": "B!", "d.js": "d"}, message="edit")
    assert result.version.number == 2
    assert result.version.parent_number == 1
    assert result.version.author == Author.user
    assert result.version.message == "edit"
    assert result.changed == ["b.js", "d.js"]
    assert result.version.files_changed == 2
    assert await store.read_tree(created.project_id) == {"a.js": b"a", "b.js": b"B!", "c.js": b"c", "d.js": b"d"}
    versions = await store.list_versions(created.project_id)
    assert [(v.number, v.parent_number) for v in versions] == [(1, None), (2, 1)]


async def test_noop_commit_adds_no_version(store: ProjectStore) -> None:
    created = await store.create_project("App", {"a.js": "a", "b.js": "b"}, owner=LOCAL_USER_ID)
    result = await store.commit(created.project_id, {"a.js": "a", "b.js": b"b"})
    assert result.version.number == 1
    assert result.changed == [] and result.deleted == []
    assert [v.number for v in await store.list_versions(created.project_id)] == [1]
    assert await version_count(store) == 1


async def test_content_is_stored_once_by_hash(store: ProjectStore) -> None:
    shared = b"<!doctype html><h1>same in both</h1>"
    first = await store.create_project("One", {"index.html": shared, "one.js": "1"}, owner=LOCAL_USER_ID)
    second = await store.create_project("Two", {"index.html": shared, "copy/index.html": shared}, owner=LOCAL_USER_ID)
    assert await blob_count(store, content_hash(shared)) == 1
    assert await blob_count(store) == 2  # the shared page and one.js
    # A commit that rewrites a file to already-stored content adds no blob either.
    await store.commit(first.project_id, {"one.js": shared})
    assert await blob_count(store) == 2
    assert await store.read_file(second.project_id, "copy/index.html") == shared


async def test_old_versions_keep_their_content(store: ProjectStore) -> None:
    created = await store.create_project("App", {"a.js": "v1", "keep.txt": "same"}, owner=LOCAL_USER_ID)
    await store.commit(created.project_id, {"a.js": "v2"})
    await store.commit(created.project_id, {"a.js": "v3", "new.js": "n"})
    pid = created.project_id
    assert await store.read_file(pid, "a.js", version=1) == b"v1"
    assert await store.read_file(pid, "a.js", version=2) == b"v2"
    assert await store.read_file(pid, "a.js") == b"v3"
    assert await store.read_tree(pid, 1) == {"a.js": b"v1", "keep.txt": b"same"}
    assert [f.path for f in await store.list_files(pid, 2)] == ["a.js", "keep.txt"]
    assert [f.path for f in await store.list_files(pid)] == ["a.js", "keep.txt", "new.js"]
    with pytest.raises(NotFound, match="no version 9"):
        await store.read_tree(pid, 9)
    with pytest.raises(NotFound, match=r"no file .new\.js. in version 1"):
        await store.read_file(pid, "new.js", version=1)


async def test_delete_removes_file_in_new_version(store: ProjectStore) -> None:
    created = await store.create_project("App", {"a.js": "a", "b.js": "b"}, owner=LOCAL_USER_ID)
    result = await store.commit(created.project_id, {}, deletes=["b.js"])
    assert result.version.number == 2
    assert result.deleted == ["b.js"]
    assert result.version.files_changed == 1
    assert await store.read_tree(created.project_id) == {"a.js": b"a"}
    assert await store.read_tree(created.project_id, 1) == {"a.js": b"a", "b.js": b"b"}


async def test_deleting_a_missing_file_raises_not_found(store: ProjectStore) -> None:
    created = await store.create_project("App", {"a.js": "a"}, owner=LOCAL_USER_ID)
    with pytest.raises(NotFound) as caught:
        await store.commit(created.project_id, {"a.js": "changed"}, deletes=["nope.js"])
    message = str(caught.value)
    assert "nope.js" in message and created.project_id in message
    assert await store.read_tree(created.project_id) == {"a.js": b"a"}
    assert await version_count(store) == 1


async def test_unknown_project_raises_not_found(store: ProjectStore) -> None:
    for call in (
        store.get_project("nosuchproject"),
        store.list_files("nosuchproject"),
        store.commit("nosuchproject", {"a.js": "a"}),
    ):
        with pytest.raises(NotFound, match="no project 'nosuchproject'"):
            await call


@pytest.mark.parametrize("bad", ["../evil.js", "/etc/passwd", "a\\b.js", "C:/x.js", "nul\x00.js"])
async def test_bad_path_in_commit_changes_nothing(store: ProjectStore, bad: str) -> None:
    created = await store.create_project("App", {"a.js": "a"}, owner=LOCAL_USER_ID)
    blobs = await blob_count(store)
    with pytest.raises(FileTreeError) as caught:
        await store.commit(created.project_id, {"good.js": "fine", bad: "evil"})
    assert caught.value.path == bad
    assert await version_count(store) == 1
    assert await blob_count(store) == blobs
    assert await store.read_tree(created.project_id) == {"a.js": b"a"}


async def test_bad_content_in_commit_changes_nothing(store: ProjectStore) -> None:
    created = await store.create_project("App", {"a.js": "a"}, owner=LOCAL_USER_ID)
    blobs = await blob_count(store)
    with pytest.raises(FileTreeError, match=r"bad\.js is not valid text \(a lone surrogate"):
        await store.commit(created.project_id, {"good.js": "fine", "bad.js": "\ud800"})
    assert await version_count(store) == 1
    assert await blob_count(store) == blobs
    assert await store.read_tree(created.project_id) == {"a.js": b"a"}


async def test_commit_over_the_file_limit_is_refused_whole(database_urls) -> None:
    small = ProjectStore(db.create_engine(database_urls.async_), Limits(3, 1000, 100, 200))
    try:
        created = await small.create_project("App", {"a.js": "a", "b.js": "b"}, owner=LOCAL_USER_ID)
        with pytest.raises(FileTreeError, match="would have 4 files; the limit is 3"):
            await small.commit(created.project_id, {"c.js": "c", "d.js": "d"})
        assert await small.read_tree(created.project_id) == {"a.js": b"a", "b.js": b"b"}
        assert await version_count(small) == 1
        # Replacing one file with another keeps it at the limit, which is allowed.
        ok = await small.commit(created.project_id, {"c.js": "c", "d.js": "d"}, deletes=["a.js", "b.js"])
        assert ok.version.number == 2

        # Each commit is under the size limit; the tree after the second one is not.
        await small.commit(created.project_id, {"big.txt": "x" * 60})
        with pytest.raises(FileTreeError, match="would hold 111 bytes; the limit is 100 bytes"):
            await small.commit(created.project_id, {"big2.txt": "y" * 50}, deletes=["d.js"])
        assert await version_count(small) == 3
        assert sorted(await small.read_tree(created.project_id)) == ["big.txt", "c.js", "d.js"]
        with pytest.raises(FileTreeError, match="the limit is 3"):
            await small.create_project("Too many", {"1.js": "", "2.js": "", "3.js": "", "4.js": ""}, owner=LOCAL_USER_ID)
    finally:
        await small.close()


async def test_file_and_folder_with_the_same_name_are_refused(store: ProjectStore) -> None:
    with pytest.raises(FileTreeError, match=r"src(/a\.js)? is both a file and a folder"):
        await store.create_project("Clash", {"src": "x", "src/a.js": "y"}, owner=LOCAL_USER_ID)
    created = await store.create_project("App", {"src": "x", "lib/a.js": "y"}, owner=LOCAL_USER_ID)
    with pytest.raises(FileTreeError, match="src is both a file and a folder"):
        await store.commit(created.project_id, {"src/a.js": "y"})
    with pytest.raises(FileTreeError, match="lib is both a file and a folder"):
        await store.commit(created.project_id, {"lib": "z"})
    assert await version_count(store) == 1
    # Replacing the file by a folder in one commit is fine.
    result = await store.commit(created.project_id, {"src/a.js": "y"}, deletes=["src"])
    assert await store.read_tree(result.project_id) == {"src/a.js": b"y", "lib/a.js": b"y"}


async def test_list_projects_newest_change_first(store: ProjectStore) -> None:
    first = await store.create_project("First", {"a.js": "1"}, owner=LOCAL_USER_ID)
    second = await store.create_project("Second", {"a.js": "2"}, owner=LOCAL_USER_ID)
    third = await store.create_project("Third", {"a.js": "3"}, owner=LOCAL_USER_ID)
    assert [p.id for p in await store.list_projects()] == [third.project_id, second.project_id, first.project_id]
    await store.commit(first.project_id, {"a.js": "changed"})
    projects = await store.list_projects()
    assert [p.id for p in projects] == [first.project_id, third.project_id, second.project_id]
    assert projects[0].current_version == 2
    assert projects[0].file_count == 1


async def test_stack_is_detected_and_follows_the_manifest(store: ProjectStore) -> None:
    created = await store.create_project("React", {"package.json": REACT_VITE, "src/main.jsx": "x"}, owner=LOCAL_USER_ID)
    assert (await store.get_project(created.project_id)).stack == ["react", "vite"]
    # A non-manifest edit keeps the stack.
    await store.commit(created.project_id, {"src/main.jsx": "y"})
    assert (await store.get_project(created.project_id)).stack == ["react", "vite"]
    # A manifest edit re-detects it.
    await store.commit(created.project_id, {"package.json": '{"dependencies": {"vue": "3"}}'})
    assert (await store.get_project(created.project_id)).stack == ["vue"]
    # A new requirements.txt next to the kept package.json: both are read.
    await store.commit(created.project_id, {"api/requirements.txt": "fastapi==0.115\n"})
    assert (await store.get_project(created.project_id)).stack == ["vue", "python", "fastapi"]


async def test_rename(store: ProjectStore) -> None:
    created = await store.create_project("Old", {"a.js": "a"}, owner=LOCAL_USER_ID)
    await store.rename(created.project_id, "  New \n name ")
    assert (await store.get_project(created.project_id)).name == "New name"
    with pytest.raises(FileTreeError, match="cannot be empty"):
        await store.rename(created.project_id, "   ")


@pytest.mark.parametrize("racers", [2, 5])
async def test_concurrent_commits_get_distinct_consecutive_versions(store: ProjectStore, racers: int) -> None:
    created = await store.create_project("Race", {"a.js": "start"}, owner=LOCAL_USER_ID)
    results = await asyncio.gather(*(store.commit(created.project_id, {f"f{i}.js": f"content {i}"}) for i in range(racers)))
    numbers = sorted(r.version.number for r in results)
    assert numbers == list(range(2, racers + 2))
    versions = await store.list_versions(created.project_id)
    assert [v.number for v in versions] == list(range(1, racers + 2))
    # Every commit built on the one before it, so the last version holds every file.
    assert [v.parent_number for v in versions] == [None, *range(1, racers + 1)]
    tree = await store.read_tree(created.project_id)
    assert tree == {"a.js": b"start"} | {f"f{i}.js": f"content {i}".encode() for i in range(racers)}


async def test_file_folder_clash_is_found_past_names_that_sort_between(store: ProjectStore) -> None:
    # "a-b" sorts between "a" and "a/c" ('-' < '/'), so the clash is not between neighbours.
    created = await store.create_project("App", {"a": "x", "a-b": "y"}, owner=LOCAL_USER_ID)
    with pytest.raises(FileTreeError, match="a is both a file and a folder"):
        await store.commit(created.project_id, {"a/c": "z"})
    assert await store.read_tree(created.project_id) == {"a": b"x", "a-b": b"y"}


async def test_commits_from_two_processes_do_not_lose_changes(database_urls) -> None:
    """Two stores on one database stand for two processes (say the server and the CLI)."""
    first = ProjectStore(db.create_engine(database_urls.async_))
    second = ProjectStore(db.create_engine(database_urls.async_))
    each = 6
    try:
        created = await first.create_project("Race", {"a.js": "start"}, owner=LOCAL_USER_ID)
        pid = created.project_id
        results = await asyncio.gather(
            *(first.commit(pid, {f"first{i}.js": str(i)}) for i in range(each)),
            *(second.commit(pid, {f"second{i}.js": str(i)}) for i in range(each)),
        )
        assert sorted(r.version.number for r in results) == list(range(2, 2 * each + 2))
        versions = await first.list_versions(pid)
        # Each version built on the one before: none was made from a tree another had moved past.
        assert [v.parent_number for v in versions] == [None, *range(1, 2 * each + 1)]
        assert sorted(await second.read_tree(pid)) == sorted(
            ["a.js", *(f"first{i}.js" for i in range(each)), *(f"second{i}.js" for i in range(each))]
        )
    finally:
        await first.close()
        await second.close()


async def test_a_commit_made_on_a_version_refuses_once_the_project_moved_past_it(store: ProjectStore) -> None:
    created = await store.create_project("Pushed", {"a.js": "one"}, owner=LOCAL_USER_ID)
    pid = created.project_id
    assert (await store.commit(pid, {"a.js": "two"}, on=1)).version.number == 2
    # Someone saved version 2 while a push made on version 1 was being checked: the push's commit is refused whole.
    with pytest.raises(VersionMoved, match="at version 2, past 1"):
        await store.commit(pid, {"a.js": "pushed", "b.js": "new"}, on=1)
    assert await store.read_tree(pid) == {"a.js": b"two"}
    assert [v.number for v in await store.list_versions(pid)] == [1, 2]
