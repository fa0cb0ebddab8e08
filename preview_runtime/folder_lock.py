"""One owner per folder: an exclusive lock (fcntl.flock) on a file in it, held for as long as the owner runs.

Whoever runs previews and their proxy from a folder holds its lock: a Forja server for its whole life, a command that
runs previews of its own for its run. Who holds it (pid, role, address or command line, since when) is written in the
file, so another process can go through that owner or say who it is. The kernel drops a lock with its process, so a
folder whose lock is free was left by an owner that ended, and what it left running there (a Traefik) is a leftover
the next owner may stop. Nothing else may stop it.

Within one process the lock is taken once per folder and counted: the server holds its data folder, and its preview
proxy takes the same lock again as it starts.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from pydantic import BaseModel, ValidationError

from preview_runtime.runner import RunnerError

LOCK_FILE = "forja.lock"
# A process that only asks who holds the folder takes a shared lock for an instant; a taker waits this long for it.
TAKE_WAIT_S = 1.0
# The holder writes who it is just after it took the lock: a reader waits this long for the words.
READ_WAIT_S = 1.0


class Holder(BaseModel):
    """Who holds a folder's lock."""

    pid: int
    role: str = "command"  # "server" (Forja's page and API) or "command" (a command line that runs previews)
    address: str = ""  # a server's: where this machine reaches its page and API
    command: str = ""  # a command's: its command line
    started_at: datetime

    def words(self) -> str:
        """'a Forja server (pid 12, at http://127.0.0.1:3000)', 'a Forja command (pid 9: forja eval)'."""
        if self.role == "server":
            return f"a Forja server (pid {self.pid}, at {self.address})" if self.address else f"a Forja server (pid {self.pid})"
        return f"a Forja command (pid {self.pid}: {self.command})" if self.command else f"another Forja process (pid {self.pid})"

    @property
    def mine(self) -> bool:
        return self.pid == os.getpid()


class FolderHeld(RunnerError):
    """Another live process holds the folder."""

    def __init__(self, folder: Path, holder: Holder) -> None:
        self.folder = folder
        self.holder = holder
        super().__init__(f"The previews of {folder} are run by {holder.words()}.")


@dataclass
class _Hold:
    fd: int
    holder: Holder
    count: int = 1


_held: dict[Path, _Hold] = {}
_guard = threading.Lock()


def _key(folder: Path) -> Path:
    return folder.resolve()


class FolderLock:
    """The lock of `folder`, taken by this process as `role` (with its address or command line)."""

    def __init__(self, folder: Path, role: str = "command", address: str = "", command: str = "") -> None:
        self.folder = Path(folder)
        self.role = role
        self.address = address
        self.command = command
        self._taken = 0

    @property
    def path(self) -> Path:
        return self.folder / LOCK_FILE

    @property
    def held(self) -> bool:
        return self._taken > 0

    def take(self) -> Holder:
        """Hold the folder (again, when this process does already); FolderHeld when another live process does."""
        self.folder.mkdir(parents=True, exist_ok=True)
        key = _key(self.folder)
        with _guard:
            hold = _held.get(key)
            if hold is not None:
                hold.count += 1
                if self.role == "server" and hold.holder.role != "server":  # the server took it after its proxy did
                    hold.holder = self._holder()
                    _write(hold.fd, hold.holder)
            else:
                fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
                if not _lock(fd, fcntl.LOCK_EX, TAKE_WAIT_S):
                    holder = _read(fd) or Holder(pid=0, started_at=datetime.now(UTC))
                    os.close(fd)
                    raise FolderHeld(self.folder, holder)
                hold = _held[key] = _Hold(fd, self._holder())
                _write(fd, hold.holder)
            self._taken += 1
            return hold.holder

    def release(self) -> None:
        """Give back one take of this lock; the folder is free once every take in this process is given back."""
        if not self._taken:
            return
        self._taken -= 1
        key = _key(self.folder)
        with _guard:
            hold = _held.get(key)
            if hold is None:
                return
            hold.count -= 1
            if hold.count == 0:
                del _held[key]
                os.close(hold.fd)  # drops the lock; the file stays (removing it would race with the next taker)

    def _holder(self) -> Holder:
        return Holder(pid=os.getpid(), role=self.role, address=self.address, command=self.command, started_at=datetime.now(UTC))


def holder_of(folder: Path) -> Holder | None:
    """Who holds `folder` now: this process when it does, else the live process whose lock is on it; None when it is
    free (never held, or its holder ended)."""
    with _guard:
        if (hold := _held.get(_key(folder))) is not None:
            return hold.holder
    try:
        fd = os.open(Path(folder) / LOCK_FILE, os.O_RDONLY | os.O_CLOEXEC)
    except OSError:  # no lock file (never held), or one this user may not read: nobody to tell
        return None
    try:
        if _lock(fd, fcntl.LOCK_SH, 0):
            fcntl.flock(fd, fcntl.LOCK_UN)
            return None
        return _read(fd) or Holder(pid=0, started_at=datetime.now(UTC))
    finally:
        os.close(fd)


def _lock(fd: int, kind: int, wait_s: float) -> bool:
    deadline = time.monotonic() + wait_s
    while True:
        try:
            fcntl.flock(fd, kind | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.02)


def _write(fd: int, holder: Holder) -> None:
    data = holder.model_dump_json().encode()
    os.ftruncate(fd, 0)
    os.pwrite(fd, data, 0)


def _read(fd: int) -> Holder | None:
    deadline = time.monotonic() + READ_WAIT_S
    while True:
        with contextlib.suppress(OSError, ValidationError, ValueError):
            return Holder.model_validate_json(os.pread(fd, 4096, 0))
        if time.monotonic() >= deadline:
            return None
        time.sleep(0.02)
