"""The containment probes of test_containment.py and test_docker_probes.py against the swarm runner, on a single-node
swarm of the test engine: what a preview's own server code tries, it does not get.

A swarm preview's network is an internal overlay of its own: the probes show it reaches neither Forja on the host
(loopback or any of the host's addresses), nor another preview, nor the metadata address made local, and that its
only way out is Forja's egress proxy, which refuses what is not an allowed registry. Then the container itself:
memory and process limits, a read-only root with capped scratch space, no capabilities and no new privileges, and
none of Forja's secrets.

Network rule (shared/environment.md): every address probed is this machine's own (loopback, the host's addresses,
169.254.169.254 once it is on `lo`); positive controls run in a container on a plain test-made bridge.
"""

from __future__ import annotations

import asyncio
import json
import shlex
from pathlib import Path

import httpx
import pytest

from preview_runtime.plan import RunPlan
from preview_runtime.runner import PreviewInfo, PreviewState
from preview_runtime.swarm import SwarmRunner
from tests.integration.test_containment import (
    METADATA_FETCH,
    METADATA_IP,
    VICTIM,
    attacker_plan,
    control_network,  # noqa: F401 (a fixture, used by name)
    control_probe,
    http_listener,
    metadata_made_local,
    probe_code,
    run,
    spec,
    tcp_listener,
)
from tests.integration.test_docker_probes import FAKE_KEY, LOOK_FOR_SECRETS

pytest.register_assert_rewrite("tests.docker_fixtures", "tests.swarm_fixtures")
from tests.docker_fixtures import LogCollector, wait_state  # noqa: E402
from tests.swarm_fixtures import service_inspect  # noqa: E402

pytest_plugins = ["tests.swarm_fixtures"]


async def finished(runner: SwarmRunner, preview_id: str, log: LogCollector, prefix: str) -> list[str]:
    """The lines starting with `prefix` of an attacker that ran to its end."""
    await wait_state(runner, preview_id, {PreviewState.stopped, PreviewState.failed}, 60, log)
    await log.wait_for(lambda t: t.startswith(prefix), preview_id)
    return [t for t in log.texts(preview_id) if t.startswith(prefix)]


async def start_victim(runner: SwarmRunner, log: LogCollector) -> PreviewInfo:
    await runner.start(spec("victim", {"victim.py": VICTIM}, RunPlan(dev="python victim.py", port=8080, has_server=True)), log)
    return await wait_state(runner, "victim", PreviewState.running, 60, log)


async def victim_peers(victim: PreviewInfo) -> dict[str, int]:
    async with httpx.AsyncClient(trust_env=False, timeout=5) as client:
        return (await client.get(victim.upstream + "/")).json()["peers"]


def host_addresses() -> list[str]:
    """Every IPv4 address of this machine (loopback, its LAN address, Docker's bridges)."""
    out = run("ip", "-4", "-o", "addr", "show").stdout
    return sorted({line.split()[3].split("/")[0] for line in out.splitlines()})


async def test_forja_and_every_address_of_the_host_are_out_of_reach(
    swarm_runner_factory,
    control_network: str,  # noqa: F811 (the fixture imported above)
    preview_image: str,
) -> None:
    runner: SwarmRunner = swarm_runner_factory()
    log = LogCollector()
    with http_listener("127.0.0.1") as (forja_url, forja_peers), tcp_listener("0.0.0.0") as (db_port, db_peers):
        # A plain container reaches the host's database port: the listener is there to be found.
        assert "CONNECTED" in control_probe(preview_image, probe_code(control_network, db_port))
        db_peers.clear()
        forja_port = int(forja_url.rsplit(":", 1)[1])
        addresses = host_addresses()
        assert "127.0.0.1" in addresses and len(addresses) > 1
        code = probe_code("127.0.0.1", forja_port) + "".join(probe_code(address, db_port) for address in addresses)
        await runner.start(spec("host", {"attack.py": code.encode()}, attacker_plan()), log)
        lines = await finished(runner, "host", log, "probe ")
        assert len(lines) == 1 + len(addresses), log.dump("host")
        assert all(": blocked" in line for line in lines), lines
        assert forja_peers == [] and db_peers == []


async def test_another_preview_is_out_of_reach(swarm_runner_factory) -> None:
    runner: SwarmRunner = swarm_runner_factory()
    log = LogCollector()
    victim = await start_victim(runner, log)
    address = runner._previews["victim"].ip
    # The address is right: on the victim's own network it answers.
    own = await runner.run_command("victim", f"python -c {shlex.quote(probe_code(address, 8080))}", 10)
    assert own.output.startswith(f"probe {address}:8080: CONNECTED"), own.output
    await runner.start(spec("peek", {"attack.py": probe_code(address, 8080).encode()}, attacker_plan()), log)
    lines = await finished(runner, "peek", log, "probe ")
    assert lines[0].startswith(f"probe {address}:8080: blocked"), lines
    attacker = runner._previews["peek"].ip
    assert attacker not in await victim_peers(victim)
    assert (await runner.status("victim")).state == PreviewState.running


