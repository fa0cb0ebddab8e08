"""DockerRunner against a real Docker engine: start, serve, push files, stop, adopt, hardening.

Test traffic goes only to the containers these tests create (their bridge IPs on this machine),
except test_dependency_cache, whose npm install reaches the npm registry like a real install.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

from preview_runtime.docker import deps_cache as deps_cache_module
from preview_runtime.docker import firewall, layout
from preview_runtime.docker.layout import APP_DIR, PREVIEW_UID, preview_names
from preview_runtime.docker.runner import DockerRunner
from preview_runtime.local.network import EGRESS_PORT
from preview_runtime.native import no_compiler
from preview_runtime.plan import RunPlan, plan_for
from preview_runtime.runner import PreviewState, RunnerError
from scripts.prefetch_starters import TESTED_PACKAGES
from tests.conftest import CHECKED_PROJECT
from tests.integration.test_egress import assert_installs_inside_are_read, read_registry

pytest.register_assert_rewrite("tests.docker_fixtures")  # it is a plugin too (pytest_plugins below)
from tests.docker_fixtures import TEST_NETWORK, LogCollector, MiB, container_inspect, get, spec, wait_state  # noqa: E402

# The Docker fixtures (docker_engine, preview_image, docker_runner_factory...) live in tests/docker_fixtures.py.
pytest_plugins = ["tests.docker_fixtures"]

NODE_SERVER = b"""const http = require('http');
http.createServer((req, res) => {
  res.setHeader('content-type', 'text/html');
  res.end('<h1>node preview ' + process.env.PORT + '</h1>');
}).listen(Number(process.env.PORT), process.env.HOST, () => console.log('node server ready on ' + process.env.PORT));
"""


# Tries to write a file and says how it went ("ok" or the error code, e.g. EROFS).
PROBE = b"""const fs = require('fs');
function probe(path) { try { fs.mkdirSync(require('path').dirname(path), { recursive: true }); fs.writeFileSync(path, 'x'); return 'ok'; } catch (e) { return e.code; } }
"""


def run_text(*argv: str) -> str:
    return subprocess.run(argv, capture_output=True, text=True, check=True).stdout


def docker_ids(*filters: str) -> list[str]:
    args = ["docker", "ps", "-aq"] + [f"--filter={f}" for f in filters]
    return subprocess.run(args, capture_output=True, text=True, check=True).stdout.split()


async def test_plain_html_project_serves_and_takes_pushed_files(docker_runner_factory) -> None:
    runner: DockerRunner = docker_runner_factory()
    log = LogCollector()
    files = {"index.html": b"<h1>Plain page v1</h1>", "about/index.html": b"<p>about</p>", "old.html": b"old"}
    started = await runner.start(spec("html-1", files), log)
    assert started.state in (PreviewState.starting, PreviewState.installing)
    assert started.upstream.startswith("http://") and started.upstream.endswith(":8080")

    info = await wait_state(runner, "html-1", PreviewState.running, 30, log)
    assert info.upstream == started.upstream and info.runner == "docker" and info.handle
    assert (await get(info.upstream + "/")).text == "<h1>Plain page v1</h1>"
    assert (await get(info.upstream + "/about/")).text == "<p>about</p>"

    await runner.push_files("html-1", {"index.html": b"<h1>Plain page v2</h1>", "new/page.html": b"<p>new</p>"}, ["old.html"])
    assert (await get(info.upstream + "/")).text == "<h1>Plain page v2</h1>"
    assert (await get(info.upstream + "/new/page.html")).text == "<p>new</p>"
    assert (await get(info.upstream + "/old.html")).status_code == 404

    with pytest.raises(RunnerError, match="inside the project folder"):
        await runner.push_files("html-1", {"../escape.txt": b"x"}, [])
    # python -m http.server's request lines arrive as dev-server output; Forja's own lines as "forja"
    await log.wait_for(lambda t: "Serving HTTP on 0.0.0.0 port 8080" in t, "html-1")
    assert any("Serving HTTP" in t for t in log.texts("html-1", source="dev-server"))
    assert any("answers on port 8080" in t for t in log.texts("html-1", source="forja"))


async def test_node_project_without_dependencies(docker_runner_factory) -> None:
    runner: DockerRunner = docker_runner_factory()
    log = LogCollector()
    files = {
        "package.json": json.dumps({"name": "tiny", "version": "1.0.0", "scripts": {"dev": "node server.js"}}).encode(),
        # npm sets npm_execpath for `npm run`: the script runs without npm's own process (plan.npm_script).
        "server.js": NODE_SERVER.replace(
            b"'<h1>node preview '",
            b"'<h1>' + process.env.npm_lifecycle_event + (process.env.npm_execpath ? ' npm ' : ' direct ')",
        ),
    }
    plan = RunPlan(install="", dev="npm run dev", port=3000, has_server=True)
    await runner.start(spec("node-1", files, plan), log)
    info = await wait_state(runner, "node-1", PreviewState.running, 30, log)
    response = await get(info.upstream + "/")
    assert response.status_code == 200
    assert response.text == "<h1>dev direct 3000</h1>"
    await log.wait_for(lambda t: "node server ready on 3000" in t, "node-1")
    assert "node server ready on 3000" in log.texts("node-1", source="dev-server")
    stats = await runner.stats("node-1")
    assert 0 < stats["memory_bytes"] < stats["memory_limit_bytes"] == 256 * MiB
    assert stats["pids"] >= 1


async def test_stop_removes_the_container_and_its_volume(docker_runner_factory) -> None:
    runner: DockerRunner = docker_runner_factory()
    log = LogCollector()
    info = await runner.start(spec("stop-1", {"index.html": b"<p>bye</p>"}), log)
    await wait_state(runner, "stop-1", PreviewState.running, 30, log)
    assert docker_ids(f"id={info.handle}")
    await runner.stop("stop-1")
    assert not docker_ids(f"id={info.handle}")
    volumes = run_text("docker", "volume", "ls", "-q").split()
    assert preview_names(runner.config.network, "stop-1")[1] not in volumes and not any(
        v.endswith("-app-stop-1") and TEST_NETWORK in v for v in volumes
    )
    with pytest.raises(RunnerError):
        await runner.status("stop-1")
    await runner.stop("stop-1")  # stopping twice is fine


async def test_adopt_takes_back_running_previews_and_removes_exited_ones(docker_runner_factory) -> None:
    first: DockerRunner = docker_runner_factory()
    log = LogCollector()
    alive = await first.start(spec("adopt-alive", {"index.html": b"<p>still here</p>"}, project_id="proj-a", version=7), log)
    await first.start(spec("adopt-dead", {"index.html": b"x"}, RunPlan(dev="exit 3", port=8080, has_server=False)), log)
    await wait_state(first, "adopt-alive", PreviewState.running, 30, log)
    await wait_state(first, "adopt-dead", PreviewState.failed, 30, log)
    await first.close()  # Forja goes away; the containers stay

    second: DockerRunner = docker_runner_factory()
    adopted = await second.adopt()
    by_id = {info.preview_id: info for info in adopted}
    assert set(by_id) == {"adopt-alive"}
    info = by_id["adopt-alive"]
    assert info.state == PreviewState.running
    assert (info.project_id, info.version, info.upstream, info.handle) == ("proj-a", 7, alive.upstream, alive.handle)
    assert (await get(info.upstream + "/")).text == "<p>still here</p>"
    assert not docker_ids("label=forja.preview_id=adopt-dead")
    assert (await second.status("adopt-alive")).state == PreviewState.running
    await second.push_files("adopt-alive", {"index.html": b"<p>pushed after adopt</p>"}, [])
    assert (await get(info.upstream + "/")).text == "<p>pushed after adopt</p>"
    await second.stop("adopt-alive")
    assert not docker_ids(f"id={alive.handle}")


async def test_container_is_hardened(docker_runner_factory) -> None:
    runner: DockerRunner = docker_runner_factory(pids_limit=99)
    log = LogCollector()
    probe = (
        "id -u; id -g; "
        "touch /etc/x 2>/dev/null && echo rootfs-writable || echo rootfs-read-only; "
        "grep CapEff /proc/self/status; grep NoNewPrivs /proc/self/status; "
        "test -e /var/run/docker.sock -o -e /run/docker.sock && echo docker-socket-present || echo docker-socket-absent; "
        "exec python -m http.server $PORT"
    )
    info = await runner.start(spec("hard-1", {"index.html": b"ok"}, RunPlan(dev=probe, port=8080, has_server=False)), log)
    await wait_state(runner, "hard-1", PreviewState.running, 30, log)
    inspect = container_inspect(info.handle)
    host = inspect["HostConfig"]
    assert host["ReadonlyRootfs"] is True
    assert host["CapDrop"] == ["ALL"] and not host.get("CapAdd")
    assert "no-new-privileges" in host["SecurityOpt"]
    assert host["Privileged"] is False
    assert host["Memory"] == 256 * MiB and host["MemorySwap"] == 256 * MiB
    assert host["NanoCpus"] == 1_000_000_000
    assert host["PidsLimit"] == 99
    assert host["NetworkMode"] == TEST_NETWORK
    assert host["LogConfig"] == {"Type": "json-file", "Config": {"max-file": "3", "max-size": "10m"}}
    assert set(host["Tmpfs"]) == {"/tmp", "/home/preview"}
    assert not host.get("Binds") and not host.get("PortBindings")
    assert inspect["Config"]["User"] == "10001:10001"
    mounts = {m["Destination"]: m for m in inspect["Mounts"]}
    assert set(mounts) == {"/app"} and mounts["/app"]["Type"] == "volume"
    assert not any("docker.sock" in (m.get("Source") or "") for m in inspect["Mounts"])
    labels = inspect["Config"]["Labels"]
    assert labels["forja.managed"] == "1" and labels["forja.preview_id"] == "hard-1"
    assert labels["forja.project_id"] == "proj-1" and labels["forja.version"] == "1"

    out = log.texts("hard-1", source="dev-server")
    assert out[:2] == ["10001", "10001"]
    assert "rootfs-read-only" in out and "docker-socket-absent" in out
    assert "CapEff:\t0000000000000000" in out and "NoNewPrivs:\t1" in out


async def test_code_in_the_container_cannot_take_the_machine(docker_runner_factory) -> None:
    """Issue 51's probe (tests/sandbox_probe.py, as the local sandboxes get it): no capability, no new privileges,
    Docker's seccomp profile; remounts, mounts and new namespaces refused, the system read-only. Docker's profile lets a
    process trace its own child, in its own container and user: nothing of another preview or the host is in reach."""
    runner: DockerRunner = docker_runner_factory()
    log = LogCollector()
    probe = (Path(__file__).parents[1] / "sandbox_probe.py").read_bytes()
    plan = RunPlan(dev="python3 probe.py docker && exec python3 -m http.server $PORT", port=8080, has_server=False)
    await runner.start(spec("hard-2", {"probe.py": probe}, plan), log)
    await wait_state(runner, "hard-2", PreviewState.running, 30, log)
    line = next(text for text in log.texts("hard-2", source="dev-server") if text.startswith("privileges:"))
    seen = json.loads(line.removeprefix("privileges:"))
    assert seen["Uid"].split()[0] == str(PREVIEW_UID) and seen["CapEff"] == "0000000000000000", seen
    assert seen["NoNewPrivs"] == "1" and seen["Seccomp"] == "2", seen
    assert {name for name, said in seen["tried"].items() if said == "ok"} == {"ptrace a child"}, seen


async def test_failures_are_reported_in_plain_words(docker_runner_factory) -> None:
    runner: DockerRunner = docker_runner_factory()
    log = LogCollector()
    await runner.start(
        spec("fail-dev", {"index.html": b"x"}, RunPlan(dev="echo boom >&2; exit 3", port=8080, has_server=False)), log
    )
    bad_install = RunPlan(install="echo cannot install; exit 7", dev="true", port=8080, has_server=False)
    await runner.start(spec("fail-install", {"index.html": b"x"}, bad_install), log)
    info = await wait_state(runner, "fail-dev", PreviewState.failed, 30, log)
    assert info.detail == "The preview stopped: exit code 3. Last lines:\nboom"  # at its exit, not at a deadline
    assert "boom" in log.texts("fail-dev", source="dev-server")
    info = await wait_state(runner, "fail-install", PreviewState.failed, 30, log)
    assert info.detail.startswith("The install failed: exit code 7.")
    assert "cannot install" in log.texts("fail-install", source="install")
    assert "The preview stopped: exit code 7." in log.texts("fail-install", source="forja")


async def test_a_native_addon_the_image_cannot_compile_names_its_package_and_the_runner_that_can(
    docker_runner_factory, tested_packages: Path
) -> None:
    """bcrypt 5 from the npm seed, offline: its prebuilt binary cannot be fetched, and node-gyp, given the image's own
    Node headers (no download), finds no compiler. A proxy on a closed local port keeps every request on this machine
    (node-pre-gyp's try at GitHub, and a header download were the headers not found): not even a name is looked up."""
    closed = "http://127.0.0.1:9"  # every name a tool here reads its proxy from (node-pre-gyp: http_proxy)
    proxies = dict.fromkeys(("HTTPS_PROXY", "HTTP_PROXY", "https_proxy", "http_proxy", "npm_config_proxy"), closed)
    runner: DockerRunner = docker_runner_factory(npm_seed=tested_packages, extra_env={"npm_config_offline": "true", **proxies})
    log = LogCollector()
    manifest = {"name": "native", "private": True, "scripts": {"dev": "node server.js"}, "dependencies": TESTED_PACKAGES}
    files = {"package.json": json.dumps(manifest).encode(), "server.js": NODE_SERVER}
    await runner.start(spec("native-1", files, plan_for(files)), log)
    info = await wait_state(runner, "native-1", PreviewState.failed, 120, log)
    assert info.detail.startswith(f"The install failed: exit code 1. {no_compiler('bcrypt')} The preview stopped"), info.detail
    assert no_compiler("bcrypt") in log.texts("native-1", source="forja")
    assert not [text for text in log.texts("native-1") if "nodejs.org" in text], log.dump("native-1")


async def test_settings_for_registries_and_extra_ca(docker_runner_factory, tmp_path) -> None:
    ca = tmp_path / "corp-ca.pem"
    ca.write_text("-----BEGIN CERTIFICATE-----\nTESTCA\n-----END CERTIFICATE-----\n")
    runner: DockerRunner = docker_runner_factory(
        extra_ca_path=ca, npm_registry="https://npm.example.invalid/", pip_index_url="https://pypi.example.invalid/simple"
    )
    log = LogCollector()
    probe = (
        'echo "ca=$NODE_EXTRA_CA_CERTS"; tail -n 2 "$NODE_EXTRA_CA_CERTS"; grep -c TESTCA "$PIP_CERT"; '
        'echo "npm=$npm_config_registry pip=$PIP_INDEX_URL port=$PORT host=$HOST cache=$npm_config_cache"; '
        "test -e /app/.forja-bootstrap && echo bootstrap-left || echo bootstrap-gone; exec python -m http.server $PORT"
    )
    await runner.start(spec("settings-1", {"index.html": b"x"}, RunPlan(dev=probe, port=8081, has_server=False)), log)
    await wait_state(runner, "settings-1", PreviewState.running, 30, log)
    out = log.texts("settings-1")
    assert "ca=/home/preview/.forja/extra-ca.pem" in out
    assert "TESTCA" in out and "1" in out
    assert (
        "npm=https://npm.example.invalid/ pip=https://pypi.example.invalid/simple port=8081 host=0.0.0.0 cache=/home/preview/.npm"
        in out
    )
    assert "bootstrap-gone" in out


async def test_the_container_waits_until_docker_has_written_the_whole_upload(docker_runner_factory, monkeypatch) -> None:
    """Docker sets an upload's folder times after all its files, the bootstrap folder last: moving the bootstrap out
    as soon as `ready` shows up failed uploads ("lchown ... no such file"). Here the upload is frozen as it looks
    while Docker still writes it (the bootstrap folder newer than `ready`): nothing starts until Docker's last
    step, the folder's stamp, is done."""
    monkeypatch.setitem(layout.STAMPS, layout.BOOTSTRAP, time.time() + 3600)
    runner: DockerRunner = docker_runner_factory()
    log = LogCollector()
    await runner.start(
        spec("stamp-1", {"index.html": b"x"}, RunPlan(dev="exec python -m http.server $PORT", port=8081, has_server=False)), log
    )
    await asyncio.sleep(2)
    assert (await runner.status("stamp-1")).state == PreviewState.starting, log.dump("stamp-1")
    container = preview_names(runner.config.network, "stamp-1")[0]
    run_text("docker", "exec", "-u", str(PREVIEW_UID), container, "touch", "-d", "@0", f"{APP_DIR}/{layout.BOOTSTRAP}")
    await wait_state(runner, "stamp-1", PreviewState.running, 30, log)


async def test_firewall_rules_are_installed_once_and_open_only_the_egress_proxy_which_reads_installs(
    docker_runner_factory, tmp_path: Path
) -> None:
    async with read_registry(tmp_path, "localhost") as (over_tls, _, reading):
        registry = f"https://localhost:{over_tls.port}/"
        runner: DockerRunner = docker_runner_factory(npm_registry=registry, reading=reading)
        log = LogCollector()
        await runner.start(spec("fw-1", {"index.html": b"x"}), log)
        await runner.install_firewall()  # again: idempotent
        await wait_state(runner, "fw-1", PreviewState.running, 30, log)

        # The package managers go to the egress proxy on the gateway, which reads their registry's traffic.
        async def run(command: str) -> str:
            return (await runner.run_command("fw-1", command, 60)).output

        python = "https_proxy=$PIP_PROXY"  # the app's own code goes straight out: only pip is sent there
        await assert_installs_inside_are_read(run, registry, over_tls, lambda: log.texts("fw-1", "forja"), python)
    rules = run_text("iptables", "-S").splitlines()
    fwd, inp = firewall.chains(runner.bridge)
    br = runner.bridge
    assert rules.count(f"-A DOCKER-USER -i {br} -j {fwd}") == 1
    assert rules.count(f"-A DOCKER-USER -o {br} -m conntrack --ctstate NEW -j DROP") == 1
    assert rules.count(f"-A INPUT -i {br} -j {inp}") == 1
    chain = [r for r in rules if r.startswith(f"-A {fwd} ")]
    for cidr in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "169.254.0.0/16"):
        assert chain.count(f"-A {fwd} -d {cidr} -j DROP") == 1
    assert chain[0] == f"-A {fwd} -m conntrack --ctstate RELATED,ESTABLISHED -j RETURN"
    assert chain[-1] == f"-A {fwd} -j RETURN"
    assert [r for r in rules if r.startswith(f"-A {inp} ")] == [
        f"-A {inp} -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT",
        f"-A {inp} -d {runner.gateway}/32 -p tcp -m tcp --dport {EGRESS_PORT} -j ACCEPT",
        f"-A {inp} -j DROP",
    ]
    network = json.loads(run_text("docker", "network", "inspect", runner.config.network))[0]
    assert network["Options"]["com.docker.network.bridge.enable_icc"] == "false"


