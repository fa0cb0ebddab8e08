"""Publish benchmark: prints figures, asserts nothing.

Forja's own services (a temporary SQLite store and data folder), the local runner behind Traefik, installs offline
from the seeded npm caches (warm caches), each figure a ratio against the same work done by hand in the same run:

  publish   the React starter and corpus projects (default vite-vue, vite-svelte, vite-lit-ts) published through
            PublishService: --runs first publishes, each of a new project (no dependency cache for its lockfile
            yet), then --runs more of the last one (the cache filled, as when a person has been previewing it),
            against its install and build by hand in a fresh copy (`npm ci --offline`, or `npm install --offline` with
            no lockfile, then the same build line, from a copy of the same npm cache, with the same Node and npm as
            the sandbox's, outside any sandbox), on all CPUs and pinned to one (a preview's default limit). Each
            publish has its by-hand twin run next to it (for first publishes, first or second in turn); a ratio is the
            median of each publish's time over its twin's, as the machine's load drifts during a run, and the first
            publishes' column also lists each pair's. Where a publish's time goes comes from its log lines' times.
  load      the published React starter, at its own address through Traefik and one Forja worker (granian serving the
            API with its guards, in its own process on the same data), against its share link's preview (the Vite dev
            server through Traefik), in headless Chromium: from navigation to the load event with the app rendered
            (#root filled), plain and with Slow-4G emulation through CDP (150 ms RTT, 1.6 Mbps down, 750 kbps up),
            with an empty cache each time; requests and bytes on the wire (CDP's encodedDataLength: headers and
            compressed bodies).
  memory    --apps plain-HTML apps published and each visited through the edge: the processes left running for them
            (any process whose working folder is in the releases folder, and the runner's previews) and what the
            serving worker's memory (PSS of granian and its worker) changed by per app visited.
  server    a published server app parked and woken at its address (bench/publish_server.py).

    .venv/bin/python bench/publish.py [--projects vite-vue,vite-svelte,vite-lit-ts] [--runs 5] [--loads 5] [--slow-loads 3]
        [--apps 20] [--wakes 5] [--only server|publish]
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import shlex
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from playwright.async_api import Browser, async_playwright
from playwright.async_api import Error as PlaywrightError

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import builder.composition  # noqa: E402
from bench.parking import share_app, until_link_runs  # noqa: E402
from bench.preview import free_port, project, tree_pss  # noqa: E402
from bench.publish_server import server_figures, static_rollbacks  # noqa: E402
from builder.composition import Services, get_services  # noqa: E402
from builder.models import LOCAL_USER_ID  # noqa: E402
from builder.publish.answers import ReleaseInfo  # noqa: E402
from builder.services.preview_runners import local_work_dir  # noqa: E402
from builder.settings import settings  # noqa: E402
from preview_runtime.local.deps_cache import copy_seed  # noqa: E402
from preview_runtime.local.homes import project_home  # noqa: E402
from preview_runtime.local.sandbox import NODE_LINKS  # noqa: E402
from preview_runtime.logs import LogLine  # noqa: E402
from preview_runtime.production import production_plan  # noqa: E402
from preview_runtime.verify import CHROMIUM_ARGS, find_chromium  # noqa: E402
from scripts.corpus import CORPUS_DIR, ENTRIES, app_files  # noqa: E402

STARTER = "react-vite-tailwind"
STARTER_SEED = REPO / ".cache" / "starters-npm"
CHROMIUM = find_chromium(os.environ.get("FORJA_CHROMIUM", "")) or "/usr/bin/chromium"
# Chrome DevTools' Slow 4G, as the issue states it: 150 ms round trip, 1.6 Mbps down, 750 kbps up (bytes per second).
SLOW_4G = {"offline": False, "latency": 150, "downloadThroughput": 1.6e6 / 8, "uploadThroughput": 750e3 / 8}
RENDERED = "document.querySelector('#root') !== null && document.querySelector('#root').children.length > 0"
MiB = 1 << 20
LOAD_LIMIT_S = 90  # Slow 4G through the dev server takes about 20 s


@dataclass
class Subject:
    name: str
    files: dict[str, bytes]
    seed: Path  # the npm cache its packages install from, on both sides


@dataclass
class PublishRow:
    name: str
    hand: list[float] = field(default_factory=list)  # install + build on the machine's CPUs, beside each first publish
    hand_again: list[float] = field(default_factory=list)  # the same, beside each later publish
    hand_one_cpu: list[float] = field(default_factory=list)  # the same on one CPU (a preview's limit by default)
    cold: list[float] = field(default_factory=list)  # first publishes, each of a new project
    cold_phases: list[dict[str, float]] = field(default_factory=list)  # where their time went
    again: list[float] = field(default_factory=list)  # publishes after it (the dependency cache filled)
    phases: list[dict[str, float]] = field(default_factory=list)  # where each later publish's time went
    release: ReleaseInfo | None = None  # the last one
    problem: str = ""


@dataclass
class Load:
    seconds: float
    requests: int
    bytes: int


def subjects(corpus: list[str]) -> list[Subject]:
    chosen = [Subject(STARTER, project("Bench Bakery"), STARTER_SEED)]
    by_name = {entry.name: entry for entry in ENTRIES}
    for name in corpus:
        if name not in by_name or not (CORPUS_DIR / name / "app").is_dir():
            print(f"{name}: not in the fetched corpus (scripts/corpus.py), left out", flush=True)
            continue
        chosen.append(Subject(name, app_files(by_name[name]), CORPUS_DIR / name / "npm"))
    return chosen


# -- publish time ----------------------------------------------------------------------------------


def by_hand(subject: Subject, work: Path, one_cpu: bool = False) -> float:
    """Install and build in a fresh copy, as a person would type it, from a copy of the same npm cache (made first);
    `one_cpu`: pinned to one CPU (taskset), as a preview's cgroup limits its build by default (FORJA_PREVIEW_CPUS)."""
    folder = Path(tempfile.mkdtemp(prefix=f"hand-{subject.name}-", dir=work))
    app = folder / "app"
    for path, data in subject.files.items():
        (app / path).parent.mkdir(parents=True, exist_ok=True)
        (app / path).write_bytes(data)
    copy_seed(subject.seed, folder / ".npm")
    # The sandbox's Node and npm (sandbox.NODE_LINKS), not whichever a PATH finds first: the venv's are Python scripts
    # that start them (25-35 ms more at each), the system's may be another version.
    node_bin = folder / "node-bin"
    node_bin.mkdir()
    for name, target in NODE_LINKS.items():
        (node_bin / name).symlink_to(target)
    env = {
        **os.environ,
        "PATH": f"{node_bin}{os.pathsep}{os.environ.get('PATH', os.defpath)}",
        "npm_config_cache": str(folder / ".npm"),
        "npm_config_update_notifier": "false",
    }
    install = "npm ci" if "package-lock.json" in subject.files else "npm install"
    pin = f"taskset -c {min(os.sched_getaffinity(0))} " if one_cpu else ""
    started = time.perf_counter()
    for line in (f"{install} --offline --no-audit --no-fund", production_plan(subject.files).build):
        done = subprocess.run(
            f"{pin}sh -c {shlex.quote(line)}", shell=True, cwd=app, env=env, capture_output=True, text=True, timeout=600
        )
        if done.returncode != 0:
            raise RuntimeError(f"`{line}` failed by hand: {(done.stderr or done.stdout).strip()[-300:]}")
    took = time.perf_counter() - started
    shutil.rmtree(folder, ignore_errors=True)
    return took


