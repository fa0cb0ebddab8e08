"""Publishing server apps with the real parts: each release runs in the local runner's sandbox (bubblewrap) behind a
real Traefik, and the app's address, asked through Traefik with the app's Host, reaches the live release's server.

The Express starter installs offline from the npm cache scripts/prefetch_starters.py filled.
"""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest

import builder.composition
from builder import db
from builder.api import api as forja_api
from builder.api import guarded
from builder.composition import Services
from builder.errors import InvalidInput, PackagesRefused, PublishBlocked, PublishFailed
from builder.generation.starters import StarterVariables, load_starters, render_starter
from builder.models import LOCAL_USER_ID, Author
from builder.publish.addresses import app_host, app_key
from builder.review.answers import ReviewInfo
from builder.services.app_data import Scope, appdata_root, files_dir
from builder.services.review_sandbox import REVIEW_KEY, SCRATCH
from builder.services.reviews import SERVER_FILES
from builder.settings import settings
from builder.store import ProjectStore
from preview_runtime.logs import LogHub
from preview_runtime.preview_headers import NOT_FOUND_MARKER, WAKING
from preview_runtime.runner import PreviewState
from scripts.corpus import ENTRIES, app_files
from tests.conftest import DatabaseUrls, corpus_app
from tests.dns_server import LocalDNS
from tests.integration.test_containment import http_listener
from tests.waiting import until

# A route the test adds to the starter: what the server reads from its environment.
ENV_ROUTE = "app.get('/api/greeting', (req, res) => res.json({ greeting: process.env.SHOP_GREETING || null }))\n"


def express_files(title: str) -> dict[str, bytes]:
    starter = next(s for s in load_starters() if s.name == "express-api")
    files = {path: text.encode() for path, text in render_starter(starter, StarterVariables(title=title)).items()}
    server = files["server.js"].decode()
    files["server.js"] = server.replace("app.use('/api/items'", ENV_ROUTE + "app.use('/api/items'", 1).encode()
    return files


async def through_traefik(services: Services, name: str, path: str = "/", quiet: bool = False) -> httpx.Response:
    """A request for the app's address as a browser sends it: to Traefik, with the app's Host."""
    proxy = (await services.preview_hub.manager()).proxy
    headers = {"Host": app_host(name), **({"X-Forja-Quiet": "1"} if quiet else {})}
    async with httpx.AsyncClient(timeout=30, trust_env=False) as client:
        return await client.get(proxy.internal_url().rstrip("/") + path, headers=headers)


async def answered(services: Services, name: str, path: str = "/", tries: int = 200) -> httpx.Response:
    """The app's own answer, past the waking page (which a first request gets while a parked sandbox wakes)."""
    for _ in range(tries):
        response = await through_traefik(services, name, path)
        if response.headers.get(NOT_FOUND_MARKER) != WAKING and response.status_code not in (502, 504):
            return response
        await asyncio.sleep(0.1)
    raise AssertionError(f"{name} did not answer {path}")


async def release_states(services: Services, pid: str) -> list[tuple[int, str, bool]]:
    return [(r.number, r.state, r.live) for r in await services.publishing.releases(pid)]


