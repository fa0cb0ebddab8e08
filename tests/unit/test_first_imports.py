"""The modules Forja's processes load first load when they are the first of Forja's that an interpreter imports.

builder.cluster.worker, builder.cluster.presence and builder.publish.server_apps once loaded only after
builder.services, whose package built every service: the import circles through it broke whichever came first. Such a
circle is now found by reading the source (tests/unit/test_import_cycles.py): its graph holds every import, those inside
functions and under TYPE_CHECKING too, and the packages Python loads above each module, so with no circle in it no
order of imports meets a module half loaded. What reading cannot see is what a module does while it loads, so each
module a process of Forja's starts from is imported here first, by a child of tests/first_imports.py, which holds the
third-party packages and none of Forja's: those no module of Forja's imports but a `__main__` (the CLI, the run
command's halves, the Reflex app rxconfig names) and the API the workers' ASGI apps load. Every module, one child each,
took two minutes of both of CI's cores, more than the whole unit tier besides.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.import_graph import ROOT, forja_modules, imports

# The children compile Forja's modules once and read them after (the machine's environment says not to write them).
ENV = {name: value for name, value in os.environ.items() if name != "PYTHONDONTWRITEBYTECODE"}


def first_imports(modules: list[str], data: Path, path: str = "") -> subprocess.CompletedProcess[str]:
    env = ENV | {"FORJA_DATA_DIR": str(data)} | ({"PYTHONPATH": path} if path else {})
    return subprocess.run(
        [sys.executable, "-m", "tests.first_imports", *modules],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


def entry_modules() -> list[str]:
    """Those no module of Forja's imports but a `__main__` (what `python -m` runs), and the API (tests/forja_worker.py)."""
    graph = imports(forja_modules())
    imported = set().union(*(loads for name, loads in graph.items() if not name.endswith(".__main__")))
    return sorted({name for name in graph if name not in imported and not name.endswith(".__main__")} | {"builder.api"})


def test_every_entry_module_loads_first(tmp_path: Path) -> None:
    modules = entry_modules()
    assert {"builder.cli", "builder.launch.run", "builder.launch.server", "builder.builder", "builder.api"} <= set(modules)
    run = first_imports(modules, tmp_path / "data")
    assert run.returncode == 0, run.stderr[-6000:]
    assert f"{len(modules)} of {len(modules)} modules loaded first; failed: []" in run.stdout


def test_the_check_sees_a_module_that_loads_only_after_another(tmp_path: Path) -> None:
    # The old shape: the services' package built the cluster, whose presence took a class from one service.
    house = tmp_path / "house"
    for package, files in {
        "house_services": {"__init__": "from house_cluster.worker import Cluster\n", "presence": "class Presence: ...\n"},
        "house_cluster": {
            "__init__": "",
            "worker": "from house_cluster.presence import Shared\n\n\nclass Cluster: ...\n",
            "presence": "from house_services.presence import Presence\n\n\nclass Shared(Presence): ...\n",
        },
    }.items():
        (house / package).mkdir(parents=True)
        for name, source in files.items():
            (house / package / f"{name}.py").write_text(source)
    run = first_imports(["house_services", "house_cluster.worker"], tmp_path / "data", str(house))
    assert run.returncode == 1
    assert "1 of 2 modules loaded first; failed: ['house_cluster.worker']" in run.stdout
    assert "cannot import name 'Cluster' from partially initialized module 'house_cluster.worker'" in run.stderr


# Packages only one path of Forja's needs, loaded there (a migration, an app's PostgreSQL database, Docker, a review's
# secrets check) rather than with every process: together they took half a second of each one's start.
ONE_PATH_ONLY = ("alembic", "psycopg", "aiodocker", "aiohttp", "detect_secrets")


def test_forjas_services_load_without_what_only_one_path_needs(tmp_path: Path) -> None:
    code = f"import sys, builder.composition; print(sorted(set({ONE_PATH_ONLY!r}) & set(sys.modules)))"
    run = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=ENV | {"FORJA_DATA_DIR": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    assert run.stdout.strip() == "[]"
