"""SwarmRunner on a single-node swarm of the test engine: served through Traefik, hardened, fed, given a terminal,
cached, pooled, stopped and adopted.

Test traffic goes only to loopback (Traefik, the runner's relays) and, through the runner's edge, to the services
these tests make on their own overlay networks of this machine. Installs come from the starters' npm cache and
wheels (read-only seeds), as in test_starter_previews.py.
"""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

import httpx
import pytest

from builder.generation.starters import render_starter
from preview_runtime.docker.layout import APP_DIR, PREVIEW_UID
from preview_runtime.logs import LogHub
from preview_runtime.manager import PreviewManager
from preview_runtime.plan import RunPlan, plan_for
from preview_runtime.proxy import PreviewProxy
from preview_runtime.runner import PreviewState, RunnerError
from preview_runtime.swarm import SwarmRunner
from scripts.prefetch_starters import starters
from tests.conftest import free_port
from tests.integration.test_egress import assert_installs_inside_are_read, read_registry
from tests.integration.test_starter_previews import SAMPLE, assert_serves_starter

pytest.register_assert_rewrite("tests.docker_fixtures", "tests.swarm_fixtures")
from tests.docker_fixtures import LogCollector, MiB, container_inspect, get, spec, wait_state  # noqa: E402
from tests.integration.test_terminal_shells import assert_resizes, run_in  # noqa: E402
from tests.swarm_fixtures import docker, service_inspect  # noqa: E402

pytest_plugins = ["tests.swarm_fixtures"]

SERVED = {s.name: s for s in starters() if s.name in ("react-vite-tailwind", "fastapi")}
PYTHON_SERVER = RunPlan(dev="python -m http.server $PORT", port=8080, has_server=True)


# Each process's name, no-new-privileges flag and capabilities, as "/proc/<pid>/status:<line>".
PROCESSES = "grep -E '^(Name|NoNewPrivs|CapEff|CapBnd):' /proc/[0-9]*/status; id -u"


def status_lines(text: str) -> list[str]:
    return [line.split(":", 1)[1] for line in text.splitlines() if line.startswith("/proc/")]


