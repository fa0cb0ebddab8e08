"""Grading an app with Web-Bench's own tests: the benchmark's spec files, run as they are by Playwright Test.

The app runs in its preview, in the runner's sandbox, as every app Forja makes. The tests are the checkout's code, so
they run in a sandbox too: bubblewrap around Playwright Test (installed by setup into builder/eval/webbench/, never
downloaded here) and the machine's Chromium, with the file system read-only but for a folder of their own, a cgroup
with a preview's memory limit, and a time cap. They reach the app through the machine's loopback, as Forja's own
checking browser does, at the preview's address (baseURL: the tests' `page.goto('/index.html')` opens the app).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import shutil
import signal
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from builder.errors import GraderUnavailable, PreviewError
from builder.eval.grader import did_not_run
from builder.eval.results import Grade
from builder.eval.suite import WebBenchTests
from builder.eval.webbench import SRC
from builder.settings import settings
from preview_runtime.local.limits import Confinement, Limits, find_cgroups
from preview_runtime.local.sandbox import bwrap_args, find_bubblewrap, write_identity
from preview_runtime.local.seccomp import filter_fd
from preview_runtime.plan import Mount
from preview_runtime.verify import find_chromium

if TYPE_CHECKING:
    from builder.services.verification import VerificationService

GRADER_DIR = Path(__file__).parent / "webbench"
CONFIG = GRADER_DIR / "grade.config.cjs"
PLAYWRIGHT = GRADER_DIR / "node_modules" / "@playwright" / "test" / "cli.js"
MESSAGE_CHARS = 300
# Chromium and Node together start far more threads than a preview's dev server (each counts as a process).
PIDS = 1024
FONTS = Path("/etc/fonts")
GRADER = ".grader"  # the grader's own files beside the project's: its HOME, /tmp, report


async def grade_web_bench(
    verifications: VerificationService,
    project_id: str,
    files: dict[str, bytes],
    tests: WebBenchTests,
    timeout_s: float,
    first_failure: bool = False,
) -> tuple[Grade, bytes | None]:
    """The grade of the project's running app (its current version's `files`) by the task's spec files, and its
    page's screenshot; an app that does not start fails. With `first_failure` no test runs after the first that
    fails (a broken copy's grade needs no more)."""
    started = time.monotonic()
    try:
        url, cookie, screenshot = await verifications.serving(project_id)
    except (PreviewError, TimeoutError) as exc:
        return did_not_run(exc), None
    results = await run_specs(tests, url, cookie, timeout_s, files, first_failure)
    failed = [f"{title}: {message}" for title, passed, message in results if not passed]
    grade = Grade(
        passed=bool(results) and not failed,
        checks=len(results),
        failed=failed or ([] if results else ["The benchmark's tests ran none of their tests."]),
        duration_s=round(time.monotonic() - started, 3),
    )
    return grade, screenshot


async def run_specs(
    tests: WebBenchTests,
    url: str,
    cookie: str,
    timeout_s: float,
    files: dict[str, bytes] | None = None,
    first_failure: bool = False,
) -> list[tuple[str, bool, str]]:
    """Each test of the spec files, run against the app at `url`: its title ("task-1.spec.js: add"), whether it
    passed, and why not. The tests see the app's `files` on disk as Web-Bench lays them out, the project's code in
    src/ beside test/ (some check that a file they asked for exists)."""
    if not PLAYWRIGHT.is_file():
        raise GraderUnavailable(
            "Playwright Test, which runs Web-Bench's tests, is not installed: run scripts/setup.sh (it installs "
            f"builder/eval/webbench/package.json), or `npm ci --prefix {GRADER_DIR}`."
        )
    work = Path(tempfile.mkdtemp(prefix="forja-web-bench-"))
    try:
        for folder in ("home", "tmp"):
            (work / GRADER / folder).mkdir(parents=True)
        project = Path(tests.project_dir)
        shutil.copytree(project / "test", work / "test")
        if (project / "package.json").is_file():  # a "type" there says how Node reads the tests
            shutil.copyfile(project / "package.json", work / "package.json")
        _write_app(work, files or {})
        if tests.test_util:
            shutil.copytree(tests.test_util, work / "node_modules" / "@web-bench" / "test-util", ignore=_no_modules)
        env = _environment(work, url, cookie)
        specs = [f"test/{spec}" for spec in tests.specs] + (["--max-failures=1"] if first_failure else [])
        output, timed_out = await _run(work, env, specs, timeout_s)
        report = work / GRADER / "report.json"
        if timed_out:
            return [("the benchmark's tests", False, f"They did not finish within {timeout_s:.0f} s (--task-timeout).")]
        if not report.is_file():
            return [("the benchmark's tests", False, f"Playwright Test did not run them: {_last_line(output)}")]
        return _results(json.loads(report.read_text()))
    finally:
        await asyncio.to_thread(shutil.rmtree, work, True)


def _write_app(work: Path, files: dict[str, bytes]) -> None:
    """The project's code (its src/ folder: Forja's paths, checked when they were saved) into work/src."""
    src = (work / SRC).resolve()
    for path, data in files.items():
        if not path.startswith(f"{SRC}/"):
            continue
        target = (work / path).resolve()
        if not target.is_relative_to(src):
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)


def _no_modules(_folder: str, names: list[str]) -> list[str]:
    return [name for name in names if name == "node_modules"]


