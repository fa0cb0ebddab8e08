"""Fixed facts of a preview container (paths, uid, labels), the names of what the runner makes, and file uploads."""

from __future__ import annotations

import hashlib
import io
import re
import tarfile
import time
from collections.abc import Iterable, Mapping
from pathlib import PurePosixPath

from preview_runtime.runner import PreviewSpec, RunnerError

PREVIEW_UID = 10001
APP_DIR = "/app"
DEPS_DIR = "/deps"
SEED_DIR = "/seed"  # packages fetched ahead (npm cache, wheels), mounted read-only: installs work offline
BOOTSTRAP = ".forja-bootstrap"  # uploaded into /app, moved out by the container before anything runs
FORJA_HOME = "/home/preview/.forja"  # where entry.sh moves the bootstrap (its $F)
# Docker writes an upload's folders' times after all its files, so `ready` alone can show up while Docker still owns
# the bootstrap; fixed times tell entry.sh when it is done: the bootstrap folder (an upload's last folder) older than
# `ready` happens only once Docker's last step has run.
STAMPS = {BOOTSTRAP: 0, f"{BOOTSTRAP}/ready": 1}
APP_ENV = "app-env"  # the app's own variables there, for the commands run beside the dev server
KEPT_ENV = "kept-env"  # Forja's variables for the app that are no secret (RunPlan.kept_env), for those commands too
CACHED_DIRS = ("node_modules", ".venv")
# Folders in node_modules that dev tools write to (Vite's pre-bundled deps and bundled config, loaders'
# caches): writable tmpfs over a node_modules that is mounted read-only from the cache.
TOOL_DIRS = (".vite", ".vite-temp", ".cache")

LABEL_MANAGED = "forja.managed"
LABEL_NETWORK = "forja.network"
LABEL_POOL = "forja.pool"
LABEL_POOL_DEPS = "forja.pool_deps"
LABEL_CLAIM = "forja.claim"


def safe_name(text: str) -> str:
    name = re.sub(r"[^a-zA-Z0-9_.-]", "-", text)[:100].strip("-.")
    return name or hashlib.sha256(text.encode()).hexdigest()[:16]


def preview_names(network: str, preview_id: str) -> tuple[str, str]:
    """Container and /app volume names; prefixed by the network so two runners on one host never clash."""
    safe = safe_name(preview_id)
    return f"{network}-{safe}", f"{network}-app-{safe}"


def claim_name(network: str, preview_id: str) -> str:
    # "." after the network: safe_name never starts with ".", so no preview's own names look like it.
    return f"{network}.claim-{safe_name(preview_id)}"


def deps_volume_name(deps_key: str) -> str:
    return f"forja-deps-{deps_key}"


def deps_marker_name(deps_key: str) -> str:
    return f"forja-deps-{deps_key}.complete"


def preview_labels(network: str, spec: PreviewSpec) -> dict[str, str]:
    return {
        LABEL_MANAGED: "1",
        LABEL_NETWORK: network,
        "forja.preview_id": spec.preview_id,
        "forja.project_id": spec.project_id,
        "forja.version": str(spec.version),
        "forja.port": str(spec.plan.port),
    }


def clean_relpath(path: str) -> str:
    """A project path as a safe relative POSIX path; RunnerError for absolute or escaping paths."""
    p = PurePosixPath(path.replace("\\", "/"))
    if p.is_absolute() or not p.parts or any(part in ("..", "") for part in p.parts):
        raise RunnerError(f"Forja cannot write {path!r}: project paths must stay inside the project folder.")
    return str(p)


def tar_files(files: Mapping[str, bytes], *, prefix: str = "", dirs: Iterable[str] = ()) -> bytes:
    """A tar archive of files and folders (and their parent folders), all owned by the preview user."""
    buf = io.BytesIO()
    now = time.time()
    added: set[str] = set()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:

        def add_dir(d: str) -> None:
            if not d or d in added:
                return
            parent = str(PurePosixPath(d).parent)
            if parent != ".":
                add_dir(parent)
            added.add(d)
            info = tarfile.TarInfo(d)
            info.type, info.mode, info.uid, info.gid = tarfile.DIRTYPE, 0o755, PREVIEW_UID, PREVIEW_UID
            info.mtime = STAMPS.get(d, now)
            tar.addfile(info)

        for raw_path, data in files.items():
            path = clean_relpath(prefix + raw_path if prefix else raw_path)
            parent = str(PurePosixPath(path).parent)
            if parent != ".":
                add_dir(parent)
            info = tarfile.TarInfo(path)
            info.size, info.mode, info.uid, info.gid = len(data), 0o644, PREVIEW_UID, PREVIEW_UID
            info.mtime = STAMPS.get(path, now)
            if path.endswith((".sh",)) or data.startswith(b"#!"):
                info.mode = 0o755
            tar.addfile(info, io.BytesIO(data))
        for d in dirs:
            add_dir(clean_relpath(d))
    return buf.getvalue()
