"""The project store: projects, immutable versions and content-addressed files.

Every change to a project (import, generation, editor save, restore) goes through `commit`,
which writes one new Version atomically: either the whole new tree is recorded or nothing is.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Iterable, Mapping
from typing import cast, get_args

from sqlalchemy import func, insert, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from builder.errors import FileTreeError, InvalidInput, NotFound, VersionMoved
from builder.filetree import (
    encode_text,
    human_size,
    is_text,
    is_valid_unicode,
    normalize_path,
    validate_tree,
)
from builder.models import (
    Author,
    Blob,
    Project,
    ProjectMember,
    ProjectRole,
    Version,
    VersionFile,
    utcnow,
)
from builder.schemas import (
    MAX_ROW_NUMBER,
    CommitResult,
    Engine,
    FileInfo,
    ProjectDetail,
    ProjectSummary,
    VersionInfo,
)
from builder.store.accounts import AccountRecords
from builder.store.app_changes import AppChangeRecords
from builder.store.app_data import AppDataRecords
from builder.store.app_env import AppEnvRecords
from builder.store.app_rows import AppRowRecords
from builder.store.app_tokens import AppTokenRecords
from builder.store.app_users import AppUserRecords
from builder.store.base import COMMIT_ATTEMPTS, IN_CHUNK, content_hash, no_project, of_member
from builder.store.collab import CollabRecords
from builder.store.confirmations import ConfirmationRecords
from builder.store.domains import DomainRecords
from builder.store.generations import GenerationRecords
from builder.store.git_pushes import GitPushRecords
from builder.store.git_tokens import GitTokenRecords
from builder.store.mcp_servers import McpServerRecords
from builder.store.members import MemberRecords
from builder.store.model_connections import ModelConnectionRecords
from builder.store.plans import PlanRecords
from builder.store.releases import ReleaseRecords
from builder.store.reviews import ReviewRecords
from builder.store.throttle import ThrottleRecords
from builder.store.trash import TrashRecords
from builder.store.usage import UsageRecords
from builder.store.verifications import VerificationRecords
from builder.wording import DUPLICATED_FROM
from preview_runtime.detect.found import RunOverride
from preview_runtime.stack import detect_stack, is_manifest

log = logging.getLogger(__name__)


def clean_name(name: str) -> str:
    """A project name on one line, at most 200 characters; InvalidInput if it cannot be stored."""
    if not is_valid_unicode(name):
        raise InvalidInput("The name is not valid Unicode (it holds a lone surrogate); type it again.")
    return " ".join(name.split())[:200]


_COPY = re.compile(r"^(?P<name>.*) \(copy(?: (?P<n>\d{1,6}))?\)$")


def copy_name(name: str) -> str:
    """The name of a copy: "Shop (copy)", then "Shop (copy 2)" for a copy of that, not "Shop (copy) (copy)"."""
    found = _COPY.match(name)
    if found is None:
        return f"{name} (copy)"
    return f"{found['name']} (copy {int(found['n'] or 1) + 1})"


def stored_number(value: int | None) -> bool:
    """Whether `value` fits the database's INTEGER columns (ids and version numbers are positive)."""
    return value is not None and 1 <= value <= MAX_ROW_NUMBER


def _version_info(version: Version, parent_number: int | None) -> VersionInfo:
    assert version.id is not None
    return VersionInfo(
        id=version.id,
        number=version.number,
        parent_number=parent_number,
        author=version.author,
        message=version.message,
        files_changed=version.files_changed,
        created_at=version.created_at,
        user_id=version.user_id,
    )


