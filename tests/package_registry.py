"""A package registry and an advisory feed on a loopback port, for tests of the review's packages check.

It speaks what the check asks, in the registries' own shapes: npm's full packument (`GET /<name>`, a scope's slash
escaped as npm escapes it, `%2f`), PyPI's JSON API (`GET /pypi/<name>/json` and `/pypi/<name>/<version>/json`) and
OSV's API (`POST /v1/querybatch` answering ids, `GET /v1/vulns/<id>`), and PyPI's simple index in JSON
(`GET /simple/<name>/`, as pip asks). npm's abbreviated packument is answered to what asks for it (`Accept:
application/vnd.npm.install-v1+json`, as an install does), and files (tarballs) at their paths. Every request's method
and path is recorded, and the bytes of the answers counted. Served over HTTPS, it stands for a public registry behind the egress
proxy.
"""

from __future__ import annotations

import json
import multiprocessing
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote

LONG_AGO = datetime(2025, 1, 6, tzinfo=UTC)
ABBREVIATED_NPM = "application/vnd.npm.install-v1+json"
# What npm's abbreviated packument keeps of each version's manifest.
ABBREVIATED = frozenset(
    {"dependencies", "optionalDependencies", "peerDependencies", "peerDependenciesMeta", "bundleDependencies"}
    | {"bin", "directories", "dist", "engines", "os", "cpu", "libc", "funding", "hasInstallScript", "_hasShrinkwrap"}
)


@dataclass
class Version:
    published: datetime = LONG_AGO
    deprecated: str = ""
    yanked: str = ""  # PyPI: the reason it was yanked ("" when it was not)
    manifest: dict[str, Any] = field(default_factory=dict)  # npm: the rest of its manifest (dependencies, dist...)


@dataclass
class Registry:
    """npm's and PyPI's packages by name (each version's facts), and OSV's advisories by (ecosystem, name, version)."""

    npm: dict[str, dict[str, Version]] = field(default_factory=dict)
    pypi: dict[str, dict[str, Version]] = field(default_factory=dict)
    advisories: dict[tuple[str, str, str], list[dict[str, Any]]] = field(default_factory=dict)
    files: dict[str, bytes] = field(default_factory=dict)  # by path: npm's tarballs
    requested: list[str] = field(default_factory=list)
    hosts: list[str] = field(default_factory=list)  # each request's Host header
    sent: int = 0  # bytes of the answers' bodies

    def packument(self, name: str, abbreviated: bool = False) -> dict[str, Any] | None:
        versions = self.npm.get(name)
        if versions is None:
            return None
        manifests = {
            v: {
                "name": name,
                "version": v,
                **{k: value for k, value in f.manifest.items() if not abbreviated or k in ABBREVIATED},
                **({"deprecated": f.deprecated} if f.deprecated else {}),
            }
            for v, f in versions.items()
        }
        times = {v: f.published.isoformat().replace("+00:00", "Z") for v, f in versions.items()}
        latest = max(versions)
        if abbreviated:  # npm's install form: no times but the last change
            return {"name": name, "dist-tags": {"latest": latest}, "versions": manifests, "modified": times[latest]}
        return {
            "name": name,
            "dist-tags": {"latest": latest},
            "versions": manifests,
            "time": {"created": times[min(versions)], **times},
        }

    def pypi_project(self, name: str, version: str) -> dict[str, Any] | None:
        versions = self.pypi.get(name)
        if versions is None or (version and version not in versions):
            return None

        def files(facts: Version) -> list[dict[str, Any]]:
            when = facts.published.isoformat().replace("+00:00", "Z")
            return [{"upload_time_iso_8601": when, "yanked": bool(facts.yanked), "yanked_reason": facts.yanked or None}]

        if version:
            return {"info": {"name": name, "version": version}, "urls": files(versions[version])}
        return {"info": {"name": name}, "releases": {v: files(f) for v, f in versions.items()}}

    def simple(self, name: str) -> dict[str, Any] | None:
        """PyPI's simple index page of a project, in JSON (PEP 691): one source file per version."""
        versions = self.pypi.get(name)
        if versions is None:
            return None
        files = [{"filename": f"{name}-{v}.tar.gz", "url": f"/files/{name}-{v}.tar.gz", "hashes": {}} for v in versions]
        return {"meta": {"api-version": "1.1"}, "name": name, "files": files, "versions": list(versions)}

    def querybatch(self, body: dict[str, Any]) -> dict[str, Any]:
        results = []
        for query in body["queries"]:
            key = (query["package"]["ecosystem"], query["package"]["name"], query["version"])
            results.append(
                {"vulns": [{"id": a["id"], "modified": "2026-01-01T00:00:00Z"} for a in self.advisories.get(key, [])]}
                if key in self.advisories
                else {}
            )
        return {"results": results}

    def vuln(self, vuln_id: str) -> dict[str, Any] | None:
        return next((a for listed in self.advisories.values() for a in listed if a["id"] == vuln_id), None)