async def test_dependency_cache(docker_runner_factory) -> None:
    """A project whose dependencies were installed before starts without installing again.

    The first start runs a real `npm install` of a local `file:` package, with the registry pointed at a dead
    loopback port so the test never leaves the machine; the second start of the same project mounts
    node_modules read-only from the cache volume instead of installing, with the folders dev tools
    write to (node_modules/.vite...) writable.
    """
    runner: DockerRunner = docker_runner_factory(npm_registry="http://127.0.0.1:9/", memory_bytes=512 * MiB)
    log = LogCollector()
    project = f"cache-{time.time_ns()}"  # a fresh cache key on every run
    files = {
        "package.json": json.dumps(
            {"name": "cached", "version": "1.0.0", "scripts": {"dev": "node server.js"}, "dependencies": {"ms": "file:vendor/ms"}}
        ).encode(),
        "vendor/ms/package.json": json.dumps({"name": "ms", "version": "0.0.1", "main": "index.js"}).encode(),
        "vendor/ms/index.js": b"module.exports = (n) => Math.round(n / 60000) + 'm';\n",
        "server.js": PROBE
        + b"const ms = require('ms');\n"
        + NODE_SERVER.replace(
            b"'<h1>node preview ' + process.env.PORT",
            b"'<h1>' + ms(90000) + ' ' + process.env.PORT + ' tool:' + probe('node_modules/.vite/p') + ' package:' + probe('node_modules/p')",
        ),
    }
    plan = plan_for(files)
    assert plan.install.startswith("npm install") and plan.lockfile_hash_inputs == ["package.json"]

    t0 = time.monotonic()
    await runner.start(spec("deps-1", files, plan, project_id=project), log)
    info = await wait_state(runner, "deps-1", PreviewState.running, 180, log)
    first = time.monotonic() - t0
    assert (await get(info.upstream + "/")).text == "<h1>2m 3000 tool:ok package:ok</h1>"
    await log.wait_for(lambda t: t.startswith("Dependencies cached for the next start"), "deps-1", 60)
    assert any(t.startswith("Installing dependencies") for t in log.texts("deps-1"))
    await runner.stop("deps-1")

    t0 = time.monotonic()
    await runner.start(spec("deps-2", files, plan, project_id=project, version=2), log)
    info = await wait_state(runner, "deps-2", PreviewState.running, 60, log)
    second = time.monotonic() - t0
    # The cache is mounted read-only (a preview cannot change what the next one gets); tool folders stay writable.
    assert (await get(info.upstream + "/")).text == "<h1>2m 3000 tool:ok package:EROFS</h1>"
    texts = log.texts("deps-2")
    assert not any(t.startswith("Installing dependencies") for t in texts)
    assert any(t.startswith("Dependencies come from the cache, mounted read-only") for t in texts)
    print(f"\n[dependency cache] first start (npm install) {first:.2f} s, second start (cache) {second:.2f} s")
    await runner.stop("deps-2")

    # A cache without its completeness marker (written by an older Forja) is copied into /app instead.
    key = runner.deps_key(spec("deps-2", files, plan, project_id=project))
    run_text("docker", "volume", "rm", f"forja-deps-{key}.complete")
    runner.deps.complete_caches.clear()
    await runner.start(spec("deps-3", files, plan, project_id=project, version=3), log)
    info = await wait_state(runner, "deps-3", PreviewState.running, 60, log)
    assert (await get(info.upstream + "/")).text == "<h1>2m 3000 tool:ok package:ok</h1>"
    assert any(t.startswith("Dependencies restored from the cache") for t in log.texts("deps-3"))

    # Caches in use stay; unused ones go.
    volume = f"forja-deps-{key}"
    assert volume not in await runner.prune_dependency_caches()
    await runner.stop("deps-3")
    assert volume in await runner.prune_dependency_caches()

    # Another project with the same package.json does not share the cache (scope "project").
    other = spec("deps-4", files, plan, project_id=project + "-other")
    assert runner.deps_key(other) != key


