"""The packages a project installs, read from its lockfiles (or, without one, its manifests), with where each is named.

npm: package-lock.json / npm-shrinkwrap.json (versions 1 to 3), yarn.lock (Yarn 1's format and Yarn 2+'s YAML) and
pnpm-lock.yaml (versions 5 to 9) give exact versions; a package.json with none of them gives names only. Python:
requirements.txt and pyproject.toml (PEP 621 `dependencies`); an exact pin (`==`) gives a version, anything else the
name only. Packages that come from elsewhere than the registry (git, a folder, a tarball's address, a workspace) are
skipped: the registry cannot vouch for them, nor against them.
"""

from __future__ import annotations

import json
import logging
import re
import tomllib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlsplit

import yaml

log = logging.getLogger(__name__)

Ecosystem = Literal["npm", "PyPI"]  # OSV's names for them
NPM_LOCKS = ("package-lock.json", "npm-shrinkwrap.json", "yarn.lock", "pnpm-lock.yaml")
_SKIP = re.compile(r"(^|/)(node_modules|\.git|\.venv|venv|site-packages|__pycache__)/")
_NPM_NAME = re.compile(r"^(@[a-z0-9][\w.-]*/)?[a-z0-9_.][\w.-]*$", re.IGNORECASE)
_PEP508_NAME = re.compile(r"^\s*([A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?)\s*(\[[^\]]*\])?\s*(.*)$")
_EXACT_PIN = re.compile(r"^==\s*([A-Za-z0-9][A-Za-z0-9.+!_-]*)\s*$")


@dataclass(frozen=True)
class Dependency:
    """One package a project installs: its registry, name and exact version ("" when only a range is known)."""

    ecosystem: Ecosystem
    name: str
    version: str
    file: str
    line: int | None
    source: str = ""  # the host the lockfile says it came from, when it says


def dependencies(tree: Mapping[str, bytes]) -> list[Dependency]:
    """Every registry package the project's lockfiles (else manifests) name, once per name and version; not the
    project's own packages (a workspace's members, named by their package.json, which its others may ask for by a
    version range rather than `workspace:`)."""
    found: dict[tuple[str, str, str], Dependency] = {}
    own = _own_packages(tree)
    for path in sorted(tree):
        if _SKIP.search(path):
            continue
        for dep in _read(tree, path):
            if not (dep.ecosystem == "npm" and dep.name in own):
                found.setdefault((dep.ecosystem, dep.name, dep.version), dep)
    return list(found.values())


def _own_packages(tree: Mapping[str, bytes]) -> set[str]:
    own = set()
    for path in tree:
        if path.rsplit("/", 1)[-1] == "package.json" and not _SKIP.search(path):
            try:
                name = json.loads(tree[path]).get("name")
            except (ValueError, AttributeError):
                continue
            if isinstance(name, str):
                own.add(name)
    return own


def _read(tree: Mapping[str, bytes], path: str) -> Iterator[Dependency]:
    folder, _, base = path.rpartition("/")
    text = tree[path].decode("utf-8", "replace")
    try:
        if base in ("package-lock.json", "npm-shrinkwrap.json"):
            yield from _package_lock(path, text)
        elif base == "yarn.lock":
            yield from _yarn_lock(path, text)
        elif base == "pnpm-lock.yaml":
            yield from _pnpm_lock(path, text)
        elif base == "package.json" and not _locked(tree, folder):
            yield from _package_json(path, text)
        elif base == "requirements.txt":
            yield from _requirements(path, text)
        elif base == "pyproject.toml" and f"{folder}/requirements.txt".lstrip("/") not in tree:
            yield from _pyproject(path, text)
    except (ValueError, TypeError, AttributeError, RecursionError, yaml.YAMLError, tomllib.TOMLDecodeError) as exc:
        # A file its own tool cannot read fails the install, which says so; the review reads what it can.
        log.info("packages check: %s is not readable (%s)", path, type(exc).__name__)


def _locked(tree: Mapping[str, bytes], folder: str) -> bool:
    """Whether a lockfile in the folder or above it (a workspace's root) pins the folder's packages."""
    parts = folder.split("/") if folder else []
    folders = ["/".join(parts[:depth]) for depth in range(len(parts) + 1)]
    return any(f"{above}/{lock}".lstrip("/") in tree for above in folders for lock in NPM_LOCKS)


class _Lines:
    """The line a text first names something on, counted from 1."""

    def __init__(self, text: str) -> None:
        self.text = text

    def of(self, needle: str) -> int | None:
        at = self.text.find(needle)
        return None if at < 0 else self.text.count("\n", 0, at) + 1

    def of_key(self, key: str) -> int | None:
        """A YAML mapping's key, written bare or quoted."""
        quoted = self.of(f"'{key}':") or self.of(f'"{key}":') or self.of(f" {key}:")
        bare = self.of(f"\n{key}:")
        return quoted or (bare + 1 if bare else None)


def _npm(path: str, name: str, version: str, line: int | None, resolved: object = None) -> Iterator[Dependency]:
    if _NPM_NAME.match(name) and re.match(r"^\d+\.\d+\.\d+", version):
        source = (urlsplit(str(resolved)).hostname or "") if resolved else ""
        yield Dependency("npm", name, version, path, line, source)


def _package_lock(path: str, text: str) -> Iterator[Dependency]:
    data = json.loads(text)
    lines = _Lines(text)
    packages = data.get("packages")
    if isinstance(packages, dict):  # lockfileVersion 2 and 3
        for key, entry in packages.items():
            if "node_modules/" not in key or not isinstance(entry, dict) or entry.get("link"):
                continue
            if not _from_registry(entry.get("resolved")):
                continue
            name = entry.get("name") or key.rsplit("node_modules/", 1)[1]
            yield from _npm(path, str(name), str(entry.get("version", "")), lines.of(f'"{key}"'), entry.get("resolved"))
        return
    yield from _lock_v1(path, data.get("dependencies"), lines)


