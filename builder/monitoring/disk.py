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
SHARED = "shared_"


def _parts_of(folder: Path, prefix: str = "") -> dict[str, int]:
    parts: dict[str, int] = {}
    try:
        entries = list(os.scandir(folder))
    except OSError:  # no such folder yet
        return parts
    for entry in entries:
        try:
            if entry.is_dir(follow_symlinks=False):
                parts[prefix + entry.name] = folder_bytes(Path(entry.path))
            else:
                parts[prefix + TOP_FILES] = parts.get(prefix + TOP_FILES, 0) + entry.stat(follow_symlinks=False).st_size
        except OSError:  # gone while we counted
            continue
    return parts


def data_parts(folder: Path, shared: Path | None = None) -> dict[str, int]:
    """Bytes of each folder right under the data folder (Forja names them: git, previews, proxy...) and of the files
    beside them; with a shared folder of its own (FORJA_SHARED_DIR: the apps' releases and /data folders), each of its
    parts too, as `shared_<name>` (every worker that mounts it tells the same)."""
    parts = _parts_of(folder)
    if shared is not None and not shared.is_relative_to(folder):
        parts |= _parts_of(shared, SHARED)
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
