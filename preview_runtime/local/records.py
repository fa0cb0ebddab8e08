"""The record a local preview leaves beside its folder (`work_dir/.runs/<preview id>.json`), for a Forja that restarts.

While it runs: its process group, so a restarted Forja can end what may have outlived the old one. Once parked: what
waking it in its kept folder needs besides the folder (the project, version and run plan), and the hashes of the
dependency files it was installed from, so a wake skips the install when they are the same.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable, Mapping
from pathlib import Path

from pydantic import BaseModel, Field, ValidationError

from preview_runtime.local.files import safe_path
from preview_runtime.local.processes import start_ticks
from preview_runtime.plan import RunPlan, dependency_files
from preview_runtime.runner import RunnerError


class Parked(BaseModel):
    project_id: str
    version: int
    plan: RunPlan
    # Dependency file -> sha256 of what it held when the dependencies were installed.
    installed_from: dict[str, str] = Field(default_factory=dict)
    sandboxed: bool = True
    # The plan had the app's own variables, which no record keeps (RunPlan.env): a Forja that restarts cannot wake it
    # with them, so it removes it instead, and the next start gets them afresh.
    app_env: bool = False


class RunRecord(BaseModel):
    pgid: int | None = None
    start_ticks: int | None = None
    parked: Parked | None = None


def write_record(path: Path, pgid: int | None = None, parked: Parked | None = None) -> None:
    """Replaced whole (a restart never reads half a record)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    record = RunRecord(pgid=pgid, start_ticks=start_ticks(pgid) if pgid else None, parked=parked)
    temp = path.with_name(f".{path.name}.tmp")
    temp.write_text(record.model_dump_json())
    os.replace(temp, path)


def read_record(path: Path) -> RunRecord:
    """An unreadable record reads as one of a preview that holds nothing: its folder is removed."""
    try:
        return RunRecord.model_validate(json.loads(path.read_text()))
    except (OSError, ValueError, ValidationError):
        return RunRecord()


def hashes(files: Mapping[str, bytes]) -> dict[str, str]:
    """The sha256 of each dependency file among `files`."""
    return {path: hashlib.sha256(data).hexdigest() for path, data in dependency_files(files).items()}


def read_kept(directory: Path, paths: Iterable[str]) -> dict[str, bytes]:
    """These files of a kept folder as they are now (missing ones left out). The preview's own code could have made
    any of them a link: only what lies inside the folder is read."""
    found: dict[str, bytes] = {}
    for relative in paths:
        try:
            found[relative] = safe_path(directory, relative).read_bytes()
        except (OSError, RunnerError):
            continue
    return found