# An install that needs no network: it writes 40 MB of incompressible data into node_modules, so the
# copy into the cache is far larger than the socket and aiohttp buffers between dockerd and Forja.
BIG_DEPS_FILES = {"package.json": b'{"name": "big-deps", "version": "1.0.0"}', "index.html": b"<p>big deps</p>"}
BIG_DEPS_PLAN = RunPlan(
    install="mkdir -p node_modules/blob && head -c 40000000 /dev/urandom > node_modules/blob/data.bin",
    dev="exec python -m http.server $PORT",
    port=8080,
    has_server=False,
    lockfile_hash_inputs=["package.json"],
)


def inspect_within(container_id: str, seconds: float = 15) -> dict:
    """docker inspect, which needs the container's lock: it hangs while a get_archive of it is left half read."""
    try:
        out = subprocess.run(["docker", "inspect", container_id], capture_output=True, text=True, timeout=seconds)
    except subprocess.TimeoutExpired:
        pytest.fail(f"docker inspect {container_id} hung: the container's lock is still held by an unfinished archive read")
    return json.loads(out.stdout)[0]


async def test_a_dependency_copy_cut_short_releases_the_container(docker_runner_factory) -> None:
    """The cache's size cap stops the copy part way: the archive connection must be closed, not left unread.

    Docker keeps the container locked until its archive has been read or the reader is gone; a
    response left open with unread data kept inspect, logs, exec and the preview's own stop
    waiting forever (the hang of bench/preview.py --runner docker).
    """
    runner: DockerRunner = docker_runner_factory(deps_cache_max_bytes=4 * MiB, app_size_bytes=128 * MiB)
    log = LogCollector()
    info = await runner.start(spec("cut-1", BIG_DEPS_FILES, BIG_DEPS_PLAN, project_id=f"cut-{time.time_ns()}"), log)
    await wait_state(runner, "cut-1", PreviewState.running, 60, log)
    await log.wait_for(lambda t: "could not cache the dependencies: the dependencies are larger than 4 MiB" in t, "cut-1", 60)
    assert inspect_within(info.handle)["State"]["Running"]
    assert (await get(info.upstream + "/")).text == "<p>big deps</p>"
    await asyncio.wait_for(runner.stop("cut-1"), timeout=30)
    assert not docker_ids(f"id={info.handle}")