def days_ago(days: float) -> datetime:
    return datetime.now(UTC) - timedelta(days=days)


class RegistryServer:
    """Serves a Registry on 127.0.0.1; `status` other than 200 answers every request with it (an outage)."""

    def __init__(self, registry: Registry, tls: ssl.SSLContext | None = None) -> None:
        self.registry = registry
        self.status = 200
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # Headers and body are two writes: with Nagle's algorithm the body of a kept-alive connection waits for
            # the client's delayed ACK (40 ms a request), which a registry's server does not make its clients wait.
            disable_nagle_algorithm = True

            def do_GET(self) -> None:
                server.registry.requested.append(f"GET {self.path}")
                server.registry.hosts.append(self.headers.get("Host", ""))
                parts = unquote(self.path).strip("/").split("/")
                if parts[0] == "simple" and len(parts) == 2:  # pip's question, in the form it asks for first
                    self.answer(server.registry.simple(parts[1]), "application/vnd.pypi.simple.v1+json")
                    return
                if (file := server.registry.files.get(unquote(self.path))) is not None:
                    self.answer(file, "application/octet-stream")
                    return
                abbreviated = self.headers.get("Accept", "").startswith(ABBREVIATED_NPM)
                self.answer(server.answer_get(unquote(self.path), abbreviated))

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                body = json.loads(self.rfile.read(length))
                server.registry.requested.append(f"POST {self.path}")
                self.answer(server.registry.querybatch(body) if self.path == "/v1/querybatch" else None)

            def answer(self, data: object, kind: str = "application/json") -> None:
                status = server.status if server.status != 200 else (404 if data is None else 200)
                payload = (
                    data
                    if status == 200 and isinstance(data, bytes)
                    else json.dumps(data if status == 200 else {"error": "not here"}).encode()
                )
                server.registry.sent += len(payload)
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        if tls is not None:  # a registry's own HTTPS, its certificate from the test's authority
            self.server.socket = tls.wrap_socket(self.server.socket, server_side=True)
        self.scheme = "https" if tls is not None else "http"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def answer_get(self, path: str, abbreviated: bool = False) -> object:
        parts = path.strip("/").split("/")
        if parts[0] == "pypi" and parts[-1] == "json":
            return self.registry.pypi_project(parts[1], parts[2] if len(parts) == 4 else "")
        if parts[:2] == ["v1", "vulns"]:
            return self.registry.vuln(parts[2])
        return self.registry.packument("/".join(parts), abbreviated)

    @property
    def url(self) -> str:
        return f"{self.scheme}://127.0.0.1:{self.port}"

    @property
    def port(self) -> int:
        return int(self.server.server_address[1])

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _serve(registry: Registry, urls: multiprocessing.Queue) -> None:
    urls.put(RegistryServer(registry).url)
    threading.Event().wait()


@contextmanager
def registry_in_child(registry: Registry) -> Iterator[str]:
    """The registry served by a process of its own (its address): a timing then measures the client, not a server
    that shares the test's interpreter lock."""
    spawn = multiprocessing.get_context("spawn")
    urls = spawn.Queue()
    child = spawn.Process(target=_serve, args=(registry, urls), daemon=True)
    child.start()
    try:
        yield urls.get(timeout=30)
    finally:
        child.kill()
        child.join()
