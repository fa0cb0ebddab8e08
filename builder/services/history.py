"""Version history and project management: diff, restore, export, duplicate, trash.

Versions are never changed or removed while their project lives: a restore adds a new
version with the old tree, a duplicate starts a new project from any version, and the trash
keeps a deleted project whole for TRASH_DAYS before HistoryService.purge_expired removes it for good.
"""

from __future__ import annotations

import asyncio
import difflib
import logging
import os
import re
import subprocess
import tempfile
import unicodedata
from datetime import UTC, datetime, timedelta
from pathlib import Path

from builder.errors import GitExportError, NotFound
from builder.filetree import text_of, write_zip
from builder.git.commands import forget_repos
from builder.models import Author, ProjectRole
from builder.publish.release_files import forget_releases
from builder.schemas import CommitResult, FileDiff, ProjectSummary, PurgeResult, TrashedProject, TrashPage, VersionDiff
from builder.services.access import Actor
from builder.services.app_data import AppDataService
from builder.services.previews import PreviewService, VersionPreviewService
from builder.services.projects import ProjectService
from builder.services.quotas import QuotaService
from builder.store import ProjectStore
from preview_runtime.logs import LogHub

log = logging.getLogger(__name__)

TRASH_DAYS = 30
DIFF_CONTEXT = 3

# Who a version's author is, in words; also the author names of the exported git commits.
AUTHOR_NAMES = {Author.ai: "Forja AI", Author.user: "You", Author.import_: "Import", Author.template: "Template"}
AUTHOR_EMAILS = {
    Author.ai: "ai@forja.invalid",
    Author.user: "you@forja.invalid",
    Author.import_: "import@forja.invalid",
    Author.template: "template@forja.invalid",
}

GIT_TIMEOUT_S = 300


# -- diff -------------------------------------------------------------------------------------


def _lines(text: str) -> list[str]:
    """Lines split on '\\n' only (str.splitlines also splits on \\r, \\f, U+2028...), ends kept."""
    parts = text.split("\n")
    lines = [part + "\n" for part in parts[:-1]]
    if parts[-1]:
        lines.append(parts[-1])
    return lines