@pytest.mark.parametrize("name", sorted(SERVED))
async def test_a_starter_is_served_through_traefik_by_a_hardened_service(
    name: str, package_caches, swarm_runner_factory, swarm_manager: str, tmp_path: Path
) -> None:
    npm_cache, wheels = package_caches
    runner: SwarmRunner = swarm_runner_factory(
        npm_seed=npm_cache,
        wheel_seed=wheels,
        extra_env={"npm_config_offline": "true", "PIP_NO_INDEX": "1"},
        memory_bytes=1024 * MiB,
        nano_cpus=1_500_000_000,
        pids_limit=300,
        app_size_bytes=512 * MiB,
        home_size_bytes=256 * MiB,
        log_max_size="3m",
    )
    logs = LogHub()
    manager = PreviewManager({"swarm": runner}, PreviewProxy(tmp_path / "proxy", free_port()), logs)
    await manager.start_background()
    files = {path: text.encode() for path, text in render_starter(SERVED[name], SAMPLE).items()}
    try:
        await manager.start("starter1", "p", 1, files, plan_for(files), "swarm")
        try:
            async with asyncio.timeout(240):
                info = await manager.wait_ready("starter1")
        except TimeoutError:
            info = await manager.status("starter1")
        history = "\n".join(line.text for line in logs.history("p")[-40:])
        assert info.state == PreviewState.running, f"{info.detail}\n{history}"
        assert info.runner == "swarm"
        proxy = manager.proxy
        async with httpx.AsyncClient(
            base_url=proxy.internal_url(), headers={"Host": proxy.host_for("starter1")}, timeout=10, trust_env=False
        ) as client:
            await assert_serves_starter(client, SERVED[name])
        # Traefik's upstream is the runner's relay on loopback; the task's own address is on its overlay network only.
        assert info.upstream.startswith("http://127.0.0.1:")
        preview = runner._previews["starter1"]
        assert not preview.ip.startswith("127.")

        # Asked from a thread: `docker inspect` of the container waits while the runner copies its dependencies into
        # the cache, which needs this event loop.
        service = await asyncio.to_thread(service_inspect, info.handle)
        task = service["Spec"]["TaskTemplate"]
        container = task["ContainerSpec"]
        assert container["User"] == "10001:10001" and container["ReadOnly"] is True
        assert container["CapabilityDrop"] == ["ALL"]
        assert container["Command"][:3] == ["setpriv", "--no-new-privs", "/usr/bin/tini"]
        assert task["Resources"]["Limits"] == {"MemoryBytes": 1024 * MiB, "NanoCPUs": 1_500_000_000, "Pids": 300}
        assert task["LogDriver"] == {"Name": "json-file", "Options": {"max-size": "3m", "max-file": "3"}}
        assert task["Placement"]["Constraints"] == [f"node.id=={swarm_manager}"]
        assert not (service.get("Endpoint") or {}).get("Ports")  # nothing published
        network = json.loads(await asyncio.to_thread(docker, "network", "inspect", preview.network_id))[0]
        assert network["Driver"] == "overlay" and network["Internal"] is True

        # What the engine made of it, on the node.
        host = await asyncio.to_thread(container_inspect, preview.container_id)
        assert host["HostConfig"]["ReadonlyRootfs"] is True and host["HostConfig"]["CapDrop"] == ["ALL"]
        assert host["HostConfig"]["PidsLimit"] == 300 and host["HostConfig"]["Memory"] == 1024 * MiB
        assert host["HostConfig"]["NanoCpus"] == 1_500_000_000
        assert host["HostConfig"]["LogConfig"] == {"Type": "json-file", "Config": {"max-file": "3", "max-size": "3m"}}
        assert not host["HostConfig"]["PortBindings"] and not any(host["NetworkSettings"]["Ports"].values())
        assert list(host["NetworkSettings"]["Networks"]) == [network["Name"]]  # no bridge to the host (docker_gwbridge)
        mounts = {m["Destination"]: m for m in host["Mounts"]}
        assert {"/app", "/tmp", "/home/preview"} <= set(mounts)

        # Every process of the preview, the dev server included, and the commands Forja runs: no capabilities and no
        # new privileges (what 20.10's services cannot set, setpriv does).
        outcome = await runner.run_command("starter1", PROCESSES, 10)
        lines = status_lines(outcome.output)
        assert lines and outcome.output.strip().endswith("10001"), outcome.output
        assert {line for line in lines if not line.startswith("Name")} == {
            "NoNewPrivs:\t1",
            "CapEff:\t0000000000000000",
            "CapBnd:\t0000000000000000",
        }, lines
        assert any(line.startswith("Name:\ttini") for line in lines)
    finally:
        await manager.stop("starter1")
        await manager.close()


async def test_saved_edits_and_commands_reach_the_running_task(swarm_runner_factory, tmp_path: Path) -> None:
    async with read_registry(tmp_path, "localhost") as (over_tls, _, reading):
        registry = f"https://localhost:{over_tls.port}/"
        runner: SwarmRunner = swarm_runner_factory(npm_registry=registry, reading=reading)
        log = LogCollector()
        await _edits_and_commands(runner, log)

        # The edge's egress proxy reads the task's registry traffic, with certificates its bootstrap made it trust.
        async def run(command: str) -> str:
            return (await runner.run_command("edit-1", command, 60)).output

        await assert_installs_inside_are_read(
            run, registry, over_tls, lambda: log.texts("edit-1", "forja"), "NO_PROXY= no_proxy="
        )


