"""Real Forja workers for the tests of faults: each a process of its own (tests/forja_worker.py under uvicorn) on a
loopback port, with its own data folder and preview port, sharing what the test gives them (a database, Redis, the
shared folder), as `reflex run` workers behind a load balancer would.

A worker can be killed (SIGKILL, the process alone: what it started keeps running, as after a crash) and started
again on its data folder; its log is a file the test reads (tracebacks, the lines a fault is said in).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from tests.conftest import free_port

REPO = Path(__file__).resolve().parents[1]
TRACEBACK = "Traceback (most recent call last)"


class Worker:
    def __init__(self, folder: Path, name: str, env: dict[str, str]) -> None:
        self.name = name
        self.data = folder / f"{name}-data"
        self.log_path = folder / f"{name}.log"
        self.port, self.preview_port = free_port(), free_port()
        self.env = env
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        """Start it and wait until it answers (its /health may say a dependency is down: it answers)."""
        self.launch()
        self.answering()

    def launch(self) -> None:
        """Start its process, without waiting for it: workers launched one after another start side by side."""
        inherited = {name: value for name, value in os.environ.items() if name not in ("DATABASE_URL", "REDIS_URL")}
        env = inherited | {
            "FORJA_DATA_DIR": str(self.data),
            "FORJA_HOST": "127.0.0.1",
            "FORJA_PORT": str(self.port),
            "FORJA_PREVIEW_PORT": str(self.preview_port),
            "FORJA_PREVIEW_RUNNER": "local",
            "FORJA_AUTH": "none",
            "FORJA_WEBCONTAINERS": "false",
            "FORJA_PREVIEW_OFFLINE": "true",
            "FORJA_VERIFY_GENERATIONS": "false",
            "FORJA_GIT_IMPORT_PRIVATE": "true",
            "FORJA_LOG_LEVEL": "info",
        }
        env |= self.env
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "uvicorn", "tests.forja_worker:app", "--host", "127.0.0.1",
                 "--port", str(self.port), "--lifespan", "on", "--no-access-log"],
                cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            )  # fmt: skip

    def answering(self, within_s: float = 90) -> None:
        """Wait until the launched worker answers."""
        assert self.process is not None, f"worker {self.name} was not launched"
        deadline = time.monotonic() + within_s
        while True:
            assert self.process.poll() is None, f"worker {self.name} exited:\n{self.log()[-3000:]}"
            try:
                httpx.get(f"{self.base}/health", timeout=5, trust_env=False)
                return
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, f"worker {self.name} did not answer:\n{self.log()[-3000:]}"
            time.sleep(0.2)

    def kill(self) -> None:
        """SIGKILL to the worker and what runs in its process group (the git it runs for a push), as when its container
        or service is killed: its proxy, in a session of its own, stays behind (a worker started again on its data
        folder stops it); its sandboxes, in sessions of their own too, end by themselves (`sandboxes`)."""
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=30)

    def sandboxes(self) -> list[int]:
        """The live processes of its local sandboxes: bubblewrap's, whose arguments name the worker's data folder (and
        what confine.sh runs before it becomes bubblewrap). Their insides need no looking for: they run in bubblewrap's
        pid namespace, which the kernel ends with its init, bubblewrap."""
        return [int(entry) for entry in os.listdir("/proc") if entry.isdigit() and self._sandbox(_argv(entry))]

    def kill_as_a_sandbox_starts(self, within_s: float = 60) -> None:
        """`kill` the moment it starts a new local sandbox, while bubblewrap (or confine.sh before it) still sets it up:
        only processes not yet looked at are read, each millisecond, as reading all of /proc takes several."""
        assert self.process is not None, f"worker {self.name} was not launched"
        # Those running already, and then those neither a sandbox nor the worker's child (which may yet become one).
        passed = set(os.listdir("/proc"))
        deadline = time.monotonic() + within_s
        while True:
            listing = {entry for entry in os.listdir("/proc") if entry.isdigit()}
            passed &= listing  # a pid gone can come back as a new process (pids wrap)
            for entry in listing - passed:
                if self._sandbox(_argv(entry)):
                    self.kill()
                    return
                if _parent(entry) != self.process.pid:
                    passed.add(entry)
            assert time.monotonic() < deadline, f"worker {self.name} started no sandbox within {within_s:.0f} s"
            time.sleep(0.001)

    def _sandbox(self, argv: list[str]) -> bool:
        return "--unshare-all" in argv and any(str(self.data) in arg for arg in argv)

    def stop(self) -> None:
        """As a supervisor stops it (SIGTERM): it stops its previews and proxy on the way out."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def request(self, method: str, path: str, timeout: float = 60, **kwargs: Any) -> httpx.Response:
        return httpx.request(method, self.base + path, timeout=timeout, trust_env=False, **kwargs)

    def ok(self, method: str, path: str, **kwargs: Any) -> Any:
        """The JSON of a request that must succeed."""
        response = self.request(method, path, **kwargs)
        assert response.status_code < 400, f"{method} {path} through {self.name}: {response.status_code} {response.text}"
        return response.json() if response.content else None


def _argv(pid: str) -> list[str]:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace").split("\0")
    except OSError:
        return []  # gone meanwhile


def _parent(pid: str) -> int | None:
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return None
