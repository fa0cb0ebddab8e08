"""Clone and push times of Forja's git server for a 200-version project, against the same history in a plain bare
repository (issue 33's target: Forja at most 1.5 times as long). Prints figures, asserts nothing.

Forja's API runs behind its guards on a loopback port (as tests/integration/test_cli_remote.py serves it), without
accounts. A project gets 200 versions (30 files, one changed per version) through the API. The plain repository is a
bare clone of Forja's, served two ways: by `git http-backend` behind nothing but a one-route ASGI app on granian (the
same protocol, smart HTTP, and the same web server as Forja's; `http`), and by `git daemon` (git's own protocol;
`daemon`). Then, each the median of --runs: a clone of each (Forja's first clone, which builds the mirror, apart), and
a one-file commit pushed to each (Forja's push checks the tree and saves a version before it answers). Each ratio is
printed twice: of the medians, and the median of each run's own ratio (a run times Forja and the plain servers one
after the other, so its ratio holds when a busy machine slows every figure of some runs).

With --accounts, Forja runs with accounts (FORJA_AUTH=password) and every request carries a person's API token, so a
push also meets the checks only accounts have: the storage quota and the hourly push caps.

    .venv/bin/python bench/git.py [--versions 200] [--runs 5] [--accounts]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
# The tests' Cli passes their DNS server on to the Forja it serves; a bench has none, and Forja asks no name here:
# empty is the machine's own resolver.
os.environ.setdefault("FORJA_DNS_RESOLVER", "")

from tests.conftest import free_port  # noqa: E402
from tests.integration.test_cli_remote import served_forja  # noqa: E402

FILES = 30
# The plain repository's smart HTTP: every request straight to git http-backend, no sign-in, no mirror, no hook.
PLAIN_APP = """
from builder.git.http import CgiRequest, run_backend

async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    async def body():
        while True:
            message = await receive()
            yield message.get("body", b"")
            if not message.get("more_body"):
                return
    headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
    request = CgiRequest(scope["path"], scope["method"], scope["query_string"].decode(), headers, body(), "bench", "")
    answer = await run_backend(request)
    await send({"type": "http.response.start", "status": answer.status,
                "headers": [(k.encode(), v.encode()) for k, v in answer.headers]})
    async for chunk in answer.body:
        await send({"type": "http.response.body", "body": chunk, "more_body": True})
    await send({"type": "http.response.body", "body": b""})
