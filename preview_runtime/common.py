"""Helpers both runners and Forja use: size and exit code in plain words, a folder's size, and secret-looking names."""

from __future__ import annotations

import os
import re
from pathlib import Path

# Names that look like they hold a credential: such variables never reach a preview's environment,
# and Forja redacts their values from what goes to a model and what it saves.
SECRET_NAME = re.compile(r"KEY|TOKEN|SECRET|PASSWORD|PASSWD|CREDENTIAL|DATABASE_URL|DSN", re.IGNORECASE)

_EXIT_MEANINGS = {
    1: "the command failed",
    2: "the command was misused",
    126: "a command could not run",
    127: "a command was not found",
    130: "interrupted",
    134: "aborted",
    137: "killed",
    139: "crashed: segmentation fault",
    143: "terminated",
}


def human_size(n: int, *, iec: bool = False) -> str:
    """`n` bytes in steps of 1024: "1.5 KB", or "1.5 KiB" with iec=True (Docker's spelling, used for its limits)."""
    units = ("bytes", "KiB", "MiB", "GiB") if iec else ("bytes", "KB", "MB", "GB")
    value = float(n)
    for unit in units:
        if value < 1024 or unit == units[-1]:
            return f"{value:.0f} {unit}" if unit == "bytes" else f"{value:.1f} {unit}".replace(".0 ", " ")
        value /= 1024
    raise AssertionError("unreachable")


def folder_bytes(folder: Path) -> int:
    """The sizes of the files under `folder` added up (0 when there is no such folder)."""
    total = 0
    for root, _, names in os.walk(folder):
        for name in names:
            try:
                total += os.lstat(os.path.join(root, name)).st_size
            except OSError:  # gone while we counted
                continue
    return total


def exit_meaning(code: int) -> str:
    """What a process's exit code says in plain words (a shell's own codes, 128 + a signal); "" when nothing."""
    return _EXIT_MEANINGS.get(code, "")