# Log lines that start each part of a publish (PublishService and the local runner write them).
PHASES = (
    ("sandbox", "Publishing version"),
    ("dependencies installed or restored", "Running on port"),
    ("build, collect and write the release", "Building:"),
    ("", "Published version"),  # the build sandbox stops behind it
)


def phases_of(lines: list[LogLine]) -> dict[str, float]:
    """Seconds of each part of one publish, from the times of its log lines; {} when a line is missing."""
    marks = []
    for name, marker in PHASES:
        line = next((line for line in lines if line.text.startswith(marker)), None)
        if line is None:
            return {}
        marks.append((name, line.time.timestamp()))
    return {name: end - begin for (name, begin), (_, end) in itertools.pairwise(marks)}


@dataclass
class Published:
    seconds: float
    phases: dict[str, float]
    release: ReleaseInfo


async def timed_publish(services: Services, project_id: str) -> Published:
    """One publish: its seconds, where they went, and its release."""
    seen = len(services.logs.history(project_id))
    started = time.perf_counter()
    result = await services.publishing.publish(project_id, user_id=LOCAL_USER_ID)
    took = time.perf_counter() - started
    # Its build sandbox stops behind it: not beside the next thing timed.
    await services.publishing.settled()
    return Published(took, phases_of(services.logs.history(project_id)[seen:]), result.release)


