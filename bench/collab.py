"""Co-editing benchmark: prints figures, asserts nothing.

Starts one Forja worker (its API alone, tests/collab_worker.py, on a temp SQLite database) on loopback and joins one
file's room with 2 and then 10 pycrdt clients over real websockets. One client types a keystroke at a time; the
latency is from its edit to the moment each other client's document holds it (p50/p95 over every keystroke and
receiver; the target is p95 <= 100 ms on loopback). Then opens many files' rooms (one client each) and reports the
server's resident memory per open document.

    .venv/bin/python bench/collab.py [--keystrokes 60] [--documents 40]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from pycrdt import Doc, Text, TextEvent

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.collab_clients import joined  # noqa: E402
from tests.conftest import free_port  # noqa: E402

FILE_TEXT = "export const greeting = 'hello';\n" * 40


def resident_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


async def latency(base: str, project: str, editors: int, keystrokes: int) -> list[float]:
    """Milliseconds from a keystroke in one client to its arrival in each of the others."""
    delays: list[float] = []
    async with contextlib.AsyncExitStack() as stack:
        docs: list[Doc] = [await stack.enter_async_context(joined(base, project, "app.js")) for _ in range(editors)]
        typist, others = docs[0], docs[1:]
        sent: dict[str, float] = {}
        arrived: dict[str, int] = {}
        everywhere: dict[str, asyncio.Event] = {}

        def heard(event: TextEvent) -> None:
            for change in event.delta:
                inserted = change.get("insert") if isinstance(change, dict) else None
                if isinstance(inserted, str) and inserted in sent:
                    delays.append((time.perf_counter() - sent[inserted]) * 1000)
                    arrived[inserted] = arrived.get(inserted, 0) + 1
                    if arrived[inserted] == len(others):
                        everywhere[inserted].set()

        # Kept: a subscription lasts as long as the shared type it was made on.
        watched = [doc.get("content", type=Text) for doc in others]
        subscriptions = [text.observe(heard) for text in watched]
        text = typist.get("content", type=Text)
        for n in range(keystrokes):
            key = chr(0x4E00 + n)  # one character each, told apart by what it is
            everywhere[key] = asyncio.Event()
            sent[key] = time.perf_counter()
            text.insert(0, key)
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(10):
                    await everywhere[key].wait()
            await asyncio.sleep(0.02)  # a typist's pace, not a flood
        for text, subscription in zip(watched, subscriptions, strict=True):
            text.unobserve(subscription)
    return delays


async def memory(base: str, pid: int, documents: int) -> float:
    """KiB of the server's resident memory per open document (one client in each)."""
    async with httpx.AsyncClient(timeout=60) as http:
        files = {f"src/file{n:03}.js": FILE_TEXT for n in range(documents)}
        made = await http.post(f"{base}/api/projects", json={"name": "Memory", "files": files})
        project = made.json()["id"]
    # Warm up: one room opened and closed, so the first room's imports and caches do not count.
    async with joined(base, project, "src/file000.js"):
        pass
    before = resident_kib(pid)
    async with contextlib.AsyncExitStack() as stack:
        for path in files:
            await stack.enter_async_context(joined(base, project, path))
        after = resident_kib(pid)
    return (after - before) / documents


async def measure(base: str, pid: int, args: argparse.Namespace) -> None:
    async with httpx.AsyncClient(timeout=60) as http:
        deadline = time.monotonic() + 60
        while True:
            with contextlib.suppress(httpx.HTTPError):
                if (await http.get(f"{base}/api/projects")).status_code == 200:
                    break
            if time.monotonic() > deadline:
                raise RuntimeError("the worker did not start")
            await asyncio.sleep(0.2)
        made = await http.post(f"{base}/api/projects", json={"name": "Bench", "files": {"app.js": FILE_TEXT}})
        project = made.json()["id"]
    print(f"keystroke to other screens, {args.keystrokes} keystrokes, one file, loopback:")
    for editors in (2, 10):
        delays = await latency(base, project, editors, args.keystrokes)
        print(
            f"  {editors:>2} editors: p50 {statistics.median(delays):6.1f} ms   p95 {percentile(delays, 0.95):6.1f} ms"
            f"   ({len(delays)} arrivals)"
        )
    per_document = await memory(base, pid, args.documents)
    print(f"server memory per open document ({args.documents} documents, {len(FILE_TEXT)} characters each): "
          f"{per_document:.0f} KiB")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--keystrokes", type=int, default=60)
    parser.add_argument("--documents", type=int, default=40)
    args = parser.parse_args()
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="forja-bench-collab-") as folder:
        env = {**os.environ, "FORJA_DATA_DIR": folder, "FORJA_PORT": str(port), "FORJA_AUTH": "none", "REDIS_URL": ""}
        server = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "tests.collab_worker:app", "--host", "127.0.0.1", "--port", str(port),
             "--ws", "wsproto", "--log-level", "warning"],
            cwd=REPO, env=env,
        )  # fmt: skip
        try:
            asyncio.run(measure(f"http://127.0.0.1:{port}", server.pid, args))
        finally:
            server.terminate()
            server.wait(timeout=30)


if __name__ == "__main__":
    main()
