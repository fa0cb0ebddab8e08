"""A local preview's folder: writing project files inside it only, and a free loopback port."""

from __future__ import annotations

import os
import secrets
import shutil
from collections.abc import Mapping
from pathlib import Path

from preview_runtime import free_ports
from preview_runtime.runner import RunnerError


def safe_path(root: Path, relative: str) -> Path:
    """`root/relative`, refusing anything that would land outside root (absolute, `..`, through a symlink)."""
    if not relative or relative.startswith(("/", "\\")) or "\0" in relative:
        raise RunnerError(f"Refusing to write {relative!r}: not a path inside the project.")
    root = root.resolve()
    target = (root / relative).resolve()
    if target == root or not target.is_relative_to(root):
        raise RunnerError(f"Refusing to write {relative!r}: it leads outside the project's folder.")
    return target


INCOMING = ".incoming-"  # in the name of the folder a write fills beside its preview's


def write_files(root: Path, changed: Mapping[str, bytes], deleted: list[str] | tuple[str, ...] = ()) -> None:
    """The files are written into a folder beside `root` (outside the sandbox's view, so a dev server sees no file that
    is not whole) and renamed into their places once every one is written: a write that fails (no room left on the
    disk) leaves `root` as it was."""
    incoming = root.with_name(f".{root.name}{INCOMING}{secrets.token_hex(4)}")
    incoming.mkdir()
    try:
        places = []
        for n, (relative, content) in enumerate(changed.items()):
            places.append(safe_path(root, relative))
            places[-1].parent.mkdir(parents=True, exist_ok=True)
            (incoming / str(n)).write_bytes(content)
        for n, target in enumerate(places):
            os.replace(incoming / str(n), target)
    finally:
        shutil.rmtree(incoming, ignore_errors=True)
    for relative in deleted:
        target = safe_path(root, relative)
        if target.is_dir() and not target.is_symlink():
            shutil.rmtree(target, ignore_errors=True)
        else:
            target.unlink(missing_ok=True)


def free_port(taken: set[int]) -> int:
    try:
        return free_ports.free_port(taken)
    except OSError:
        raise RunnerError("No free port on 127.0.0.1 for the preview.") from None