async def new_project(services: Services, subject: Subject) -> str:
    created = await services.projects.create(f"Bench {subject.name}", dict(subject.files), owner=LOCAL_USER_ID)
    # As on the by-hand side, the project's npm cache is there before the clock starts (Forja seeds a project's home
    # when it first previews it, long before a publish).
    home = project_home(local_work_dir(), created.project_id)
    home.mkdir(parents=True, exist_ok=True)
    copy_seed(subject.seed, home / ".npm")
    return created.project_id


async def publish_row(services: Services, subject: Subject, work: Path, runs: int) -> tuple[PublishRow, str]:
    """The row of figures, and the last project's id."""
    row = PublishRow(subject.name)
    pid = ""
    try:
        # Interleaved, so the machine's other load falls on both sides alike: a first publish of a new project (no
        # dependency cache for its lockfile yet) and the same by hand, in turn first; then publishes of the last one,
        # each then by hand. Which side goes first matters: each side's files are deleted at its end, and creating
        # files is slower for a while after many were deleted (ext4 skips recently freed inodes).
        for run in range(runs):
            if run % 2:
                row.hand.append(await asyncio.to_thread(by_hand, subject, work))
            pid = await new_project(services, subject)
            first = await timed_publish(services, pid)
            row.cold.append(first.seconds)
            row.cold_phases.append(first.phases)
            if not run % 2:
                row.hand.append(await asyncio.to_thread(by_hand, subject, work))
        await asyncio.sleep(2)  # the dependency cache is saved after the first install
        for _ in range(runs):
            published = await timed_publish(services, pid)
            row.again.append(published.seconds)
            row.phases.append(published.phases)
            row.release = published.release
            row.hand_again.append(await asyncio.to_thread(by_hand, subject, work))
            row.hand_one_cpu.append(await asyncio.to_thread(by_hand, subject, work, True))
    except Exception as exc:  # a bench reports what failed and goes on with the next project
        row.problem = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
    return row, pid


def paired(forja: list[float], hand: list[float]) -> float:
    """The median of each publish's time over its by-hand twin's (run next to it): the machine's load, which drifts
    over a run, falls on both halves of a pair alike."""
    return statistics.median(f / h for f, h in zip(forja, hand, strict=True))


def publish_line(row: PublishRow) -> str:
    if row.problem:
        return f"| {row.name} | - | - | - | - | - | - | {row.problem} |"
    hand, one, cold, again = (statistics.median(v) for v in (row.hand + row.hand_again, row.hand_one_cpu, row.cold, row.again))
    spread = ", ".join(f"{f / h:.2f}" for f, h in zip(row.cold, row.hand, strict=True))
    return (
        f"| {row.name} | {hand:.1f} | {one:.1f} | {cold:.1f} | {again:.1f} | {paired(row.cold, row.hand):.2f} ({spread}) | "
        f"{paired(row.again, row.hand_again):.2f} | {paired(row.again, row.hand_one_cpu):.2f} |"
    )


