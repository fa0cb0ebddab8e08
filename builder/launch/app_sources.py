"""What Reflex compiles the page's sources from, as one digest: the app's compile is skipped when it is unchanged.

Every start compiles the app: Reflex evaluates each page's components and writes them into .web as JavaScript, seconds
of a core even when the build after it is skipped (page.py). Its output is a function of Forja's code and assets, the
installed Reflex packages, Python, and Forja's settings. When their digest is the one the last good build recorded and
.web still holds what that build was made from (page.py's own stamp), Reflex is told to skip the compile, as it does for
its own backend workers: it evaluates then only the pages that make states (its stateful-pages marker) and serves.

Left out of the settings: where Forja's data and the services it talks to live, its ports and its log level. Forjas
that differ only in those are served the same page (the tests' Forjas, each with a copy of one build, are the proof); the addresses in the
build are written over by page.py. Secret values count only as set or not: the digest is kept beside the build.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import sys
from collections.abc import Iterable
from pathlib import Path

from builder.settings import REPO_ROOT, Settings

# Folders and files of the repository the app's pages are made from.
SOURCES = ("builder", "assets", "rxconfig.py")
NOT_SOURCES = {"__pycache__"}
# Where Forja's data and the services it talks to live, its ports and its log level: read by the server at run time, never
# by the page (Forjas differing in these share one build).
RUN_TIME_ONLY = frozenset(
    {"data_dir", "shared_dir", "backup_dir", "database_url", "redis_url", "dns_resolver", "port", "preview_port", "log_level"}
)
_SECRET_ENDINGS = ("api_key", "secret_key", "password", "_token")


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


def _settings(chosen: Settings) -> str:
    values = chosen.model_dump(mode="json", exclude=set(RUN_TIME_ONLY))
    for name, value in values.items():
        if name.endswith(_SECRET_ENDINGS):
            values[name] = bool(value)
    return json.dumps(values, sort_keys=True)


def sources_digest(chosen: Settings, root: Path = REPO_ROOT) -> str:
    digest = hashlib.sha256()
    for path in _files(root, SOURCES):
        digest.update(f"{path.relative_to(root).as_posix()}\0".encode())
        digest.update(path.read_bytes())
        digest.update(b"\0")
    digest.update("\n".join(_reflex_versions()).encode())
    digest.update(f"\0python {sys.version}\0".encode())
    digest.update(_settings(chosen).encode())
    return digest.hexdigest()