def _environment(work: Path, url: str, cookie: str) -> dict[str, str]:
    own = work / GRADER
    parts = urlsplit(url)
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(own / "home"),
        "TMPDIR": str(own / "tmp"),
        # As Web-Bench's own runner sets them: where the app's code is, its port, and the benchmark's own limits.
        "EVAL_PROJECT_ROOT": str(work / SRC),
        "EVAL_PROJECT_PORT": str(parts.port or (443 if parts.scheme == "https" else 80)),
        "IS_EVAL_PRODUCTION": "true",
        "EVAL": "true",
        # The tests require @playwright/test from their own folder: this one, the grader's, is the only copy.
        "NODE_PATH": str(GRADER_DIR / "node_modules"),
        "FORJA_GRADE_TESTS": str(work / "test"),
        "FORJA_GRADE_OUTPUT": str(own / "results"),
        "FORJA_GRADE_REPORT": str(own / "report.json"),
        "FORJA_GRADE_BASE_URL": f"{parts.scheme}://{parts.netloc}",
        "FORJA_GRADE_CHROMIUM": find_chromium(settings.chromium_path) or "",
        "PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD": "1",
        "CI": "1",
    }
    if cookie:
        name, _, value = cookie.partition("=")
        state = {"cookies": [_cookie(name, value, parts.hostname or "")], "origins": []}
        (own / "state.json").write_text(json.dumps(state))
        env["FORJA_GRADE_STORAGE"] = str(own / "state.json")
    return env


def _cookie(name: str, value: str, host: str) -> dict[str, object]:
    return {
        "name": name,
        "value": value,
        "domain": host,
        "path": "/",
        "expires": -1,
        "httpOnly": True,
        "secure": False,
        "sameSite": "Lax",
    }


async def _run(work: Path, env: dict[str, str], arguments: list[str], timeout_s: float) -> tuple[str, bool]:
    """Playwright Test (its `arguments`: the spec files) in bubblewrap (unless previews may run without it), confined and time-capped:
    its output, and whether it ran out of time."""
    argv = [str(Path(shutil.which("node") or "node")), str(PLAYWRIGHT), "test", "--config", str(CONFIG)]
    argv += arguments
    bwrap, why = await find_bubblewrap(work)
    seccomp: tuple[int, ...] = ()
    if bwrap is not None:
        mounts = [Mount(source=str(GRADER_DIR), target=str(GRADER_DIR), read_only=True)]
        if FONTS.is_dir():  # noqa: ASYNC240 (a stat): the pages' text is measured in the fonts the machine has
            mounts.append(Mount(source=str(FONTS), target=str(FONTS), read_only=True))
        home = work / GRADER / "home"
        identity = write_identity(work / GRADER / "etc", home)
        seccomp = (filter_fd(),)
        # The machine's network: the app's preview is reached on loopback, as Forja's own browser reaches it.
        sandbox = bwrap_args(work, home, env, work / GRADER / "tmp", identity, seccomp[0], mounts, ["--share-net"])
        argv = [bwrap, *sandbox, "--", *argv]
    elif not settings.allow_unsandboxed:
        raise GraderUnavailable(
            f"{why}, and Web-Bench's tests are code from the checkout: Forja runs them only in a sandbox. Install "
            "bubblewrap (apt-get install bubblewrap), or set FORJA_ALLOW_UNSANDBOXED=true."
        )
    limits = Limits(
        memory_bytes=settings.preview_memory_mb << 20,
        pids=PIDS,
        cpus=settings.preview_cpus,
        disk_bytes=settings.local_disk_mb << 20,
    )
    confinement = await asyncio.to_thread(Confinement.make, await asyncio.to_thread(find_cgroups), limits, "grade")
    try:
        try:
            process = await asyncio.create_subprocess_exec(
                *confinement.argv(argv),
                cwd=work,
                env=env,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.STDOUT,
                start_new_session=True,
                pass_fds=seccomp,
            )
        finally:
            for fd in seccomp:
                os.close(fd)
        try:
            async with asyncio.timeout(timeout_s):
                output, _ = await process.communicate()
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            await process.wait()
            return "", True
        return output.decode(errors="replace"), False
    finally:
        await asyncio.to_thread(confinement.remove)


def _last_line(output: str) -> str:
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    return lines[-1][:MESSAGE_CHARS] if lines else "it printed nothing."


def _results(report: dict) -> list[tuple[str, bool, str]]:
    """(title, passed, why) of each test in Playwright's JSON report, in file order."""
    found: list[tuple[str, bool, str]] = []

    def walk(suite: dict) -> None:
        for spec in suite.get("specs", []):
            for test in spec.get("tests", []):
                if test.get("status") == "skipped":  # skipped by the benchmark, or not run after --max-failures
                    continue
                results = test.get("results") or [{}]
                last = results[-1]
                passed = test.get("status") == "expected"
                errors = last.get("errors") or ([last["error"]] if last.get("error") else [])
                message = _said(errors[0].get("message", "")) if errors else last.get("status", "did not run")
                found.append((f"{Path(spec.get('file', '')).name}: {spec.get('title', '')}", passed, message))
        for child in suite.get("suites", []):
            walk(child)

    for suite in report.get("suites", []):
        walk(suite)
    for error in report.get("errors", []):  # a spec file that cannot even load; not --max-failures' own stop
        message = _said(error.get("message", ""))
        if not message.startswith("Testing stopped early"):
            found.append(("loading the tests", False, message))
    return found


def _said(message: str) -> str:
    """The error's first line, with what was expected and received when it says (without the terminal's colours)."""
    lines = [line.strip() for line in re.sub(r"\x1b\[[0-9;]*m", "", message).splitlines() if line.strip()]
    said = lines[:1] + [line for line in lines[1:8] if line.startswith(("Expected", "Received"))]
    return "; ".join(said)[:MESSAGE_CHARS]