async def _edits_and_commands(runner: SwarmRunner, log: LogCollector) -> None:
    files = {"index.html": b"<h1>Swarm page v1</h1>", "old.html": b"old"}
    await runner.start(spec("edit-1", files, PYTHON_SERVER), log)
    info = await wait_state(runner, "edit-1", PreviewState.running, 60, log)
    assert (await get(info.upstream + "/")).text == "<h1>Swarm page v1</h1>"

    await runner.push_files("edit-1", {"index.html": b"<h1>Swarm page v2</h1>", "new/page.html": b"<p>new</p>"}, ["old.html"])
    assert (await get(info.upstream + "/")).text == "<h1>Swarm page v2</h1>"
    assert (await get(info.upstream + "/new/page.html")).text == "<p>new</p>"
    assert (await get(info.upstream + "/old.html")).status_code == 404
    with pytest.raises(RunnerError, match="inside the project folder"):
        await runner.push_files("edit-1", {"../escape.txt": b"x"}, [])

    outcome = await runner.run_command("edit-1", "cat new/page.html; echo; grep NoNewPrivs /proc/self/status; exit 3", 10)
    assert outcome.exit_code == 3 and not outcome.timed_out
    assert outcome.output == "<p>new</p>\nNoNewPrivs:\t1\n"
    slow = await runner.run_command("edit-1", "echo started; sleep 61.25 & sleep 62.25; echo never", 1)
    assert slow.timed_out and slow.exit_code is None and slow.output == "started\n"
    assert 1 <= slow.duration_s < 6
    await asyncio.sleep(0.5)
    container = runner._previews["edit-1"].container_id
    assert "sleep 6" not in docker("top", container)  # the whole group was killed

    # The Terminal tab's shell: in the task's container, as its user, in its folder, on its read-only system; what it
    # writes is in the working copy; closing it ends what it started.
    shell = await runner.open_shell("edit-1", 100, 30)
    try:
        await assert_resizes(shell)
        said = await run_in(shell, "id -u; pwd; echo from-the-shell > made.txt; touch /etc/x")
        assert f"\n{PREVIEW_UID}\n{APP_DIR}\n" in said and "Read-only file system" in said, said
        assert (await runner.collect("edit-1", "", MiB))["made.txt"] == b"from-the-shell\n"
        await run_in(shell, "sleep 61.5 & true")
        started = time.monotonic() + 10
        while "sleep 61.5" not in docker("top", container):  # the prompt is back before the fork has become sleep
            assert time.monotonic() < started, "the shell's background sleep never ran"
            await asyncio.sleep(0.1)
    finally:
        await shell.close()
    deadline = time.monotonic() + 15
    while "sleep 61.5" in docker("top", container):
        assert time.monotonic() < deadline, "the shell outlived its terminal"
        await asyncio.sleep(0.2)


async def test_stop_removes_the_service_its_network_and_volumes(swarm_runner_factory) -> None:
    runner: SwarmRunner = swarm_runner_factory()
    log = LogCollector()
    await runner.start(spec("gone-1", {"index.html": b"<p>bye</p>"}, PYTHON_SERVER), log)
    info = await wait_state(runner, "gone-1", PreviewState.running, 60, log)
    p = runner._previews["gone-1"]
    volumes = docker("volume", "ls", "-q", "--filter", f"label=forja.app_volume={p.app_volume}").split()
    assert p.app_volume in volumes and len(volumes) == 3  # /app, /tmp, the home
    await runner.stop("gone-1")
    assert docker("service", "ls", "-q", "--filter", f"id={info.handle}").strip() == ""
    assert docker("ps", "-aq", "--filter", f"id={p.container_id}").strip() == ""
    assert docker("network", "ls", "-q", "--filter", f"id={p.network_id}").strip() == ""
    assert docker("volume", "ls", "-q", "--filter", f"label=forja.app_volume={p.app_volume}").strip() == ""
    with pytest.raises(httpx.TransportError):
        await get(info.upstream + "/")  # the relay is closed too
    with pytest.raises(RunnerError):
        await runner.status("gone-1")


async def test_the_warm_pool_hands_over_a_started_task_without_restarting_it(swarm_runner_factory, swarm_manager) -> None:
    runner: SwarmRunner = swarm_runner_factory(warm_pool=1)
    pooled = await runner.warm_up()
    assert len(pooled) == 1
    slot = runner.pools[swarm_manager].slots[0]
    log = LogCollector()
    started = time.monotonic()
    await runner.start(spec("pool-1", {"index.html": b"<p>pooled</p>"}, PYTHON_SERVER), log)
    info = await wait_state(runner, "pool-1", PreviewState.running, 60, log)
    took = time.monotonic() - started
    assert info.handle == slot.service_id
    assert runner._previews["pool-1"].container_id == slot.container_id  # the same task: claiming did not restart it
    assert (await get(info.upstream + "/")).text == "<p>pooled</p>"
    labels = service_inspect(info.handle)["Spec"]["Labels"]
    assert labels["forja.preview_id"] == "pool-1" and labels["forja.claim"] == "1"
    assert any(t.startswith("Preview service started from the warm pool") for t in log.texts("pool-1"))
    print(f"\n[swarm pool] start to answering from the pool: {took:.2f} s")

    # Refilled once the claimed preview answers; unclaimed pool services go when the runner closes.
    pool = runner.pools[swarm_manager]
    for _ in range(600):
        if pool.slots:
            break
        await asyncio.sleep(0.1)
    refill = pool.slots[0].service_id
    await runner.stop("pool-1")
    await runner.close()
    assert docker("service", "ls", "-q", "--filter", f"id={refill}").strip() == ""


