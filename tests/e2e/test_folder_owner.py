"""One data folder, one owner, and states that are true, on a real Forja started as the run command starts it.

The server holds its data folder; a second server on it is refused, and a command run beside it (in this process, on
another FORJA_PORT, as a person would in a second terminal) goes through it or is refused: the server's Traefik is the
same process afterwards and its preview still answers through it. A Traefik that answers nothing makes the preview
"reconnecting" (the API and the Preview tab say so), and one that dies is started again within seconds, said in the
log and the admin's Health.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from playwright.sync_api import Page, expect

from preview_runtime.traefik import alive
from tests.conftest import free_port
from tests.e2e.conftest import ARTIFACTS, REPO, another_forja
from tests.integration.test_cli import Cli

PAGE = {"index.html": "<!doctype html><title>Kept</title><h1>Still answering</h1>\n"}
LOG = "forja-folder-owner.log"


@dataclass(frozen=True)
class Served:
    base: str
    data: Path

    @property
    def holder(self) -> dict:
        return json.loads((self.data / "forja.lock").read_text())

    def traefik(self) -> int:
        return int((self.data / "proxy" / "traefik.pid").read_text())


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    folder = tmp_path_factory.mktemp("folder-owner")
    with another_forja(folder, LOG, {}) as base:
        yield Served(base, folder / "data")


def running_preview(base: str, name: str) -> tuple[str, str]:
    """A new project's preview, started and answering: (project id, preview id)."""
    created = httpx.post(f"{base}/api/projects", json={"name": name, "files": PAGE}, timeout=30)
    assert created.status_code == 201, created.text
    project_id = created.json()["id"]
    started = httpx.post(f"{base}/api/projects/{project_id}/preview", params={"wait": "true"}, timeout=120)
    assert started.status_code == 200 and started.json()["status"] == "running", started.text
    return project_id, urlsplit(started.json()["url"]).hostname.split(".")[0]  # pyright: ignore[reportOptionalMemberAccess]


def status(base: str, project_id: str) -> str:
    return httpx.get(f"{base}/api/projects/{project_id}/preview", timeout=10).json()["status"]


def test_a_second_server_on_the_folder_is_refused_naming_the_first(served: Served) -> None:
    holder = served.holder
    assert holder["role"] == "server" and holder["address"] == served.base
    env = {**os.environ, "FORJA_DATA_DIR": str(served.data), "FORJA_PORT": str(free_port())}
    env |= {"FORJA_PREVIEW_PORT": str(free_port()), "FORJA_HOST": "127.0.0.1"}
    second = subprocess.run(
        [sys.executable, "-m", "builder.launch"], cwd=REPO, env=env, capture_output=True, text=True, timeout=120
    )
    assert second.returncode == 1
    assert second.stderr.startswith(
        f"Forja cannot start: a Forja server (pid {holder['pid']}, at {served.base}) already runs on the data folder "
        f"{served.data} (since "
    ), second.stderr
    own = rf"FORJA_DATA_DIR={served.data}-2 FORJA_PORT=\d+ FORJA_PREVIEW_PORT=\d+ FORJA_PREVIEW_NETWORK=forja-previews-2"
    assert re.search(rf"{own} bash scripts/run.sh$", second.stderr)


def test_commands_beside_the_server_leave_its_previews_alone(served: Served, page: Page) -> None:
    _, preview_id = running_preview(served.base, "Kept")
    traefik = served.traefik()
    beside = Cli(served.data)  # in this process, on a FORJA_PORT of its own, as in a second terminal

    # Checked too: the app runs in a preview, the server's.
    made = beside.run("generate", "A static page in plain html", "--provider", "offline", "--json")
    assert made.returncode == 0, made.stderr
    server = f"a Forja server (pid {served.holder['pid']}, at {served.base})"
    assert made.stderr.startswith(f"Working through the Forja server that holds this data folder: {server}.\n")
    assert json.loads(made.stdout)["verification"]["status"] == "passed"

    # The eval runs previews of its own: in a data folder, preview port and network of its own beside the server's.
    graded = beside.run("eval", "--reference", "--task", "bmi-calculator")
    assert graded.returncode == 0, graded.stderr
    assert re.match(
        rf"The data folder {re.escape(str(served.data))} is held by {re.escape(server)}, which runs its previews: this "
        rf"command runs in a data folder of its own, {re.escape(str(served.data))}-eval \(its previews on port \d+\)",
        graded.stderr,
    ), graded.stderr
    assert "1 of 1 passed" in graded.stdout, graded.stdout
    assert beside.ok("migrate").strip() == "Database is up to date."  # the operator's commands work beside it

    assert served.traefik() == traefik and alive(traefik)
    page.goto(f"{served.base}/previews/{preview_id}/open")
    expect(page.get_by_role("heading", name="Still answering")).to_be_visible()


def test_a_silent_then_killed_proxy_is_reported_then_started_again(served: Served, page: Page) -> None:
    project_id, _ = running_preview(served.base, "Watched")
    page.set_viewport_size({"width": 1440, "height": 900})
    page.goto(f"{served.base}/p/{project_id}")
    page.locator("#tab-preview").click()
    frame = page.frame_locator("#preview-frame")
    expect(frame.get_by_role("heading", name="Still answering")).to_be_visible(timeout=60_000)

    silent = served.traefik()
    os.kill(silent, signal.SIGSTOP)  # it answers nothing: the preview is not "running" meanwhile
    try:
        expect(page.locator("#preview-message")).to_have_text(
            "Reconnecting to the app... Its connection stopped, and Forja is bringing it back.", timeout=10_000
        )
        assert status(served.base, project_id) == "reconnecting"
        page.screenshot(path=str(ARTIFACTS / "preview-reconnecting.png"))
        page.set_viewport_size({"width": 390, "height": 844})
        expect(page.locator("#preview-message")).to_be_visible()
        page.screenshot(path=str(ARTIFACTS / "preview-reconnecting-phone.png"))
        page.set_viewport_size({"width": 1440, "height": 900})
    finally:
        os.kill(silent, signal.SIGKILL)
    killed_at = time.monotonic()

    expect(frame.get_by_role("heading", name="Still answering")).to_be_visible(timeout=10_000)
    assert time.monotonic() - killed_at < 10
    assert status(served.base, project_id) == "running"
    assert served.traefik() != silent and alive(served.traefik()) and not alive(silent)

    health = httpx.get(f"{served.base}/api/admin/health", timeout=30).json()
    proxy = next(check for check in health["checks"] if check["name"] == "preview proxy")
    assert proxy["state"] == "ok"
    assert (
        f"The preview proxy (Traefik, pid {silent}) ended (killed by signal 9 (SIGKILL)); Forja is starting it again."
        in (proxy["detail"])
    )
    assert "Traefik started again in" in proxy["detail"]
    log = (ARTIFACTS / LOG).read_text()
    assert f"The preview proxy (Traefik, pid {silent}) ended (killed by signal 9 (SIGKILL))" in log
