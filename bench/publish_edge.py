"""Published static apps' edge benchmark: prints figures, asserts nothing.

On one built site (--site DIR, or the corpus' vite-react built here from its fetched npm cache):
  write       write_release of the site (files, gzip and brotli siblings, manifest): median of --writes runs, beside
              brotli quality 11 of its largest file alone, the floor no writer of .br files goes under;
  serve       the edge (builder/publish/edge.py's StaticApp under granian, one worker, as Forja mounts it in one
              process) against `python -m http.server` on the same files, over loopback sockets: --connections
              clients each send one request after another for --seconds, every row in turn for --rounds (medians
              shown); requests per second and p50 latency for index.html and the largest asset. The edge is asked as a browser asks (Accept-Encoding with br, one
              kept-alive connection per client), and as http.server can be asked (identity; and a new connection
              per request, which is all http.server speaks: HTTP/1.0).
Ratios: requests per second edge / http.server, p50 http.server / edge (above 1: the edge is faster). The clients
run in this process on the same cores as the servers, so both sides pay for them alike.

    .venv/bin/python bench/publish_edge.py [--site DIR] [--seconds 3] [--rounds 3] [--connections 8] [--writes 5]
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import brotli

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from builder.filetree import read_folder  # noqa: E402
from builder.publish.edge import StaticApp, Target  # noqa: E402
from builder.publish.release_files import BROTLI_QUALITY, RELEASE_LIMITS, write_release  # noqa: E402
from scripts.corpus import CORPUS_DIR  # noqa: E402

RELEASE_ENV = "FORJA_BENCH_RELEASE"  # the release folder, from this script to the granian process it starts
HOST = "shop.apps.localhost"
BROWSER_ENCODINGS = "gzip, deflate, br, zstd"


def edge_app() -> StaticApp:
    """Granian's factory: the edge serving the bench's release for every host."""
    target = Target(Path(os.environ[RELEASE_ENV]), spa=True, state="live")

    async def resolve(host: str) -> Target:
        return target

    return StaticApp(resolve)


def build_vite_react(work: Path) -> Path:
    """The corpus' vite-react built for production in `work` (npm ci from its own fetched cache, offline)."""
    source = CORPUS_DIR / "vite-react"
    if not (source / "app" / "package.json").is_file():
        raise SystemExit("No corpus: run scripts/fetch_corpus.py, or give a built site with --site DIR.")
    shutil.copytree(source / "app", work / "app")
    shutil.copytree(source / "npm", work / "npm")  # npm writes to its cache: a copy keeps the corpus' as fetched
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}", "npm_config_offline": "true"}
    for command in (["npm", "ci", "--cache", str(work / "npm"), "--no-audit", "--no-fund"], ["npm", "run", "build"]):
        subprocess.run(command, cwd=work / "app", env=env, check=True, capture_output=True)
    return work / "app" / "dist"


def bench_write(site: Path, work: Path, runs: int) -> tuple[Path, list[str]]:
    files = read_folder(site, RELEASE_LIMITS)
    largest = max(files, key=lambda path: len(files[path]))
    times = []
    manifest = write_release(work / "release-0", files)  # the one served; the timed runs write beside it
    for n in range(1, runs + 1):
        started = time.perf_counter()
        manifest = write_release(work / f"release-{n}", files)
        times.append(time.perf_counter() - started)
    started = time.perf_counter()
    brotli.compress(files[largest], mode=brotli.MODE_TEXT, quality=BROTLI_QUALITY)
    floor = time.perf_counter() - started
    started = time.perf_counter()
    gzip.compress(files[largest], 9)
    gzip_s = time.perf_counter() - started
    print(
        f"site: {site} ({manifest.file_count} files, {manifest.bytes / 1024:.1f} KB; over the wire with brotli "
        f"{manifest.compressed_bytes / 1024:.1f} KB; on disk with the siblings {manifest.disk_bytes / 1024:.1f} KB)"
    )
    print(
        f"write_release: median {ms(statistics.median(times))} (min {ms(min(times))}, max {ms(max(times))}, {runs} runs); "
        f"brotli q{BROTLI_QUALITY} of {largest} ({len(files[largest]) / 1024:.0f} KB) alone {ms(floor)}, gzip -9 {ms(gzip_s)}"
    )
    ordered = sorted(files, key=lambda path: len(files[path]), reverse=True)
    return work / "release-0", ["index.html", ordered[0] if ordered[0] != "index.html" else ordered[1]]


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms" if seconds >= 0.01 else f"{seconds * 1000:.2f} ms"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start(command: list[str], port: int, log: Path, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    # Its output to a file: http.server logs every request, and a pipe nobody reads would stop it.
    with log.open("wb") as out:
        process = subprocess.Popen(command, cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"{command[0]} ended: {log.read_text(errors='replace')[-2000:]}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return process
        except OSError:
            time.sleep(0.05)
    process.terminate()
    raise SystemExit(f"{' '.join(command)} did not listen on {port} within 30 s")


@dataclass
class Figures:
    rps: float
    p50: float
    size: int


async def load(port: int, path: str, encodings: str, keep_alive: bool, seconds: float, connections: int) -> Figures:
    """`connections` clients, each sending GET `path` after the last answer, for `seconds`."""
    request = (
        f"GET /{path} HTTP/1.1\r\nHost: {HOST}\r\nAccept-Encoding: {encodings}\r\n"
        f"Connection: {'keep-alive' if keep_alive else 'close'}\r\n\r\n"
    ).encode()
    latencies: list[float] = []
    sizes: set[int] = set()
    deadline = time.perf_counter() + seconds

    async def client() -> None:
        reader: asyncio.StreamReader | None = None
        writer: asyncio.StreamWriter | None = None
        while time.perf_counter() < deadline:
            started = time.perf_counter()
            if writer is None or reader is None:
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(request)
            head = (await reader.readuntil(b"\r\n\r\n")).lower()
            if not head.startswith((b"http/1.1 200", b"http/1.0 200")):
                raise SystemExit(f"/{path} answered {head.splitlines()[0]!r}")
            length = next(int(line.split(b":")[1]) for line in head.split(b"\r\n") if line.startswith(b"content-length:"))
            await reader.readexactly(length)
            latencies.append(time.perf_counter() - started)
            sizes.add(length)
            if not keep_alive or head.startswith(b"http/1.0") or b"connection: close" in head:
                writer.close()
                reader = writer = None

    started = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(connections)))
    elapsed = time.perf_counter() - started
    return Figures(len(latencies) / elapsed, statistics.median(latencies), max(sizes))