# -- page loads in Chromium ------------------------------------------------------------------------


async def load_once(browser: Browser, url: str, slow: bool) -> Load:
    context = await browser.new_context(viewport={"width": 390, "height": 844})
    try:
        page = await context.new_page()
        cdp = await context.new_cdp_session(page)
        counted = {"requests": 0, "bytes": 0}
        cdp.on("Network.requestWillBeSent", lambda _: counted.__setitem__("requests", counted["requests"] + 1))
        cdp.on("Network.loadingFinished", lambda e: counted.__setitem__("bytes", counted["bytes"] + int(e["encodedDataLength"])))
        await cdp.send("Network.enable")
        await cdp.send("Network.setCacheDisabled", {"cacheDisabled": True})
        if slow:
            await cdp.send("Network.emulateNetworkConditions", SLOW_4G)
        started = time.perf_counter()
        await page.goto(url, wait_until="load", timeout=LOAD_LIMIT_S * 1000)
        await page.wait_for_function(RENDERED, timeout=LOAD_LIMIT_S * 1000)
        took = time.perf_counter() - started
        await asyncio.sleep(0.3)  # the last loadingFinished events of what the load fetched
        return Load(took, counted["requests"], counted["bytes"])
    finally:
        await context.close()


async def loads(browser: Browser, url: str, count: int, slow: bool) -> Load:
    """Median time over `count` loads; requests and bytes of the last (they do not vary between loads). A load that
    does not finish within LOAD_LIMIT_S is said and left out (on a busy machine a dev server's page may hang)."""
    done = []
    for _ in range(count):
        try:
            done.append(await load_once(browser, url, slow))
        except PlaywrightError as exc:
            print(f"  a load of {url} failed: {str(exc).splitlines()[0]}", flush=True)
    if not done:
        raise RuntimeError(f"no load of {url} finished")
    return Load(statistics.median(d.seconds for d in done), done[-1].requests, done[-1].bytes)


def load_line(what: str, load: Load) -> str:
    return f"{what}: {load.seconds:.2f} s, {load.requests} requests, {load.bytes / MiB:.2f} MB"


async def compare_loads(app_url: str, dev_url: str, plain_n: int, slow_n: int) -> None:
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            for url in (app_url, dev_url):  # once each first: Vite optimizes the dependencies on its first visit
                await loads(browser, url, 1, slow=False)
            figures = {}
            for slow, count in ((False, plain_n), (True, slow_n)):
                for name, url in (("published", app_url), ("dev server", dev_url)):
                    figures[name, slow] = await loads(browser, url, count, slow)
                    print(
                        "  " + load_line(f"{name}, {'Slow 4G' if slow else 'plain'} (median of {count})", figures[name, slow]),
                        flush=True,
                    )
        finally:
            await browser.close()
    for slow in (False, True):
        app, dev = figures["published", slow], figures["dev server", slow]
        print(
            f"{'Slow 4G' if slow else 'plain'}: published {app.seconds:.2f} s against the dev server's {dev.seconds:.2f} s "
            f"({dev.seconds / app.seconds:.1f} times faster); requests {app.requests} against {dev.requests}, bytes "
            f"{app.bytes / MiB:.2f} MB against {dev.bytes / MiB:.2f} MB ({dev.bytes / max(app.bytes, 1):.1f} times fewer)",
            flush=True,
        )


async def dev_server_url(services: Services, project_id: str) -> str:
    """The project's share link, visited until its preview answers: the dev server's address the link shows."""
    link = await services.shares.create(project_id)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=share_app()), base_url="http://bench") as client:
        await client.get(f"/s/{link.token}")
        await until_link_runs(client, link.token, 0.1)
        return (await client.get(f"/s/{link.token}/status")).json()["url"]


# -- the serving worker and memory -----------------------------------------------------------------


