"""Projects: create, import, read, save, rename.

Every save goes through `save`, so the project's log and its running preview see each change
the same way whoever made it (the editor, the API, the CLI, a generation, a restore).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path, PurePosixPath

from builder.attachments import Picture, picture_path
from builder.errors import FileTreeError, NotFound
from builder.filetree import encode_text, normalize_path, read_folder, read_json_tree, read_zip
from builder.models import Author
from builder.schemas import CommitResult, FileInfo, ProjectDetail, ProjectPage, ProjectSummary, VersionInfo
from builder.services.access import AccessService, Actor
from builder.services.previews import PreviewService
from builder.services.quotas import QuotaService
from builder.store import ProjectStore
from builder.wording import describe_paths, plural
from preview_runtime.logs import LogHub, LogLevel


def name_from_filename(filename: str) -> str:
    """'barber-shop_v2.zip' -> 'Barber shop v2'."""
    stem = PurePosixPath(filename.replace("\\", "/")).name
    for suffix in (".zip", ".json"):
        stem = stem.removesuffix(suffix)
    words = stem.replace("_", " ").replace("-", " ").split()
    return " ".join(words).capitalize() or "Imported project"


def read_upload(filename: str, data: bytes) -> dict[str, bytes]:
    """The tree of an uploaded .zip, or of a .json file tree."""
    return read_json_tree(data) if filename.lower().endswith(".json") else read_zip(data)


def read_source(source: Path) -> tuple[dict[str, bytes], str]:
    """The tree of a folder, a .zip or a JSON file tree on disk, and a project name from its file name."""
    if source.is_dir():
        return read_folder(source), name_from_filename(source.resolve().name)
    if source.is_file():
        return read_upload(source.name, source.read_bytes()), name_from_filename(source.name)
    raise FileTreeError(f"{source} does not exist; give a folder, a .zip or a .json file tree.")


def encoded(files: Mapping[str, bytes | str]) -> dict[str, bytes]:
    """Files as the store keeps them (text given as str encoded as the store does)."""
    return {path: encode_text(path, data) if isinstance(data, str) else data for path, data in files.items()}


class ProjectService:
    def __init__(
        self,
        store: ProjectStore,
        logs: LogHub,
        previews: PreviewService,
        quotas: QuotaService,
        on_commit: Callable[[str, CommitResult], Awaitable[None]],
    ) -> None:
        """`on_commit` tells co-editing's rooms of every version (builder.services.collab, which saves through this
        service and so is built after it)."""
        self._store = store
        self._access = AccessService(store)
        self._logs = logs
        self._previews = previews
        self._quotas = quotas
        self._on_commit = on_commit

    # -- reading ------------------------------------------------------------------------------

    async def summaries(self, viewer: Actor, limit: int | None = None, offset: int = 0) -> list[ProjectSummary]:
        """The projects not in the trash that `viewer` has a role in, most recently changed first; all of them unless
        `limit` says. Each says the viewer's role."""
        return await self._with_roles(viewer, await self._store.list_projects(limit, offset, viewer.member_filter))

    async def page(self, viewer: Actor, limit: int, offset: int = 0) -> ProjectPage:
        """One page of `viewer`'s project list, with how many there are in all."""
        items = await self.summaries(viewer, limit, offset)
        total = await self._store.count_projects(member=viewer.member_filter)
        return ProjectPage(items=items, total=total, limit=limit, offset=offset)

    async def count(self) -> int:
        """How many projects are not in the trash, everyone's (one count query)."""
        return await self._store.count_projects()

    async def _with_roles(self, viewer: Actor, items: list[ProjectSummary]) -> list[ProjectSummary]:
        roles = await self._access.roles(viewer, [item.id for item in items])
        return [item.model_copy(update={"role": roles.get(item.id)}) for item in items]

    async def get(self, project_id: str) -> ProjectDetail:
        return await self._store.get_project(project_id)

    async def current_number(self, project_id: str) -> int:
        return await self._store.current_number(project_id)

    async def versions(self, project_id: str) -> list[VersionInfo]:
        return await self._store.list_versions(project_id)

    async def files(self, project_id: str, version: int | None = None) -> list[FileInfo]:
        return await self._store.list_files(project_id, version)

    async def read_file(self, project_id: str, path: str, version: int | None = None) -> bytes:
        return await self._store.read_file(project_id, path, version)

    async def read_tree(self, project_id: str, version: int | None = None) -> dict[str, bytes]:
        return await self._store.read_tree(project_id, version)

    # -- creating -----------------------------------------------------------------------------

    async def create(
        self,
        name: str,
        files: Mapping[str, bytes | str],
        author: Author = Author.import_,
        message: str = "",
        *,
        owner: str,
    ) -> CommitResult:
        """A project (`owner`'s) whose version 1 is `files`: the owner's own unless the model wrote it."""
        await self._quotas.check_new_project(owner, encoded(files))
        user_id = None if author == Author.ai else owner
        return await self._store.create_project(name, files, author, message, owner=owner, user_id=user_id)

    async def create_empty(self, name: str, *, owner: str) -> str:
        """A project (`owner`'s) with no version yet (a first generation fills it)."""
        await self._quotas.check_new_project(owner)
        return await self._store.create_empty_project(name, owner=owner)

    async def import_tree(self, name: str, tree: dict[str, bytes], source: str, *, owner: str) -> CommitResult:
        summary = f"Imported {plural(len(tree), 'file')} from {source}"
        result = await self.create(name, tree, Author.import_, summary, owner=owner)
        self._logs.emit(result.project_id, f"{summary} as version 1.")
        return result

    async def import_upload(self, filename: str, data: bytes, name: str | None = None, *, owner: str) -> CommitResult:
        """A file a person picked: a .zip, or a .json file tree; named after the file unless `name` is given."""
        tree = await asyncio.to_thread(read_upload, filename, data)
        return await self.import_tree(name or name_from_filename(filename), tree, PurePosixPath(filename).name, owner=owner)

    async def import_path(self, source: Path, name: str | None = None, *, owner: str) -> CommitResult:
        """A folder, a .zip or a .json file tree on this machine (the CLI's import)."""
        tree, default_name = await asyncio.to_thread(read_source, source)
        return await self.import_tree(name or default_name, tree, source.name, owner=owner)

    # -- changing -----------------------------------------------------------------------------

    async def save(
        self,
        project_id: str,
        writes: Mapping[str, bytes | str],
        deletes: list[str] | None = None,
        message: str = "",
        author: Author = Author.user,
        user_id: str | None = None,
    ) -> CommitResult:
        """A new version (by `user_id` when a person saved it) from the current one, `writes` and `deletes`."""
        result = await self.record(project_id, writes, deletes, message, author, user_id)
        await self.announce(project_id, result, writes)
        return result

    async def record(
        self,
        project_id: str,
        writes: Mapping[str, bytes | str],
        deletes: list[str] | None = None,
        message: str = "",
        author: Author = Author.user,
        user_id: str | None = None,
        on: int | None = None,
        quota_checked: bool = False,
    ) -> CommitResult:
        """A save's new version (made `on` that version, if given: see ProjectStore.commit), not yet announced (a git
        push announces its versions after the pusher heard back). `quota_checked`: the caller checked the storage
        quota for these files and more (a push, for all its commits and what git received, before the first save)."""
        if not quota_checked:
            await self._quotas.check_write(project_id, encoded(writes))
        return await self._store.commit(
            project_id,
            writes,
            deletes or [],
            author,
            message or f"Edited {describe_paths(list(writes) + list(deletes or []))}",
            user_id,
            on,
        )

    async def announce(self, project_id: str, result: CommitResult, writes: Mapping[str, bytes | str]) -> None:
        """A recorded save told to the project's log, its running preview and the rooms of the files it changed."""
        if result.changed or result.deleted:
            self._logs.emit(
                project_id, f"Saved version {result.version.number}: {describe_paths(result.changed + result.deleted)} changed."
            )
            written = {p: c for p, c in encoded(writes).items() if p in result.changed}
            await self._previews.on_saved(project_id, result.version, written, result.deleted)
            await self._on_commit(project_id, result)
        elif writes:
            self._logs.emit(project_id, "Nothing to save: the files are the same as in the current version.", LogLevel.info)

    async def picture_path(self, project_id: str, picture: Picture) -> str:
        """Where `picture` goes in the project unless the person says: see attachments.picture_path."""
        try:
            paths = (await self._store.version_manifest(project_id))[1]
        except NotFound:  # a project whose first version is still being written
            paths = {}
        return picture_path(picture, paths)

    async def add_picture(self, project_id: str, picture: Picture, path: str = "") -> tuple[str, CommitResult]:
        """A picture saved into the project as a file ("use this as the logo"), a new version; at `path`, or where
        the project keeps its pictures under the picture's own name. Answers the path it took, and the commit."""
        path = normalize_path(path or await self.picture_path(project_id, picture))
        return path, await self.save(project_id, {path: picture.data}, message=f"Added picture {path}")

    async def rename(self, project_id: str, name: str) -> ProjectDetail:
        await self._store.rename(project_id, name)
        return await self._store.get_project(project_id)

    async def set_provider(self, project_id: str, provider: str, model: str = "") -> None:
        """The model provider the workspace picked for the project's generations."""
        await self._store.set_provider(project_id, provider, model)
