"""No module of Forja imports, even only for type checking, a module that imports it back (directly or through others),
counting the packages Python loads before the modules in them (tests/import_graph.py says how).

An import circle makes the order in which modules load matter (a name imported from a half-loaded module is missing),
and an import under TYPE_CHECKING hides one from the interpreter without ending it: the swarm's nodes and pools had
one. builder/services/__init__.py built every service, so each `builder.services.x` loaded the cluster, the git server
and eval first, which imported services back: builder.cluster.worker worked only after builder.services.
"""

from __future__ import annotations

import pytest

from tests.import_graph import circles, forja_modules, imports, modules


@pytest.mark.parametrize("package", ["builder", "preview_runtime"])
def test_no_import_circles(package: str) -> None:
    assert circles(imports(modules(package))) == []


def test_no_circle_between_the_two() -> None:
    assert circles(imports(forja_modules())) == []


def test_the_check_sees_a_circle_behind_type_checking() -> None:
    sources = {
        "p.nodes": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from p.pool import Pool\n",
        "p.pool": "from p.nodes import Node\n",
        "p.runner": "from p import pool\n",
    }
    assert circles(imports(sources)) == [["p.nodes", "p.pool"]]


def test_the_check_sees_a_circle_through_a_package_that_loads_more_than_its_own() -> None:
    # The services' package built the cluster, whose presence imported one service: loading that service from outside
    # the package ran the package first, which loaded the cluster's half-loaded worker.
    sources = {
        "p.services": "from p.cluster.worker import Cluster\n",
        "p.services.presence": "class PresenceService: ...\n",
        "p.cluster": "",
        "p.cluster.worker": "from p.cluster.presence import SharedPresence\n",
        "p.cluster.presence": "from p.services.presence import PresenceService\n",
    }
    assert circles(imports(sources)) == [["p.cluster.presence", "p.cluster.worker", "p.services"]]


def test_a_package_that_imports_its_own_modules_is_no_circle() -> None:
    # builder/settings/__init__.py puts its modules' parts together: they run while it is half loaded, and take
    # nothing from it.
    sources = {
        "p.settings": "from p.settings.server import Server\n",
        "p.settings.server": "from p.settings.limits import LIMIT\n",
        "p.settings.limits": "LIMIT = 1\n",
        "p.store": "from p.settings import Server\n",
    }
    assert circles(imports(sources)) == []


def test_a_module_that_takes_a_name_from_its_own_package_that_imports_it_is_a_circle() -> None:
    sources = {"p.settings": "from p.settings.server import Server\n", "p.settings.server": "from p.settings import X\n"}
    assert circles(imports(sources)) == [["p.settings", "p.settings.server"]]