async def test_a_cancelled_dependency_copy_releases_the_container(docker_runner_factory, monkeypatch) -> None:
    """The copy is cancelled in the middle of the archive (as stop() used to do): nothing stays locked."""
    started = asyncio.Event()

    class CancellingSpool:
        """A real spool file whose first write cancels the task copying into it, mid-archive."""

        def __init__(self) -> None:
            self.file = tempfile.TemporaryFile()

        def write(self, data: bytes) -> int:
            if not started.is_set():
                started.set()
                asyncio.current_task().cancel()  # type: ignore[union-attr]
            return self.file.write(data)

        def __getattr__(self, name: str):
            return getattr(self.file, name)

        def __enter__(self) -> CancellingSpool:
            return self

        def __exit__(self, *exc: object) -> None:
            self.file.close()

    monkeypatch.setattr(deps_cache_module, "tempfile", SimpleNamespace(TemporaryFile=CancellingSpool))
    runner: DockerRunner = docker_runner_factory(app_size_bytes=128 * MiB)
    log = LogCollector()
    info = await runner.start(spec("cancel-1", BIG_DEPS_FILES, BIG_DEPS_PLAN, project_id=f"cancel-{time.time_ns()}"), log)
    await wait_state(runner, "cancel-1", PreviewState.running, 60, log)
    await asyncio.wait_for(started.wait(), timeout=60)
    await asyncio.sleep(1)  # the cancelled copy has finished unwinding
    assert inspect_within(info.handle)["State"]["Running"]
    await asyncio.wait_for(runner.stop("cancel-1"), timeout=30)
    assert not docker_ids(f"id={info.handle}")


