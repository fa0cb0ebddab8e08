"""The one service layer the UI, the HTTP API and the CLI all call.

`get_services()` builds it lazily inside the running event loop (the async engine's
connections belong to the loop that made them) and migrates the database the first time.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from pathlib import PurePosixPath

from builder import db, history
from builder.filetree import read_json_tree, read_zip
from builder.generation.hub import GenerationHub
from builder.models import Author
from builder.previews import PreviewService
from builder.schemas import CommitResult
from builder.settings import settings
from builder.store import ProjectStore
from preview_runtime.logs import LogHub, LogLevel

log = logging.getLogger(__name__)


def name_from_filename(filename: str) -> str:
    """'barber-shop_v2.zip' -> 'Barber shop v2'."""
    stem = PurePosixPath(filename.replace("\\", "/")).name
    for suffix in (".zip", ".json"):
        stem = stem.removesuffix(suffix)
    words = stem.replace("_", " ").replace("-", " ").split()
    return " ".join(words).capitalize() or "Imported project"


@dataclass
class Services:
    store: ProjectStore
    logs: LogHub
    generations: GenerationHub = field(init=False)
    previews: PreviewService = field(init=False)

    def __post_init__(self) -> None:
        self.generations = GenerationHub(self)
        self.previews = PreviewService(self)

    async def import_tree(self, name: str, tree: dict[str, bytes], source: str) -> CommitResult:
        result = await self.store.create_project(
            name, tree, Author.import_, f"Imported {plural(len(tree), 'file')} from {source}"
        )
        self.logs.emit(result.project_id, f"Imported {plural(len(tree), 'file')} from {source} as version 1.")
        return result

    async def import_upload(self, filename: str, data: bytes) -> CommitResult:
        """A file a person picked: a .zip, or a .json file tree."""
        name = name_from_filename(filename)
        tree = read_json_tree(data) if filename.lower().endswith(".json") else read_zip(data)
        return await self.import_tree(name, tree, PurePosixPath(filename).name)

    async def save(
        self,
        project_id: str,
        writes: dict[str, bytes | str],
        deletes: list[str] | None = None,
        message: str = "",
        author: Author = Author.user,
    ) -> CommitResult:
        changed = len(writes) + len(deletes or [])
        result = await self.store.commit(
            project_id, writes, deletes or [], author, message or f"Edited {describe_paths(list(writes) + list(deletes or []))}"
        )
        if result.changed or result.deleted:
            self.logs.emit(
                project_id, f"Saved version {result.version.number}: {describe_paths(result.changed + result.deleted)} changed."
            )
            written = {p: (c.encode("utf-8") if isinstance(c, str) else c) for p, c in writes.items() if p in result.changed}
            await self.previews.on_saved(project_id, written, result.deleted)
        elif changed:
            self.logs.emit(project_id, "Nothing to save: the files are the same as in the current version.", LogLevel.info)
        return result

    async def close(self) -> None:
        await self.previews.close()
        await self.store.close()


def project_name_from_prompt(prompt: str) -> str:
    """A placeholder name until the model gives its title."""
    words = prompt.split()
    return " ".join(words[:6]) + ("..." if len(words) > 6 else "") if words else "New app"


def plural(n: int, word: str) -> str:
    """'1 file', '2 files': counts people read."""
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def describe_paths(paths: list[str]) -> str:
    if len(paths) <= 2:
        return ", ".join(paths) or "no files"
    return f"{paths[0]} and {len(paths) - 1} more files"


_services: Services | None = None
_lock = asyncio.Lock()


async def get_services() -> Services:
    global _services
    async with _lock:
        if _services is None:
            await asyncio.to_thread(db.migrate)
            _services = Services(store=ProjectStore(db.create_engine()), logs=LogHub())
            purged = await history.purge_expired_trash(_services.store)
            if purged.projects:
                log.info(
                    "removed %d project(s) that were in the trash for over %d days", len(purged.projects), history.TRASH_DAYS
                )
            log.info("project store ready at %s", settings.sync_database_url.split("@")[-1])
        return _services
