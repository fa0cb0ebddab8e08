"""The runner interface: start a version, get a URL, a status and a log stream; push files; stop.

Runners (Docker, local process, and the browser's WebContainer driven from assets/) all keep
this contract, so the policy can pick one and the rest of Forja does not care which.
"""

from __future__ import annotations

import enum
import re
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping

from pydantic import BaseModel, ConfigDict, Field

from preview_runtime.logs import LogLevel
from preview_runtime.plan import RunPlan


class PreviewState(enum.StrEnum):
    starting = "starting"
    installing = "installing"
    running = "running"
    failed = "failed"
    stopped = "stopped"
    # Idle, so its processes or container are stopped; its files and dependencies are kept for a wake (Runner.park).
    parked = "parked"
    # It runs, but its address answers nothing now: the preview proxy is being started again (never a runner's word:
    # the manager reports a running preview so while its proxy does not answer).
    reconnecting = "reconnecting"
    # It runs behind a proxy that answers, but its app has answered nothing for a while (liveness.py; never a runner's
    # word either).
    not_answering = "not_answering"


class PreviewSpec(BaseModel):
    """Everything a runner needs to start one preview of one version."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    preview_id: str
    project_id: str
    version: int
    files: Mapping[str, bytes]
    plan: RunPlan


class PreviewInfo(BaseModel):
    preview_id: str
    project_id: str
    version: int
    runner: str
    state: PreviewState
    url: str = ""
    upstream: str = ""
    detail: str = ""
    handle: str = ""
    # The dependencies are installed: the project's own commands (run_command) can run, even before the dev server answers.
    installed: bool = False
    # Why this runner runs it (set by the manager), shown beside the runner's name.
    runner_reason: str = ""
    # The start command and where it came from (RunPlan.source), set by the manager, shown on the Preview tab.
    source: str = ""
    # False when it runs as the person's user without any sandbox (the local runner, when that is allowed): said on
    # the Preview tab for as long as it runs.
    sandboxed: bool = True


# (preview_id, text, level or None to classify, source) -> None
LogSink = Callable[[str, str, LogLevel | None, str], None]


def ignore_output(preview_id: str, text: str, level: LogLevel | None, source: str) -> None:
    """The sink of previews adopted with nobody to tell yet."""


class CommandOutcome(BaseModel):
    """How a command run inside a preview (Runner.run_command) ended."""

    exit_code: int | None = Field(description="None when it was killed at its time limit.")
    output: str = Field(description="The end of its stdout and stderr together (OUTPUT_TAIL_CHARS at most).")
    timed_out: bool = False
    duration_s: float


class EngineJob(BaseModel):
    """An external coding agent's run on a project's files (Runner.run_engine): its program on this machine, bound
    read-only into the sandbox, its arguments and environment, and the port of the model relay it reaches by name."""

    program: str = Field(description="The agent's binary on the host (absolute).")
    args: list[str]
    env: dict[str, str]
    relay_host: str = Field(description="The name the sandbox's egress proxy sends to the relay.")
    relay_port: int = Field(description="The relay's port on the host's loopback.")
    timeout_s: float


class EngineOutcome(BaseModel):
    """How an external coding agent's run ended, and the project's files as it left them."""

    exit_code: int | None = Field(description="None when it was killed at its time limit.")
    files: dict[str, bytes]
    duration_s: float


OUTPUT_TAIL_CHARS = 4000
ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]")  # terminal colours and cursor moves


def output_tail(data: bytes) -> str:
    """The last OUTPUT_TAIL_CHARS of a command's output as text (its beginning is rarely where the error is)."""
    text = data[-4 * OUTPUT_TAIL_CHARS :].decode("utf-8", errors="replace")
    return ANSI.sub("", text)[-OUTPUT_TAIL_CHARS:]


class Shell(ABC):
    """An interactive shell in a running preview's sandbox, on a terminal of its own (Runner.open_shell)."""

    @abstractmethod
    async def read(self) -> bytes:
        """What the terminal shows next (output and echo together); b"" once the shell has ended."""

    @abstractmethod
    async def write(self, data: bytes) -> None:
        """Keystrokes (or pasted text) into the terminal."""

    @abstractmethod
    async def resize(self, cols: int, rows: int) -> None: ...

    @abstractmethod
    async def close(self) -> None:
        """End the shell and everything it started on its terminal; idempotent."""