async def test_the_express_starter_publishes_reads_its_env_rolls_back_parks_and_comes_down(
    local_previews: None, services: Services, local_dns: LocalDNS
) -> None:
    created = await services.projects.create("Corner Shop", express_files("Corner Shop"), owner=LOCAL_USER_ID)
    pid = created.project_id
    hub = services.preview_hub

    first = await services.publishing.publish(pid, name="corner-shop", user_id=LOCAL_USER_ID)
    assert (first.release.number, first.release.state, first.release.framework) == (1, "ready", "Express")
    page = await through_traefik(services, "corner-shop")
    assert page.status_code == 200 and "Corner Shop" in page.text  # the starter's own page, from its own server
    assert "set-cookie" not in page.headers and "cross-origin-embedder-policy" not in page.headers  # no preview headers
    assert (await through_traefik(services, "corner-shop", "/api/greeting")).json() == {"greeting": None}
    assert (await through_traefik(services, "corner-shop", "/api/health")).json() == {"ok": True}

    # At a domain of its owner's too, once proved theirs (its TXT record), straight to its sandbox; no more once removed.
    proxy = (await hub.manager()).proxy
    claim = await services.app_domains.set(pid, "corner.example.test")
    assert "corner.example.test" not in proxy.aliases()
    local_dns.set(claim.proof_name, "TXT", claim.proof_value)
    await services.app_domains.info(pid, check=True)
    assert proxy.aliases().get("corner.example.test") == proxy.aliases()[app_host("corner-shop")]
    mine = None
    async with httpx.AsyncClient(timeout=30, trust_env=False) as client:
        for _ in range(200):  # until Traefik applied the route (a tenth of a second or so)
            mine = await client.get(proxy.internal_url(), headers={"Host": "corner.example.test"})
            if mine.status_code == 200:
                break
            await asyncio.sleep(0.05)
    assert mine is not None and mine.status_code == 200 and "Corner Shop" in mine.text
    await services.app_domains.remove(pid)
    assert "corner.example.test" not in proxy.aliases()

    # A variable set in its Environment reaches the next release's server.
    await services.app_env.set(pid, "SHOP_GREETING", "open at nine", user_id=LOCAL_USER_ID)
    second = await services.publishing.publish(pid, user_id=LOCAL_USER_ID)
    assert second.release.number == 2
    assert (await through_traefik(services, "corner-shop", "/api/greeting")).json() == {"greeting": "open at nine"}
    first_sandbox = await hub.local(app_key(pid, 1))
    assert first_sandbox is not None and first_sandbox.state == PreviewState.parked  # kept for a rollback

    # A start that fails keeps release 2 live.
    manifest = json.loads(express_files("Corner Shop")["package.json"])
    manifest["scripts"]["start"] = "node -e \"console.error('the server broke on purpose'); process.exit(4)\""
    await services.projects.save(pid, {"package.json": json.dumps(manifest).encode()}, author=Author.user)
    with pytest.raises(PublishFailed, match="did not start") as failed:
        await services.publishing.publish(pid, user_id=LOCAL_USER_ID)
    assert failed.value.release == 3
    assert await release_states(services, pid) == [(3, "failed", False), (2, "ready", True), (1, "ready", False)]
    assert await hub.local(app_key(pid, 3)) is None  # its sandbox is gone
    assert hub.here(REVIEW_KEY) == {} and scratch_left(pid) == []  # and the doors check started beside it
    assert (await through_traefik(services, "corner-shop", "/api/greeting")).json() == {"greeting": "open at nine"}

    # Rollback: release 1's parked sandbox goes live again and wakes at the first visit; nothing is built or published.
    back = await services.publishing.rollback(pid, 1)
    assert back.live_release == 1
    assert (await answered(services, "corner-shop", "/api/greeting")).json() == {"greeting": None}
    assert len(await services.publishing.releases(pid)) == 3
    second_sandbox = await hub.local(app_key(pid, 2))
    assert second_sandbox is not None and second_sandbox.state == PreviewState.parked

    # Parked when idle (as the sweep does), woken by a request to its address.
    live = await hub.local(app_key(pid, 1))
    assert live is not None and await (await hub.manager()).park(live.preview_id, "a test")
    assert (await through_traefik(services, "corner-shop", quiet=True)).headers.get(NOT_FOUND_MARKER) == WAKING
    assert "Corner Shop" in (await answered(services, "corner-shop")).text

    # The sweep: visits to the app count as use (Forja itself has not asked about it for hours here), none parks it.
    manager = await hub.manager()
    running = manager._previews[live.preview_id]  # pyright: ignore[reportPrivateUsage] (Forja's own last look)
    running.last_seen -= 7200
    running.started -= 7 * 3600  # past the previews' ttl too
    await through_traefik(services, "corner-shop")
    assert live.preview_id not in (await manager.reap()).parked
    manager.reaper.park_after_s, park_after_s = 0, manager.reaper.park_after_s  # no visit since: idle
    assert live.preview_id in (await manager.reap()).parked
    manager.reaper.park_after_s = park_after_s
    assert "Corner Shop" in (await answered(services, "corner-shop")).text

    # Unpublish stops its sandboxes; the address answers 410 (through Forja's edge, as Traefik sends it there).
    await services.publishing.unpublish(pid)
    assert hub.here(f"app:{pid}@") == {}
    transport = httpx.ASGITransport(app=guarded(forja_api))
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:3000") as client:
        gone = await client.get("/", headers={"Host": app_host("corner-shop")})
    assert gone.status_code == 410


