"""The issue-14 probes against the Docker runner: what a preview's own server code tries, it does not get.

test_containment.py covers forks, memory, disk, CPU, other previews, the metadata address and the host's
database port. These add the rest of the same attacker's list: Forja's keys through /proc, Forja's database
and `.env` by path, a loopback service of the host, a `~/.npmrc` left for the next project, and a server
listening on every interface (`::`). Traffic stays on this machine (see shared/environment.md).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from preview_runtime.docker.runner import DockerRunner
from preview_runtime.plan import RunPlan
from preview_runtime.runner import PreviewState

pytest.register_assert_rewrite("tests.docker_fixtures")
from tests.docker_fixtures import LogCollector, container_inspect, wait_state  # noqa: E402
from tests.integration.test_containment import attacker_plan, http_listener, probe_code, spec  # noqa: E402

pytest_plugins = ["tests.docker_fixtures"]

FAKE_KEY = "sk-ant-probe-0123456789abcdef"

LOOK_FOR_SECRETS = """import glob, json, os
key = {key!r}
names, values = set(), 0
for path in glob.glob("/proc/[0-9]*/environ"):
    try:
        data = open(path, "rb").read()
    except OSError:
        continue
    values += key.encode() in data
    for item in data.split(b"\\0"):
        name = item.split(b"=", 1)[0].decode(errors="replace")
        if any(word in name.upper() for word in ("KEY", "TOKEN", "SECRET", "PASSWORD")):
            names.add(name)
readable = [p for p in {paths!r} if os.path.exists(p)]
print("secrets:", json.dumps({{"names": sorted(names), "key_seen": values, "forja_files": readable}}), flush=True)
"""


async def _finished(runner: DockerRunner, preview_id: str, log: LogCollector, prefix: str) -> str:
    await wait_state(runner, preview_id, PreviewState.stopped, 60, log)
    return await log.wait_for(lambda t: t.startswith(prefix), preview_id)


async def test_forjas_key_database_and_env_are_out_of_reach(docker_runner_factory, tmp_path: Path, monkeypatch) -> None:
    # Forja's process holds a key and has its database and .env on disk; the preview looks for all three.
    monkeypatch.setenv("ANTHROPIC_API_KEY", FAKE_KEY)
    database, env_file = tmp_path / "forja.db", tmp_path / ".env"
    database.write_bytes(b"SQLite format 3\0")
    env_file.write_text(f"ANTHROPIC_API_KEY={FAKE_KEY}\n")
    look = LOOK_FOR_SECRETS.format(key=FAKE_KEY, paths=[str(database), str(env_file), "/proc/1/root" + str(env_file)])
    # Even an operator's extra variable with a credential-looking name stays out.
    runner: DockerRunner = docker_runner_factory(extra_env={"ANTHROPIC_API_KEY": FAKE_KEY})
    log = LogCollector()
    await runner.start(spec("secrets", {"attack.py": look.encode()}, attacker_plan()), log)
    line = await _finished(runner, "secrets", log, "secrets:")
    found = json.loads(line.removeprefix("secrets:"))
    assert found == {"names": [], "key_seen": 0, "forja_files": []}, log.dump("secrets")


async def test_a_loopback_service_of_the_host_is_out_of_reach(docker_runner_factory) -> None:
    # 127.0.0.1 in a container is the container's own: the host's loopback listener must see nothing.
    with http_listener("127.0.0.1") as (url, peers):
        port = int(url.rsplit(":", 1)[1])
        runner: DockerRunner = docker_runner_factory()
        log = LogCollector()
        await runner.start(spec("loop", {"attack.py": probe_code("127.0.0.1", port).encode()}, attacker_plan()), log)
        line = await _finished(runner, "loop", log, "probe ")
        assert line.startswith(f"probe 127.0.0.1:{port}: blocked"), log.dump("loop")
        assert peers == []


async def test_an_npmrc_left_by_one_project_is_not_the_next_ones(docker_runner_factory) -> None:
    write = b"""import os
path = os.path.expanduser("~/.npmrc")
open(path, "w").write("registry=http://127.0.0.1:9/\\n")
print("wrote", path, flush=True)
"""
    read = b"""import os
path = os.path.expanduser("~/.npmrc")
print("npmrc:", open(path).read().strip() if os.path.exists(path) else "none", flush=True)
"""
    runner: DockerRunner = docker_runner_factory()
    log = LogCollector()
    first = spec("npmrc1", {"attack.py": write}, attacker_plan())
    await runner.start(first.model_copy(update={"project_id": "proj-a"}), log)
    assert (await _finished(runner, "npmrc1", log, "wrote ")).endswith("/.npmrc")
    second = spec("npmrc2", {"attack.py": read}, attacker_plan())
    await runner.start(second.model_copy(update={"project_id": "proj-b"}), log)
    assert await _finished(runner, "npmrc2", log, "npmrc:") == "npmrc: none", log.dump()


async def test_a_server_on_every_interface_is_reached_only_as_the_preview(docker_runner_factory) -> None:
    # Listening on `::` exposes it on the preview's own network, which the host's published ports do not include.
    server = b"""import http.server, os
class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200); self.send_header("content-length", "2"); self.end_headers(); self.wfile.write(b"ok")
class Server(http.server.ThreadingHTTPServer):
    address_family = __import__("socket").AF_INET6
print("listening on ::", flush=True)
Server(("::", int(os.environ["PORT"])), Handler).serve_forever()
"""
    runner: DockerRunner = docker_runner_factory()
    log = LogCollector()
    await runner.start(spec("every", {"app.py": server}, RunPlan(dev="python app.py", port=8080, has_server=True)), log)
    info = await wait_state(runner, "every", PreviewState.running, 60, log)
    published = container_inspect(info.handle)["NetworkSettings"]["Ports"] or {}
    assert all(not bindings for bindings in published.values()), published  # nothing on the host's interfaces
