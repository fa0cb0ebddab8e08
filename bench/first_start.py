"""The run command's first start on a fresh machine, and its second start, timed by phase: prints figures, asserts
nothing.

As close to a fresh machine as this one allows: a `git clone` of this repository's committed HEAD into a temp folder,
no .venv, and empty caches (HOME, pip's and npm's caches, XDG cache/data/config, so Reflex's folder too); pip reads no
config file of this machine (its local wheel folders would hide the downloads), only the CA bundle variables are kept.
`bash scripts/run.sh` runs on free ports and is timed from its start until /health and the page answer, with each
phase's time as it printed it; it is stopped as a supervisor would (SIGTERM), after the starters' packages it fetches in
the background; then the same clone starts a second time. Previews use the local runner: the Docker engine here is
shared with other work.

    .venv/bin/python bench/first_start.py [--keep DIR]
"""

from __future__ import annotations

import argparse
import os
import queue
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]
PHASE = re.compile(r"(?P<name>.+?) \.{2,} (?:(?P<note>.+), )?(?P<seconds>[\d.]+) s")
KEPT_ENV = ("LANG", "TERM", "SSL_CERT_FILE", "SSL_CERT_DIR", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "NODE_EXTRA_CA_CERTS")
START_WITHIN_S = 1800
STARTERS_WITHIN_S = 600


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def fresh_env(root: Path) -> dict[str, str]:
    env = {name: os.environ[name] for name in KEPT_ENV if name in os.environ}
    for name, folder in {
        "HOME": "home",
        "XDG_CACHE_HOME": "cache",
        "XDG_DATA_HOME": "data",
        "XDG_CONFIG_HOME": "config",
        "PIP_CACHE_DIR": "cache/pip",
        "npm_config_cache": "cache/npm",
    }.items():
        (root / folder).mkdir(parents=True, exist_ok=True)
        env[name] = str(root / folder)
    return {
        **env,
        "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        "PIP_CONFIG_FILE": os.devnull,
        "FORJA_PORT": str(free_port()),
        "FORJA_PREVIEW_PORT": str(free_port()),
        "FORJA_PREVIEW_RUNNER": "local",
    }


@dataclass
class Start:
    phases: list[tuple[str, str, float]] = field(default_factory=list)  # name, note, seconds as printed
    answered_s: float = 0.0
    starters_s: float | None = None
    load: tuple[float, float] = (0.0, 0.0)  # 1-minute load average before and after


def _lines(stream, into: queue.Queue[tuple[float, str]]) -> None:
    for raw in stream:
        into.put((time.monotonic(), raw.decode(errors="replace").rstrip("\n")))


def answers(port: str) -> bool:
    try:
        with httpx.Client(timeout=5, trust_env=False) as client:
            base = f"http://127.0.0.1:{port}"
            return client.get(f"{base}/health").status_code == 200 and client.get(base).status_code == 200
    except httpx.HTTPError:
        return False


def start(clone: Path, env: dict[str, str], wait_for_starters: bool) -> Start:
    figures = Start()
    before = os.getloadavg()[0]
    began = time.monotonic()
    process = subprocess.Popen(
        ["bash", "scripts/run.sh"], cwd=clone, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True
    )
    lines: queue.Queue[tuple[float, str]] = queue.Queue()
    threading.Thread(target=_lines, args=(process.stdout, lines), daemon=True).start()
    try:
        running = False
        while not running or (wait_for_starters and figures.starters_s is None):
            try:
                at, line = lines.get(timeout=1)
            except queue.Empty:
                if process.poll() is not None:
                    raise SystemExit(f"the run command ended with {process.returncode}") from None
                if time.monotonic() - began > START_WITHIN_S + STARTERS_WITHIN_S:
                    break
                continue
            print(f"  {at - began:7.1f} s  {line}", flush=True)
            if match := PHASE.fullmatch(line):
                figures.phases.append((match["name"], match["note"] or "", float(match["seconds"])))
                if match["name"] == "Starter packages":
                    figures.starters_s = float(match["seconds"])
            if line.startswith("Forja is running at"):
                running = True
                while not answers(env["FORJA_PORT"]):
                    time.sleep(0.2)
                figures.answered_s = time.monotonic() - began
            elif line.startswith("The starters' packages could not be fetched"):
                break
    finally:
        figures.load = (before, os.getloadavg()[0])
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=60)
        finally:
            try:
                os.killpg(process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
    return figures


def report(title: str, figures: Start) -> None:
    print(f"\n{title}: the page answered {figures.answered_s:.0f} s after `bash scripts/run.sh` began")
    for name, note, seconds in figures.phases:
        print(f"  {name:<24} {seconds:7.1f} s  {note}")
    print(f"  load average (1 min) before {figures.load[0]:.1f}, after {figures.load[1]:.1f}")


def size(path: Path) -> str:
    done = subprocess.run(["du", "-sh", str(path)], capture_output=True, text=True, check=False)
    return done.stdout.split("\t")[0] if done.returncode == 0 else "?"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--keep", type=Path, help="a folder to work in and keep (default: a temp folder, removed)")
    args = parser.parse_args()
    root = args.keep or Path(tempfile.mkdtemp(prefix="forja-first-start-"))
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True).stdout
        print(f"{os.cpu_count()} cores; cloning {REPO} at {head.strip()} (committed work only) into {root}")
        clone = root / "forja"
        subprocess.run(["git", "clone", "-q", str(REPO), str(clone)], check=True)
        env = fresh_env(root)
        print("first start:")
        first = start(clone, env, wait_for_starters=True)
        print("second start:")
        second = start(clone, env, wait_for_starters=False)
        report("First start", first)
        report("Second start", second)
        print(
            f"\nOn disk: .venv {size(clone / '.venv')}, .web {size(clone / '.web')}, npm cache {size(root / 'cache' / 'npm')}, "
            f"starters' packages {size(clone / '.cache')}"
        )
    finally:
        if args.keep is None:
            shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