# Run inside a published app's sandbox: each URL asked straight and through the sandbox's HTTP_PROXY (the egress proxy).
PROBE = b"""
const http = require('http')
const ask = (options) => new Promise((done) => {
  const request = http.get({ ...options, timeout: 3000 }, (response) => done(`status ${response.statusCode}`))
  request.on('error', (error) => done(`blocked ${error.code || error.message}`))
  request.on('timeout', () => { request.destroy(); done('blocked timeout') })
})
const proxy = process.env.HTTP_PROXY || process.env.http_proxy
;(async () => {
  const seen = {}
  for (const url of process.argv.slice(2)) {
    const target = new URL(url)
    seen[url] = [await ask({ host: target.hostname, port: target.port, path: '/' })]
    if (proxy) {
      const via = new URL(proxy)
      seen[url].push(await ask({ host: via.hostname, port: via.port, path: url, headers: { host: target.host } }))
    }
  }
  console.log('probe:' + JSON.stringify(seen))
})()
"""
PLAIN_SERVER = b"require('http').createServer((q, s) => s.end('the other app')).listen(process.env.PORT, process.env.HOST)\n"


async def test_a_corpus_express_app_publishes_starts_again_when_its_sandbox_is_gone_and_reaches_nothing_of_forja(
    local_previews: None, services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    entry = next(e for e in ENTRIES if e.name == "express-generator")
    monkeypatch.setattr(settings, "npm_seed_cache", corpus_app(entry.name) / "npm")  # installs offline from it
    monkeypatch.setattr(settings, "preview_offline", True)
    hub = services.preview_hub

    files = {**app_files(entry), "probe.cjs": PROBE}
    created = await services.projects.create("Express generator", files, owner=LOCAL_USER_ID)
    pid = created.project_id
    published = await services.publishing.publish(pid, name="generated", user_id=LOCAL_USER_ID)
    assert published.release.framework == "Express"
    page = await through_traefik(services, "generated")
    assert page.status_code == 200 and "Welcome to Express" in page.text  # its own page (pug), from its own server

    # After a restart of Forja its sandbox is gone: the address falls to Forja's edge, which starts it once and
    # answers the waking page meanwhile; then Traefik sends the address to the new sandbox.
    key = app_key(pid, 1)
    await hub.stop(key)
    transport = httpx.ASGITransport(app=guarded(forja_api))
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:3000") as client:
        waking = await client.get("/", headers={"Host": app_host("generated")})
    assert waking.status_code == 503 and waking.headers[NOT_FOUND_MARKER] == WAKING
    assert "Welcome to Express" in (await answered(services, "generated", tries=600)).text
    assert len(await services.publishing.releases(pid)) == 1  # started again, not published again

    # Containment: from inside the published app, neither Forja's API (a stand-in on its port) nor another app's
    # sandbox answers, straight or through the egress proxy; both answer this process (the positive control).
    other = await services.projects.create(
        "Other",
        {"package.json": b'{"name": "other", "scripts": {"start": "node server.js"}}', "server.js": PLAIN_SERVER},
        owner=LOCAL_USER_ID,
    )
    await services.publishing.publish(other.project_id, name="other", user_id=LOCAL_USER_ID)
    other_sandbox = await hub.local(app_key(other.project_id, 1))
    assert other_sandbox is not None
    other_upstream = (await hub.manager()).proxy.routes()[other_sandbox.preview_id]
    with http_listener("127.0.0.1") as (forja_url, peers):
        monkeypatch.setattr(settings, "port", int(forja_url.rsplit(":", 1)[1]))
        async with httpx.AsyncClient(timeout=5, trust_env=False) as client:
            assert (await client.get(forja_url)).text == "forja ok"
            assert (await client.get(other_upstream)).text == "the other app"
        peers.clear()
        outcome = await hub.run_command(key, f"node probe.cjs {forja_url} {other_upstream}", 30)
    line = next(line for line in outcome.output.splitlines() if line.startswith("probe:"))
    seen = json.loads(line.removeprefix("probe:"))
    for url, answers in seen.items():
        assert all(not answer.startswith("status 2") for answer in answers), (url, answers)
    assert peers == []


# A server app with a build step: the build counts its runs in a file beside the project (in the sandbox's folder).
BUILT_SERVER = {
    "package.json": b'{"name": "built", "scripts": {"build": "node build.js", "start": "node dist/server.js"}, "main": "dist/server.js"}',
    "build.js": b"""const fs = require('fs')
fs.appendFileSync('builds.txt', 'x')
if (process.env.BREAK_BUILD) { console.error('the build broke on purpose'); process.exit(3) }
fs.mkdirSync('dist', { recursive: true })
fs.writeFileSync('dist/server.js', "require('http').createServer((q, s) => s.end('builds: ' + require('fs').readFileSync('builds.txt', 'utf8').length)).listen(process.env.PORT, process.env.HOST)")
console.log('built the server')
""",
}


async def test_a_server_build_runs_once_its_log_is_kept_and_a_failed_build_keeps_the_live_release(
    local_previews: None, services: Services, sqlite_store: ProjectStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    created = await services.projects.create("Built", BUILT_SERVER, owner=LOCAL_USER_ID)
    pid = created.project_id
    first = await services.publishing.publish(pid, name="built", user_id=LOCAL_USER_ID)
    assert (first.release.kind, first.release.framework) == ("server", "Node.js")
    assert (await through_traefik(services, "built")).text == "builds: 1"
    log = [(line.source, line.text) for line in services.logs.history(pid)]
    assert ("publish", "built the server") in log  # the build's output, in the Logs tab
    with pytest.raises(InvalidInput, match="a link opens the live app, not one release pinned"):
        await services.shares.create(pid, target="release")
    assert (await services.shares.create(pid, target="live")).url  # the live app's link is fine

    # Parked and woken: the wake runs the start only (the build's marker is in the sandbox's folder).
    live = await services.preview_hub.local(app_key(pid, 1))
    assert live is not None and await (await services.preview_hub.manager()).park(live.preview_id, "a test")
    assert (await answered(services, "built")).text == "builds: 1"

    await services.app_env.set(pid, "BREAK_BUILD", "yes", user_id=LOCAL_USER_ID)
    with pytest.raises(PublishFailed, match=r"`NODE_ENV=production npm run build` failed: the build broke on purpose"):
        await services.publishing.publish(pid, user_id=LOCAL_USER_ID)
    assert await release_states(services, pid) == [(2, "failed", False), (1, "ready", True)]
    assert "the build broke on purpose" in (await sqlite_store.release(pid, 2)).log  # kept with the release
    assert (await answered(services, "built")).text == "builds: 1"

    # A static release after it: the address leaves the sandbox (parked) for Forja's edge; a rollback brings it back.
    static = {"package.json": b'{"name": "built"}', "index.html": b"<h1>Now a plain page</h1>"}
    await services.projects.save(pid, static, author=Author.user)
    assert (await services.publishing.publish(pid, user_id=LOCAL_USER_ID)).release.kind == "static"
    proxy = (await services.preview_hub.manager()).proxy
    assert app_host("built") not in proxy.aliases()
    transport = httpx.ASGITransport(app=guarded(forja_api))
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:3000") as client:
        assert "Now a plain page" in (await client.get("/", headers={"Host": app_host("built")})).text
    await services.publishing.rollback(pid, 1)
    assert (await answered(services, "built")).text == "builds: 1"

    # Pruned: a release whose files go loses its sandbox too.
    monkeypatch.setattr(settings, "releases_kept", 1)
    await services.publishing.publish(pid, user_id=LOCAL_USER_ID)
    assert await services.preview_hub.local(app_key(pid, 1)) is None
    assert [(n, state) for n, state, _ in await release_states(services, pid)][-1] == (1, "pruned")


async def test_the_flask_starter_publishes_under_flasks_own_server_without_its_reloader(
    local_previews: None, services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(settings, "preview_offline", True)  # pip installs from the starters' wheels
    starter = next(s for s in load_starters() if s.name == "flask")
    files = {path: text.encode() for path, text in render_starter(starter, StarterVariables(title="Tea Room")).items()}
    created = await services.projects.create("Tea Room", files, owner=LOCAL_USER_ID)
    published = await services.publishing.publish(created.project_id, name="tea-room", user_id=LOCAL_USER_ID)
    assert (published.release.kind, published.release.framework) == ("server", "Flask")
    page = await through_traefik(services, "tea-room")
    assert page.status_code == 200 and "Tea Room" in page.text
    assert (await through_traefik(services, "tea-room", "/api/items")).status_code == 200
    log = "\n".join(line.text for line in services.logs.history(created.project_id))
    assert "FLASK_DEBUG=0 flask --app app:app run" in log and "--reload" not in log.split("Publishing version", 1)[1]

    # A key pasted into a file its static folder serves, and Werkzeug's debugger around the app, its console open: the
    # review finds the key in the files and the console in its scratch sandbox, both critical (each counts in
    # `blocking`), and stops release 2, whose sandbox is stopped; the address keeps serving release 1.
    key = "AKIA" + "IOSFODNN7EXAMPLE"  # in parts, so no scanner of this repository takes it for a real one
    pasted = {"static/app.js": files["static/app.js"] + f"\nconst k = '{key}'\n".encode(), "app.py": files["app.py"] + DEBUGGER}
    await services.projects.save(created.project_id, pasted)
    with pytest.raises(PublishBlocked) as blocked:
        await services.publishing.publish(created.project_id, user_id=LOCAL_USER_ID)
    review = blocked.value.review
    assert review["looked_at"] == "the files release 2 serves from its static and public folders"
    found = [
        (f["finding"]["kind"], f["finding"]["severity"], f["finding"]["file"], f["finding"]["request"])
        for f in review["findings"]
    ]
    assert [finding for finding in found if finding[1] != "low"] == [
        ("debug-console", "critical", "", "GET /console with no session"),
        ("aws-access-key", "critical", "static/app.js", ""),
    ]
    assert review["blocking"] == 2
    assert await release_states(services, created.project_id) == [(2, "blocked", False), (1, "ready", True)]
    assert await services.preview_hub.local(app_key(created.project_id, 2)) is None
    assert services.preview_hub.here(REVIEW_KEY) == {} and scratch_left(created.project_id) == []
    assert "Tea Room" in (await through_traefik(services, "tea-room")).text

    # Its owner publishes it anyway, saying why: release 3 goes live with the reason kept.
    anyway = await services.publishing.publish(created.project_id, user_id=LOCAL_USER_ID, override_reason="A demo for one day.")
    assert (anyway.release.number, anyway.app.live_release, anyway.release.override_reason) == (3, 3, "A demo for one day.")
    assert "Tea Room" in (await through_traefik(services, "tea-room")).text


async def test_after_a_restart_of_forja_a_visit_wakes_the_parked_release_without_building_it_again(
    local_previews: None, services: Services, sqlite_url: DatabaseUrls, monkeypatch: pytest.MonkeyPatch
) -> None:
    created = await services.projects.create("Built", BUILT_SERVER, owner=LOCAL_USER_ID)
    await services.publishing.publish(created.project_id, name="built", user_id=LOCAL_USER_ID)
    live = await services.preview_hub.local(app_key(created.project_id, 1))
    assert live is not None and await (await services.preview_hub.manager()).park(live.preview_id, "a test")
    await services.close()  # Forja stops: parked sandboxes stay, with their folders

    again = Services(store=ProjectStore(db.create_engine(sqlite_url.async_)), logs=LogHub())
    monkeypatch.setattr(builder.composition, "_services", again)
    try:
        await again.preview_hub.manager()  # Forja's start takes the parked sandbox back, under its key
        assert (await again.preview_hub.local(app_key(created.project_id, 1))) is not None
        transport = httpx.ASGITransport(app=guarded(forja_api))
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:3000") as client:
            waking = await client.get("/", headers={"Host": app_host("built")})  # no route yet: Forja's edge
        assert waking.status_code == 503 and waking.headers[NOT_FOUND_MARKER] == WAKING
        assert (await answered(again, "built")).text == "builds: 1"  # woken, not built again

        # Gone again, and its build now fails: the visits that started it get the waking page, then a plain 503 (no
        # endless waking page, no build per visit) until RETRY_AFTER_S.
        await again.app_env.set(created.project_id, "BREAK_BUILD", "yes", user_id=LOCAL_USER_ID)
        await again.publishing.servers.stop(created.project_id)
        visit = None
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:3000") as client:
            for _ in range(600):
                visit = await client.get("/", headers={"Host": app_host("built")})
                if NOT_FOUND_MARKER not in visit.headers:
                    break
                await asyncio.sleep(0.1)
        assert visit is not None and visit.status_code == 503 and "unavailable" in visit.text.lower()
        assert await again.preview_hub.local(app_key(created.project_id, 1)) is None
    finally:
        await again.close()


# Werkzeug's debugger around a Flask app, whatever server runs it (a publish runs `flask run` with FLASK_DEBUG=0).
DEBUGGER = b"""
from werkzeug.debug import DebuggedApplication

app.wsgi_app = DebuggedApplication(app.wsgi_app, evalex=True)
"""
# The starter's DELETE without its 404: it answers 204 for any id, and deletes the item when there is one.
DELETES_ANY = (
    "  if (!(await deleteItem(req.params.id))) return res.status(404).json({ error: 'Not found.' })\n",
    "  await deleteItem(req.params.id)\n",
)
KEPT_ROW = [{"id": "1", "text": "Keep me", "done": False, "createdAt": 1}]


def doors_of(review: ReviewInfo) -> list[tuple[str, str, str, str, int | None]]:
    return [
        (f.finding.kind, f.finding.severity, f.finding.request, f.finding.file, f.finding.line)
        for f in review.findings
        if f.finding.check == "doors"
    ]


def scratch_left(pid: str) -> list[str]:
    """What is left of the review's scratch sandboxes and their /data folders."""
    return [path.name for path in (appdata_root() / pid).glob(f"{SCRATCH}*")]


async def test_a_server_publish_probes_the_apps_doors_in_a_scratch_sandbox_never_its_live_data(
    local_previews: None, services: Services
) -> None:
    files = express_files("Open Door")
    items = files["routes/items.js"].decode()
    assert DELETES_ANY[0] in items
    planted = files | {"routes/items.js": items.replace(*DELETES_ANY).encode()}
    pid = (await services.projects.create("Open Door", planted, owner=LOCAL_USER_ID)).project_id
    live = files_dir(pid, Scope.live)
    live.mkdir(parents=True)
    (live / "items.json").write_text(json.dumps(KEPT_ROW))  # the row whose id the probe guesses

    published = await services.publishing.publish(pid, name="open-door", user_id=LOCAL_USER_ID)
    assert published.review is not None and published.review.blocking == 0  # a high finding does not block
    line = items.splitlines().index(DELETES_ANY[0].rstrip("\n"))  # the line above it (the route's), counted from 1
    assert doors_of(published.review)[0] == (
        "change-without-session",
        "high",
        "DELETE /api/items/1 with no session",
        "routes/items.js",
        line,
    )
    # The probe deleted item 1 in its own sandbox: the live app's row is there, in its file and at its address.
    assert json.loads((live / "items.json").read_text()) == KEPT_ROW
    assert (await through_traefik(services, "open-door", "/api/items")).json() == KEPT_ROW
    assert services.preview_hub.here(REVIEW_KEY) == {} and scratch_left(pid) == []

    # The starter itself (the clean twin), reviewed on demand: no change without a session, only the basic header it
    # does not send (a Content-Security-Policy would also shut out the scripts a preview puts into its page).
    clean = (await services.projects.create("Shut Door", files, owner=LOCAL_USER_ID)).project_id
    review = await services.reviews.review(clean)
    assert review.looked_at == SERVER_FILES
    assert doors_of(review) == [("no-csp", "low", "GET / with no session", "", None)]
    assert services.preview_hub.here(REVIEW_KEY) == {} and scratch_left(clean) == []

    # A version that does not start: its doors are one low finding in words, and the review still finishes.
    manifest = json.loads(files["package.json"])
    manifest["scripts"]["start"] = 'node -e "process.exit(4)"'
    await services.projects.save(clean, {"package.json": json.dumps(manifest).encode()}, author=Author.user)
    broken = await services.reviews.review(clean)
    assert [(f.finding.kind, f.finding.severity, f.finding.message) for f in broken.findings if f.finding.check == "doors"] == [
        ("not-checked", "low", "The app's doors could not be checked: it did not start.")
    ]
    assert services.preview_hub.here(REVIEW_KEY) == {} and scratch_left(clean) == []

    async def launched() -> bool:
        return bool(services.preview_hub.here(REVIEW_KEY))

    async def gone() -> bool:
        return not await launched()

    # A check started ahead of a release and dropped (the release failed to start), at any point of its start: once
    # the drop returns, neither its sandbox nor its scratch folder is left.
    for ticks in (0, 1, 2, 4, 8, 16, 32):
        drop = services.reviews.ahead(clean, 1, files)
        for _ in range(ticks):
            await asyncio.sleep(0)
        await drop()
        assert services.preview_hub.here(REVIEW_KEY) == {} and scratch_left(clean) == [], ticks
    drop = services.reviews.ahead(clean, 1, files)
    await until(launched, "the check's sandbox launched (installing or starting)")
    await drop()
    assert services.preview_hub.here(REVIEW_KEY) == {} and scratch_left(clean) == []
    # Dropped while it takes its sandbox down (as when the release and its check both fail to start): the drop waits.
    drop = services.reviews.ahead(clean, 2, files | {"package.json": json.dumps(manifest).encode()})
    await until(launched, "the check's sandbox launched")
    await until(gone, "its sandbox failed and the check is taking it down", every=0)
    await drop()
    assert scratch_left(clean) == []


async def test_a_look_alike_package_is_never_installed_neither_in_its_preview_nor_at_publish(
    local_previews: None, services: Services
) -> None:
    files = express_files("Look Alike")
    manifest = json.loads(files["package.json"])
    manifest["dependencies"]["exprss"] = "^4.0.0"  # one letter from express: whoever publishes it would run here
    files["package.json"] = json.dumps(manifest).encode()
    pid = (await services.projects.create("Look Alike", files, owner=LOCAL_USER_ID)).project_id
    with pytest.raises(PackagesRefused, match="exprss is one or two letters away from the popular package express") as no:
        await services.previews.start(pid)
    assert no.value.status == 422 and "Change package.json" in no.value.message
    assert services.preview_hub.here("") == {}  # nothing started, nothing claimed
    assert [line.text for line in services.logs.history(pid) if line.text.startswith("The app's packages")] == [no.value.message]
    with pytest.raises(PublishFailed, match="exprss is one or two letters away"):
        await services.publishing.publish(pid, name="look-alike", user_id=LOCAL_USER_ID)
    assert await release_states(services, pid) == [(1, "failed", False)]


async def test_a_look_alike_package_is_not_handed_to_the_browser_to_install_either(
    services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(settings, "preview_runner", "auto")  # WebContainers first, as Forja's default
    monkeypatch.setattr(settings, "webcontainers", True)
    vite = {"name": "menu", "private": True, "scripts": {"dev": "vite"}, "devDependencies": {"vite": "^7.0.0"}}
    clean = (await services.projects.create("Menu", {"package.json": json.dumps(vite).encode()}, owner=LOCAL_USER_ID)).project_id
    plan = await services.previews.browser_plan(clean)
    assert plan is not None and plan.install  # the twin runs in the browser, its install with it
    vite["dependencies"] = {"raect": "^19.0.0"}  # one letter from react
    pid = (
        await services.projects.create("Menu look-alike", {"package.json": json.dumps(vite).encode()}, owner=LOCAL_USER_ID)
    ).project_id
    with pytest.raises(PackagesRefused, match="raect is one or two letters away from the popular package react") as no:
        await services.previews.browser_plan(pid)
    assert no.value.status == 422 and "Change package.json" in no.value.message
    assert [line.text for line in services.logs.history(pid) if line.text.startswith("The app's packages")] == [no.value.message]