async def test_the_metadata_address_made_local_is_out_of_reach(
    swarm_runner_factory,
    control_network: str,  # noqa: F811 (the fixture imported above)
    preview_image: str,
) -> None:
    async with metadata_made_local():
        with http_listener(METADATA_IP, 80, b"ami-id: fake") as (_, peers):
            assert "metadata: ami-id: fake" in control_probe(preview_image, METADATA_FETCH)  # reachable without a fence
            peers.clear()
            runner: SwarmRunner = swarm_runner_factory()
            log = LogCollector()
            await runner.start(spec("meta", {"attack.py": METADATA_FETCH.encode()}, attacker_plan()), log)
            lines = await finished(runner, "meta", log, "metadata:")
            assert lines[0].startswith("metadata: blocked"), lines
            assert peers == []


async def test_the_only_way_out_is_the_egress_proxy_and_it_refuses_all_but_registries(swarm_runner_factory) -> None:
    with http_listener("127.0.0.1", body=b"mirror ok") as (mirror_url, mirror_peers):
        port = int(mirror_url.rsplit(":", 1)[1])
        # The operator's registry mirror is allowed on its own port, wherever it is (here: the host's loopback).
        runner: SwarmRunner = swarm_runner_factory(npm_registry=mirror_url + "/")
        attack = f"""import os, socket
proxy = os.environ["HTTP_PROXY"].removeprefix("http://").rstrip("/")
host, port = proxy.rsplit(":", 1)
def ask(request):
    with socket.create_connection((host, int(port)), timeout=5) as s:
        s.sendall(request.encode())
        return s.recv(200).decode(errors="replace").split("\\r\\n")[0]
print("proxy:", proxy, flush=True)
print("egress tunnel:", ask("CONNECT 127.0.0.1:{port + 1} HTTP/1.1\\r\\nHost: 127.0.0.1\\r\\n\\r\\n"), flush=True)
print("egress metadata:", ask("GET http://169.254.169.254/ HTTP/1.1\\r\\nHost: 169.254.169.254\\r\\n\\r\\n"), flush=True)
print("egress mirror:", ask("GET http://127.0.0.1:{port}/ms HTTP/1.1\\r\\nHost: 127.0.0.1:{port}\\r\\nConnection: close\\r\\n\\r\\n"), flush=True)
"""
        log = LogCollector()
        await runner.start(spec("egress", {"attack.py": attack.encode()}, attacker_plan()), log)
        await finished(runner, "egress", log, "egress mirror:")
        texts = log.texts("egress")
        assert "proxy: forja-edge:47801" in texts
        assert "egress tunnel: HTTP/1.1 403 Forbidden" in texts
        assert "egress metadata: HTTP/1.1 403 Forbidden" in texts
        assert "egress mirror: HTTP/1.0 200 OK" in texts and mirror_peers == ["127.0.0.1"]
        refusals = log.texts("egress", source="forja")
        assert any("127.0.0.1 is not a package registry Forja allows" in t for t in refusals), refusals


async def test_memory_and_process_limits_hold(swarm_runner_factory) -> None:
    runner: SwarmRunner = swarm_runner_factory(pids_limit=64)  # 256 MiB
    log = LogCollector()
    hog = b"""chunks = []
for i in range(64):  # 64 x 64 MiB = 4 GiB, each page written
    chunks.append(bytearray(b"x") * (64 << 20))
    print(f"allocated {(i + 1) * 64} MiB", flush=True)
print("allocated 4 GiB", flush=True)
"""
    bomb = b"""import os, sys, time
n = 0
try:
    while True:
        if os.fork() == 0:
            time.sleep(600)
            os._exit(0)
        n += 1
except OSError as exc:
    print(f"fork bomb stopped after {n} processes: {exc}", flush=True)
    sys.exit(1)
"""
    await runner.start(spec("hog", {"attack.py": hog}, attacker_plan()), log)
    await runner.start(spec("bomb", {"attack.py": bomb}, attacker_plan()), log)
    hogged = await wait_state(runner, "hog", PreviewState.failed, 60, log)
    expected = "The preview stopped: exit code 137 (out of memory: it needed more than the 256 MiB a preview may use, "
    assert hogged.detail.startswith(expected + "FORJA_PREVIEW_MEMORY_MB). Last lines:\n"), hogged.detail
    assert "allocated 4 GiB" not in log.texts("hog")
    line = (await finished(runner, "bomb", log, "fork bomb stopped after"))[0]
    assert "Resource temporarily unavailable" in line and int(line.split()[4]) < 64


