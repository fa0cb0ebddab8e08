"""A real Redis for the tests of several Forja workers: a throwaway redis-server on a loopback port, no disk.

`redis_server` (session) starts Debian's redis-server (apt-get install redis-server; .ci/run installs it) in a temp
dir; without it the tests fail in CI (CI=true) and are skipped elsewhere. `redis_url` gives each test its own
database number on it, emptied first, so tests never see each other's keys.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from preview_runtime.free_ports import free_port

DATABASES = 16  # redis-server's default; test databases cycle through them


@dataclass
class RedisServer:
    port: int
    process: subprocess.Popen[bytes]
    folder: str

    def url(self, database: int = 0) -> str:
        return f"redis://127.0.0.1:{self.port}/{database}"

    def stop(self) -> None:
        """Stop it, as an outage: Forja's workers find nobody on its port until `start`."""
        self.process.terminate()
        self.process.wait(timeout=10)

    def start(self) -> None:
        """Start it again on its port, empty (it keeps nothing on disk), as a Redis restarted without its data."""
        self.process = _started(self.port, self.folder)


def _answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as connection:
            connection.sendall(b"PING\r\n")
            return connection.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def _started(port: int, folder: str) -> subprocess.Popen[bytes]:
    binary = shutil.which("redis-server")
    assert binary is not None
    command = [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", folder]
    with open(os.path.join(folder, "redis.log"), "ab") as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + 20
    while not _answers(port):
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            pytest.fail(f"redis-server did not start:\n{open(os.path.join(folder, 'redis.log')).read()}", pytrace=False)
        time.sleep(0.05)
    return process


@contextlib.contextmanager
def running_redis() -> Iterator[RedisServer]:
    """A redis-server of its own, stopped when the block ends (a test may stop and start it meanwhile)."""
    if shutil.which("redis-server") is None:
        reason = "redis-server is not installed (Debian/Ubuntu: apt-get install redis-server)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"Redis is required in CI but {reason}", pytrace=False)
        pytest.skip(f"Redis tests skipped: {reason}")
    port = free_port()
    folder = tempfile.mkdtemp(prefix="forja-redis-")
    server = RedisServer(port, _started(port, folder), folder)
    try:
        yield server
    finally:
        server.process.terminate()
        server.process.wait(timeout=10)
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    with running_redis() as server:
        yield server


_next_database = itertools.cycle(range(DATABASES))


@pytest.fixture
def redis_url(redis_server: RedisServer) -> str:
    """A Redis database of this test's, empty."""
    database = next(_next_database)
    with socket.create_connection(("127.0.0.1", redis_server.port), timeout=5) as connection:
        connection.sendall(f"SELECT {database}\r\nFLUSHDB\r\n".encode())
        answer = b""
        while answer.count(b"\r\n") < 2:
            answer += connection.recv(64)
    return redis_server.url(database)