class ProjectStore(
    CollabRecords,
    GenerationRecords,
    VerificationRecords,
    AccountRecords,
    AppUserRecords,
    AppTokenRecords,
    AppRowRecords,
    AppChangeRecords,
    GitTokenRecords,
    ThrottleRecords,
    GitPushRecords,
    MemberRecords,
    TrashRecords,
    UsageRecords,
    ReleaseRecords,
    ReviewRecords,
    ConfirmationRecords,
    DomainRecords,
    AppEnvRecords,
    AppDataRecords,
    PlanRecords,
    ModelConnectionRecords,
    McpServerRecords,
):
    """Projects, their immutable versions and files, their history and trash (generation and verification records,
    accounts, project members, the trash and the server's usage in their own modules)."""

    # -- reading -----------------------------------------------------------------------------

    async def _version(self, session: AsyncSession, project: Project, number: int | None) -> Version:
        if number is None:
            version = await session.get(Version, project.current_version_id) if project.current_version_id else None
        elif not stored_number(number):
            version = None
        else:
            version = (
                await session.exec(select(Version).where(Version.project_id == project.id, Version.number == number))
            ).first()
        if version is None:
            raise NotFound(
                f"Project {project.id} has no version {number}." if number else f"Project {project.id} has no files yet."
            )
        return version

    async def _manifest(self, session: AsyncSession, version_id: int) -> dict[str, str]:
        rows = await session.exec(select(VersionFile.path, VersionFile.blob_hash).where(VersionFile.version_id == version_id))
        return dict(rows.all())

    async def _sized_manifest(self, session: AsyncSession, version_id: int) -> dict[str, tuple[str, int]]:
        """{path: (blob hash, size)}: what a commit checks the tree after its change against, in one query."""
        rows = await session.exec(
            select(VersionFile.path, VersionFile.blob_hash, Blob.size)
            .join(Blob, col(Blob.hash) == col(VersionFile.blob_hash))
            .where(VersionFile.version_id == version_id)
        )
        return {path: (digest, size) for path, digest, size in rows}

    async def list_projects(self, limit: int | None = None, offset: int = 0, member: str | None = None) -> list[ProjectSummary]:
        """Projects not in the trash (of which `member` has a role, unless None), most recently changed first (id
        breaks ties, so pages never overlap)."""
        async with self._sessions() as session:
            projects = await session.exec(
                select(Project)
                .where(col(Project.deleted_at).is_(None), *of_member(member))
                .order_by(col(Project.updated_at).desc(), col(Project.id))
                .offset(offset)
                .limit(limit)
            )
            return [await self._summary(session, p) for p in projects.all()]

    async def count_projects(self, trashed: bool = False, member: str | None = None) -> int:
        """How many projects are (or are not) in the trash, counted by the database: those `member` has a role in (in
        the trash: owns), or all."""
        deleted = col(Project.deleted_at)
        async with self._sessions() as session:
            query = (
                select(func.count())
                .select_from(Project)
                .where(deleted.is_not(None) if trashed else deleted.is_(None), *of_member(member, owner=trashed))
            )
            return (await session.exec(query)).one()

    async def get_project(self, project_id: str) -> ProjectDetail:
        async with self._sessions() as session:
            project = await self._project(session, project_id)
            summary = await self._summary(session, project)
            return ProjectDetail(
                **summary.model_dump(),
                provider=project.provider,
                model=project.model,
                approve_changes=project.approve_changes,
                # An engine this Forja no longer has is its own model's.
                engine=cast("Engine", project.engine) if project.engine in get_args(Engine) else "forja",
                versions=await self._versions(session, project.id),
            )

    async def current_number(self, project_id: str) -> int:
        """The number of the project's current version, 0 with none or no such project: a light look, made often by
        open pages, whether a version was saved elsewhere."""
        async with self._sessions() as session:
            found = await session.exec(
                select(Version.number)
                .join(Project, col(Project.current_version_id) == col(Version.id))
                .where(col(Project.id) == project_id)
            )
            return found.first() or 0

    async def _versions(self, session: AsyncSession, project_id: str) -> list[VersionInfo]:
        versions = (
            await session.exec(select(Version).where(Version.project_id == project_id).order_by(col(Version.number)))
        ).all()
        numbers = {v.id: v.number for v in versions}
        authors = await self.version_authors((v.id for v in versions if v.id is not None), session)
        return [
            _version_info(v, numbers.get(v.parent_id)).model_copy(update={"authors": authors.get(v.id or 0, [])})
            for v in versions
        ]

    async def list_versions(self, project_id: str) -> list[VersionInfo]:
        async with self._sessions() as session:
            await self._project(session, project_id)
            return await self._versions(session, project_id)

    async def latest_version(self, project_id: str) -> int:
        """The project's newest version number (0 before its first) in one small query: the git mirror asks it often."""
        newest = select(func.coalesce(func.max(Version.number), 0)).where(Version.project_id == project_id)
        async with self._sessions() as session:
            found = (
                await session.exec(select(Project.deleted_at, newest.scalar_subquery()).where(Project.id == project_id))
            ).first()
        if found is None or found[0] is not None:
            raise no_project(project_id)
        return found[1]

    async def list_files(self, project_id: str, version: int | None = None) -> list[FileInfo]:
        async with self._sessions() as session:
            project = await self._project(session, project_id)
            found = await self._version(session, project, version)
            # Whether a file is binary is in its bytes, so they are read (a project is bounded by max_total_bytes).
            rows = await session.exec(
                select(VersionFile.path, Blob.data)
                .join(Blob, col(Blob.hash) == col(VersionFile.blob_hash))
                .where(VersionFile.version_id == found.id)
                .order_by(col(VersionFile.path))
            )
            return [FileInfo(path=path, size=len(data), binary=not is_text(data)) for path, data in rows]

    async def read_tree(self, project_id: str, version: int | None = None) -> dict[str, bytes]:
        async with self._sessions() as session:
            project = await self._project(session, project_id)
            found = await self._version(session, project, version)
            rows = await session.exec(
                select(VersionFile.path, Blob.data)
                .join(Blob, col(Blob.hash) == col(VersionFile.blob_hash))
                .where(VersionFile.version_id == found.id)
            )
            return {path: data for path, data in rows}

    async def read_file(self, project_id: str, path: str, version: int | None = None) -> bytes:
        path = normalize_path(path)
        async with self._sessions() as session:
            project = await self._project(session, project_id)
            found = await self._version(session, project, version)
            data = (
                await session.exec(
                    select(Blob.data)
                    .join(VersionFile, col(Blob.hash) == col(VersionFile.blob_hash))
                    .where(VersionFile.version_id == found.id, VersionFile.path == path)
                )
            ).first()
            if data is None:
                raise NotFound(f"Project {project_id} has no file {path!r} in version {found.number}.")
            return data

    # -- writing -----------------------------------------------------------------------------

    async def create_project(
        self,
        name: str,
        files: Mapping[str, bytes | str],
        author: Author = Author.import_,
        message: str = "",
        *,
        owner: str,
        user_id: str | None = None,
    ) -> CommitResult:
        """Make a project (`owner`'s) and its first version (saved by `user_id`) in one transaction."""
        tree = validate_tree(files, self.limits)
        if not tree:
            raise FileTreeError("A project needs at least one file.")
        name = clean_name(name) or "Untitled project"
        async with self._sessions() as session, session.begin():
            project = Project(name=name, stack=",".join(detect_stack(tree)))
            session.add(project)
            await session.flush()
            session.add(ProjectMember(project_id=project.id, user_id=owner, role=ProjectRole.owner))
            version = await self._write_version(session, project, None, tree, author, message, len(tree), None, user_id)
            info = _version_info(version, None)
        log.info("created project %s (%s) with %d files", project.id, name, len(tree))
        return CommitResult(project_id=project.id, version=info, changed=sorted(tree), deleted=[])

    async def create_empty_project(self, name: str, *, owner: str) -> str:
        """A project (`owner`'s) with no version yet: generation fills it while the workspace is already open."""
        async with self._sessions() as session, session.begin():
            project = Project(name=clean_name(name) or "Untitled project")
            session.add(project)
            await session.flush()
            session.add(ProjectMember(project_id=project.id, user_id=owner, role=ProjectRole.owner))
        return project.id

    async def discard_if_empty(self, project_id: str) -> bool:
        """Remove a project that never got a version (its first generation failed)."""
        async with self._sessions() as session, session.begin():
            project = await session.get(Project, project_id)
            if project is None or project.current_version_id is not None:
                return False
            await self._remove_empty_project(session, project)
        return True

    async def set_provider(self, project_id: str, provider: str, model: str = "") -> None:
        async with self._sessions() as session, session.begin():
            project = await self._project(session, project_id)
            project.provider, project.model = provider, model
            session.add(project)

    async def run_override(self, project_id: str) -> RunOverride:
        """The project's run settings (empty: detection decides)."""
        async with self._sessions() as session:
            project = await self._project(session, project_id)
            return RunOverride(command=project.run_command, folder=project.run_folder)

    async def set_run_override(self, project_id: str, override: RunOverride) -> None:
        async with self._sessions() as session, session.begin():
            project = await self._project(session, project_id)
            project.run_command, project.run_folder = override.command, override.folder
            session.add(project)

    async def rename(self, project_id: str, name: str) -> None:
        name = clean_name(name)
        if not name:
            raise FileTreeError("A project name cannot be empty.")
        async with self._sessions() as session, session.begin():
            project = await self._project(session, project_id)
            project.name = name
            session.add(project)

    async def commit(
        self,
        project_id: str,
        writes: Mapping[str, bytes | str],
        deletes: Iterable[str] = (),
        author: Author = Author.user,
        message: str = "",
        user_id: str | None = None,
        on: int | None = None,
    ) -> CommitResult:
        """Apply writes and deletes to the current tree as one new version (saved by `user_id`, a person); with `on`,
        only while the current version is still that one (0: none yet), VersionMoved otherwise.

        Writes equal to what is stored are not counted as changes; a commit that changes
        nothing returns the current version instead of adding an empty one.
        """
        if not is_valid_unicode(message):
            raise InvalidInput("The version message is not valid Unicode (it holds a lone surrogate); type it again.")
        writes = {
            path: (encode_text(path, c) if isinstance(c, str) else bytes(c))
            for path, c in ((normalize_path(p), c) for p, c in writes.items())
        }
        deletes = sorted({normalize_path(p) for p in deletes})
        lock = self._commit_locks.get(project_id)
        if lock is None:
            lock = self._commit_locks[project_id] = asyncio.Lock()
        async with lock:
            for attempt in range(COMMIT_ATTEMPTS):
                try:
                    return await self._commit_once(project_id, writes, deletes, author, message, user_id, on)
                except IntegrityError:
                    # Another process committed to the project meanwhile; re-read and retry.
                    if attempt == COMMIT_ATTEMPTS - 1:
                        raise
        raise AssertionError("unreachable")

    async def _commit_once(
        self,
        project_id: str,
        writes: dict[str, bytes],
        deletes: list[str],
        author: Author,
        message: str,
        user_id: str | None,
        on: int | None,
    ) -> CommitResult:
        async with self._sessions() as session, session.begin():
            # Lock the project row first (on SQLite: take the write lock), so a commit from another
            # process waits for this one instead of building on a version about to be superseded.
            await session.exec(
                update(Project).where(col(Project.id) == project_id).values(current_version_id=Project.current_version_id)
            )
            found = (
                await session.exec(
                    select(Project, Version)
                    .outerjoin(Version, col(Version.id) == col(Project.current_version_id))
                    .where(Project.id == project_id)
                )
            ).first()
            if found is None or found[0].deleted_at is not None:
                raise no_project(project_id)
            project, parent = found
            if on is not None and on != (parent.number if parent else 0):
                raise VersionMoved(f"Project {project_id} is at version {parent.number if parent else 0}, past {on}.")
            sized = await self._sized_manifest(session, parent.id) if parent and parent.id else {}
            manifest = {p: digest for p, (digest, _) in sized.items()}
            missing = [p for p in deletes if p not in manifest]
            if missing:
                raise NotFound(f"Cannot delete {missing[0]!r}: project {project_id} has no such file.")
            changed = sorted(p for p, data in writes.items() if manifest.get(p) != content_hash(data))
            if not changed and not deletes and parent is not None:
                return CommitResult(project_id=project_id, version=_version_info(parent, None), changed=[], deleted=[])
            validate_tree(writes, self.limits)
            kept = {p: h for p, h in manifest.items() if p not in deletes and p not in writes}
            self._check_whole_tree(set(kept) | set(writes), sum(sized[p][1] for p in kept) + sum(map(len, writes.values())))
            version = await self._write_version(
                session, project, parent, writes, author, message, len(changed) + len(deletes), kept, user_id
            )
            info = _version_info(version, parent.number if parent else None)
        return CommitResult(project_id=project_id, version=info, changed=changed, deleted=deletes)

    def _check_whole_tree(self, paths: set[str], total_bytes: int) -> None:
        """Limits that only the tree after the change can break."""
        if len(paths) > self.limits.max_files:
            raise FileTreeError(f"The project would have {len(paths)} files; the limit is {self.limits.max_files}.")
        if total_bytes > self.limits.max_total_bytes:
            raise FileTreeError(
                f"The project would hold {human_size(total_bytes)}; the limit is {human_size(self.limits.max_total_bytes)}."
            )
        for path in sorted(paths):
            parts = path.split("/")
            for depth in range(1, len(parts)):
                if (folder := "/".join(parts[:depth])) in paths:
                    raise FileTreeError(f"{folder} is both a file and a folder in the tree.", folder)

    async def _blob_data(self, session: AsyncSession, hashes: set[str]) -> dict[str, bytes]:
        if not hashes:
            return {}
        rows = await session.exec(select(Blob.hash, Blob.data).where(col(Blob.hash).in_(hashes)))
        return dict(rows.all())

    async def _stack_of(self, session: AsyncSession, writes: Mapping[str, bytes], kept: Mapping[str, str]) -> list[str]:
        """The stack of the new tree; only manifest files need their content for it."""
        kept_manifests = {p: h for p, h in kept.items() if is_manifest(p)}
        data = await self._blob_data(session, set(kept_manifests.values()))
        tree = {p: b"" for p in kept} | {p: data[h] for p, h in kept_manifests.items()} | dict(writes)
        return detect_stack(tree)

    async def _write_version(
        self,
        session: AsyncSession,
        project: Project,
        parent: Version | None,
        writes: Mapping[str, bytes],
        author: Author,
        message: str,
        files_changed: int,
        kept: Mapping[str, str] | None = None,
        user_id: str | None = None,
    ) -> Version:
        hashes = await self._keep_blobs(session, writes)
        # The newest version is the current one (nothing else moves current_version_id). Had another commit landed
        # after this one read it, the (project, number) pair would be taken: IntegrityError, and commit tries again.
        version = Version(
            project_id=project.id,
            number=(parent.number if parent else 0) + 1,
            parent_id=parent.id if parent else None,
            author=author,
            message=message,
            files_changed=files_changed,
            user_id=user_id,
        )
        session.add(version)
        await session.flush()
        assert version.id is not None
        entries = {**(kept or {}), **hashes}
        # A core insert: a version of a few thousand files would spend most of its save in the ORM's bookkeeping.
        if entries:
            connection = await session.connection()
            await connection.execute(
                insert(VersionFile), [{"version_id": version.id, "path": p, "blob_hash": h} for p, h in entries.items()]
            )
        project.current_version_id = version.id
        project.updated_at = utcnow()
        if any(is_manifest(p) for p in writes) or not project.stack:
            project.stack = ",".join(await self._stack_of(session, writes, kept or {}))
        session.add(project)
        return version

    # -- history and project management (builder/services/history.py) -----------------------

    async def _version_info_of(self, session: AsyncSession, version: Version) -> VersionInfo:
        parent = await session.get(Version, version.parent_id) if version.parent_id else None
        return _version_info(version, parent.number if parent else None)

    async def version_manifest(self, project_id: str, version: int | None = None) -> tuple[VersionInfo, dict[str, str]]:
        """A version (default: the current one) and its tree as {path: blob hash}, without the contents."""
        async with self._sessions() as session:
            project = await self._project(session, project_id)
            found = await self._version(session, project, version)
            assert found.id is not None
            return await self._version_info_of(session, found), await self._manifest(session, found.id)

    async def version_manifests(self, project_id: str) -> list[tuple[VersionInfo, dict[str, str]]]:
        """Every version of the project, oldest first, each with its tree as {path: blob hash}."""
        async with self._sessions() as session:
            await self._project(session, project_id)
            infos = await self._versions(session, project_id)
            manifests: dict[int, dict[str, str]] = {info.id: {} for info in infos}
            rows = await session.exec(
                select(VersionFile.version_id, VersionFile.path, VersionFile.blob_hash)
                .join(Version, col(Version.id) == col(VersionFile.version_id))
                .where(Version.project_id == project_id)
            )
            for version_id, path, digest in rows:
                manifests[version_id][path] = digest
            return [(info, manifests[info.id]) for info in infos]

    async def read_blobs(self, hashes: Iterable[str]) -> dict[str, bytes]:
        """File contents by hash (hashes come from version_manifest)."""
        wanted = sorted(set(hashes))
        found: dict[str, bytes] = {}
        async with self._sessions() as session:
            for start in range(0, len(wanted), IN_CHUNK):
                found |= await self._blob_data(session, set(wanted[start : start + IN_CHUNK]))
        if missing := set(wanted) - set(found):
            raise NotFound(f"Stored file content {sorted(missing)[0]} is missing.")
        return found

    async def duplicate(
        self, project_id: str, version: int | None = None, name: str | None = None, *, owner: str
    ) -> CommitResult:
        """A new project (`owner`'s) whose version 1 is the tree of `version` (default: current), sharing its blobs."""
        async with self._sessions() as session, session.begin():
            source = await self._project(session, project_id)
            found = await self._version(session, source, version)
            assert found.id is not None
            manifest = await self._manifest(session, found.id)
            new_name = clean_name(name or copy_name(source.name)) or "Untitled project"
            # An empty stack makes _write_version detect the stack of that version's tree.
            project = Project(
                name=new_name,
                stack="",
                provider=source.provider,
                model=source.model,
                run_command=source.run_command,
                run_folder=source.run_folder,
            )
            session.add(project)
            await session.flush()
            session.add(ProjectMember(project_id=project.id, user_id=owner, role=ProjectRole.owner))
            message = f"{DUPLICATED_FROM} {source.name} version {found.number}"
            created = await self._write_version(session, project, None, {}, Author.import_, message, len(manifest), manifest)
            info = _version_info(created, None)
        log.info("duplicated project %s version %d as %s", project_id, found.number, project.id)
        return CommitResult(project_id=project.id, version=info, changed=sorted(manifest), deleted=[])