async def test_the_root_is_read_only_and_scratch_space_is_capped(swarm_runner_factory) -> None:
    runner: SwarmRunner = swarm_runner_factory()  # /app 64 MiB, /tmp 32 MiB, /home/preview 32 MiB
    log = LogCollector()
    filler = b"""import sys
for path in ("/app/fill.bin", "/tmp/fill.bin", "/home/preview/fill.bin"):
    written = 0
    try:
        with open(path, "wb") as f:
            while True:
                f.write(b"\\0" * (1 << 20))
                f.flush()
                written += 1
    except OSError as exc:
        print(f"{path}: write failed after {written} MiB: {exc}", flush=True)
for path in ("/etc/fill.bin", "/usr/local/bin/planted"):
    try:
        open(path, "wb")
    except OSError as exc:
        print(f"{path}: {exc}", flush=True)
sys.exit(1)
"""
    await runner.start(spec("filler", {"attack.py": filler}, attacker_plan()), log)
    await wait_state(runner, "filler", PreviewState.failed, 60, log)
    lines = {t.split(":")[0]: t for t in log.texts("filler", source="dev-server")}
    for path, cap in (("/app/fill.bin", 64), ("/tmp/fill.bin", 32), ("/home/preview/fill.bin", 32)):
        assert "[Errno 28] No space left on device" in lines[path], lines
        assert int(lines[path].split("after ")[1].split()[0]) <= cap
    assert "[Errno 30] Read-only file system" in lines["/etc/fill.bin"]
    assert "[Errno 30] Read-only file system" in lines["/usr/local/bin/planted"]


async def test_no_capabilities_and_no_new_privileges(swarm_runner_factory) -> None:
    runner: SwarmRunner = swarm_runner_factory()
    log = LogCollector()
    attack = b"""import os, socket, subprocess
status = dict(line.split(":\\t", 1) for line in open("/proc/self/status").read().splitlines() if ":\\t" in line)
print("privileges:", status["CapEff"], status["CapBnd"], status["NoNewPrivs"], flush=True)
try:
    socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
    print("raw socket: made", flush=True)
except OSError as exc:
    print("raw socket:", exc, flush=True)
open("/tmp/mine", "w").close()
try:
    os.chown("/tmp/mine", 0, 0)
    print("chown: done", flush=True)
except OSError as exc:
    print("chown:", exc, flush=True)
# A setuid-root program (the image's mount) runs as the preview's user: no new privileges.
done = subprocess.run(["mount", "-t", "tmpfs", "none", "/tmp"], capture_output=True, text=True)
print("setuid mount:", done.returncode, done.stderr.strip(), flush=True)
"""
    await runner.start(spec("caps", {"attack.py": attack}, attacker_plan()), log)
    await finished(runner, "caps", log, "setuid mount:")
    texts = log.texts("caps")
    assert "privileges: 0000000000000000 0000000000000000 1" in texts, log.dump("caps")
    assert "raw socket: [Errno 1] Operation not permitted" in texts
    assert "chown: [Errno 1] Operation not permitted: '/tmp/mine'" in texts
    mount = next(t for t in texts if t.startswith("setuid mount:"))
    assert not mount.startswith("setuid mount: 0") and "must be superuser" in mount, mount


async def test_remounts_mounts_and_namespaces_are_refused(swarm_runner_factory) -> None:
    """Issue 51's probe (tests/sandbox_probe.py), as the local and Docker runners get it: only tracing its own child,
    which Docker's seccomp profile allows in its own container, works."""
    runner: SwarmRunner = swarm_runner_factory()
    log = LogCollector()
    probe = (Path(__file__).parents[1] / "sandbox_probe.py").read_bytes()
    await runner.start(spec("held", {"probe.py": probe}, attacker_plan("probe.py", "swarm")), log)
    line = (await finished(runner, "held", log, "privileges:"))[0]
    seen = json.loads(line.removeprefix("privileges:"))
    assert seen["CapEff"] == "0000000000000000" and seen["NoNewPrivs"] == "1" and seen["Seccomp"] == "2", seen
    assert {name for name, said in seen["tried"].items() if said == "ok"} == {"ptrace a child"}, seen


async def test_forjas_key_and_the_operators_secret_variables_stay_out(
    swarm_runner_factory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", FAKE_KEY)
    database, env_file = tmp_path / "forja.db", tmp_path / ".env"
    database.write_bytes(b"SQLite format 3\0")
    env_file.write_text(f"ANTHROPIC_API_KEY={FAKE_KEY}\n")
    look = LOOK_FOR_SECRETS.format(key=FAKE_KEY, paths=[str(database), str(env_file), "/proc/1/root" + str(env_file)])
    runner: SwarmRunner = swarm_runner_factory(extra_env={"ANTHROPIC_API_KEY": FAKE_KEY, "FORJA_SAFE_NAME": "kept"})
    log = LogCollector()
    await runner.start(spec("secrets", {"attack.py": look.encode()}, attacker_plan()), log)
    line = (await finished(runner, "secrets", log, "secrets:"))[0]
    assert json.loads(line.removeprefix("secrets:")) == {"names": [], "key_seen": 0, "forja_files": []}, log.dump("secrets")
    env = (await asyncio.to_thread(service_inspect, runner._previews["secrets"].service_id))["Spec"]["TaskTemplate"][
        "ContainerSpec"
    ]["Env"]
    assert "FORJA_SAFE_NAME=kept" in env and not any(FAKE_KEY in item for item in env)  # the operator's others get in
