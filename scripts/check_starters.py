"""Prove that every starter really installs and runs: the check the unit tests cannot do offline.

For each starter: render it with sample values into a temp dir, run its manifest's install
command (Python starters get a fresh venv first, made with this interpreter), start its dev
command with PORT set to a free port, and poll http://127.0.0.1:PORT/ until it answers 200 with
the app's HTML (the escaped title must be in it). Starters with an API are asked for it too.
The dev server's whole process group is then stopped.

Needs the network for npm and PyPI, and node/npm on PATH. Run from anywhere:

    .venv/bin/python scripts/check_starters.py [--only NAME ...] [--keep] [--timeout 60]

Prints one line per starter and exits 1 if any failed.
"""

from __future__ import annotations

import argparse
import html
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from builder.generation.starters import Starter, StarterVariables, load_starters, render_starter  # noqa: E402
from preview_runtime.plan import plan_for  # noqa: E402

# A title with characters that must be escaped, so the check also proves the escaping.
SAMPLE = StarterVariables(
    title="Sunrise & Co <Check>",
    tagline="Fresh bread, every morning.",
    prompt="a check of the starter",
    features=["Sourdough baked daily", "Open early"],
    accent="#ea580c",
    dark=True,
    item_noun="order",
    item_noun_plural="orders",
)
# Paths besides / that must answer 200 with JSON, for starters that have an API.
API_PATHS = {"express-api": "/api/items", "fastapi": "/api/items", "fullstack-react-fastapi": "/api/items"}
INSTALL_TIMEOUT = 600


class CheckFailed(Exception):
    pass


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def needs_python(starter: Starter) -> bool:
    return any(name.endswith("requirements.txt") for name in starter.file_paths())


def write_tree(files: dict[str, str], dest: Path) -> None:
    for rel, text in files.items():
        path = dest / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


def get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as resp:
            return resp.status, resp.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as exc:
        return exc.code, ""


def stop(proc: subprocess.Popen[bytes]) -> None:
    """Stop the dev server and everything it started (reloaders, concurrently's children)."""
    for sig, wait in ((signal.SIGTERM, 10), (signal.SIGKILL, 5)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=wait)
            # The leader is gone; make sure no child outlived it.
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            return
        except subprocess.TimeoutExpired:
            continue


def tail(path: Path, lines: int = 25) -> str:
    text = path.read_text(encoding="utf-8", errors="replace") if path.exists() else ""
    return "\n".join("    " + line for line in text.splitlines()[-lines:])


def check(starter: Starter, work: Path, timeout: float) -> tuple[float, float]:
    """Install and start one starter; returns (install seconds, seconds to the first good 200)."""
    project = work / starter.name
    project.mkdir()
    files = render_starter(starter, SAMPLE)
    write_tree(files, project)
    plan = plan_for({path: text.encode() for path, text in files.items()})
    env = {k: v for k, v in os.environ.items() if k not in {"VIRTUAL_ENV", "PYTHONHOME", "NODE_ENV"}}
    if needs_python(starter):
        venv = work / f"{starter.name}-venv"
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, capture_output=True)
        env["VIRTUAL_ENV"] = str(venv)
        env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"

    log_path = work / f"{starter.name}.log"
    started = time.monotonic()
    with log_path.open("wb") as log:
        result = subprocess.run(
            plan.install, shell=True, cwd=project, env=env, stdout=log, stderr=subprocess.STDOUT, timeout=INSTALL_TIMEOUT
        )
    install_s = time.monotonic() - started
    if result.returncode != 0:
        raise CheckFailed(f"install `{plan.install}` exited {result.returncode}\n{tail(log_path)}")

    port = free_port()
    env["PORT"], env["HOST"] = str(port), "127.0.0.1"
    expected_title = html.escape(SAMPLE.title, quote=False)
    api_path = API_PATHS.get(starter.name)
    with log_path.open("ab") as log:
        started = time.monotonic()
        proc = subprocess.Popen(
            plan.dev, shell=True, cwd=project, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        try:
            last = "no answer"
            while time.monotonic() - started < timeout:
                if proc.poll() is not None:
                    raise CheckFailed(f"dev `{plan.dev}` exited {proc.returncode}\n{tail(log_path)}")
                try:
                    status, body = get(f"http://127.0.0.1:{port}/")
                    ok = status == 200 and expected_title in body
                    last = f"status {status}" + ("" if ok or status != 200 else ", title missing from the page")
                    if ok and api_path:
                        api_status, api_body = get(f"http://127.0.0.1:{port}{api_path}")
                        ok = api_status == 200 and isinstance(json.loads(api_body or "null"), list)
                        last = f"{api_path} status {api_status}"
                    if ok:
                        return install_s, time.monotonic() - started
                except (OSError, ValueError) as exc:
                    last = str(exc)
                time.sleep(0.5)
            raise CheckFailed(f"no good answer on port {port} within {timeout:.0f} s ({last})\n{tail(log_path)}")
        finally:
            stop(proc)


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--only", nargs="*", default=None, help="starter names to check (default: all)")
    parser.add_argument("--keep", action="store_true", help="keep the temp dir with the rendered projects and logs")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds to wait for the first 200 (default 60)")
    args = parser.parse_args()

    if not shutil.which("npm"):
        print("npm is not on PATH (try PATH=/tmp/venv/bin:$PATH)", file=sys.stderr)
        return 1
    starters = [s for s in load_starters() if args.only is None or s.name in args.only]
    if not starters:
        print("no starters matched", file=sys.stderr)
        return 1
    work = Path(tempfile.mkdtemp(prefix="forja-starters-"))
    failures = 0
    try:
        for starter in starters:
            try:
                install_s, ready_s = check(starter, work, args.timeout)
                print(f"ok    {starter.name:<26} install {install_s:6.1f} s   first 200 {ready_s:5.1f} s", flush=True)
            except (CheckFailed, subprocess.SubprocessError, OSError) as exc:
                failures += 1
                print(f"FAIL  {starter.name:<26} {exc}", flush=True)
    finally:
        if args.keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    print(f"{len(starters) - failures} passed, {failures} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