def start_worker(env: dict[str, str], work: Path) -> subprocess.Popen[bytes]:
    """One Forja worker (granian serving the guarded API, as Forja serves it) on settings.port, on this run's data."""
    (work / "served").mkdir(exist_ok=True)
    (work / "served" / "forja_served.py").write_text("from builder.api import api, guarded\n\napp = guarded(api)\n")
    granian = Path(sys.executable).with_name("granian")
    command = [str(granian), "--interface", "asgi", "--host", "127.0.0.1", "--port", str(settings.port), "--no-ws"]
    command += ["--workers", "1", "--working-dir", str(work / "served"), "forja_served:app"]
    with (work / "worker.log").open("wb") as output:
        process = subprocess.Popen(
            command, cwd=REPO, env={**os.environ, **env, "PYTHONPATH": str(REPO)}, stdout=output, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
    deadline = time.monotonic() + 90
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"the worker exited: {(work / 'worker.log').read_text()[-500:]}")
        try:
            if httpx.get(f"http://127.0.0.1:{settings.port}/health", timeout=2, trust_env=False).status_code == 200:
                return process
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"the worker did not answer: {(work / 'worker.log').read_text()[-500:]}")
        time.sleep(0.5)


def processes_in(folder: Path) -> int:
    """Processes whose working folder is inside `folder`."""
    found = 0
    for proc in Path("/proc").iterdir():
        try:
            if proc.name.isdigit() and Path(os.readlink(proc / "cwd")).is_relative_to(folder):
                found += 1
        except OSError:
            continue
    return found


async def memory_per_app(services: Services, worker: subprocess.Popen[bytes], count: int) -> None:
    page = "<!doctype html><html><head><title>App {n}</title></head><body><h1>App {n}</h1></body></html>\n"
    urls = []
    for n in range(count):
        made = await services.projects.create(f"Bench static {n}", {"index.html": page.format(n=n).encode()}, owner=LOCAL_USER_ID)
        urls.append((await services.publishing.publish(made.project_id, user_id=LOCAL_USER_ID)).app.url)
    # Through Traefik, as a browser reaches them (httpx does not resolve *.localhost: the Host says the app).
    edge = f"http://127.0.0.1:{settings.preview_port}/"
    async with httpx.AsyncClient(timeout=10, trust_env=False) as client:

        async def visit(url: str) -> httpx.Response:
            return await client.get(edge, headers={"Host": url.split("://", 1)[1]})

        await visit(urls[0])  # the worker's first app request loads the edge's code: not an app's cost
        await asyncio.sleep(1)
        before = tree_pss(worker.pid)
        answered = [(await visit(url)).status_code for url in urls[1:]]
        await asyncio.sleep(1)
        after = tree_pss(worker.pid)
    manager = await services.preview_hub.manager()
    left = processes_in(settings.data_dir / "releases")
    print(
        f"{count} published static apps ({answered.count(200)} of {len(answered)} answered 200 after the first): "
        f"{len(manager.running())} previews and {left} processes left running for them (processes whose working "
        f"folder is in the releases folder); the serving worker's PSS {before / MiB:.1f} MB before visiting "
        f"{len(answered)} of them, {(after - before) / max(len(answered), 1) / 1024:+.0f} KB per app after (the "
        "name-to-release cache and whatever else the worker allocated or freed meanwhile)",
        flush=True,
    )


# -- the run ---------------------------------------------------------------------------------------


def publish_summary(rows: list[PublishRow], runs: int) -> None:
    done = [r for r in rows if not r.problem]
    if not done:
        return
    first = statistics.median(paired(r.cold, r.hand) for r in done)
    again = statistics.median(paired(r.again, r.hand_again) for r in done)
    one = statistics.median(paired(r.again, r.hand_one_cpu) for r in done)
    print(
        f"publish: {len(done)} of {len(rows)} published ({runs} pairs each); median Forja/by "
        f"hand: first {first:.2f}, again {again:.2f} ({one:.2f} against by hand on one CPU)",
        flush=True,
    )
    for row in done:
        print(f"  {row.name}: {phases_line(row)}", flush=True)