async def test_stop_right_after_the_first_install_keeps_the_cache(docker_runner_factory) -> None:
    """Stopping while the fresh install is being copied into the cache waits for the copy, and the next start uses it."""
    runner: DockerRunner = docker_runner_factory(app_size_bytes=128 * MiB)
    log = LogCollector()
    project = f"stop-early-{time.time_ns()}"
    info = await runner.start(spec("early-1", BIG_DEPS_FILES, BIG_DEPS_PLAN, project_id=project), log)
    await log.wait_for(lambda t: t.startswith("Dependencies installed"), "early-1", 60)
    await asyncio.wait_for(runner.stop("early-1"), timeout=60)  # the copy of 40 MB is under way
    assert not docker_ids(f"id={info.handle}")
    assert any(t.startswith("Dependencies cached for the next start") for t in log.texts("early-1"))

    await runner.start(spec("early-2", BIG_DEPS_FILES, BIG_DEPS_PLAN, project_id=project, version=2), log)
    await wait_state(runner, "early-2", PreviewState.running, 60, log)
    texts = log.texts("early-2")
    assert any(t.startswith("Dependencies come from the cache") for t in texts)
    assert not any(t.startswith("Installing dependencies") for t in texts)


async def test_missing_image_is_explained_and_a_built_one_accepted(docker_engine, preview_image) -> None:
    """With an engine but no image, `auto` must not pick Docker: previews would all fail."""
    from preview_runtime.docker.image import ImageState, PreviewImage

    missing = await PreviewImage("forja-preview:no-such-tag").check()
    assert missing.state == ImageState.failed
    assert missing.reason.startswith(
        "the preview image forja-preview:no-such-tag does not exist, and FORJA_PREVIEW_IMAGE names a fixed tag"
    )
    assert (await PreviewImage(preview_image).check()).state == ImageState.ready


