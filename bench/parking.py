"""Parking benchmark: prints figures, asserts nothing.

Forja's own services (a temporary SQLite store and data folder), Traefik and the chosen runner, with the React + Vite
starter shared by a link, its packages from the seeded npm cache (warm caches):

  wake     the link's preview parked, then visited: from the request for /s/<token> (which wakes it) until the
           link's status says the app answers through the proxy (what the link's page polls for), p50/p95; again with
           --routes other parked previews' routes in Traefik (they all live in one dynamic file);
  memory   --active previews running idle (their processes' PSS, or the container's memory), then parked: what Forja
           reads for them, and whether anything of them still runs;
  parked   --parked previews parked (started and parked in batches of 5): disk each keeps beyond the shared dependency
           cache, and what Forja (and Traefik, and with Docker dockerd) holds more per parked preview;
then how many parked and active previews one 2-core, 24 GB box holds, extrapolated from those measurements.

    .venv/bin/python bench/parking.py [--runner local|docker] [--wakes 20] [--routes 500] [--active 10] [--parked 50]
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from fastapi import FastAPI

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import builder.composition  # noqa: E402
from bench.preview import free_port, project, tree_pss  # noqa: E402
from builder.api.errors import forja_error  # noqa: E402
from builder.api.shares import router as shares_router  # noqa: E402
from builder.composition import Services, get_services  # noqa: E402
from builder.errors import ForjaError  # noqa: E402
from builder.models import LOCAL_USER_ID  # noqa: E402
from builder.settings import settings  # noqa: E402
from preview_runtime.manager import PreviewManager  # noqa: E402
from preview_runtime.plan import plan_for  # noqa: E402
from preview_runtime.runner import PreviewState  # noqa: E402

BOX_BYTES = 24 << 30
GiB, MiB = 1 << 30, 1 << 20


def rss(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def pids_of(name: str) -> list[int]:
    found = []
    for proc in Path("/proc").iterdir():
        try:
            if proc.name.isdigit() and (proc / "comm").read_text().strip() == name:
                found.append(int(proc.name))
        except OSError:
            continue
    return found


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, math.ceil(share * len(ordered)) - 1)]


def disk_beyond(folders: list[Path], shared: Path) -> int:
    """Bytes the folders hold on disk that the shared folder (the dependency cache, hard-linked in) does not."""
    seen: set[tuple[int, int]] = set()
    for root, _, names in os.walk(shared):
        for name in names:
            with_stat = os.lstat(os.path.join(root, name))
            seen.add((with_stat.st_dev, with_stat.st_ino))
    total = 0
    for folder in folders:
        for root, dirs, names in os.walk(folder):
            for name in [*names, *dirs]:
                stat = os.lstat(os.path.join(root, name))
                if (stat.st_dev, stat.st_ino) not in seen:
                    seen.add((stat.st_dev, stat.st_ino))
                    total += stat.st_blocks * 512
    return total


def share_app() -> FastAPI:
    app = FastAPI()
    app.include_router(shares_router)
    app.add_exception_handler(ForjaError, forja_error)  # type: ignore[arg-type]
    return app


async def until_link_runs(client: httpx.AsyncClient, token: str, every_s: float = 0.02) -> None:
    while True:
        status = (await client.get(f"/s/{token}/status")).json()
        if status["state"] == "running":
            return
        if status["state"] not in ("starting",):
            raise RuntimeError(f"the shared preview did not start: {status}")
        await asyncio.sleep(every_s)


async def wakes(manager: PreviewManager, client: httpx.AsyncClient, token: str, preview_id: str, count: int) -> list[float]:
    """Park, then time a visit of the link until its status says the app answers."""
    times = []
    for _ in range(count):
        if not await manager.park(preview_id, "the benchmark"):
            raise RuntimeError("the shared preview could not be parked")
        await asyncio.sleep(1)
        started = time.perf_counter()
        page = await client.get(f"/s/{token}")
        assert page.status_code == 200
        await until_link_runs(client, token)
        times.append(time.perf_counter() - started)
    return times


def wake_line(what: str, times: list[float]) -> str:
    p50, p95 = statistics.median(times), percentile(times, 0.95)
    # The link's page asks for the status 0.4 s after it loads and every 0.4 s after that.
    seen = statistics.median([math.ceil(t / 0.4) * 0.4 for t in times])
    return (
        f"wake through the share link{what}: p50 {p50:.2f} s, p95 {p95:.2f} s, min {min(times):.2f} s, max {max(times):.2f} s "
        f"over {len(times)} wakes (p50 as the link's page polls every 0.4 s: {seen:.2f} s)"
    )


async def started(manager: PreviewManager, preview_id: str, project_id: str, files: dict[str, bytes], runner: str) -> None:
    await manager.start(preview_id, project_id, 1, files, plan_for(files), runner)
    async with asyncio.timeout(180):
        while not await manager.answers(preview_id):
            info = await manager.status(preview_id)
            if info.state == PreviewState.failed:
                raise RuntimeError(f"preview failed: {info.detail}")
            await asyncio.sleep(0.05)


async def memory_of(manager: PreviewManager, preview_id: str, runner: str) -> int:
    if runner == "docker":
        return (await manager.runners["docker"].stats(preview_id))["memory_bytes"]  # type: ignore[attr-defined]
    return tree_pss(int((await manager.status(preview_id)).handle))


def still_runs(runner: str, handle: str) -> bool:
    """Whether the container still runs, or a process of the local preview (its shell's pid) still holds memory."""
    if runner == "local":
        return tree_pss(int(handle)) > 0
    state = subprocess.run(["docker", "inspect", "--format", "{{.State.Running}}", handle], capture_output=True, text=True)
    return state.stdout.strip() == "true"


def docker_rw_size(container_id: str) -> int:
    out = subprocess.run(
        ["docker", "inspect", "--size", "--format", "{{.SizeRw}}", container_id], capture_output=True, text=True, timeout=30
    ).stdout.strip()
    return int(out or 0)


def traefik_pid() -> int:
    """This run's Traefik (the proxy writes its pid beside its configuration)."""
    return int((settings.data_dir / "proxy" / "traefik.pid").read_text())


def engine_rss() -> int:
    return sum(rss(pid) for name in ("dockerd", "containerd") for pid in pids_of(name))


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runner", choices=["local", "docker"], default="local")
    parser.add_argument("--wakes", type=int, default=20)
    parser.add_argument("--routes", type=int, default=500, help="other parked previews' routes during the second wakes")
    parser.add_argument("--active", type=int, default=10, help="previews running at once for the memory figure")
    parser.add_argument("--parked", type=int, default=50, help="previews parked for the disk and bookkeeping figures")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="forja-bench-parking-"))
    network = f"forja-bench-{os.getpid()}"
    for name, value in {
        "data_dir": work / "data",
        "preview_runner": args.runner,
        "preview_port": free_port(),
        "preview_network": network,
        "preview_offline": True,
        "npm_seed_cache": REPO / ".cache" / "starters-npm",
        "pip_seed_wheels": REPO / ".cache" / "starters-wheels",
        "preview_park_after_s": 24 * 3600,  # this benchmark parks by itself
        "verify_generations": False,
    }.items():
        setattr(settings, name, value)
    services: Services = await get_services()
    manager = await services.preview_hub.manager()
    if args.runner not in manager.runners:
        print(f"the {args.runner} runner is not available here: {manager.unavailable.get(args.runner, '')}")
        await services.close()
        return
    runner = args.runner
    files = project("Bench Bakery")
    try:
        pid = (
            await services.projects.create("Bench Bakery", {p: d.decode() for p, d in files.items()}, owner=LOCAL_USER_ID)
        ).project_id
        link = await services.shares.create(pid)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=share_app()), base_url="http://bench") as client:
            first = time.perf_counter()
            await client.get(f"/s/{link.token}")
            await until_link_runs(client, link.token, 0.1)
            print(
                f"runner {runner}: first visit of the link (install from the seeded npm cache) {time.perf_counter() - first:.2f} s"
            )
            shared = services.version_previews.ids_here(pid)[1]
            times = await wakes(manager, client, link.token, shared, args.wakes)
            print(wake_line("", times), flush=True)
            installs = [line.text for line in services.logs.history(pid) if line.text.startswith("Running on ")]
            woke = [line.text for line in services.logs.history(pid) if line.text.startswith("Woke in ")]
            print(
                f"  installs run: {sum('npm install' in text for text in installs)} (first start only); log says e.g. {woke[-1]!r}"
            )
            if args.routes:
                added = time.perf_counter()
                for n in range(args.routes):
                    await manager.proxy.park(f"bench-parked-{n}")
                took = time.perf_counter() - added
                traefik = rss(traefik_pid())
                print(f"  {args.routes} more parked routes written in {took:.1f} s; Traefik's memory now {traefik / MiB:.0f} MB")
                times = await wakes(manager, client, link.token, shared, max(5, args.wakes // 2))
                print(wake_line(f" with {args.routes} other parked previews routed", times), flush=True)
                for n in range(args.routes):
                    await manager.proxy.unroute(f"bench-parked-{n}")
            await manager.stop(shared)

        # Memory: active previews, then the same ones parked.
        forja_before, engine_before = rss(os.getpid()), engine_rss()
        active = [f"active{n}" for n in range(args.active)]
        for preview_id in active:
            await started(manager, preview_id, pid, files, runner)
        await asyncio.sleep(5)
        memories = [await memory_of(manager, p, runner) for p in active]
        handles = {p: (await manager.status(p)).handle for p in active}
        for preview_id in active:
            await manager.park(preview_id, "the benchmark")
        parked_reads = [await manager.memory_bytes(p) for p in active]
        still = [p for p, h in handles.items() if await asyncio.to_thread(still_runs, runner, h)]
        median_active = statistics.median(memories)
        print(
            f"{args.active} idle active previews: memory median {median_active / MiB:.0f} MB, max {max(memories) / MiB:.0f} MB; "
            f"parked, Forja reads {sorted({str(read) for read in parked_reads})} for them and {len(still)} still run",
            flush=True,
        )

        # Many parked: started and parked five at a time.
        parked = list(active)
        while len(parked) < args.parked:
            batch = [f"parked{len(parked) + n}" for n in range(min(5, args.parked - len(parked)))]
            await asyncio.gather(*(started(manager, p, pid, files, runner) for p in batch))
            for preview_id in batch:
                await manager.park(preview_id, "the benchmark")
            parked += batch
        await asyncio.sleep(2)
        forja_each = max(rss(os.getpid()) - forja_before, 0) / len(parked)
        engine_each = max(engine_rss() - engine_before, 0) / len(parked) if runner == "docker" else 0
        if runner == "docker":
            park_dir = settings.data_dir / "parked"
            kept = sum(f.stat().st_size for f in park_dir.rglob("*.tar"))
            rw = sum(docker_rw_size(info.handle) for info in manager.running() if info.preview_id in parked)
            disk_each = (kept + rw) / len(parked)
            where = f"its /app kept as a tar ({kept / len(parked) / MiB:.1f} MB) and the stopped container's layer"
        else:
            deps = settings.data_dir / "previews" / ".deps"
            disk_each = disk_beyond([settings.data_dir / "previews" / p for p in parked], deps) / len(parked)
            where = "its folder beyond the node_modules hard-linked from the dependency cache (Vite's .vite cache included)"
        print(
            f"{len(parked)} parked previews: disk {disk_each / MiB:.1f} MB each ({where}); memory: this Forja process grew "
            f"{forja_each / 1024:.0f} KB per parked preview"
            + (f", dockerd+containerd {engine_each / 1024:.0f} KB" if runner == "docker" else "")
            + " (an upper bound: it includes whatever else the process allocated meanwhile)",
            flush=True,
        )

        # One 2-core, 24 GB box: what the measurements above say it holds.
        base = rss(os.getpid()) + rss(traefik_pid()) + (engine_rss() if runner == "docker" else 0)
        per_parked = forja_each + engine_each
        fits_active = int((BOX_BYTES - base - 500 * per_parked) // median_active)
        mix = base + 20 * median_active + 500 * per_parked
        print(
            f"estimate for a 24 GB box (Forja, Traefik{' and the engine' if runner == 'docker' else ''} now hold "
            f"{base / GiB:.2f} GB): 500 parked + 20 active use {mix / GiB:.1f} GB of memory and {500 * disk_each / GiB:.1f} GB "
            f"of disk; with 500 parked, memory leaves room for about {fits_active} active idle previews "
            f"(extrapolated from {len(parked)} parked and {args.active} active measured here; active previews' CPU, "
            "not memory, is what 2 cores run out of when many are used at once)",
            flush=True,
        )
    finally:
        for info in manager.running():
            await manager.stop(info.preview_id)
        await services.close()
        builder.composition._services = None
        if runner == "docker":
            await asyncio.to_thread(cleanup_docker, network)
        shutil.rmtree(work, ignore_errors=True)


def cleanup_docker(network: str) -> None:
    """What this run made on its own network: containers, volumes (its dependency caches), firewall rules, the network."""
    from preview_runtime.docker.config import DockerConfig
    from preview_runtime.docker.runner import DockerRunner

    def docker(*args: str) -> list[str]:
        return subprocess.run(["docker", *args], capture_output=True, text=True, timeout=120).stdout.split()

    if ids := docker("ps", "-aq", "--filter", f"label=forja.network={network}"):
        docker("rm", "-f", "-v", *ids)
    if volumes := docker("volume", "ls", "-q", "--filter", f"label=forja.network={network}"):
        docker("volume", "rm", "-f", *volumes)

    async def rules() -> None:
        runner = DockerRunner(DockerConfig(network=network))
        try:
            await runner.remove_firewall()
        finally:
            await runner.close()

    asyncio.run(rules())
    docker("network", "rm", network)


if __name__ == "__main__":
    asyncio.run(main())
