"""DockerRunner's warm pool against a real Docker engine: claim, refill, cache keys, restart, clean-up.

Test traffic goes only to the containers these tests create (their bridge IPs on this machine).
"""

from __future__ import annotations

import json
import subprocess
import time
from datetime import UTC, datetime

import pytest

from preview_runtime.docker.layout import claim_name, preview_names
from preview_runtime.docker.runner import DockerRunner
from preview_runtime.plan import RunPlan
from preview_runtime.runner import PreviewState

pytest.register_assert_rewrite("tests.docker_fixtures")
from tests.docker_fixtures import TEST_NETWORK, LogCollector, MiB, container_inspect, get, spec, wait_state  # noqa: E402

pytest_plugins = ["tests.docker_fixtures"]

# A dependency "install" that needs no network: the cache key comes from package.json.
DEPS_FILES = {"package.json": b'{"name": "pooled", "version": "1.0.0"}', "index.html": b"<p>pooled with deps</p>"}
DEPS_PLAN = RunPlan(
    install="mkdir -p node_modules/dep && echo 'module.exports = 42' > node_modules/dep/index.js",
    dev="test -f node_modules/dep/index.js && exec python -m http.server $PORT",
    port=8080,
    has_server=False,
    lockfile_hash_inputs=["package.json"],
)


def docker_ids(*filters: str) -> list[str]:
    args = ["docker", "ps", "-aq", "--no-trunc"] + [f"--filter={f}" for f in filters]
    return subprocess.run(args, capture_output=True, text=True, check=True, timeout=20).stdout.split()


def volume_labels(name: str) -> dict[str, str] | None:
    out = subprocess.run(["docker", "volume", "inspect", name], capture_output=True, text=True, timeout=20)
    return (json.loads(out.stdout)[0].get("Labels") or {}) if out.returncode == 0 else None


def docker_time(text: str) -> float:
    """Seconds since the epoch of one of Docker's timestamps (RFC 3339, nanoseconds, UTC)."""
    whole, _, fraction = text.rstrip("Z").partition(".")
    return datetime.fromisoformat(whole).replace(tzinfo=UTC).timestamp() + float("0." + (fraction or "0"))


async def test_start_claims_a_started_pool_container_and_the_pool_is_refilled(docker_runner_factory) -> None:
    runner: DockerRunner = docker_runner_factory(warm_pool=1)
    pool = await runner.warm_up()
    assert len(pool) == 1
    pooled = pool[0]
    waiting = container_inspect(pooled)
    assert waiting["State"]["Running"] and waiting["Name"].startswith(f"/{TEST_NETWORK}.pool-")
    assert waiting["Config"]["Labels"]["forja.pool"] == "1" and "forja.preview_id" not in waiting["Config"]["Labels"]

    log = LogCollector()
    asked = time.time()
    info = await runner.start(spec("pool-1", {"index.html": b"<p>from the pool</p>"}, project_id="proj-p", version=3), log)
    assert info.handle == pooled  # the start used the container that was waiting
    claimed = container_inspect(pooled)
    assert docker_time(claimed["Created"]) < docker_time(claimed["State"]["StartedAt"]) < asked
    assert claimed["Name"] == "/" + preview_names(runner.config.network, "pool-1")[0]
    assert any(t.startswith("Preview container started from the warm pool") for t in log.texts("pool-1"))
    info = await wait_state(runner, "pool-1", PreviewState.running, 30, log)
    assert (await get(info.upstream + "/")).text == "<p>from the pool</p>"
    await runner.push_files("pool-1", {"index.html": b"<p>edited</p>"}, [])
    assert (await get(info.upstream + "/")).text == "<p>edited</p>"

    # As hardened as any preview; nothing preview-specific was in its configuration.
    host = claimed["HostConfig"]
    assert host["ReadonlyRootfs"] is True and host["CapDrop"] == ["ALL"] and "no-new-privileges" in host["SecurityOpt"]
    assert host["Memory"] == 256 * MiB and host["PidsLimit"] == 128 and host["NetworkMode"] == TEST_NETWORK
    assert not host.get("PortBindings") and not host.get("Binds") and claimed["Config"]["User"] == "10001:10001"
    assert not any(e.startswith(("PORT=", "FORJA_DEV=", "FORJA_INSTALL=")) for e in claimed["Config"]["Env"])
    # Its identity is in the claim record, which the container cannot reach.
    record = volume_labels(claim_name(runner.config.network, "pool-1"))
    assert record is not None
    assert (record["forja.preview_id"], record["forja.project_id"], record["forja.version"], record["forja.port"]) == (
        "pool-1",
        "proj-p",
        "3",
        "8080",
    )
    assert not any(m.get("Name") == claim_name(runner.config.network, "pool-1") for m in claimed["Mounts"])

    refilled = await runner.warm_up()
    assert len(refilled) == 1 and refilled[0] != pooled
    assert container_inspect(refilled[0])["State"]["Running"]

    # Forja restarts: close() removes the waiting pool container, the preview keeps running and is adopted.
    await runner.close()
    assert not docker_ids(f"id={refilled[0]}")
    second: DockerRunner = docker_runner_factory(warm_pool=1)
    by_id = {i.preview_id: i for i in await second.adopt()}
    assert set(by_id) == {"pool-1"}
    adopted = by_id["pool-1"]
    assert (adopted.project_id, adopted.version, adopted.upstream, adopted.handle) == ("proj-p", 3, info.upstream, pooled)
    assert (await get(adopted.upstream + "/")).text == "<p>edited</p>"
    app_volume = next(m["Name"] for m in claimed["Mounts"] if m["Destination"] == "/app")
    await second.stop("pool-1")
    assert not docker_ids(f"id={pooled}")
    assert volume_labels(app_volume) is None and volume_labels(claim_name(second.config.network, "pool-1")) is None