def file_diff(path: str, old: bytes | None, new: bytes | None) -> FileDiff:
    """The change of one file; `None` for the side where it does not exist."""
    status = "added" if old is None else "removed" if new is None else "modified"
    before = "/dev/null" if old is None else f"a/{path}"
    after = "/dev/null" if new is None else f"b/{path}"
    # Bytes on either side (an image, or a text file replaced by bytes) are not shown line by line, as in git.
    old_text, new_text = text_of(old or b""), text_of(new or b"")
    if old_text is None or new_text is None:
        return FileDiff(path=path, status=status, binary=True, diff=f"Binary files {before} and {after} differ\n")
    out: list[str] = []
    added = removed = 0
    hunks = difflib.unified_diff(_lines(old_text), _lines(new_text), before, after, n=DIFF_CONTEXT)
    for i, line in enumerate(hunks):
        if i >= 2:  # the first two lines are the ---/+++ header
            added += line.startswith("+")
            removed += line.startswith("-")
        # As diff and git print it, so that patch and git apply take the output.
        out.append(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n")
    return FileDiff(path=path, status=status, binary=False, lines_added=added, lines_removed=removed, diff="".join(out))


# -- export -----------------------------------------------------------------------------------


def slug(name: str) -> str:
    """An ASCII file name part: safe in a Content-Disposition header and on any file system."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    return re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")[:60].strip("-") or "project"


def _git_env(home: str) -> dict[str, str]:
    """No system or global config, no prompts: the bundle is the same whoever runs Forja."""
    return {
        "PATH": os.environ.get("PATH", os.defpath),
        "HOME": home,
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_CONFIG_GLOBAL": os.devnull,
        "GIT_TERMINAL_PROMPT": "0",
        "LC_ALL": "C",
        "TZ": "UTC",
    }


def _git(args: list[str], cwd: str, stdin: Path | None = None) -> None:
    config = ["user.name=Forja", "user.email=forja@forja.invalid", "init.defaultBranch=main", "core.autocrlf=false", "gc.auto=0"]
    command = ["git", *(arg for item in config for arg in ("-c", item)), *args]
    try:
        with open(stdin, "rb") if stdin else open(os.devnull, "rb") as source:
            subprocess.run(
                command, cwd=cwd, env=_git_env(cwd), stdin=source, capture_output=True, check=True, timeout=GIT_TIMEOUT_S
            )
    except FileNotFoundError:
        raise GitExportError("git is not installed; install it to export a project's history as a git bundle.") from None
    except subprocess.CalledProcessError as exc:
        detail = exc.stderr.decode("utf-8", "replace").strip().splitlines()
        raise GitExportError(f"git {args[0]} failed: {detail[-1] if detail else exc.returncode}") from None
    except subprocess.TimeoutExpired:
        raise GitExportError(f"git {args[0]} took longer than {GIT_TIMEOUT_S} s; the export was stopped.") from None


def _git_path(path: str) -> str | None:
    """The path as fast-import reads it (C-quoted), or None for a path git cannot check out."""
    if any(part.casefold() == ".git" for part in path.split("/")):
        return None
    return '"' + path.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _git_timestamp(when: datetime) -> int:
    return int((when if when.tzinfo else when.replace(tzinfo=UTC)).timestamp())


def _build_bundle(work: str, stream: Path) -> None:
    repo = str(Path(work) / "repo.git")
    _git(["init", "--quiet", "--bare", repo], cwd=work)
    _git(["fast-import", "--quiet", "--done"], cwd=repo, stdin=stream)
    _git(["bundle", "create", "--quiet", str(Path(work) / "repo.bundle"), "--all"], cwd=repo)


class HistoryService:
    def __init__(
        self,
        store: ProjectStore,
        logs: LogHub,
        projects: ProjectService,
        previews: PreviewService,
        version_previews: VersionPreviewService,
        quotas: QuotaService,
        app_data: AppDataService | None = None,
    ) -> None:
        self._store = store
        self._app_data = app_data
        self._logs = logs
        self._projects = projects
        self._previews = previews
        self._version_previews = version_previews
        self._quotas = quotas

    async def diff(self, project_id: str, version: int, against: int | None = None) -> VersionDiff:
        """What changed from `against` (default: the version's parent, or nothing for version 1) to `version`."""
        store = self._store
        info, new = await store.version_manifest(project_id, version)
        base = against if against is not None else info.parent_number
        old = (await store.version_manifest(project_id, base))[1] if base is not None else {}
        changed = sorted(p for p in old.keys() | new.keys() if old.get(p) != new.get(p))
        # Whether a file is text is in its bytes, so every changed file's are read.
        contents = await store.read_blobs({m[p] for p in changed for m in (old, new) if p in m})

        def compute() -> list[FileDiff]:
            return [
                file_diff(p, contents.get(old[p], b"") if p in old else None, contents.get(new[p], b"") if p in new else None)
                for p in changed
            ]

        files = await asyncio.to_thread(compute)  # difflib on big files would stall the event loop
        return VersionDiff(
            project_id=project_id,
            version=info.number,
            against=base,
            files=files,
            files_changed=len(files),
            lines_added=sum(f.lines_added for f in files),
            lines_removed=sum(f.lines_removed for f in files),
        )

    async def restore(self, project_id: str, version: int, user_id: str | None = None) -> CommitResult:
        """Make version `version`'s tree the current one, as a new version; older versions stay as they are."""
        store = self._store
        message = f"Restored version {version}"
        result: CommitResult | None = None
        for _attempt in range(3):
            _, target = await store.version_manifest(project_id, version)
            current_info, current = await store.version_manifest(project_id)
            if current == target:
                if result is None:
                    self._logs.emit(
                        project_id, f"Version {version} has the same files as the current version; nothing to restore."
                    )
                    return CommitResult(project_id=project_id, version=current_info, changed=[], deleted=[])
                return result
            changed = {p: h for p, h in target.items() if current.get(p) != h}
            contents = await store.read_blobs(changed.values())
            deletes = sorted(p for p in current if p not in target)
            try:
                # Through the project service's save, so the log and the running preview see it like any save.
                result = await self._projects.save(
                    project_id,
                    {p: contents[h] for p, h in changed.items()},
                    deletes,
                    message=message,
                    author=Author.user,
                    user_id=user_id,
                )
            except NotFound:
                # A file to delete went away in a concurrent commit (or the project did); look again.
                continue
            # Another commit landing between reading the tree and saving could leave it different.
            if (await store.version_manifest(project_id, result.version.number))[1] == target:
                return result
        if result is None:
            raise NotFound(f"Could not restore version {version} of project {project_id}: it kept changing; try again.")
        return result

    async def export_zip(self, project_id: str, version: int | None = None) -> tuple[str, bytes]:
        """The files of one version (default: current) as a zip; returns (file name, zip bytes)."""
        project = await self._store.get_project(project_id)
        tree = await self._store.read_tree(project_id, version)
        number = version if version is not None else project.current_version
        return f"{slug(project.name)}-v{number}.zip", await asyncio.to_thread(write_zip, tree)

    async def export_bundle(self, project_id: str) -> tuple[str, bytes]:
        """The whole history as a git bundle: one commit per version, oldest first, on branch main.

        A bundle is a git repository in one file: `git clone project.bundle` makes a working copy
        with the full history (each version's message, author and time; tags v1, v2...), and
        `git pull` from a newer bundle brings later versions, which a zip per version cannot do.
        It is built with `git fast-import` (one git process for the whole history, the exact
        commit times in the stream and nothing written to a working tree) and `git bundle create`.
        """
        store = self._store
        project = await store.get_project(project_id)
        history = await store.version_manifests(project_id)
        if not history:
            raise NotFound(f"Project {project_id} has no versions yet; there is nothing to export.")
        with tempfile.TemporaryDirectory(prefix="forja-bundle-") as work:
            stream_path = Path(work) / "history.fast-import"
            marks: dict[str, int] = {}  # blob hash -> fast-import mark
            next_mark = 1
            skipped: set[str] = set()
            previous: dict[str, str] = {}
            with stream_path.open("wb") as stream:
                for info, manifest in history:
                    new_hashes = sorted({h for p, h in manifest.items() if h not in marks and _git_path(p)})
                    for digest, data in sorted((await store.read_blobs(new_hashes)).items()):
                        marks[digest], next_mark = next_mark, next_mark + 1
                        stream.write(b"blob\nmark :%d\ndata %d\n%s\n" % (marks[digest], len(data), data))
                    commit_mark, next_mark = next_mark, next_mark + 1
                    name = AUTHOR_NAMES.get(info.author, "Forja")
                    email = AUTHOR_EMAILS.get(info.author, "forja@forja.invalid")
                    who = f"{name} <{email}> {_git_timestamp(info.created_at)} +0000"
                    message = (info.message.strip() or f"Version {info.number}").encode("utf-8") + b"\n"
                    stream.write(f"commit refs/heads/main\nmark :{commit_mark}\nauthor {who}\ncommitter {who}\n".encode())
                    stream.write(b"data %d\n%s" % (len(message), message))
                    for path in sorted(previous.keys() - manifest.keys()):
                        if quoted := _git_path(path):
                            stream.write(f"D {quoted}\n".encode())
                    for path, digest in sorted(manifest.items()):
                        if previous.get(path) == digest:
                            continue
                        if quoted := _git_path(path):
                            stream.write(f"M 100644 :{marks[digest]} {quoted}\n".encode())
                        else:
                            skipped.add(path)
                    stream.write(f"\nreset refs/tags/v{info.number}\nfrom :{commit_mark}\n\n".encode())
                    previous = manifest
                stream.write(b"done\n")
            await asyncio.to_thread(_build_bundle, work, stream_path)
            data = await asyncio.to_thread((Path(work) / "repo.bundle").read_bytes)
        if skipped:
            log.warning("bundle of %s leaves out %d files under .git: %s", project_id, len(skipped), sorted(skipped)[:5])
        return f"{slug(project.name)}.bundle", data

    async def duplicate(self, project_id: str, version: int | None = None, name: str | None = None, *, owner: str) -> str:
        """Fork a project from any version (default: current): a new project (`owner`'s) whose version 1 is that tree."""
        if self._quotas.enabled:
            await self._quotas.check_new_project(owner, await self._store.read_tree(project_id, version))
        result = await self._store.duplicate(project_id, version, name, owner=owner)
        self._logs.emit(result.project_id, f"{result.version.message} ({len(result.changed)} files) as version 1.")
        return result.project_id

    async def delete(self, project_id: str) -> None:
        """To the trash (`undelete` brings it back within TRASH_DAYS days), its running previews stopped:
        the current one and those its share links started (the links no longer open)."""
        await self._store.trash(project_id)
        try:
            await self._previews.stop(project_id)
            for _, version in await self._version_previews.running_everywhere(project_id):
                await self._version_previews.stop(project_id, version)
        except Exception:  # the project is in the trash either way; an idle preview stops by itself
            log.warning("could not stop the preview of trashed project %s", project_id, exc_info=True)
        self._logs.emit(project_id, "Moved the project to the trash.")

    async def list_trash(
        self, viewer: Actor, limit: int | None = None, offset: int = 0, days: int = TRASH_DAYS
    ) -> list[TrashedProject]:
        """The projects `viewer` owns in the trash, most recently trashed first; all of them unless `limit` says."""
        trashed = await self._store.list_trash(limit, offset, viewer.member_filter)
        return [
            t.model_copy(update={"purge_at": t.deleted_at + timedelta(days=days), "role": ProjectRole.owner}) for t in trashed
        ]

    async def trash_page(self, viewer: Actor, limit: int, offset: int = 0) -> TrashPage:
        items = await self.list_trash(viewer, limit, offset)
        total = await self._store.count_projects(trashed=True, member=viewer.member_filter)
        return TrashPage(items=items, total=total, limit=limit, offset=offset)

    async def undelete(self, project_id: str) -> ProjectSummary:
        return await self._store.untrash(project_id)

    async def purge_expired(self, days: int = TRASH_DAYS) -> PurgeResult:
        """Delete for good the projects in the trash for more than `days` days, and the blobs only they used."""
        result = await self._store.purge_trashed(datetime.now(UTC) - timedelta(days=days))
        await self._previews.forget_projects(result.projects)
        await asyncio.to_thread(forget_releases, result.projects)
        await asyncio.to_thread(forget_repos, result.projects)
        if self._app_data is not None:  # their apps' /data folders and databases
            await self._app_data.forget(result.projects)
        return result