def phases_line(row: PublishRow) -> str:
    """Seconds of each part (medians) of the first publishes and of the later ones, and the last release's size."""
    names = [name for name, _ in PHASES if name]
    first = [f"{name} {statistics.median(p.get(name, 0.0) for p in row.cold_phases):.1f}" for name in names]
    later = [f"{name} {statistics.median(p.get(name, 0.0) for p in row.phases):.1f}" for name in names]
    size = f"; its release {row.release.files} files, {row.release.size_bytes / 1024:.0f} KB" if row.release else ""
    return f"first publishes: {', '.join(first)} s; later publishes: {', '.join(later)} s (medians){size}"


def configure(work: Path) -> dict[str, str]:
    """This run's settings, here and (as FORJA_* variables) for the serving worker."""
    values: dict[str, object] = {
        "data_dir": work / "data",
        "port": free_port(),
        "preview_runner": "local",
        "preview_port": free_port(),
        "preview_host": "127.0.0.1",
        "preview_domain": "localhost",
        "preview_offline": True,
        "npm_seed_cache": STARTER_SEED,
        "preview_park_after_s": 24 * 3600,
        "verify_generations": False,
    }
    for name, value in values.items():
        setattr(settings, name, value)
    return {
        f"FORJA_{name.upper()}": str(value).lower() if isinstance(value, bool) else str(value) for name, value in values.items()
    }


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--projects", default="vite-vue,vite-svelte,vite-lit-ts", help="corpus projects besides the starter")
    parser.add_argument(
        "--runs", type=int, default=5, help="first publishes, and later ones, per project (each with its twin by hand)"
    )
    parser.add_argument("--loads", type=int, default=5, help="plain page loads of each side")
    parser.add_argument("--slow-loads", type=int, default=3, help="Slow-4G page loads of each side")
    parser.add_argument("--apps", type=int, default=20, help="plain-HTML apps published for the memory figure")
    parser.add_argument("--wakes", type=int, default=5, help="wakes of the parked server app")
    parser.add_argument("--only", choices=["server", "publish"], help="only these figures")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="forja-bench-publish-"))
    env = configure(work)
    services: Services = await get_services()
    worker = None
    try:
        # Started as Forja's own start does (builder.py), not by the first publish timed: Traefik, the runners.
        await services.preview_hub.manager()
        if args.only != "publish":
            await server_figures(services, args.wakes)
        if args.only == "server":
            return
        print(
            "| project | by hand s | by hand, 1 CPU s | Forja first s | Forja again s | first/hand | again/hand | "
            "again/hand on 1 CPU |"
        )
        print("| --- | --- | --- | --- | --- | --- | --- | --- |", flush=True)
        rows, starter_pid = [], ""
        for subject in subjects([p for p in args.projects.split(",") if p]):
            row, pid = await publish_row(services, subject, work, args.runs)
            starter_pid = starter_pid or pid
            rows.append(row)
            print(publish_line(row), flush=True)
        publish_summary(rows, args.runs)
        if args.only == "publish":
            return
        await static_rollbacks(services, starter_pid)

        worker = await asyncio.to_thread(start_worker, env, work)
        app = await services.publishing.app(starter_pid)
        if app is not None and app.state == "live":
            dev_url = await dev_server_url(services, starter_pid)
            print(f"page loads: {app.url} against the dev server at {dev_url}", flush=True)
            await compare_loads(app.url, dev_url, args.loads, args.slow_loads)
            for info in (await services.preview_hub.manager()).running():
                await (await services.preview_hub.manager()).stop(info.preview_id)
        await memory_per_app(services, worker, args.apps)
    finally:
        if worker is not None:
            os.killpg(worker.pid, signal.SIGTERM)
            worker.wait(15)
        await services.close()
        builder.composition._services = None
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    asyncio.run(main())
