"""Co-editing across two workers on one Redis and one database (two real server processes): people in one file on
either worker see each other's typing, and a worker that is killed and started again loses nothing of the room."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from pycrdt import Text

from tests.collab_clients import converged, joined, text_of
from tests.conftest import free_port
from tests.e2e.conftest import ARTIFACTS, REPO

START = "shared line\n"


class Worker:
    def __init__(self, data: Path, redis_url: str, port: int, name: str) -> None:
        self.data, self.redis_url, self.port, self.name = data, redis_url, port, name
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        env = {
            **os.environ,
            "REDIS_URL": self.redis_url,
            "FORJA_DATA_DIR": str(self.data),
            "FORJA_PORT": str(self.port),
            "FORJA_AUTH": "none",
        }
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        with (ARTIFACTS / f"collab-{self.name}.log").open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "uvicorn", "tests.collab_worker:app", "--host", "127.0.0.1", "--port", str(self.port),
                 "--ws", "wsproto"],
                cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            )  # fmt: skip
        deadline = time.monotonic() + 60
        while True:
            assert self.process.poll() is None, f"worker {self.name} exited; see collab-{self.name}.log"
            try:
                if httpx.get(f"{self.base}/api/projects", timeout=5).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, f"worker {self.name} did not answer"
            time.sleep(0.2)

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=30)


@pytest.fixture
def workers(tmp_path: Path, redis_url: str) -> Iterator[tuple[Worker, Worker]]:
    first = Worker(tmp_path / "data", redis_url, free_port(), "first")
    second = Worker(tmp_path / "data", redis_url, free_port(), "second")
    first.start()  # alone first: it makes the database
    second.start()
    try:
        yield first, second
    finally:
        first.kill()
        second.kill()


async def test_people_on_two_workers_edit_one_file_and_a_restart_loses_nothing(workers: tuple[Worker, Worker]) -> None:
    first, second = workers
    async with httpx.AsyncClient(timeout=60) as http:
        made = await http.post(f"{first.base}/api/projects", json={"name": "Across", "files": {"notes.txt": START}})
        assert made.status_code == 201, made.text
    project = made.json()["id"]
    async with (
        joined(first.base, project, "notes.txt") as here,
        joined(second.base, project, "notes.txt") as there,
    ):
        here.get("content", type=Text).insert(0, "from the first worker\n")
        there.get("content", type=Text).insert(len(START), "from the second worker\n")
        both = await converged([here, there], lambda t: "first worker" in t and "second worker" in t)
        assert START in both
    # Every room closed; both workers die without a word and start again: the room comes back from what was kept.
    first.kill()
    second.kill()
    second.start()
    async with joined(second.base, project, "notes.txt") as later:
        assert text_of(later) == both