class RunnerError(Exception):
    """A preview could not start or run; the message says why in plain words."""


class MachineRefused(RunnerError):
    """This machine will not run the project as set up (no sandbox, and running without one is not allowed): its
    setup is what must change, not the project's code."""


class Runner(ABC):
    name: str

    @abstractmethod
    async def start(self, spec: PreviewSpec, log: LogSink) -> PreviewInfo:
        """Start installing and running; return at once with state starting/installing.

        `upstream` is the http://host:port the proxy forwards to once the dev server answers.
        """

    async def prepare(self, project_id: str, files: Mapping[str, bytes], plan: RunPlan, log: LogSink) -> None:  # noqa: B027 (optional hook)
        """Install the dependencies of `files` (the project's files known so far) before its preview starts, so that
        start finds them ready; returns once done. This runner installs at start, so here it does nothing."""

    @abstractmethod
    async def status(self, preview_id: str) -> PreviewInfo: ...

    @abstractmethod
    async def push_files(self, preview_id: str, changed: Mapping[str, bytes], deleted: list[str]) -> None:
        """Write saved edits into the running preview; the dev server's hot reload shows them."""

    @abstractmethod
    async def stop(self, preview_id: str) -> None: ...

    @abstractmethod
    async def run_command(self, preview_id: str, command: str, timeout_s: float) -> CommandOutcome:
        """Run one shell line in the running preview's root folder, as its dev server runs (same user, environment
        and sandbox), beside it; at `timeout_s` everything the command started is killed."""

    @abstractmethod
    async def collect(self, preview_id: str, folder: str, limit_bytes: int) -> dict[str, bytes]:
        """The files under `folder` (relative to the preview's root folder, where run_command runs; "" is the root)
        by their path inside it, as a build left them: RunnerError when the folder is missing, holds a link out of it
        (never followed), or its files pass `limit_bytes` together (counted while reading). Installed dependencies
        (node_modules, .venv) and .git are left out (preview_runtime/collect.py)."""

    async def run_engine(
        self, project_id: str, files: Mapping[str, bytes], job: EngineJob, say: Callable[[str], None]
    ) -> EngineOutcome:
        """Run an external coding agent on a copy of `files` in the project's sandbox, each line of its output to
        `say`; the files as it left them. Only the local runner can, for now."""
        raise RunnerError("This Forja cannot run an external coding agent yet: pick Forja as the project's engine.")

    async def open_shell(self, preview_id: str, cols: int, rows: int) -> Shell:
        """An interactive shell (`bash -i`, else `sh -i`) in the running preview's root folder, as its dev server runs
        (same user, environment, limits and network rules), on a terminal of `cols` x `rows`."""
        raise RunnerError(f"The {self.name} runner cannot open a terminal.")

    def last_inbound(self, preview_id: str) -> float | None:
        """time.monotonic() of the last connection to the running preview's app from outside (a visit through the
        proxy); None when this runner cannot tell."""
        return None

    async def memory_bytes(self, preview_id: str) -> int | None:
        """The memory the preview uses now, in bytes (0 when parked); None when this runner cannot tell (or it is not
        running)."""
        return None

    async def park(self, preview_id: str) -> PreviewInfo:
        """Stop what the running preview runs and free its memory, keeping what a wake needs (its files, its installed
        dependencies); returns it in state parked. RunnerError when it cannot be parked: the caller stops it instead."""
        raise RunnerError(f"The {self.name} runner cannot park previews.")

    async def wake(self, preview_id: str, log: LogSink) -> PreviewInfo:
        """Start a parked preview again from what it kept, without installing when its dependency files are the same;
        returns at once in state starting (or installing), as start does, its output going to `log`. RunnerError when
        it cannot wake (what it kept is gone): it is removed, and the caller starts the version afresh."""
        raise RunnerError(f"The {self.name} runner cannot wake previews.")

    @abstractmethod
    async def adopt(self) -> list[PreviewInfo]:
        """After a Forja restart: previews of this runner still alive or parked, taken back (or cleaned up)."""

    async def close(self) -> None:  # noqa: B027 (optional hook)
        """Forja is shutting down: release what outlives the process (most runners keep nothing)."""
