"""bench/publish.py's server-app figures: what a parked published server app keeps running, and how long it takes to
answer again at its address.

  server    the Express starter published as a server app (its release in a sandbox of the local runner); parked as
            the idle sweep parks it: the processes left running for it (any process whose working folder is in its
            sandbox's folder) and its runner's memory figure; then --wakes times: parked, then one request to its
            address through Traefik (which answers the waking page and wakes it), asked again every 20 ms until the
            app itself answers; the time from that first request to the app's answer, p50 and max (target <= 1.5 s).
  rollback  a second release (the starter's title changed), then back to the first: the rollback call, and from it
            until the address answers the first release's page (its parked sandbox woken: nothing is built again).
            For a static app, main() times the call alone (the next request serves the other release's files).
"""

from __future__ import annotations

import asyncio
import statistics
import time

import httpx

from builder.composition import Services
from builder.generation.starters import StarterVariables, get_starter, render_starter
from builder.models import LOCAL_USER_ID, Author
from builder.publish.addresses import app_host, app_key
from builder.services.preview_runners import local_work_dir
from preview_runtime.preview_headers import app_answered

MiB = 1 << 20
WAKE_LIMIT_S = 60.0


def express_starter() -> dict[str, bytes]:
    files = render_starter(get_starter("express-api"), StarterVariables(title="Bench server"))
    return {path: text.encode() for path, text in files.items()}


def processes_in(folder) -> int:
    """Processes whose working folder is inside `folder` (bench/publish.py's, imported lazily to avoid a cycle)."""
    from bench.publish import processes_in as count

    return count(folder)


async def server_figures(services: Services, wakes: int) -> None:
    made = await services.projects.create("Bench server", express_starter(), owner=LOCAL_USER_ID)
    pid = made.project_id
    started = time.monotonic()
    published = await services.publishing.publish(pid, name="bench-server", user_id=LOCAL_USER_ID)
    print(f"server app: the Express starter published in {time.monotonic() - started:.1f} s ({published.app.url})", flush=True)
    hub = services.preview_hub
    manager = await hub.manager()
    info = await hub.local(app_key(pid, published.release.number))
    assert info is not None
    folder = local_work_dir() / info.preview_id
    running = processes_in(folder)
    memory = await manager.memory_bytes(info.preview_id)
    await manager.park(info.preview_id, "the bench")
    parked = processes_in(folder)
    parked_memory = await manager.memory_bytes(info.preview_id)
    print(
        f"  running: {running} processes in its sandbox's folder, {(memory or 0) / MiB:.1f} MB (runner's figure); "
        f"parked: {parked} processes, {(parked_memory or 0) / MiB:.1f} MB",
        flush=True,
    )
    url = manager.proxy.internal_url()
    headers = {"Host": app_host("bench-server")}
    times = []
    async with httpx.AsyncClient(timeout=10, trust_env=False) as client:
        for n in range(wakes):
            if n:  # parked again, as the sweep does
                await manager.park(info.preview_id, "the bench")
            begun = time.monotonic()
            while time.monotonic() - begun < WAKE_LIMIT_S:
                try:
                    if app_answered(response := await client.get(url, headers=headers)) and response.status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                await asyncio.sleep(0.02)
            times.append(time.monotonic() - begun)
    print(
        f"  wake of the parked server app at its address: p50 {statistics.median(times):.2f} s, max {max(times):.2f} s over "
        f"{len(times)} wakes (target <= 1.5 s): {', '.join(f'{t:.2f}' for t in times)}",
        flush=True,
    )
    await server_rollback(services, pid, url, headers)
    await services.publishing.unpublish(pid)


async def server_rollback(services: Services, pid: str, url: str, headers: dict[str, str]) -> None:
    page = express_starter()["public/index.html"].replace(b"Bench server", b"Bench server two")
    await services.projects.save(pid, {"public/index.html": page}, author=Author.user)
    await services.publishing.publish(pid, user_id=LOCAL_USER_ID)
    begun = time.monotonic()
    await services.publishing.rollback(pid, 1)
    call = time.monotonic() - begun
    async with httpx.AsyncClient(timeout=10, trust_env=False) as client:
        while time.monotonic() - begun < WAKE_LIMIT_S:
            response = await client.get(url, headers=headers)
            if app_answered(response) and response.status_code == 200 and "Bench server two" not in response.text:
                break
            await asyncio.sleep(0.02)
    print(
        f"  rollback of the server app: the call {call * 1000:.0f} ms; its address answers release 1 "
        f"{time.monotonic() - begun:.2f} s after it (its parked sandbox woken, no build)",
        flush=True,
    )


async def static_rollbacks(services: Services, pid: str, count: int = 5) -> None:
    """Rollbacks between the static app's two newest ready releases, timed: the call is all there is to it."""
    ready = [r.number for r in await services.publishing.releases(pid) if r.state == "ready"][:2]
    if len(ready) < 2:
        return
    times = []
    for n in range(count):
        begun = time.monotonic()
        await services.publishing.rollback(pid, ready[n % 2])
        times.append(time.monotonic() - begun)
    print(
        f"rollback of a static app: p50 {statistics.median(times) * 1000:.0f} ms, max {max(times) * 1000:.0f} ms over {count} "
        "(target < 1 s; this worker serves the other release at the next request, other workers within RESOLVE_TTL_S)",
        flush=True,
    )
