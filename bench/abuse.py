"""What hostile JSON bodies cost a real Forja: prints figures, asserts nothing (issue 30's targets: a body costs the
worker at most 4 times its size; /health p95 at most 100 ms while ten arrive at once).

A Forja is started as tests/e2e start it (`reflex run --env prod --single-port`, on loopback, no accounts). For bodies
of 1 MB, 10 MB and FORJA_MAX_JSON_BYTES, two shapes are sent to POST /api/projects:

  array    {"name", "files", "pad": [1, 1, 1, ...]}: the issue's large array, the shape that costs a generic parser most;
  files    {"name", "files": {path: text}}: a real project of that size (stored when under the limits).

For each, the worker's peak memory over its memory before the request (the kernel's high-water mark, reset first), and
the answer. Then ten array bodies of the cap at once, while /health is asked every 20 ms: its p50 and p95.

    .venv/bin/python bench/abuse.py
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from builder.settings import settings  # noqa: E402
from tests.conftest import free_port  # noqa: E402
from tests.e2e.conftest import start_forja, stop  # noqa: E402

MB = 1024 * 1024


def children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        for child in (task / "children").read_text().split():
            found += [int(child), *children(int(child))]
    return found


def status(pid: int, field: str) -> int:
    """A /proc/<pid>/status figure, in bytes."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    raise KeyError(field)


def reset_peak(pid: int) -> None:
    """Set the process's memory high-water mark (VmHWM) to its memory now (Linux's clear_refs)."""
    Path(f"/proc/{pid}/clear_refs").write_text("5")


def worker_of(server: int) -> int:
    """The process that serves the app: of the server's descendants, the one holding the most memory."""
    return max(children(server), key=lambda pid: status(pid, "VmRSS"))


def array_body(size: int) -> bytes:
    head = b'{"name": "Bench", "files": {"index.html": "<h1>bench</h1>"}, "pad": ['
    count = max(1, (size - len(head) - 2) // 2)
    return head + b"1," * (count - 1) + b"1]}"


def files_body(size: int) -> bytes:
    # Files of 100 KB each (under the per-file limit); their text fills the body.
    count = max(1, size // (100 * 1024))
    text = "x" * (size // count - 40)
    return json.dumps({"name": "Bench", "files": {f"f{i}.txt": text for i in range(count)}}).encode()


async def peak(base: str, worker: int, body: bytes) -> tuple[int, int]:
    """(the worker's peak memory over its memory before, in bytes; the answer's status) for one body."""
    reset_peak(worker)
    before = status(worker, "VmRSS")
    return status(worker, "VmHWM") - before, await post(base, body)


async def post(base: str, body: bytes) -> int:
    """The answer's status; 413 when Forja refused the body by its declared size and closed the connection while the
    client was still sending it."""
    async with httpx.AsyncClient(timeout=120, trust_env=False) as http:
        try:
            answer = await http.post(f"{base}/api/projects", content=body, headers={"Content-Type": "application/json"})
        except httpx.TransportError:
            return 413
    return answer.status_code


def ask_health(base: str, done: threading.Event) -> list[float]:
    """/health every 20 ms until `done`, from a thread of its own (the load's sending does not delay it)."""
    latencies: list[float] = []
    with httpx.Client(timeout=30, trust_env=False) as http:
        while not done.is_set():
            began = time.perf_counter()
            http.get(f"{base}/health")
            latencies.append(time.perf_counter() - began)
            time.sleep(0.02)
    return latencies


async def health_under_load(base: str, body: bytes, senders: int = 10) -> tuple[list[float], list[float], list[int]]:
    """/health's latencies for two seconds before the load (the machine's own pace, for a ratio on a noisy machine),
    then while `senders` bodies arrive at once; and the bodies' answers."""
    done = threading.Event()
    asker = asyncio.create_task(asyncio.to_thread(ask_health, base, done))
    await asyncio.sleep(2)
    done.set()
    quiet = await asker
    done = threading.Event()
    asker = asyncio.create_task(asyncio.to_thread(ask_health, base, done))
    statuses = await asyncio.gather(*(post(base, body) for _ in range(senders)))
    done.set()
    return quiet, await asker, list(statuses)


def percentiles(latencies: list[float]) -> tuple[float, float]:
    """p50 and p95 in milliseconds."""
    ordered = sorted(latencies)
    return statistics.median(ordered) * 1000, ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))] * 1000


async def measure(base: str, worker: int) -> None:
    cap = settings.max_json_bytes
    print(f"FORJA_MAX_JSON_BYTES: {cap / MB:.1f} MB; worker pid {worker}, {status(worker, 'VmRSS') / MB:.0f} MB resident")
    print(f"{'body':<7} {'size':>8} {'answer':>7} {'peak over before':>17} {'x body':>7}")
    for size in (1 * MB, 10 * MB, cap):
        for shape, make in (("array", array_body), ("files", files_body)):
            body = make(size)
            grown, code = await peak(base, worker, body)
            print(f"{shape:<7} {len(body) / MB:7.1f}M {code:>7} {grown / MB:15.1f} MB {grown / len(body):7.2f}")
    quiet, loaded, statuses = await health_under_load(base, array_body(cap))
    quiet_p50, quiet_p95 = percentiles(quiet)
    p50, p95 = percentiles(loaded)
    print(f"/health with no load: {len(quiet)} asked, p50 {quiet_p50:.1f} ms, p95 {quiet_p95:.1f} ms")
    print(
        f"/health while ten {cap / MB:.0f} MB array bodies arrive at once: {len(loaded)} asked, "
        f"p50 {p50:.1f} ms, p95 {p95:.1f} ms ({p95 / quiet_p95:.1f}x the p95 with no load; "
        f"the bodies answered {sorted(set(statuses))})"
    )


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="forja-abuse-") as folder:
        port = free_port()
        env = {"FORJA_AUTH": "none", "FORJA_LOG_LEVEL": "warning"}
        process = start_forja(Path(folder) / "data", port, free_port(), "bench-abuse.log", env, web_dir=Path(folder) / "web")
        try:
            asyncio.run(measure(f"http://127.0.0.1:{port}", worker_of(process.pid)))
        finally:
            stop(process)


if __name__ == "__main__":
    if os.geteuid() != 0:
        sys.exit("bench/abuse.py resets the worker's memory high-water mark (/proc/<pid>/clear_refs): run it as root.")
    main()