async def test_adopt_removes_pool_containers_nobody_claimed(docker_runner_factory) -> None:
    first: DockerRunner = docker_runner_factory(warm_pool=1)
    stale = await first.warm_up()
    stale_volume = next(m["Name"] for m in container_inspect(stale[0])["Mounts"] if m["Destination"] == "/app")
    # A Forja that starts after another one went away finds its pool: not previews, removed, and a pool of its own made.
    second: DockerRunner = docker_runner_factory(warm_pool=1)
    assert await second.adopt() == []
    assert not docker_ids(f"id={stale[0]}") and volume_labels(stale_volume) is None
    fresh = await second.warm_up()
    assert len(fresh) == 1 and fresh != stale


async def test_pool_follows_the_dependency_cache_key(docker_runner_factory) -> None:
    """After a project with a dependency cache starts, the pool holds a container with that cache mounted."""
    runner: DockerRunner = docker_runner_factory(warm_pool=1)
    log = LogCollector()
    project = f"pool-deps-{time.time_ns()}"
    first = spec("deps-a", DEPS_FILES, DEPS_PLAN, project_id=project)
    await runner.start(first, log)
    await wait_state(runner, "deps-a", PreviewState.running, 60, log)
    await log.wait_for(lambda t: t.startswith("Dependencies cached for the next start"), "deps-a", 60)
    key = runner.deps_key(first)
    primed = await runner.warm_up()
    assert len(primed) == 1
    inspect = container_inspect(primed[0])
    assert inspect["Config"]["Labels"]["forja.pool_deps"] == key
    deps_mount = next(m for m in inspect["Mounts"] if m["Destination"] == "/deps")
    assert deps_mount["Name"] == f"forja-deps-{key}" and deps_mount["RW"] is False
    node_modules = next(m for m in inspect["Mounts"] if m["Destination"] == "/app/node_modules")
    assert node_modules["Source"] == deps_mount["Source"] + "/node_modules" and node_modules["RW"] is False

    await runner.stop("deps-a")
    assert runner.pool_containers == primed
    second = await runner.start(spec("deps-b", DEPS_FILES, DEPS_PLAN, project_id=project, version=2), log)
    assert second.handle == primed[0]
    info = await wait_state(runner, "deps-b", PreviewState.running, 30, log)
    assert (await get(info.upstream + "/")).text == "<p>pooled with deps</p>"
    texts = log.texts("deps-b")
    assert any(t.startswith("Dependencies come from the cache, mounted read-only") for t in texts)
    assert not any(t.startswith("Installing dependencies") for t in texts)

    # Another project's start never gets a container with this project's cache mounted; the pool then follows it.
    again = await runner.warm_up()
    assert container_inspect(again[0])["Config"]["Labels"]["forja.pool_deps"] == key
    other = await runner.start(spec("other-1", DEPS_FILES, DEPS_PLAN, project_id=project + "-other"), log)
    assert other.handle not in again
    await wait_state(runner, "other-1", PreviewState.running, 30, log)
    following = await runner.warm_up()
    other_key = runner.deps_key(spec("other-1", DEPS_FILES, DEPS_PLAN, project_id=project + "-other"))
    assert [container_inspect(c)["Config"]["Labels"]["forja.pool_deps"] for c in following] == [other_key]
    assert not docker_ids(f"id={again[0]}")
