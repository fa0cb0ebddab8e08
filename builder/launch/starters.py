"""The starters' packages, fetched in the background once Forja answers (scripts/prefetch_starters.py).

Each new project's npm cache is seeded from them (FORJA_NPM_SEED_CACHE), so a project made from a starter installs
without a registry: offline, and a little faster online. Measured on a fresh 2-core machine: 36 s and 100 MB the first
time, under a second later (a stamp of the starters' manifests). The first start does not wait for them, and they run
at a lower priority than the server.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from builder.launch.console import phase_line
from builder.settings import REPO_ROOT, Settings, settings


class StarterPackages:
    def __init__(self, log: Path) -> None:
        self.log = log
        self.began = time.monotonic()
        self.process: subprocess.Popen[bytes] | None = None
        # The script fills the default seed folders only: another seed (or none) is the setting's owner's to fill.
        if settings.npm_seed_cache != Settings.model_fields["npm_seed_cache"].default:
            return
        with log.open("ab") as output:
            self.process = subprocess.Popen(
                [sys.executable, str(REPO_ROOT / "scripts" / "prefetch_starters.py")], stdout=output, stderr=output
            )
        os.setpriority(os.PRIO_PROCESS, self.process.pid, 10)

    def report_if_done(self) -> None:
        if self.process is None or (code := self.process.poll()) is None:
            return
        self.process = None
        if code == 0:
            print(phase_line("Starter packages", time.monotonic() - self.began, "in the background"), flush=True)
        else:
            print(
                f"The starters' packages could not be fetched (offline?): new projects' previews install from the "
                f"registry. See {self.log}",
                file=sys.stderr,
                flush=True,
            )

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
