"""An app's data folders in the container runners' specs: a Docker container and a Swarm service both bind the host's
/data folder (read-only when over its quota) and the database's socket folder where the plan says; an unsandboxed
local preview gets the host paths in its variables instead; bubblewrap binds them."""

from __future__ import annotations

from pathlib import Path

from preview_runtime.docker.config import DockerConfig
from preview_runtime.docker.container import ContainerSpec
from preview_runtime.docker.deps_cache import DependencyCache
from preview_runtime.docker.engine import Engine
from preview_runtime.docker.readiness import Watch
from preview_runtime.local.sandbox import bwrap_args
from preview_runtime.plan import Mount, outside_paths
from preview_runtime.swarm.config import SwarmConfig
from preview_runtime.swarm.edge import Edge
from preview_runtime.swarm.nodes import Node
from preview_runtime.swarm.service import Services

DATA = [
    Mount(source="/srv/forja/appdata/p1/preview/files", target="/data", read_only=True),
    Mount(source="/srv/forja/appdata/p1/preview/db", target="/run/forja-db"),
]
BINDS = [
    {"Type": "bind", "Source": "/srv/forja/appdata/p1/preview/files", "Target": "/data", "ReadOnly": True},
    {"Type": "bind", "Source": "/srv/forja/appdata/p1/preview/db", "Target": "/run/forja-db", "ReadOnly": False},
]


async def _ignore(*_: object) -> None:
    return None


def test_a_docker_container_binds_the_apps_data_folders() -> None:
    containers = ContainerSpec(DockerConfig())
    config = containers.container_config([], {}, containers.mounts("app-vol", "", None, DATA))
    mounts = config["HostConfig"]["Mounts"]
    assert [m for m in mounts if m["Type"] == "bind" and m["Target"] in ("/data", "/run/forja-db")] == BINDS
    assert not [m for m in containers.mounts("app-vol", "", None) if m["Target"] == "/data"]


def test_a_swarm_service_binds_them_too() -> None:
    config = SwarmConfig(network="forja-swarm-test")
    engine = Engine(config)
    node = Node("n1", "host", engine, ContainerSpec(config), DependencyCache(engine, config), Watch(engine, config, _ignore))
    services = Services(engine, config, Edge(engine, config, _ignore))
    mounts = node.containers.mounts("app-vol", "", None, DATA)
    template = services._task_template(node, [], mounts, "app-vol", "net1")  # pyright: ignore[reportPrivateUsage]
    bound = [m for m in template["ContainerSpec"]["Mounts"] if m["Type"] == "bind"]
    assert bound == BINDS
    assert template["Placement"]["Constraints"] == ["node.id==n1"]


def test_bubblewrap_binds_them_and_without_it_the_variables_name_the_host_folders(tmp_path: Path) -> None:
    args = bwrap_args(tmp_path, tmp_path, {}, tmp_path, tmp_path / "etc", 3, DATA)
    assert "--ro-bind /srv/forja/appdata/p1/preview/files /data" in " ".join(args)
    assert "--bind /srv/forja/appdata/p1/preview/db /run/forja-db" in " ".join(args)
    env = {
        "DATA_DIR": "/data",
        "DATABASE_URL": "postgresql://r:pw@/r?host=/run/forja-db",
        "DATABASE_PATH": "/data/app.sqlite3",
        "OTHER": "/data",
    }
    assert outside_paths(env, DATA) == {
        "DATA_DIR": "/srv/forja/appdata/p1/preview/files",
        "DATABASE_URL": "postgresql://r:pw@/r?host=/srv/forja/appdata/p1/preview/db",
        "DATABASE_PATH": "/srv/forja/appdata/p1/preview/files/app.sqlite3",
        "OTHER": "/data",
    }
