"""A project's own checks (build, lint, type-check, tests), read from its files, to run inside its running preview.

Only what the project declares: its package.json scripts, pytest when it has tests and installs pytest, Python's
syntax check over its sources, Django's system check. Each check is one shell line for the preview's root folder,
like the run plan's commands, and runs where the plan installed the dependencies it needs (the folders whose
manifests the plan reads), so a project in a base folder or in two folders is checked where it lives.
"""

from __future__ import annotations

import json
import posixpath
import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass

from preview_runtime.detect.command import Command
from preview_runtime.detect.python import installed_names
from preview_runtime.plan import RunPlan


@dataclass(frozen=True)
class ProjectCheck:
    name: str  # "build", "lint", "type-check", "tests", "syntax", "django-check"; "(folder)" added when names repeat
    command: str  # one shell line, run in the preview's root folder


# package.json scripts by the check they are; for type-check, the first name present wins.
NPM_CHECKS = (("type-check", ("typecheck", "type-check", "check-types", "tsc")), ("lint", ("lint",)), ("build", ("build",)))
NPM_DEFAULT_TEST = "no test specified"  # npm init's test script: `echo "Error: no test specified" && exit 1`
# A test runner that waits for file changes never ends: the check would only time out.
_WATCHING = re.compile(
    r"--watch(?:All)?(?!=false)(?![\w-])|\bvitest (?:watch|dev)\b"
    r"|\breact-scripts test\b(?!.*--watchAll=false)|\bng test\b(?!.*--watch=false)"
)
# Vitest watches unless told to run once; `--run` tells it, wherever it lands among the script's flags.
_VITEST_WATCHING = re.compile(r"\bvitest\b(?! run\b)(?!.*--run\b)")
# A lint script that rewrites files would change the preview's copy behind the project's back.
_WRITES = re.compile(r"--(?:fix|write)(?![\w-])")
_IGNORED = re.compile(r"(^|/)(node_modules|\.venv|venv|\.git|__pycache__|site-packages)/")
_PYTHON_MANIFESTS = ("requirements.txt", "pyproject.toml")
COMPILEALL = r"python -m compileall -q -x '/(\.venv|venv|node_modules|\.git)/' ."


def project_checks(files: Mapping[str, bytes], plan: RunPlan) -> list[ProjectCheck]:
    """The checks the project's own files declare, cheapest first; [] when it declares none."""
    found: list[tuple[str, str, str]] = []  # (name, folder, command)
    sources = [p for p in files if p.endswith(".py") and not _IGNORED.search(p)]
    if sources and plan.framework != "Static HTML":
        found.append(("syntax", "", COMPILEALL))
    python_folders = _folders(plan, _PYTHON_MANIFESTS)
    for folder in python_folders:
        if _join(folder, "manage.py") in files:
            found.append(("django-check", folder, Command(["python", "manage.py", "check"], cwd=folder).shell()))
    found += _npm_checks(files, _folders(plan, ("package.json",)))
    for folder in python_folders:
        if "pytest" in installed_names(files, folder) and _has_tests(sources, folder):
            found.append(("tests", folder, Command(["python", "-m", "pytest", "-q"], cwd=folder).shell()))
    repeated = {name for name, count in Counter(name for name, _, _ in found).items() if count > 1}
    return [ProjectCheck(f"{name} ({folder or '.'})" if name in repeated else name, command) for name, folder, command in found]


def _join(folder: str, name: str) -> str:
    return f"{folder}/{name}" if folder else name


def _folders(plan: RunPlan, manifests: tuple[str, ...]) -> list[str]:
    """The folders whose manifests the plan installs from, outermost first."""
    folders = {posixpath.dirname(path) for path in plan.lockfile_hash_inputs if posixpath.basename(path) in manifests}
    return sorted(folders, key=lambda folder: (folder.count("/") + bool(folder), folder))


def _npm_checks(files: Mapping[str, bytes], folders: list[str]) -> list[tuple[str, str, str]]:
    """`npm run NAME` for each check script; a workspace's script only when no folder above it has one of that
    kind (the root's usually runs it in every workspace)."""
    found: list[tuple[str, str, str]] = []
    for folder in folders:
        scripts = _scripts(files.get(_join(folder, "package.json"), b""))
        outer = {name for name, other, _ in found if _inside(folder, other)}
        for kind, names in NPM_CHECKS:
            name = next((n for n in names if scripts.get(n, "").strip()), "")
            if name and kind not in outer and not (kind == "lint" and _WRITES.search(scripts[name])):
                found.append((kind, folder, Command(["npm", "run", name], cwd=folder).shell()))
        test = scripts.get("test", "")
        if test.strip() and NPM_DEFAULT_TEST not in test and not _WATCHING.search(test) and "tests" not in outer:
            once = ["--", "--run"] if _VITEST_WATCHING.search(test) else []
            found.append(("tests", folder, Command(["npm", "run", "test", *once], cwd=folder).shell()))
    return found


def _inside(folder: str, outer: str) -> bool:
    return folder != outer and (not outer or folder.startswith(f"{outer}/"))


def _scripts(manifest: bytes) -> dict[str, str]:
    try:
        data = json.loads(manifest)
    except ValueError:
        return {}
    scripts = data.get("scripts") if isinstance(data, dict) else None
    return {k: v for k, v in scripts.items() if isinstance(v, str)} if isinstance(scripts, dict) else {}


def _has_tests(sources: list[str], folder: str) -> bool:
    """A tests/ (or test/) folder, or test_*.py / *_test.py files, in the folder."""
    prefix = f"{folder}/" if folder else ""
    for path in sources:
        if not path.startswith(prefix):
            continue
        relative = path[len(prefix) :]
        name = posixpath.basename(relative)
        if relative.startswith(("tests/", "test/")) or name.startswith("test_") or name.endswith("_test.py"):
            return True
    return False