async def test_dependencies_are_cached_on_the_node_the_preview_ran_on(swarm_runner_factory, swarm_manager) -> None:
    """The Docker runner's cache, per node: a second start of the project mounts node_modules read-only from the
    cache volume on that node (its tool folders writable), without installing."""
    runner: SwarmRunner = swarm_runner_factory(memory_bytes=512 * MiB)
    log = LogCollector()
    project = f"cache-{time.time_ns()}"
    files = {
        "package.json": json.dumps(
            {"name": "cached", "version": "1.0.0", "scripts": {"dev": "node server.js"}, "dependencies": {"ms": "file:vendor/ms"}}
        ).encode(),
        "vendor/ms/package.json": json.dumps({"name": "ms", "version": "0.0.1", "main": "index.js"}).encode(),
        "vendor/ms/index.js": b"module.exports = (n) => Math.round(n / 60000) + 'm';\n",
        "server.js": b"""const fs = require('fs');
function probe(path) { try { fs.mkdirSync(require('path').dirname(path), { recursive: true }); fs.writeFileSync(path, 'x'); return 'ok'; } catch (e) { return e.code; } }
const ms = require('ms');
require('http').createServer((req, res) => res.end(ms(90000) + ' tool:' + probe('node_modules/.vite/p') + ' package:' + probe('node_modules/p')))
  .listen(Number(process.env.PORT), process.env.HOST);
""",
    }
    plan = plan_for(files)
    await runner.start(spec("deps-1", files, plan, project_id=project), log)
    info = await wait_state(runner, "deps-1", PreviewState.running, 180, log)
    assert (await get(info.upstream + "/")).text == "2m tool:ok package:ok"
    await log.wait_for(lambda t: t.startswith("Dependencies cached for the next start"), "deps-1", 60)
    assert any(t.startswith("Installing dependencies") for t in log.texts("deps-1"))
    await runner.stop("deps-1")

    node = runner.nodes[swarm_manager]
    key = node.deps.key(spec("deps-2", files, plan, project_id=project), node.image_id)
    assert key in node.deps.complete_caches  # known complete on this node
    await runner.start(spec("deps-2", files, plan, project_id=project, version=2), log)
    info = await wait_state(runner, "deps-2", PreviewState.running, 60, log)
    assert (await get(info.upstream + "/")).text == "2m tool:ok package:EROFS"
    texts = log.texts("deps-2")
    assert not any(t.startswith("Installing dependencies") for t in texts)
    assert any(t.startswith("Dependencies come from the cache, mounted read-only") for t in texts)
    await runner.stop("deps-2")
    assert f"forja-deps-{key}" in await runner.prune_dependency_caches()


async def test_adopt_takes_back_running_previews_and_removes_ended_ones(swarm_runner_factory) -> None:
    first: SwarmRunner = swarm_runner_factory()
    log = LogCollector()
    await first.start(spec("keep-1", {"index.html": b"<p>kept</p>"}, PYTHON_SERVER), log)
    await wait_state(first, "keep-1", PreviewState.running, 60, log)
    await first.start(spec("done-1", {"x.py": b"print('done')"}, RunPlan(dev="python x.py", port=8080, has_server=False)), log)
    await wait_state(first, "done-1", PreviewState.stopped, 60, log)
    ended = first._previews["done-1"]
    await first.close()  # Forja stops: the previews stay

    second: SwarmRunner = swarm_runner_factory()
    adopted = {info.preview_id: info for info in await second.adopt()}
    assert set(adopted) == {"keep-1"}
    assert adopted["keep-1"].state == PreviewState.running
    assert (await get(adopted["keep-1"].upstream + "/")).text == "<p>kept</p>"
    assert docker("service", "ls", "-q", "--filter", f"id={ended.service_id}").strip() == ""
    assert docker("volume", "ls", "-q", "--filter", f"label=forja.app_volume={ended.app_volume}").strip() == ""