FIXED_PORT_SERVER = b"""const http = require('http');
http.createServer((req, res) => {
  res.setHeader('content-type', 'text/html');
  res.end('<h1>fixed port 4567</h1>');
}).listen(4567, () => console.log('listening on 4567'));
"""


async def test_a_server_that_ignores_port_is_found_where_it_listens(docker_runner_factory) -> None:
    runner: DockerRunner = docker_runner_factory()
    log = LogCollector()
    plan = RunPlan(dev="node fixed.js", port=3000, has_server=True)
    await runner.start(spec("fixed-1", {"fixed.js": FIXED_PORT_SERVER}, plan), log)
    info = await wait_state(runner, "fixed-1", PreviewState.running, 30, log)
    assert info.upstream.endswith(":4567")
    assert (await get(info.upstream + "/")).text == "<h1>fixed port 4567</h1>"
    assert any("listens on port 4567, not on $PORT (3000)" in text for text in log.texts("fixed-1", source="forja"))


async def test_a_makefile_dev_target_runs_with_the_images_make(docker_runner_factory) -> None:
    """The preview image has make: a project whose Makefile starts it runs as detection plans it."""
    runner: DockerRunner = docker_runner_factory()
    log = LogCollector()
    files = {"Makefile": b"dev:\n\tnode fixed.js\n", "fixed.js": FIXED_PORT_SERVER}
    plan = plan_for(files)
    assert plan.dev == "sh -c 'make dev'"
    await runner.start(spec("make-1", files, plan), log)
    info = await wait_state(runner, "make-1", PreviewState.running, 30, log)
    assert (await get(info.upstream + "/")).text == "<h1>fixed port 4567</h1>"


