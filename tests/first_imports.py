"""Import each module named on the command line as the first of Forja's in an interpreter of its own.

`python -m tests.first_imports MODULE...` (from the repository's root) loads the third-party packages Forja's modules
import, checks that none of Forja's came with them, then forks one child per module, two at a time, and the child
imports it. Each child starts with no module of Forja's loaded, as `python -c "import MODULE"` would, without paying
again the seconds Reflex, SQLAlchemy and the others take to load (one interpreter per module took minutes here).
A module that does not load prints its name and the end of its traceback; the exit status is 1 if any did not.
"""

from __future__ import annotations

import ast
import contextlib
import gc
import importlib
import importlib.util
import os
import sys
import traceback
from pathlib import Path

from tests.import_graph import PACKAGES, ROOT, forja_modules, inside

# Forja's packages, and what imports them (rxconfig.py reads builder.settings).
OURS = (*PACKAGES, "rxconfig")
AT_ONCE = max(2, os.cpu_count() or 2)


def third_party() -> list[str]:
    """Every module outside Forja that one of Forja's imports by name."""
    names: set[str] = set()
    for source in forja_modules().values():
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.Import):
                names.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names.add(node.module)
    return sorted(name for name in names if not any(inside(name, ours) for ours in OURS))


def ours_loaded() -> list[str]:
    return sorted(name for name in sys.modules if any(inside(name, ours) for ours in OURS))


def import_first(module: str) -> None:
    """In the forked child: import `module` and leave, with status 1 and its traceback's end when it fails."""
    try:
        importlib.import_module(module)
    except BaseException:
        sys.stderr.write(f"{module} does not load first:\n{traceback.format_exc(limit=-4)}\n")
        sys.stderr.flush()
        os._exit(1)
    os._exit(0)


def main(modules: list[str]) -> int:
    for name in third_party():
        with contextlib.suppress(Exception):  # optional ones (a platform's) fail in the child that needs them too
            importlib.import_module(name)
    if loaded := ours_loaded():
        sys.stderr.write(f"loading the third-party packages loaded Forja's modules too: {loaded}\n")
        return 2
    # Forja is installed editable from one checkout: the children must import this one's.
    elsewhere = [
        package
        for package in PACKAGES
        if (spec := importlib.util.find_spec(package)) is None or ROOT not in Path(spec.origin or "/").parents
    ]
    if elsewhere:
        sys.stderr.write(f"these packages are not this checkout's: {elsewhere}; run from {ROOT}\n")
        return 2
    # The children share the parent's objects until they write to them: a collection in a child would touch them all.
    gc.freeze()
    gc.disable()
    running: dict[int, str] = {}
    failed: list[str] = []

    def reap() -> None:
        pid, status = os.wait()
        if status != 0:
            failed.append(running[pid])
        del running[pid]

    for module in modules:
        while len(running) >= AT_ONCE:
            reap()
        sys.stdout.flush()
        sys.stderr.flush()
        if (pid := os.fork()) == 0:
            import_first(module)
        running[pid] = module
    while running:
        reap()
    print(f"{len(modules) - len(failed)} of {len(modules)} modules loaded first; failed: {sorted(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
