"""What Reflex compiles the page's sources from, as one digest: the app's compile is skipped when it is unchanged.

Every start compiles the app: Reflex evaluates each page's components and writes them into .web as JavaScript, seconds
of a core even when the build after it is skipped (page.py). Its output is a function of Forja's code and assets, the
installed Reflex packages and Python. When their digest is the one the last good build recorded and .web still holds
what that build was made from (page.py's own stamp), Reflex is told to skip the compile, as it does for its own backend
workers: it evaluates then only the pages that make states (its stateful-pages marker) and serves.

Forja's settings are not among them: no page or component reads one when it is built, and no state takes one as a
default (tests/unit/test_page_build.py holds the code to that); states read them when a person uses the page, and
rxconfig's addresses reach the build only in env.json, which page.py writes over. The tests' Forjas, started with
dozens of different settings on copies of one build, each compiled the same page before this skip existed.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import sys
from collections.abc import Iterable
from pathlib import Path

from builder.settings import REPO_ROOT

# Folders and files of the repository the app's pages are made from.
SOURCES = ("builder", "assets", "rxconfig.py")
NOT_SOURCES = {"__pycache__"}


def _files(root: Path, names: Iterable[str]) -> list[Path]:
    found: list[Path] = []
    for name in names:
        path = root / name
        if path.is_file():
            found.append(path)
        elif path.is_dir():
            found.extend(
                sorted(p for p in path.rglob("*") if p.is_file() and not NOT_SOURCES.intersection(p.relative_to(root).parts))
            )
    return found


def _reflex_versions() -> list[str]:
    names = (dist.metadata["Name"] or "" for dist in importlib.metadata.distributions())
    return sorted(f"{name}=={importlib.metadata.version(name)}" for name in set(names) if name.lower().startswith("reflex"))


def sources_digest(root: Path = REPO_ROOT) -> str:
    digest = hashlib.sha256()
    for path in _files(root, SOURCES):
        digest.update(f"{path.relative_to(root).as_posix()}\0".encode())
        digest.update(path.read_bytes())
        digest.update(b"\0")
    digest.update("\n".join(_reflex_versions()).encode())
    digest.update(f"\0python {sys.version}\0".encode())
    return digest.hexdigest()