# A full-stack project's dev command: its API (JSON, on loopback at $PORT + 1) answers seconds before its front end's
# dev server (a page, on $PORT) has started, as on a busy machine.
API_FIRST = b"""const http = require('http');
const port = Number(process.env.PORT);
http.createServer((req, res) => res.writeHead(404, { 'content-type': 'application/json' }).end('{"detail":"Not Found"}'))
  .listen(port + 1, '127.0.0.1', () => console.log('api on ' + (port + 1)));
setTimeout(() => http.createServer((req, res) => res.writeHead(200, { 'content-type': 'text/html' }).end('<h1>the app</h1>'))
  .listen(port, process.env.HOST, () => console.log('web on ' + port)), 8000);
"""


async def test_a_front_ends_api_that_starts_first_is_not_taken_for_the_app(docker_runner_factory) -> None:
    runner: DockerRunner = docker_runner_factory()
    log = LogCollector()
    plan = RunPlan(dev="node both.js", port=3000, has_server=False)
    await runner.start(spec("api-first-1", {"both.js": API_FIRST}, plan), log)
    info = await wait_state(runner, "api-first-1", PreviewState.running, 60, log)
    assert info.upstream.endswith(":3000"), log.dump("api-first-1")
    assert (await get(info.upstream + "/")).text == "<h1>the app</h1>"


