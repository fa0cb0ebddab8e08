"""How many bytes each part of the data folder holds, read at scrape time but kept a short while: walking a large
data folder (projects' git mirrors, previews' dependencies) at every scrape would make a cheap read an expensive one."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from pathlib import Path

from preview_runtime.common import folder_bytes

# Scrapes come every 15 to 60 s; a minute's old disk figure still tells a filling disk in time.
KEPT_S = 60.0
# Files right in the data folder (the SQLite database, the lock, the secrets key file) are one part.
TOP_FILES = "files"


def data_parts(folder: Path, releases: Path) -> dict[str, int]:
    """Bytes of each folder right under the data folder (Forja names them: git, previews, proxy...), of the files beside
    them, and of the published apps' releases (under FORJA_SHARED_DIR when that is set, so counted on their own)."""
    parts: dict[str, int] = {}
    try:
        entries = list(os.scandir(folder))
    except OSError:  # no data folder yet
        entries = []
    for entry in entries:
        try:
            if entry.is_dir(follow_symlinks=False):
                parts[entry.name] = folder_bytes(Path(entry.path))
            else:
                parts[TOP_FILES] = parts.get(TOP_FILES, 0) + entry.stat(follow_symlinks=False).st_size
        except OSError:  # gone while we counted
            continue
    if not releases.is_relative_to(folder):
        parts["releases"] = folder_bytes(releases)
    return parts


class DiskUse:
    """data_parts, read again once KEPT_S have passed since the last read (and one read at a time)."""

    def __init__(self, read: Callable[[], dict[str, int]], clock: Callable[[], float] = time.monotonic) -> None:
        self._read = read
        self._clock = clock
        self._lock = threading.Lock()
        self._parts: dict[str, int] = {}
        self._read_at: float | None = None

    def parts(self) -> dict[str, int]:
        """Blocking (it may walk the folder): call it in a thread."""
        with self._lock:
            now = self._clock()
            if self._read_at is None or now - self._read_at >= KEPT_S:
                self._parts = self._read()
                self._read_at = now
            return dict(self._parts)
