"""The `forja` command that scripts/setup.sh installs into .venv/bin runs Forja's CLI, from any folder."""

from __future__ import annotations

import subprocess
from pathlib import Path

from builder.cli import COMMANDS

ROOT = Path(__file__).resolve().parents[2]
FORJA = ROOT / ".venv" / "bin" / "forja"


def test_forja_help_runs_from_the_venv(tmp_path: Path) -> None:
    assert FORJA.is_file(), f"{FORJA} is missing: run bash scripts/setup.sh, which installs it"
    done = subprocess.run([str(FORJA), "--help"], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("usage: forja ") and "Forja from the command line." in done.stdout
    listed = done.stdout.split("{", 1)[1].split("}", 1)[0].split(",")
    assert sorted(listed) == sorted({name.split()[0] for name in COMMANDS})  # "user create" is listed as "user"