def bench_serve(site: Path, release: Path, paths: list[str], seconds: float, connections: int, rounds: int) -> None:
    edge_port, plain_port = free_port(), free_port()
    granian = Path(sys.executable).parent / "granian"
    edge_command = [str(granian), "--interface", "asgi", "--workers", "1", "--host", "127.0.0.1", "--port", str(edge_port)]
    edge_command += ["--no-ws", "--log-level", "warning", "--factory", "bench.publish_edge:edge_app"]
    plain_command = [sys.executable, "-m", "http.server", str(plain_port), "--bind", "127.0.0.1", "--directory", str(site)]
    rows = [
        ("edge, browser (br), kept alive", edge_port, BROWSER_ENCODINGS, True),
        ("edge, identity, kept alive", edge_port, "identity", True),
        ("edge, identity, new connection each", edge_port, "identity", False),
        ("http.server (HTTP/1.0: new connection each)", plain_port, "identity", False),
    ]
    print(
        f"\nserving, {connections} connections, {seconds:g} s a row after 1 s of warm-up, medians of {rounds} rounds "
        "(granian one worker vs http.server):"
    )
    started: list[subprocess.Popen[bytes]] = []
    try:
        env = {**os.environ, RELEASE_ENV: str(release), "PYTHONPATH": str(REPO)}
        started.append(start(edge_command, edge_port, release.parent / "granian.log", env))
        started.append(start(plain_command, plain_port, release.parent / "http.server.log"))
        for path in paths:
            print(f"  /{path}")
            # Rounds of every row in turn, each ratio taken within its round: a machine whose speed drifts moves
            # both sides of a ratio alike.
            runs: dict[str, list[Figures]] = {name: [] for name, *_ in rows}
            for _ in range(rounds):
                for name, port, encodings, keep_alive in rows:
                    asyncio.run(load(port, path, encodings, keep_alive, 1.0, connections))
                    runs[name].append(asyncio.run(load(port, path, encodings, keep_alive, seconds, connections)))
            for name, *_ in rows:
                rps = statistics.median(f.rps for f in runs[name])
                p50 = statistics.median(f.p50 for f in runs[name])
                print(f"    {name:<46} {rps:8.0f} req/s  p50 {ms(p50):>9}  {runs[name][0].size / 1024:7.1f} KB")
            baseline = runs[rows[-1][0]]
            for name, *_ in rows[:-1]:
                rps_ratio = statistics.median(mine.rps / base.rps for mine, base in zip(runs[name], baseline, strict=True))
                p50_ratio = statistics.median(base.p50 / mine.p50 for mine, base in zip(runs[name], baseline, strict=True))
                print(f"    ratio {name:<40} {rps_ratio:5.2f}x req/s, p50 {p50_ratio:5.2f}x faster")
    finally:
        for process in started:
            process.terminate()
            process.wait(10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--site", type=Path, help="a built site's folder (default: the corpus' vite-react, built here)")
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--writes", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="forja-publish-edge-") as temp:
        work = Path(temp)
        site = args.site or build_vite_react(work)
        release, paths = bench_write(site, work, args.writes)
        bench_serve(site, release, paths, args.seconds, args.connections, args.rounds)


if __name__ == "__main__":
    main()
