"""A local preview's built files, read from its folder (Runner.collect) under collect.py's rules.

The preview's code runs beside this read and may swap a file for a link at any moment, so nothing here resolves a
path: every folder and file is opened relative to its parent's descriptor with O_NOFOLLOW (a link is never opened,
only read as a link), and only regular files are read (a FIFO would block, a device could be anything).
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from preview_runtime.collect import SKIPPED_DIRS, Budget, clean_folder, nothing_there, settle_links, shown
from preview_runtime.runner import RunnerError

_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_FILE_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC


def collect_folder(root: Path, folder: str, limit_bytes: int) -> dict[str, bytes]:
    """The files under `root/folder` by their path inside it; RunnerError when the folder is missing, is a link,
    holds a link out of it, or its files pass `limit_bytes` together."""
    folder = clean_folder(folder)
    budget = Budget(limit_bytes)
    files: dict[str, bytes] = {}
    links: dict[str, str] = {}
    fd = os.open(root, _DIR_FLAGS)
    try:
        for name in folder.split("/") if folder else []:
            try:
                inner = os.open(name, _DIR_FLAGS, dir_fd=fd)
            except FileNotFoundError:
                raise nothing_there(folder) from None
            except OSError as exc:  # ELOOP: a link; ENOTDIR: a file
                raise RunnerError(f"{shown(folder)} is not a folder of the project (a link or a file): {exc.strerror}.") from None
            os.close(fd)
            fd = inner
        _walk(fd, "", files, links, budget)
    finally:
        os.close(fd)
    settle_links(files, links, folder, budget)
    return files


def _walk(dir_fd: int, prefix: str, files: dict[str, bytes], links: dict[str, str], budget: Budget) -> None:
    with os.scandir(dir_fd) as listing:
        entries = sorted(listing, key=lambda e: e.name)
    for entry in entries:
        path = prefix + entry.name
        if entry.name in SKIPPED_DIRS:
            continue
        if entry.is_symlink():
            links[path] = os.readlink(entry.name, dir_fd=dir_fd)
        elif entry.is_dir(follow_symlinks=False):
            inner = os.open(entry.name, _DIR_FLAGS, dir_fd=dir_fd)
            try:
                _walk(inner, f"{path}/", files, links, budget)
            finally:
                os.close(inner)
        elif entry.is_file(follow_symlinks=False):
            if (data := _read(dir_fd, entry.name, budget)) is not None:
                files[path] = data


def _read(dir_fd: int, name: str, budget: Budget) -> bytes | None:
    """The file's bytes, counted against the budget as they come (it may grow while read); None when it is no longer
    a regular file (swapped meanwhile: a link fails O_NOFOLLOW and is left out as gone)."""
    try:
        fd = os.open(name, _FILE_FLAGS, dir_fd=dir_fd)
    except OSError:
        return None
    with os.fdopen(fd, "rb") as file:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return None
        data = file.read(max(budget.left(), 0) + 1)
    budget.take(len(data))
    return data