def _lock_v1(path: str, deps: object, lines: _Lines) -> Iterator[Dependency]:
    if not isinstance(deps, dict):
        return
    for name, entry in deps.items():
        if not isinstance(entry, dict):
            continue
        version = str(entry.get("version", ""))
        if version.startswith("npm:"):  # an alias: "npm:real-name@1.2.3"
            name, _, version = version[4:].rpartition("@")
        if _from_registry(entry.get("resolved")):
            yield from _npm(path, name, version, lines.of(f'"{name}"'), entry.get("resolved"))
        yield from _lock_v1(path, entry.get("dependencies"), lines)


def _from_registry(resolved: object) -> bool:
    """Whether a lockfile's `resolved` is a registry tarball (or absent, as for bundled and offline-made locks)."""
    if not resolved:
        return True
    text = str(resolved)
    return text.startswith(("http://", "https://")) and "/-/" in text


def _yarn_lock(path: str, text: str) -> Iterator[Dependency]:
    if re.search(r"^__metadata:", text, re.MULTILINE):
        yield from _yarn_berry(path, text)
        return
    header: tuple[str, int] | None = None
    for number, raw in enumerate(text.splitlines(), 1):
        if raw and not raw[0].isspace() and not raw.startswith("#") and raw.rstrip().endswith(":"):
            spec = raw.rstrip()[:-1].split(",")[0].strip().strip('"')
            header = (spec, number)
        elif header and (match := re.match(r'^\s+version:?\s+"?([^"\s]+)"?', raw)):
            spec, at = header
            name, _, rest = spec[1:].partition("@")
            name = spec[0] + name
            if rest.startswith("npm:"):  # an alias: "alias@npm:real-name@^1"
                name = rest[4:].rpartition("@")[0] or rest[4:]
            if not rest.startswith(("file:", "link:", "git", "http", "workspace:", "portal:", "patch:")):
                yield from _npm(path, name, match.group(1), at)
            header = None


def _yarn_berry(path: str, text: str) -> Iterator[Dependency]:
    data = yaml.safe_load(text)
    lines = _Lines(text)
    for key, entry in data.items():
        resolution = entry.get("resolution", "") if isinstance(entry, dict) else ""
        name, sep, version = str(resolution).rpartition("@npm:")
        if sep and key != "__metadata":
            yield from _npm(path, name, version, lines.of_key(str(key)))


def _pnpm_lock(path: str, text: str) -> Iterator[Dependency]:
    data = yaml.safe_load(text)
    lines = _Lines(text)
    v5 = str(data.get("lockfileVersion", "")).startswith("5")
    for key in data.get("packages") or {}:
        spec = str(key).lstrip("/")
        if v5:  # /name/version, and _peer@version suffixes
            name, _, version = spec.rpartition("/")
            version = version.split("_")[0]
        else:  # 6 to 9: name@version, and (peer@version) suffixes
            name, _, version = spec.split("(")[0].rpartition("@")
        yield from _npm(path, name, version, lines.of_key(str(key)))


def _package_json(path: str, text: str) -> Iterator[Dependency]:
    data = json.loads(text)
    lines = _Lines(text)
    for field in ("dependencies", "devDependencies", "optionalDependencies"):
        section = data.get(field)
        for name, spec in section.items() if isinstance(section, dict) else ():
            spec = str(spec)
            if spec.startswith(("file:", "link:", "git", "http", "workspace:", "github:", "portal:")) or "/" in spec:
                continue
            if spec.startswith("npm:"):
                name = spec[4:].rpartition("@")[0] or spec[4:]
            version = spec if re.fullmatch(r"\d+\.\d+\.\d+(?:-[\w.-]+)?", spec) else ""
            if _NPM_NAME.match(name):
                yield Dependency("npm", name, version, path, lines.of(f'"{name}"'))


def _requirements(path: str, text: str) -> Iterator[Dependency]:
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.split(" #")[0].strip().rstrip("\\").strip()
        if not line or line.startswith(("#", "-", ".", "/")) or "://" in line or " @ " in line:
            continue
        yield from _pep508(path, line, number)


def _pyproject(path: str, text: str) -> Iterator[Dependency]:
    project = tomllib.loads(text).get("project")
    listed = project.get("dependencies") if isinstance(project, dict) else None
    lines = _Lines(text)
    for requirement in listed if isinstance(listed, list) else []:
        if isinstance(requirement, str) and " @ " not in requirement:
            yield from _pep508(path, requirement, lines.of(requirement))


def _pep508(path: str, requirement: str, line: int | None) -> Iterator[Dependency]:
    match = _PEP508_NAME.match(requirement.split(";")[0])
    if not match:
        return
    pin = _EXACT_PIN.match(match.group(3).strip())
    yield Dependency("PyPI", normal_pypi_name(match.group(1)), pin.group(1) if pin else "", path, line)


def normal_pypi_name(name: str) -> str:
    """A PyPI name as the index compares them (PEP 503): `Flask_Login` and `flask-login` are one project."""
    return re.sub(r"[-_.]+", "-", name).lower()


def private_scopes(tree: Mapping[str, bytes]) -> set[str]:
    """The npm scopes a project's .npmrc sends to a registry of their own (`@acme:registry=...`): private packages
    that the public registry rightly does not know."""
    scopes = set()
    for path, data in tree.items():
        if path.rpartition("/")[2] == ".npmrc" and not _SKIP.search(path):
            scopes |= set(re.findall(r"^\s*(@[\w.-]+):registry\s*=", data.decode("utf-8", "replace"), re.MULTILINE))
    return scopes
