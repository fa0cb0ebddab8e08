"""Co-editing across two workers on one Redis and one database (two real server processes): people in one file on
either worker see each other's typing, a worker that is killed and started again loses nothing of the room, and a
forged cursor crosses to no worker."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path

import httpx
import pytest
from pycrdt import Text
from redis.asyncio import Redis

from builder.cluster.collab import CHANNEL, Relayed, encode_frame
from builder.services.presence import CURSOR_HEX
from tests.collab_clients import SELECTION, Heard, awareness, converged, joined, listen, socket, text_of
from tests.conftest import free_port
from tests.e2e.conftest import ARTIFACTS, REPO
from tests.waiting import until

CSS = "red; } body { outline: 7px solid rgb(1,2,3) !important; } .x {"

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


async def test_a_forged_cursor_crosses_to_no_worker(workers: tuple[Worker, Worker], redis_url: str) -> None:
    """A client on the second worker forges its cursor's colour: the first worker's clients never hear it; its honest
    message arrives there with the server's name. A message put on the workers' Redis channel by anything but a worker's
    check (a forged colour) is dropped by the worker that receives it."""
    first, second = workers
    async with httpx.AsyncClient(timeout=60) as http:
        made = await http.post(f"{first.base}/api/projects", json={"name": "Cursors", "files": {"notes.txt": START}})
        assert made.status_code == 201, made.text
    project = made.json()["id"]
    heard: list[Heard] = []
    async with socket(first.base, project, "notes.txt") as here, socket(second.base, project, "notes.txt") as there:
        # Both sockets are in their worker's room once each has had the room's first message (sync step 1).
        await here.receive_bytes()
        await there.receive_bytes()
        listening = asyncio.create_task(listen(here, heard))
        await there.send_bytes(awareness((5, 1, {"selection": SELECTION, "user": {"name": "A person", "colour": CSS}})))
        await there.send_bytes(awareness((5, 2, {"selection": SELECTION, "user": {"name": "A person", "colour": "#000"}})))
        await until(heard_of(heard, 5, 2), "the cursor from the second worker")
        guest = heard[-1].state and heard[-1].state["user"]
        assert isinstance(guest, dict) and guest["name"] == "Guest" and guest["colour"] in CURSOR_HEX.values()
        # Straight onto the channel, as if a worker had sent it: a cursor in CSS, then one in a colour.
        redis = Redis.from_url(redis_url)
        try:
            for client, colour in ((6, CSS), (7, "#0d74ce")):
                forged = awareness((client, 1, {"selection": None, "user": {"name": "Guest", "colour": colour}}))
                frame = encode_frame("elsewhere", Relayed(project, "notes.txt", "awareness", forged, "local"))
                await redis.publish(CHANNEL, frame)
            await redis.publish(CHANNEL, b"not a frame")
        finally:
            await redis.aclose()
        await until(heard_of(heard, 7, 1), "the relayed cursor in a colour")
        listening.cancel()
    assert [(h.client, h.clock) for h in heard] == [(5, 2), (7, 1)]


def heard_of(heard: list[Heard], client: int, clock: int) -> Callable[[], Awaitable[bool]]:
    async def check() -> bool:
        return any(h.client == client and h.clock == clock for h in heard)

    return check
