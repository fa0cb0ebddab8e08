"""A share link's page under a crowd: requests per second and p50 latency of `/s/<token>` through one Forja worker,
with the page kept for a running app (ShareService.PAGE_TTL_S) and, for comparison, without (every visit resolving the
token, starting-or-finding the preview and probing the app, as before). Prints figures and their ratio; asserts nothing.

Two real Forjas are started as tests/e2e start them (one worker each, on loopback, no accounts); the second one has the
kept page turned off by a sitecustomize module on its PYTHONPATH (PAGE_TTL_S = 0). Each shares a plain HTML project,
waits for its app to run, then 20 clients ask for the link's page for 10 s.

    .venv/bin/python bench/share_page.py
"""

from __future__ import annotations

import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.conftest import free_port  # noqa: E402
from tests.e2e.conftest import start_forja, stop  # noqa: E402

CLIENTS = 20
SECONDS = 10.0
PAGE = "<!doctype html><title>Barber</title><h1>Cuts from nine</h1>"


async def crowd(url: str) -> tuple[float, float]:
    """Requests per second and p50 latency (ms) of CLIENTS clients asking for `url` for SECONDS."""
    latencies: list[float] = []
    deadline = time.monotonic() + SECONDS

    async def client() -> None:
        async with httpx.AsyncClient(timeout=30, trust_env=False) as http:
            while time.monotonic() < deadline:
                started = time.perf_counter()
                response = await http.get(url)
                assert response.status_code == 200 and "<iframe" in response.text, response.text[:300]
                latencies.append((time.perf_counter() - started) * 1000)

    started = time.monotonic()
    await asyncio.gather(*(client() for _ in range(CLIENTS)))
    return len(latencies) / (time.monotonic() - started), statistics.median(latencies)


def measure(kept: bool) -> tuple[float, float]:
    folder = Path(tempfile.mkdtemp(prefix="forja-bench-share-"))
    env: dict[str, str] = {}
    if not kept:
        (folder / "site").mkdir()
        (folder / "site" / "sitecustomize.py").write_text("import builder.services.shares as s\n\ns.PAGE_TTL_S = 0.0\n")
        env["PYTHONPATH"] = os.pathsep.join([str(folder / "site"), str(REPO)])
    port = free_port()
    process = start_forja(folder / "data", port, free_port(), "bench-share-page.log", env, web_dir=folder / "web")
    base = f"http://127.0.0.1:{port}"
    try:
        project = httpx.post(f"{base}/api/projects", json={"name": "Barber", "files": {"index.html": PAGE}}).json()["id"]
        link = httpx.post(f"{base}/api/projects/{project}/share", json={}).json()["url"]
        deadline = time.monotonic() + 120
        while httpx.get(f"{link}/status", timeout=30).json()["state"] != "running":
            assert time.monotonic() < deadline, "the shared app did not start"
            time.sleep(0.3)
        asyncio.run(crowd(link))  # warm up
        return asyncio.run(crowd(link))
    finally:
        stop(process)


def main() -> None:
    before_rps, before_p50 = measure(kept=False)
    after_rps, after_p50 = measure(kept=True)
    print(f"share page, {CLIENTS} clients, one worker, {SECONDS:.0f} s each")
    print(f"  every visit resolved:  {before_rps:8.1f} req/s   p50 {before_p50:7.1f} ms")
    print(f"  page kept {5:.0f} s:        {after_rps:8.1f} req/s   p50 {after_p50:7.1f} ms")
    print(f"  ratio: {after_rps / before_rps:.1f}x the requests per second, p50 {before_p50 / after_p50:.1f}x lower")


if __name__ == "__main__":
    main()