async def test_a_silent_dev_server_that_listens_nowhere_is_ended_with_why(docker_runner_factory) -> None:
    runner: DockerRunner = docker_runner_factory(silent_s=2)
    log = LogCollector()
    started = time.monotonic()
    await runner.start(spec("silent-1", {"x.txt": b""}, RunPlan(dev="echo waiting; sleep 600", has_server=False)), log)
    info = await wait_state(runner, "silent-1", PreviewState.failed, 30, log)
    assert time.monotonic() - started < 15
    assert info.detail.startswith("The dev server has printed nothing for 2 s and listens on no port"), info.detail
    await asyncio.sleep(1)  # the container's exit does not replace the reason
    assert (await runner.status("silent-1")).detail == info.detail


async def test_a_server_on_the_containers_own_loopback_is_relayed(docker_runner_factory) -> None:
    """app.listen(4567, '127.0.0.1') cannot be reached from outside its container: Forja relays a port to it."""
    runner: DockerRunner = docker_runner_factory()
    log = LogCollector()
    plan = RunPlan(dev="node fixed.js", port=3000, has_server=True)
    loopback = FIXED_PORT_SERVER.replace(b".listen(4567,", b".listen(4567, '127.0.0.1',")
    await runner.start(spec("loop-1", {"fixed.js": loopback}, plan), log)
    info = await wait_state(runner, "loop-1", PreviewState.running, 30, log)
    assert info.upstream.endswith(":39999")
    assert (await get(info.upstream + "/")).text == "<h1>fixed port 4567</h1>"
    assert any("listens only on 127.0.0.1:4567 inside its container" in t for t in log.texts("loop-1", source="forja"))


async def test_run_command_runs_in_the_container_as_the_dev_server_and_is_killed_at_the_limit(docker_runner_factory) -> None:
    runner: DockerRunner = docker_runner_factory()
    log = LogCollector()
    plan = RunPlan(install="", dev="npm run dev", port=3000, has_server=True)
    await runner.start(spec("cmd-1", CHECKED_PROJECT, plan), log)
    info = await wait_state(runner, "cmd-1", PreviewState.running, 30, log)

    built = await runner.run_command("cmd-1", "npm run build && cat dist/index.html && id -u && pwd", 30)
    assert built.exit_code == 0 and not built.timed_out, built.output
    assert "built dist/index.html" in built.output and "<h1>built</h1>" in built.output
    assert built.output.endswith(f"<h1>built</h1>{PREVIEW_UID}\n{APP_DIR}\n")  # the dev server's user and folder

    linted = await runner.run_command("cmd-1", "npm run lint", 30)
    assert linted.exit_code == 1 and not linted.timed_out
    assert "src/app.js: x is never used" in linted.output
    assert len(linted.output) <= 4000 and "checking file 499" in linted.output and "checking file 0\n" not in linted.output

    slow = await runner.run_command("cmd-1", "echo started; sleep 61.25 & sleep 62.25", 2)
    assert slow.timed_out and slow.exit_code is None
    assert 2 <= slow.duration_s < 6
    assert slow.output == "started\n"
    await asyncio.sleep(0.5)
    assert "sleep 6" not in run_text("docker", "top", info.handle)
    assert (await get(info.upstream + "/")).text == "checked"

    await runner.stop("cmd-1")
    with pytest.raises(RunnerError):
        await runner.run_command("cmd-1", "true", 5)
