"""A project's run settings: a person's own start command and app folder, kept with the project and used by every
preview of it (its own, its versions', its share links', its verification's)."""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping

from pydantic import BaseModel, Field, ValidationError, field_validator

from builder.errors import InvalidInput, PreviewError
from builder.schemas import RequestBody
from builder.services.preview_hub import ENDED
from builder.services.previews import PreviewService
from builder.store import ProjectStore
from preview_runtime.detect import NotRunnable, RunOverride, detect
from preview_runtime.detect.override import folder_in
from preview_runtime.logs import LogHub, LogLevel

log = logging.getLogger(__name__)

MAX_COMMAND = 2000
MAX_FOLDER = 500
# What a folder list leaves out: installed packages and tools' caches are not apps to run.
_NOT_APPS = re.compile(r"(^|/)(node_modules|\.git|\.venv|venv|__pycache__|\.next|\.nuxt|\.svelte-kit|\.angular|dist|build)(/|$)")


class RunSettings(RequestBody):
    """A person's run settings: both empty means Forja works out how the project runs."""

    command: str = Field(
        default="",
        max_length=MAX_COMMAND,
        description="A shell line that starts the app, run in `folder` with $PORT and $HOST set; empty: the detected one.",
        examples=["python main.py"],
    )
    folder: str = Field(
        default="",
        max_length=MAX_FOLDER,
        description="The folder of the app to run, detected as if it were the project's root; empty: the project's root.",
        examples=["apps/web"],
    )

    @field_validator("command")
    @classmethod
    def _one_line(cls, value: str) -> str:
        if any(c in value for c in "\0\r\n"):
            raise ValueError("the command must be one line, without newlines or NUL characters: join commands with &&")
        return value.strip()

    @field_validator("folder")
    @classmethod
    def _a_folder(cls, value: str) -> str:
        if any(c in value for c in "\0\r\n\\"):
            raise ValueError("the folder must be a path like apps/web, without newlines, backslashes or NUL characters")
        folder = value.strip().strip("/")
        if any(part in ("", ".", "..") for part in folder.split("/")) and folder:
            raise ValueError(f"the folder {value!r} must be a path inside the project like apps/web, without . or .. parts")
        return folder


class RunSettingsInfo(BaseModel):
    command: str = Field(description="The start command kept with the project; empty: Forja works it out.")
    folder: str = Field(description="The app folder kept with the project; empty: the project's root.")
    folders: list[str] = Field(
        default_factory=list, description="The project's folders to pick from, the apps detection offers first."
    )


def valid_run_settings(command: str, folder: str) -> RunSettings:
    """Run settings as the API accepts them; InvalidInput (the API's rule, in words) otherwise (for the CLI)."""
    try:
        return RunSettings(command=command, folder=folder)
    except ValidationError as exc:
        raise InvalidInput(
            f"The run settings are not accepted: {exc.errors()[0]['msg'].removeprefix('Value error, ')}."
        ) from None


def folders_of(tree: Mapping[str, bytes]) -> list[str]:
    """The tree's folders, the other apps detection finds (Found.choices) first."""
    every = {part for path in tree if "/" in path for part in _ancestors(path.rsplit("/", 1)[0])}
    try:
        choices = [choice for found in detect(tree) for choice in found.choices]
    except NotRunnable:
        choices = []
    rest = sorted(folder for folder in every if not _NOT_APPS.search(folder))
    return [*dict.fromkeys([*choices, *rest])]


def _ancestors(folder: str) -> list[str]:
    parts = folder.split("/")
    return ["/".join(parts[: i + 1]) for i in range(len(parts))]


class RunSettingsService:
    def __init__(self, store: ProjectStore, previews: PreviewService, logs: LogHub) -> None:
        self._store = store
        self._previews = previews
        self._logs = logs

    async def get(self, project_id: str) -> RunSettingsInfo:
        override = await self._store.run_override(project_id)
        project = await self._store.get_project(project_id)
        tree = await self._store.read_tree(project_id) if project.current_version else {}
        return RunSettingsInfo(command=override.command, folder=override.folder, folders=folders_of(tree))

    async def set(self, project_id: str, asked: RunSettings, started_by: str | None = None) -> RunSettingsInfo:
        """Keep the run settings and restart the project's running preview with them. The folder must be in the
        project's current version (InvalidInput, in words, when not)."""
        project = await self._store.get_project(project_id)
        if asked.folder:
            tree = await self._store.read_tree(project_id) if project.current_version else {}
            try:
                folder_in(tree, asked.folder)
            except NotRunnable:
                raise InvalidInput(
                    f"There is no folder {asked.folder}/ in this project: pick one of its folders, or leave it empty "
                    "for the project's root."
                ) from None
        await self._store.set_run_override(project_id, RunOverride(command=asked.command, folder=asked.folder))
        log.info("run settings of %s: command %r, folder %r", project_id, asked.command, asked.folder)
        running = await self._previews.status(project_id)
        if running is not None and running.state not in ENDED:
            try:
                await self._previews.start(project_id, restart=True, started_by=started_by)
            except PreviewError as exc:  # kept all the same: the Preview tab and the log say why it does not run
                self._logs.emit(project_id, f"The preview could not restart with the new run settings: {exc}", LogLevel.error)
        return await self.get(project_id)
