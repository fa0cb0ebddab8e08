"""The server half of the run command: the database's migrations, then Reflex's `run --env prod --single-port`, calm,
and compiling and building the page only when they changed.

Started by builder.launch.run, which prints the phases this process reports on the `--events` pipe. Until the server
starts, Reflex's own output (rules, progress bars, npm and Vite) goes to the run log; from then on this process writes
to the console again, so the server's warnings and errors are seen. Reflex is pinned (requirements.txt); four of its
module functions are wrapped here, where `_run_prod` looks them up at call time, because it offers no option to skip an
unchanged compile or build and no hook around its phases.
"""

from __future__ import annotations

import argparse
import functools
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO

from builder import db
from builder.launch.app_sources import sources_digest
from builder.launch.page import PageBuild
from builder.ports import ports_problems
from builder.settings import settings

PORT_TAKEN = 3


class Phases:
    """Times this process's phases and reports them as lines on the events pipe: `begin<TAB>name` when one that may
    fail on its own starts, `phase<TAB>name<TAB>seconds<TAB>note` when one ends, `serving` when the server starts."""

    def __init__(self, events: TextIO) -> None:
        self.events = events
        self.started = time.monotonic()
        self.packages_s = 0.0

    def send(self, *fields: str) -> None:
        self.events.write("\t".join(fields) + "\n")
        self.events.flush()

    def migrate(self) -> None:
        db.migrate()
        self.send("phase", "Database", f"{time.monotonic() - self.started:.2f}", "")
        self.started = time.monotonic()

    def timed_packages(self, install: Callable[..., Any]) -> Callable[..., Any]:
        def install_and_report(*args: Any, **kwargs: Any) -> Any:
            self.send("begin", "Page packages (npm)")
            began = time.monotonic()
            result = install(*args, **kwargs)
            self.packages_s += time.monotonic() - began
            self.send("phase", "Page packages (npm)", f"{time.monotonic() - began:.2f}", "")
            return result

        return install_and_report

    def compiling(self, compile_app: Callable[..., Any], page: PageBuild, skip: Any) -> Callable[..., Any]:
        def compile_unless_unchanged(*args: Any, **kwargs: Any) -> Any:
            # As Reflex does for its backend workers: the pages' sources in .web are those this code would write.
            if page.compile_unchanged():
                skip.set(True)
            return compile_app(*args, **kwargs)

        return compile_unless_unchanged

    def serving(self, serve: Callable[..., Any], page: PageBuild, console: tuple[int, int]) -> Callable[..., Any]:
        def report_and_serve(*args: Any, **kwargs: Any) -> Any:
            built_s = time.monotonic() - self.started - self.packages_s
            self.send("phase", "Page build", f"{built_s:.2f}", "unchanged" if page.skipped else "")
            # Checked again: the build took a while, and another process may have taken a port meanwhile (the web
            # server would then end in a Rust backtrace). The run command says which port and who holds it.
            if ports_problems():
                raise SystemExit(PORT_TAKEN)
            self.send("serving")
            self.events.close()
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(console[0], 1)
            os.dup2(console[1], 2)
            return serve(*args, **kwargs)

        return report_and_serve


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--log", type=Path, required=True, help="where Reflex's output goes until the server starts")
    parser.add_argument("--events", type=int, required=True, help="file descriptor of the pipe the phases are reported on")
    args = parser.parse_args(argv)

    phases = Phases(os.fdopen(args.events, "w"))
    console = (os.dup(1), os.dup(2))
    with args.log.open("ab") as log:
        os.dup2(log.fileno(), 1)
        os.dup2(log.fileno(), 2)
    phases.migrate()

    from reflex import reflex as reflex_cli
    from reflex.config import get_config
    from reflex.reflex import cli
    from reflex.utils import build, js_runtimes, prerequisites
    from reflex.utils import exec as reflex_exec
    from reflex_base.environment import environment

    sources = functools.cache(sources_digest)
    page = PageBuild(
        build.build, prerequisites.get_web_dir, formats=lambda: get_config().frontend_compression_formats, sources=sources
    )
    build.build = page
    reflex_cli._compile_app = phases.compiling(reflex_cli._compile_app, page, environment.REFLEX_SKIP_COMPILE)
    js_runtimes.install_frontend_packages = phases.timed_packages(js_runtimes.install_frontend_packages)
    reflex_exec.run_backend_prod = phases.serving(reflex_exec.run_backend_prod, page, console)
    try:
        cli.main(
            args=["run", "--env", "prod", "--single-port", "--loglevel", settings.log_level],
            prog_name="reflex",
        )
    except SystemExit as stop:
        return stop.code if isinstance(stop.code, int) else 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