"""


def git(*args: str, cwd: Path | None = None, home: Path) -> None:
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(home),
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_TERMINAL_PROMPT": "0",
        "GIT_AUTHOR_NAME": "Bench",
        "GIT_AUTHOR_EMAIL": "bench@example.org",
        "GIT_COMMITTER_NAME": "Bench",
        "GIT_COMMITTER_EMAIL": "bench@example.org",
    }
    subprocess.run(["git", *args], cwd=cwd, env=env, check=True, capture_output=True, timeout=600)


def timed(action: Callable[[], object]) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def make_project(url: str, versions: int, token: str = "") -> str:
    def text(i: int, round_: int) -> str:
        return f"// file {i}, round {round_}\n" + "export const line = 'some source text of a generated app';\n" * 40

    headers = {"Authorization": f"Bearer {token}"} if token else {}
    with httpx.Client(base_url=url, timeout=60, trust_env=False, headers=headers) as http:
        files = {f"src/file{i}.js": text(i, 0) for i in range(FILES)}
        project = http.post("/api/projects", json={"name": "Bench", "files": files}).raise_for_status().json()["id"]
        for n in range(2, versions + 1):
            body = {"content": text(n % FILES, n), "message": f"Change {n}"}
            http.put(f"/api/projects/{project}/files/src/file{n % FILES}.js", json=body).raise_for_status()
    return project


def push_once(clone: Path, home: Path, n: int) -> float:
    (clone / "src" / "file0.js").write_text(f"// pushed {n} from {clone.name}\n")
    git("commit", "-qam", f"Push {n}", cwd=clone, home=home)
    return timed(lambda: git("push", "-q", "origin", "main", cwd=clone, home=home))


@contextmanager
def plain_servers(work: Path, home: Path) -> Iterator[dict[str, str]]:
    """The plain repository at work/plain-data/git/plain.git, served by git http-backend and by git daemon."""
    plain = work / "plain-data" / "git" / "plain.git"
    git("clone", "-q", "--bare", str(work / "first"), str(plain), home=home)
    git("config", "http.receivepack", "true", cwd=plain, home=home)
    (work / "plain-app").mkdir()
    (work / "plain-app" / "plain_served.py").write_text(PLAIN_APP)
    http_port, daemon_port = free_port(), free_port()
    granian = Path(sys.executable).with_name("granian")
    env = os.environ | {"FORJA_DATA_DIR": str(work / "plain-data"), "PYTHONPATH": str(REPO)}
    command = [str(granian), "--interface", "asgi", "--host", "127.0.0.1", "--port", str(http_port), "--no-ws"]
    servers = [
        subprocess.Popen([*command, "--working-dir", str(work / "plain-app"), "plain_served:app"], env=env, cwd=REPO,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL),
        subprocess.Popen(["git", "daemon", "--reuseaddr", "--export-all", "--enable=receive-pack",
                          f"--base-path={plain.parent}", "--listen=127.0.0.1", f"--port={daemon_port}", str(plain.parent)],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL),
    ]  # fmt: skip
    try:
        urls = {"http": f"http://127.0.0.1:{http_port}/plain.git", "daemon": f"git://127.0.0.1:{daemon_port}/plain.git"}
        deadline = time.monotonic() + 60
        while True:
            try:
                git("ls-remote", urls["http"], home=home)
                git("ls-remote", urls["daemon"], home=home)
                break
            except subprocess.CalledProcessError:
                assert time.monotonic() < deadline, "the plain servers did not start"
                time.sleep(0.3)
        yield urls
    finally:
        for server in servers:
            server.terminate()
            server.wait(10)


def main() -> None:
    parser = argparse.ArgumentParser(description="Clone and push times of Forja's git server against a plain repository.")
    parser.add_argument("--versions", type=int, default=200)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--accounts", action="store_true", help="Forja with accounts, each request with an API token")
    args = parser.parse_args()
    figures: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory(prefix="forja-bench-git-") as folder:
        work, home = Path(folder), Path(folder) / "home"
        home.mkdir()
        (work / "forja").mkdir()
        with served_forja(work / "forja", FORJA_AUTH="password" if args.accounts else "none") as server:
            token = ""
            if args.accounts:
                server.operator.ok("user", "create", "bench@example.org", "--password-stdin", input="bench password 123")
                token = server.operator.ok("token", "create", "bench@example.org").strip()
            started = time.perf_counter()
            project = make_project(server.url, args.versions, token)
            print(f"made a project of {args.versions} versions through the API in {time.perf_counter() - started:.1f} s")
            signed_in = server.url.replace("http://", f"http://bench:{token}@") if token else server.url
            forja = f"{signed_in}/git/{project}.git"
            first = timed(lambda: git("clone", "-q", forja, str(work / "first"), home=home))
            print(f"first clone from Forja (builds the mirror): {first:.2f} s")
            with plain_servers(work, home) as plain:
                for run in range(args.runs):
                    for name, source in (("forja", forja), *plain.items()):
                        target = work / f"{name}-{run}"
                        clone = timed(lambda s=source, t=target: git("clone", "-q", s, str(t), home=home))
                        figures.setdefault(f"clone {name}", []).append(clone)
                        figures.setdefault(f"push {name}", []).append(push_once(target, home, run))
    medians = {name: statistics.median(values) for name, values in figures.items()}
    for name, value in medians.items():
        print(f"{name:<13} median {value:.3f} s  (runs: {', '.join(f'{v:.3f}' for v in figures[name])})")
    for what in ("clone", "push"):
        for plain_name in ("http", "daemon"):
            ratio = medians[f"{what} forja"] / medians[f"{what} {plain_name}"]
            pairs = zip(figures[f"{what} forja"], figures[f"{what} {plain_name}"], strict=True)
            paired = statistics.median(forja / plain for forja, plain in pairs)
            print(f"{what}: Forja / plain {plain_name} = {ratio:.2f}x, run by run {paired:.2f}x (target <= 1.5x)")


if __name__ == "__main__":
    main()
