"""Rules every runner keeps when it hands a preview's built files back (Runner.collect): which folder may be asked
for, what is left out, the size cap counted while reading, and symlinks, which are never followed out of the folder.

A link that stays inside the folder is kept as a copy of the file it names (a static server serves files, not
links); one that leads out of it (absolute, or up through `..`) is refused: the code that wrote it is the project's,
and what it names could be anything on the machine or in the container.
"""

from __future__ import annotations

import logging
import posixpath
from collections.abc import Mapping

from preview_runtime.runner import RunnerError

logger = logging.getLogger(__name__)

# Never part of a built site: installed dependencies and history, which a plain HTML site's root holds beside it.
SKIPPED_DIRS = frozenset({"node_modules", ".venv", ".git"})


def clean_folder(folder: str) -> str:
    """The folder as a relative POSIX path ("" for the preview's root); RunnerError for one that leaves it."""
    text = folder.replace("\\", "/")
    parts = [p for p in text.split("/") if p not in ("", ".")]
    if text.startswith("/") or "\0" in text or ".." in parts:
        raise RunnerError(f"Forja reads built files only inside the project's folder, not from {folder!r}.")
    return "/".join(parts)


def shown(folder: str) -> str:
    return f"{folder}/" if folder else "the project's root folder"


def nothing_there(folder: str) -> RunnerError:
    return RunnerError(f"The build wrote nothing in {shown(folder)}: there is no such folder after it ran.")


class Budget:
    """Bytes of file content read so far, against the cap."""

    def __init__(self, limit_bytes: int) -> None:
        self.limit = limit_bytes
        self.used = 0

    def left(self) -> int:
        return self.limit - self.used

    def take(self, size: int) -> None:
        self.used += size
        if self.used > self.limit:
            raise RunnerError(
                f"The build output is over {self.limit / 1_000_000:g} MB, the most Forja publishes for one site: "
                "make it smaller (large videos or pictures can be served from elsewhere) and publish again."
            )


def is_skipped(path: str) -> bool:
    """In (or is) a skipped folder: a link named node_modules (a runner's cache, linked in) is left out too."""
    return any(part in SKIPPED_DIRS for part in path.split("/"))


def settle_links(files: dict[str, bytes], links: Mapping[str, str], folder: str, budget: Budget) -> None:
    """Each symlink found (path -> its target as written) becomes a copy of the file it names in the folder; a link
    out of the folder is refused, one to a folder, another link or nothing is left out."""
    for path, target in sorted(links.items()):
        resolved = posixpath.normpath(posixpath.join(posixpath.dirname(path), target))
        if target.startswith("/") or resolved == ".." or resolved.startswith("../"):
            raise RunnerError(
                f"{in_folder(folder, path)} is a link to {target}, outside {shown(folder)}: Forja never follows a link "
                "out of the build's folder. Make the build copy that file instead."
            )
        if (data := files.get(resolved)) is None:
            logger.info("Leaving out %s: a link to %s, which is no file of the build", in_folder(folder, path), target)
            continue
        budget.take(len(data))
        files[path] = data


def in_folder(folder: str, path: str) -> str:
    return f"{folder}/{path}" if folder else path
