"""A person's own run settings (RunOverride) over what detection found: the folder to treat as the project's root,
and a shell line to start it with instead of the detected command."""

from __future__ import annotations

from collections.abc import Mapping

from preview_runtime.detect.command import Command
from preview_runtime.detect.declared import stack
from preview_runtime.detect.found import Found, NotRunnable

SOURCE = "your run settings"


def folder_in(files: Mapping[str, bytes], folder: str) -> str:
    """The override's folder, checked against the project's files (without a trailing slash)."""
    folder = folder.strip("/")
    if not any(path.startswith(f"{folder}/") for path in files):
        raise NotRunnable(
            f"The folder {folder}/ in this project's run settings is not in the project: pick another one in Run settings."
        )
    return folder


def with_command(files: Mapping[str, bytes], folder: str, parts: list[Found], command: str) -> Found:
    """One part that runs `command` in `folder`, installed as the detected parts were (or as the folder's stack is)."""
    if parts:
        found = parts[-1]
        found.install = [c for part in parts for c in part.install]
        found.inputs = [path for part in parts for path in part.inputs]
        found.notes = [note for part in parts for note in part.notes]
        found.python = any(part.python for part in parts)
    else:
        found = stack(files, folder)
    found.dev = Command(["sh", "-c", command], cwd=folder)
    found.source = SOURCE
    found.server = True  # a shell line runs on the server runners, never in the browser's WebContainer
    found.hot_reload = False
    found.home_page = False  # a shell line of the person's may start anything, an API too
    found.side_port = None
    return found
