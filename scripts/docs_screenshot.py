"""Take docs/images/workspace.png: a real Forja's workspace with a previewed app, in Debian's Chromium.

Starts Forja as scripts/run.sh does (and as tests/e2e/conftest.py's start_forja does: loopback, free ports, an empty
data folder, the local runner, previews installing only from the starters' seeded packages), builds an app from the
home page in offline starter mode (no key, no model, no network), waits until the Preview tab shows it running and
saves the picture. Retake it when the workspace's look changes.

    .venv/bin/python scripts/docs_screenshot.py [--chromium /usr/bin/chromium]
"""

from __future__ import annotations

import argparse
import logging
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from playwright.sync_api import ViewportSize, expect, sync_playwright

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from preview_runtime.verify import CHROMIUM_ARGS  # noqa: E402

OUT = REPO / "docs" / "images" / "workspace.png"
PROMPT = "A to-do list for the week's errands, in green"
VIEWPORT: ViewportSize = {"width": 1280, "height": 760}
START_TIMEOUT_S = 900  # a first start installs the page's npm packages and compiles it
log = logging.getLogger("docs_screenshot")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_forja(data_dir: Path, port: int, log_path: Path) -> subprocess.Popen[bytes]:
    env = {
        **{name: value for name, value in os.environ.items() if name != "DATABASE_URL"},
        "FORJA_PORT": str(port),
        "FORJA_HOST": "127.0.0.1",
        "FORJA_DATA_DIR": str(data_dir),
        "FORJA_PREVIEW_PORT": str(free_port()),
        "FORJA_PREVIEW_RUNNER": "local",
        "FORJA_WEBCONTAINERS": "false",
        "FORJA_PREVIEW_OFFLINE": "true",
        "FORJA_PROVIDER": "offline",
        "REFLEX_USE_NPM": "1",
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    with log_path.open("ab") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "reflex", "run", "--env", "prod", "--single-port", "--loglevel", "info"],
            cwd=REPO,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"Forja exited with {process.returncode}:\n{log_path.read_text()[-3000:]}")
        try:
            if httpx.get(f"{base}/health", timeout=2).status_code == 200 and httpx.get(base, timeout=5).status_code == 200:
                return process
        except httpx.HTTPError:
            pass
        time.sleep(1)
    stop(process)
    raise SystemExit(f"Forja did not answer within {START_TIMEOUT_S} s:\n{log_path.read_text()[-3000:]}")


def stop(process: subprocess.Popen[bytes]) -> None:
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=20)
    except ProcessLookupError:
        return
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)


def take(base: str, chromium: str) -> None:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport=VIEWPORT)
        page.goto(base)
        page.locator("#prompt").fill(PROMPT)
        page.locator("#build-button").click()
        page.wait_for_url(re.compile(r"/p/[0-9a-f]+$"), timeout=60_000)
        # The check runs the saved version and opens the Preview tab on it by itself.
        expect(page.locator("#tab-preview")).to_have_attribute("aria-selected", "true", timeout=300_000)
        expect(page.frame_locator("#preview-frame").locator("h1")).to_be_visible(timeout=300_000)
        page.wait_for_timeout(1500)  # let the frame's fonts and the conversation's last line settle
        OUT.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(OUT))
        browser.close()


def main() -> int:
    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    log.setLevel(logging.INFO)  # this script's lines, not every request httpx makes while it waits
    options = argparse.ArgumentParser(description="Take docs/images/workspace.png from a real Forja.")
    options.add_argument("--chromium", default="/usr/bin/chromium", help="the Chromium to drive (Debian's by default)")
    args = options.parse_args()
    with tempfile.TemporaryDirectory(prefix="forja-screenshot-") as folder:
        port = free_port()
        log_path = Path(folder) / "forja.log"
        log.info("Starting Forja on 127.0.0.1:%d (a first start builds the page: minutes)", port)
        process = start_forja(Path(folder) / "data", port, log_path)
        try:
            take(f"http://127.0.0.1:{port}", args.chromium)
        except Exception:
            log.error("Forja's log ends:\n%s", log_path.read_text()[-5000:])
            raise
        finally:
            stop(process)
    log.info("Wrote %s (%d KB)", OUT.relative_to(REPO), OUT.stat().st_size // 1024)
    return 0


if __name__ == "__main__":
    sys.exit(main())
