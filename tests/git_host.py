"""A git host for tests: bare repositories served on loopback by git's own `git http-backend` behind a tiny WSGI
server that asks for TOKEN as the password of HTTP Basic, as a git host does (no network)."""

from __future__ import annotations

import base64
import os
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from builder.git.commands import HTTP_BACKEND

TOKEN = "ghp_remote_token_never_shown_0123456789"


def git(*args: str, cwd: Path) -> str:
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(cwd),
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_TERMINAL_PROMPT": "0",
        "GIT_AUTHOR_NAME": "Dev",
        "GIT_AUTHOR_EMAIL": "dev@example.org",
        "GIT_COMMITTER_NAME": "Dev",
        "GIT_COMMITTER_EMAIL": "dev@example.org",
    }
    done = subprocess.run(["git", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, f"git {args}: {done.stderr}"
    return done.stdout


class _Server(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _Quiet(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@dataclass
class Host:
    """A git host on loopback: repositories under `root`, each asking for TOKEN."""

    root: Path
    base: str
    seen: list[str]  # the Authorization headers it was sent

    def url(self, name: str) -> str:
        return f"{self.base}/{name}.git"

    def bare(self, name: str) -> Path:
        repo = self.root / f"{name}.git"
        git("init", "--quiet", "--bare", "-b", "main", str(repo), cwd=self.root)
        git("config", "http.receivepack", "true", cwd=repo)
        return repo

    def clone(self, name: str, into: Path) -> Path:
        authed = self.url(name).replace("http://", f"http://dev:{TOKEN}@")
        git("clone", "--quiet", authed, str(into), cwd=into.parent)
        return into


def _app(root: Path, seen: list[str]) -> Any:
    expected = "Basic " + base64.b64encode(f"forja:{TOKEN}".encode()).decode()
    dev = "Basic " + base64.b64encode(f"dev:{TOKEN}".encode()).decode()

    def app(environ: dict[str, Any], start: Any) -> list[bytes]:
        auth = environ.get("HTTP_AUTHORIZATION", "")
        seen.append(auth)
        if auth not in (expected, dev):
            start("401 Unauthorized", [("WWW-Authenticate", 'Basic realm="test"'), ("Content-Type", "text/plain")])
            return [b"Bad credentials\n"]
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        cgi = {k: v for k, v in environ.items() if isinstance(v, str) and (k.isupper())}
        cgi |= {"GIT_PROJECT_ROOT": str(root), "GIT_HTTP_EXPORT_ALL": "1", "REMOTE_USER": "dev", "PATH": os.environ["PATH"]}
        out = subprocess.run([HTTP_BACKEND], input=body, env=cgi, capture_output=True, check=True).stdout
        head, _, payload = out.partition(b"\r\n\r\n")
        status, headers = "200 OK", []
        for line in head.decode("latin-1").split("\r\n"):
            name, _, value = line.partition(":")
            if name.lower() == "status":
                status = value.strip()
            else:
                headers.append((name.strip(), value.strip()))
        start(status, headers)
        return [payload]

    return app


@contextmanager
def served_host(root: Path) -> Iterator[Host]:
    """A git host on a loopback port for the repositories under `root`."""
    seen: list[str] = []
    server = make_server("127.0.0.1", 0, _app(root, seen), server_class=_Server, handler_class=_Quiet)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield Host(root, f"http://127.0.0.1:{server.server_port}", seen)
    finally:
        server.shutdown()
        server.server_close()
