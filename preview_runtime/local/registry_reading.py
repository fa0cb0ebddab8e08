"""What the egress proxy reads in a registry's traffic: which package an install asks about, and what it may have.

npm asks for a package's document (its packument: `GET /<name>`, a scope's slash escaped as `%2f` or not) before it
installs any version of it, and pip for the package's index page (`GET /simple/<name>/`, or PyPI's JSON API
`/pypi/<name>/json`). The proxy asks an injected PackageCheck about each (ecosystem, name) before forwarding (builder
wires it from its install gate: preview_runtime knows nothing of why a package is refused). A refused package is
answered 403 with a sentence npm and pip show; versions held back (too new) are dropped from the answer, so the
install picks an older one. Tarballs and files pass unread: a version is only installed once its document listed it.
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Awaitable, Callable, Collection, Mapping
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import unquote, urlsplit

Ecosystem = Literal["npm", "PyPI"]


@dataclass(frozen=True)
class Verdict:
    """What a sandbox may install of one package: `refusal` (a sentence) when nothing; else all but `held_back`."""

    refusal: str = ""
    held_back: frozenset[str] = frozenset()


PackageCheck = Callable[[Ecosystem, str], Awaitable[Verdict]]

# The public registries the proxy reads, and the path their packages' documents are under.
DEFAULT_REGISTRIES: Mapping[tuple[str, int], tuple[Ecosystem, str]] = {
    ("registry.npmjs.org", 443): ("npm", "/"),
    ("registry.yarnpkg.com", 443): ("npm", "/"),
    ("pypi.org", 443): ("PyPI", "/"),
}
_KINDS: Mapping[str, Ecosystem] = {
    "npm_config_registry": "npm",
    "NPM_CONFIG_REGISTRY": "npm",
    "PIP_INDEX_URL": "PyPI",
    "PIP_EXTRA_INDEX_URL": "PyPI",
}
_PYPI_PAGE = re.compile(r"/(?:\+?simple/(?P<simple>[^/]+)/?|pypi/(?P<json>[^/]+)/json)$")
_NPM_NAME = re.compile(r"(?:@[a-z0-9][\w.~-]*/)?[a-z0-9][\w.~-]*", re.IGNORECASE)
_ANCHOR = re.compile(r"<a\s[^>]*>\s*(?P<file>[^<\s]+)\s*</a>\s*(?:<br\s*/?>)?\s*", re.IGNORECASE)
_SDIST = (".tar.gz", ".zip", ".tar.bz2", ".tgz", ".tar")


def registries(env: Mapping[str, str], hosts: Collection[str]) -> dict[tuple[str, int], tuple[Ecosystem, str]]:
    """The registries whose traffic is read, by (host, port): the public ones allowed in `hosts`, and the mirrors the
    environment names (npm's, pip's index), each with its ecosystem and the path its documents are under."""
    found = {key: kind for key, kind in DEFAULT_REGISTRIES.items() if key[0] in hosts}
    for variable, ecosystem in _KINDS.items():
        for url in env.get(variable, "").split():
            with contextlib.suppress(ValueError):  # a port that is not a number: not a usable mirror
                parts = urlsplit(url)
                port = parts.port or {"https": 443, "http": 80}.get(parts.scheme.lower())
                if parts.hostname and port:
                    base = parts.path if ecosystem == "npm" else "/"
                    found[(parts.hostname.lower().rstrip("."), port)] = (ecosystem, base.rstrip("/") + "/")
    return found


def asked(ecosystem: Ecosystem, base: str, method: str, target: str) -> str | None:
    """The package whose document a request asks for (its name), or None for anything else (a tarball, a search)."""
    if method not in ("GET", "HEAD"):
        return None
    path = urlsplit(target).path
    if ecosystem == "PyPI":
        match = _PYPI_PAGE.search(path)
        return unquote(match["simple"] or match["json"]) if match else None
    if not path.startswith(base):
        return None
    name = unquote(path[len(base) :])
    return name if _NPM_NAME.fullmatch(name) else None


def refused(ecosystem: Ecosystem, sentence: str) -> bytes:
    """The 403 answer to a refused package's document: npm prints the `error` of a JSON body after its status line
    (`403 Forbidden - GET <address> - <error>`), pip the reason after the status code."""
    if ecosystem == "npm":  # it prints the reason too: once is enough
        reason, body, kind = "Forbidden", json.dumps({"error": sentence}).encode(), "application/json"
    else:
        reason = sentence.encode("ascii", "replace").decode().replace("\r", " ").replace("\n", " ")
        body, kind = f"{sentence}\n".encode(), "text/plain; charset=utf-8"
    head = f"HTTP/1.1 403 {reason}\r\nContent-Type: {kind}\r\nContent-Length: {len(body)}\r\n\r\n"
    return head.encode("latin-1") + body


def without(ecosystem: Ecosystem, body: bytes, content_type: str, held: frozenset[str]) -> bytes | None:
    """A package's document without the `held` versions; None when it is not a shape read here (passed as it is)."""
    if "html" in content_type:
        page = body.decode("utf-8", "surrogateescape")
        return _ANCHOR.sub(lambda m: "" if _file_version(m["file"]) in held else m[0], page).encode("utf-8", "surrogateescape")
    try:
        data = json.loads(body)
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    if ecosystem == "npm":
        _npm_without(data, held)
    else:
        _pypi_without(data, held)
    return json.dumps(data).encode()


def _npm_without(data: dict[str, Any], held: frozenset[str]) -> None:
    for key in ("versions", "time"):
        if isinstance(listed := data.get(key), dict):
            data[key] = {version: value for version, value in listed.items() if version not in held}
    versions = data.get("versions")
    tags = data.get("dist-tags")
    if not isinstance(tags, dict) or not isinstance(versions, dict):
        return
    for tag, version in list(tags.items()):
        if version in held:
            del tags[tag]
    if "latest" not in tags and (stable := [v for v in versions if "-" not in v and _semver(v) is not None]):
        tags["latest"] = max(stable, key=lambda v: _semver(v) or ())  # npm installs `latest` when it satisfies


def _pypi_without(data: dict[str, Any], held: frozenset[str]) -> None:
    if isinstance(files := data.get("files"), list):  # the simple index in JSON (PEP 691)
        data["files"] = [f for f in files if not isinstance(f, dict) or _file_version(str(f.get("filename"))) not in held]
    if isinstance(versions := data.get("versions"), list):
        data["versions"] = [version for version in versions if version not in held]
    if isinstance(releases := data.get("releases"), dict):  # the JSON API
        data["releases"] = {version: files for version, files in releases.items() if version not in held}


def _file_version(filename: str) -> str:
    """The version a distribution's file name carries (`name-1.0-py3-none-any.whl`, `name-1.0.tar.gz`)."""
    name = unquote(filename.rsplit("/", 1)[-1].split("#", 1)[0])
    if name.endswith(".whl"):
        parts = name.split("-")
        return parts[1] if len(parts) > 2 else ""
    for suffix in _SDIST:
        if name.endswith(suffix):
            return name[: -len(suffix)].rpartition("-")[2]
    return ""


def _semver(version: str) -> tuple[int, ...] | None:
    try:
        return tuple(int(part) for part in version.split("+", 1)[0].split("."))
    except ValueError:
        return None
