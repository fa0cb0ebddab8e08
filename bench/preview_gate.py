"""Private previews' gate benchmark: prints figures, asserts nothing.

What Traefik's ForwardAuth round trip to the gate (preview_runtime/gate.py, in this process as it is in Forja's) adds
to each request of a private preview, against a share link's public one on the same proxy and the same upstream (a
tiny keep-alive HTTP server standing for a dev server):
  one by one   --requests GETs in a row, per request (median, p95);
  page load    --assets GETs, --parallel at once (a Vite page asking for its modules), the whole load (median of
               --loads);
  decide       the gate's own decision for a request with a valid cookie, in this process (no HTTP).

    .venv/bin/python bench/preview_gate.py [--requests 500] [--assets 150] [--parallel 6] [--loads 10]
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import socket
import statistics
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from preview_runtime.access import COOKIE, AccessKeys  # noqa: E402
from preview_runtime.gate import AccessGate, Asked, cookies_named  # noqa: E402
from preview_runtime.proxy import PreviewProxy  # noqa: E402

BODY = b"export default 'a module of the app';\n" * 20


class Upstream(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # as a dev server answers: no 40 ms delayed ACK between headers and body

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/javascript")
        self.send_header("Content-Length", str(len(BODY)))
        self.end_headers()
        self.wfile.write(BODY)

    def log_message(self, format: str, *args: object) -> None:
        pass


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.2f} ms"


async def one_by_one(client: httpx.AsyncClient, url: str, headers: dict[str, str], count: int) -> list[float]:
    times = []
    for n in range(count):
        started = time.perf_counter()
        response = await client.get(f"{url}/src/module{n}.js", headers=headers)
        times.append(time.perf_counter() - started)
        assert response.status_code == 200, response.status_code
    return times


async def page_load(client: httpx.AsyncClient, url: str, headers: dict[str, str], assets: int, parallel: int) -> float:
    slots = asyncio.Semaphore(parallel)

    async def fetch(n: int) -> None:
        async with slots:
            response = await client.get(f"{url}/src/module{n}.js", headers=headers)
            assert response.status_code == 200, response.status_code

    started = time.perf_counter()
    await asyncio.gather(*(fetch(n) for n in range(assets)))
    return time.perf_counter() - started


async def main(args: argparse.Namespace) -> None:
    upstream = ThreadingHTTPServer(("127.0.0.1", 0), Upstream)
    upstream.daemon_threads = True
    threading.Thread(target=upstream.serve_forever, daemon=True).start()
    keys = AccessKeys(secrets.token_bytes(32))
    gate = AccessGate(keys, "http://127.0.0.1:9", "v-")
    with tempfile.TemporaryDirectory(prefix="forja-gate-bench-") as work:
        proxy = PreviewProxy(Path(work), free_port(), gate=gate)
        await proxy.start()
        try:
            for preview_id in ("v-public", "private"):
                await proxy.route(preview_id, f"http://127.0.0.1:{upstream.server_port}")
                assert await proxy.wait_routed(preview_id)
            cookie = f"{COOKIE}={keys.cookie('private', 'project', 'user')}"
            kinds = {
                "public (no gate)": {"Host": proxy.host_for("v-public")},
                "private (gate)": {"Host": proxy.host_for("private"), "Cookie": cookie},
            }
            base = f"http://127.0.0.1:{proxy.port}"
            print(
                f"{args.requests} requests one by one, then {args.loads} page loads of {args.assets} assets, {args.parallel} at once"
            )
            async with httpx.AsyncClient(
                trust_env=False, timeout=10, limits=httpx.Limits(max_keepalive_connections=32)
            ) as client:
                for name, headers in kinds.items():
                    await one_by_one(client, base, headers, 50)  # warm the connections
                    times = sorted(await one_by_one(client, base, headers, args.requests))
                    loads = [await page_load(client, base, headers, args.assets, args.parallel) for _ in range(args.loads)]
                    print(
                        f"  {name:17} per request: median {ms(statistics.median(times))}, "
                        f"p95 {ms(times[int(len(times) * 0.95)])}; page load: median {ms(statistics.median(loads))}"
                    )
            asked = Asked(host="private.localhost:8800", uri="/src/main.js", cookies=cookies_named(cookie, COOKIE))
            started, rounds = time.perf_counter(), 20_000
            for _ in range(rounds):
                gate.decide(asked)
            print(f"  the gate's decision alone: {(time.perf_counter() - started) / rounds * 1e6:.1f} µs")
        finally:
            await proxy.stop()
            upstream.shutdown()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=500)
    parser.add_argument("--assets", type=int, default=150)
    parser.add_argument("--parallel", type=int, default=6)
    parser.add_argument("--loads", type=int, default=10)
    asyncio.run(main(parser.parse_args()))
