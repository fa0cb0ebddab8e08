"""The run command once its Python packages are in (scripts/run.sh): refuse early what cannot work (no accounts while
open to the network, a data folder another Forja holds, a port taken), then migrate the
database, build the page and start the server (builder.launch.server), one console line per phase with its time,
until Forja's page answers. Then the server's own output goes to the console, and this process waits for it to end.

Output of the tools behind each phase goes to the run log; a phase that fails prints the end of it, and a server that
dies before it answers is checked against its ports again (another process may have taken one during the build).
"""

from __future__ import annotations

import argparse
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import TextIO

import httpx

from builder.data_folder import other_owner, second_server
from builder.launch.console import failure, phase_line
from builder.launch.starters import StarterPackages
from builder.ports import ports_problems
from builder.settings import REPO_ROOT, settings

WAIT_FOR_ANSWER_S = 300  # after the server started: the app's import and start-up, even on a busy machine


def answers(base: str) -> bool:
    try:
        with httpx.Client(timeout=5, trust_env=False) as client:
            return client.get(f"{base}/health").status_code == 200 and client.get(f"{base}/").status_code == 200
    except httpx.HTTPError:
        return False


def exit_status(returncode: int) -> int:
    """As a shell reports it: 128 + the signal's number for a process a signal ended."""
    return 128 - returncode if returncode < 0 else returncode


def _read_events(pipe: TextIO, events: queue.Queue[list[str]]) -> None:
    for line in pipe:
        events.put(line.rstrip("\n").split("\t"))


class Server:
    """builder.launch.server as a child: its phases printed as they end, its end waited for."""

    def __init__(self, log: Path) -> None:
        self.log = log
        self.events: queue.Queue[list[str]] = queue.Queue()
        self.phase = "Database"
        self.phase_began = time.monotonic()
        self.serving_since: float | None = None
        self.stopping = False
        read, write = os.pipe()
        env = {**os.environ, "REFLEX_USE_NPM": "1", "REFLEX_CHECK_LATEST_VERSION": "false"}
        # The pinned Reflex needs no upgrade notice, and its check would be a request to PyPI at every start.
        self.process = subprocess.Popen(
            [sys.executable, "-m", "builder.launch.server", "--log", str(log), "--events", str(write)],
            pass_fds=(write,),
            env=env,
        )
        os.close(write)
        self.reader = threading.Thread(
            target=_read_events, args=(os.fdopen(read), self.events), daemon=True, name="server-events"
        )
        self.reader.start()

    def _drain(self) -> None:
        while not self.events.empty():
            self._on_event(self.events.get())

    def _on_event(self, event: list[str]) -> None:
        if event[0] == "begin":
            self.phase, self.phase_began = event[1], time.monotonic()
        elif event[0] == "phase":
            _, name, seconds, note = event
            print(phase_line(name, float(seconds), note), flush=True)
            self.phase, self.phase_began = "Page build", time.monotonic()
        elif event[0] == "serving":
            self.phase, self.phase_began = "Server start", time.monotonic()
            self.serving_since = self.phase_began

    def wait_until_answering(self, base: str) -> bool:
        """True once the page answers; False (having said why) when the server ended or never answered."""
        while True:
            self._drain()
            if self.process.poll() is not None:
                self.reader.join(timeout=2)  # the phases it reported before it ended
                self._drain()
                self._report_end()
                return False
            if self.serving_since is not None:
                if answers(base):
                    print(phase_line("Server start", time.monotonic() - self.serving_since), flush=True)
                    return True
                if time.monotonic() - self.serving_since > WAIT_FOR_ANSWER_S:
                    print(f"Forja's server did not answer within {WAIT_FOR_ANSWER_S} s; its output is above.", file=sys.stderr)
                    self.process.terminate()
                    return False
            time.sleep(0.25)

    def _report_end(self) -> None:
        if self.stopping:
            return
        taken = ports_problems()
        if taken:
            print("\n".join(taken), file=sys.stderr)
            print(f"The whole log: {self.log}", file=sys.stderr)
        elif self.serving_since is None:
            print(failure(self.phase, time.monotonic() - self.phase_began, self.log), file=sys.stderr)
        else:
            print(f"Forja's server ended (exit status {self.process.returncode}) before it answered; see above.", file=sys.stderr)

    def stop(self, *_: object) -> None:
        self.stopping = True
        if self.process.poll() is None:
            self.process.terminate()

    def wait(self, starters: StarterPackages) -> int:
        while (code := self.process.poll()) is None:
            starters.report_if_done()
            time.sleep(0.5)
        starters.stop()
        return 0 if self.stopping and code in (0, -signal.SIGTERM, -signal.SIGINT) else exit_status(code)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--log", type=Path, default=settings.data_dir / "logs" / "run.log", help="where tools' output goes")
    args = parser.parse_args(argv)
    os.chdir(REPO_ROOT)
    if refusal := settings.open_without_accounts():
        print(refusal, file=sys.stderr)
        return 1
    if (holder := other_owner()) is not None:  # before its ports: that server holds them too
        print(second_server(holder), file=sys.stderr)
        return 1
    if problems := ports_problems():
        print("\n".join(problems), file=sys.stderr)
        return 1
    args.log.parent.mkdir(parents=True, exist_ok=True)
    server = Server(args.log)
    # The terminal sends Ctrl-C to the server too: it stops, and this process reports how it ended.
    signal.signal(signal.SIGINT, server.stop)
    signal.signal(signal.SIGTERM, server.stop)
    base, shown = settings.local_url, settings.page_url
    if not server.wait_until_answering(base):
        code = server.process.wait()
        return 0 if server.stopping else exit_status(code) or 1
    print(f"Forja is running at {shown}", flush=True)
    return server.wait(StarterPackages(args.log))


if __name__ == "__main__":
    sys.exit(main())
