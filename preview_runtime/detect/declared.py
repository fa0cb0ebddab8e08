"""How a project says it runs, in files written for other hosts, read after package.json's dev scripts.

In this order, the first that names a start command wins:
1. `.replit`: its `run` line, else the `run` of its `[deployment]`; the port is its first `[[ports]]` localPort.
2. `Procfile`: the `web:` line.
3. `Makefile`: a `dev`, `serve`, `start` or `run` target (in that order), run as `make TARGET`.
4. `.devcontainer/devcontainer.json` (or `.devcontainer.json`): `postStartCommand`, else `postAttachCommand`, as
   the start; `postCreateCommand` as the install; `forwardPorts`, else `appPort`, as the port.
5. A compose file (compose.yaml, docker-compose.yml...): the service built from the project's own folder (`build: .`),
   the one named web or app first; its `command`, and the container's side of its first `ports` entry. Services
   that pull an image from a registry are not the project's code and are skipped.

The install still comes from the stack the folder's manifests name (npm, pip, or both), unless the declaration
names one (a devcontainer's postCreateCommand).
"""

from __future__ import annotations

import json
import re
import shlex
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import yaml

from preview_runtime.detect.command import Command
from preview_runtime.detect.found import Found, NotRunnable
from preview_runtime.detect.node import detect_node, framework_of, node_install, read_manifest
from preview_runtime.detect.python import detect_python, is_python, python_install

MAKE_TARGETS = ("dev", "serve", "start", "run")
DEVCONTAINERS = (".devcontainer/devcontainer.json", ".devcontainer.json")
COMPOSE_FILES = ("compose.yaml", "compose.yml", "docker-compose.yaml", "docker-compose.yml")
_MAKE_RULE = r"^{}\s*:(?!=)"
_JSONC = re.compile(r'"(?:\\.|[^"\\])*"|//[^\n]*|/\*.*?\*/', re.DOTALL)
_TRAILING_COMMA = re.compile(r",(\s*[}\]])")


@dataclass(frozen=True)
class Declaration:
    command: str  # a shell line, run in the folder
    source: str  # for people: "the run line in .replit"
    port: int | None = None
    install: str = ""


def declared(files: Mapping[str, bytes], folder: str) -> Found | None:
    """The folder's declared start command, installed the way its stack is; None when no file declares one."""
    declaration = declaration_in(files, folder)
    if declaration is None:
        return None
    found = stack(files, folder)
    found.dev = Command(["sh", "-c", declaration.command], cwd=folder)
    found.source = declaration.source
    found.server = True  # a shell line runs on the server runners, never in the browser's WebContainer
    found.hot_reload = False  # whether it updates the open page itself is unknown: the page reloads after a save
    if declaration.port is not None:
        found.port = declaration.port
    if declaration.install:
        found.install = [Command(["sh", "-c", declaration.install], cwd=folder)]
    return found


def declaration_in(files: Mapping[str, bytes], folder: str) -> Declaration | None:
    """The first declaration in the documented order, or None."""
    prefix = f"{folder}/" if folder else ""
    readers: list[tuple[str, Callable[[str, str], Declaration | None]]] = [
        (".replit", _replit),
        ("Procfile", _procfile),
        ("Makefile", _makefile),
        *((name, _devcontainer) for name in DEVCONTAINERS),
        *((name, _compose) for name in COMPOSE_FILES),
    ]
    for name, read in readers:
        if (data := files.get(prefix + name)) is not None:
            if (found := read(data.decode("utf-8", "replace"), prefix + name)) is not None:
                return found
    return None


def stack(files: Mapping[str, bytes], folder: str) -> Found:
    """What the folder's manifests say (framework, port, install), with whatever start command they would give.
    A Flask app with a package.json for its CSS tooling gets both installs."""
    prefix = f"{folder}/" if folder else ""
    has_node = f"{prefix}package.json" in files
    has_python = is_python(files, folder)
    found, by = None, ""
    for name, detect, present in (("python", detect_python, has_python), ("node", detect_node, has_node)):
        if present and (found := _detected(detect, files, folder)) is not None:
            by = name
            break
    if found is None:
        framework = framework_of(read_manifest(files, f"{prefix}package.json")) if has_node else "Shell command"
        found = Found(framework="Python" if has_python else framework, dev=Command([]))
    if has_node and by != "node":
        install, inputs, notes = node_install(files, folder)
        _add(found, install, inputs)
        found.notes += notes
    if has_python and by != "python":
        _add(found, *python_install(files, folder))
        found.python = True
    return found


def _detected(detect: Callable[[Mapping[str, bytes], str], Found], files: Mapping[str, bytes], folder: str) -> Found | None:
    try:
        return detect(files, folder)
    except NotRunnable:
        return None


def _add(found: Found, install: list[Command], inputs: list[str]) -> None:
    found.install += [command for command in install if command not in found.install]
    found.inputs += [path for path in inputs if path not in found.inputs]


def _replit(text: str, path: str) -> Declaration | None:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise NotRunnable(f"{path} is not valid TOML ({exc}): fix it in the Code tab, then start the preview again.") from None
    ports = data.get("ports")
    first = ports[0] if isinstance(ports, list) and ports and isinstance(ports[0], dict) else {}
    port = first.get("localPort") if isinstance(first.get("localPort"), int) else None
    if command := _line(data.get("run")):
        return Declaration(command, f"the run line in {path}", port)
    deployment = data.get("deployment")
    if isinstance(deployment, dict) and (command := _line(deployment.get("run"))):
        return Declaration(command, f"the [deployment] run line in {path}", port)
    return None


def _procfile(text: str, path: str) -> Declaration | None:
    match = re.search(r"^web:\s*(.+)$", text, re.MULTILINE)
    return Declaration(match.group(1).strip(), f"the web line in {path}") if match else None


def _makefile(text: str, path: str) -> Declaration | None:
    for target in MAKE_TARGETS:
        if re.search(_MAKE_RULE.format(target), text, re.MULTILINE):
            return Declaration(f"make {target}", f"the {target} target in {path}")
    return None


def _devcontainer(text: str, path: str) -> Declaration | None:
    # devcontainer.json is JSON with comments and trailing commas.
    bare = _JSONC.sub(lambda m: m.group(0) if m.group(0).startswith('"') else "", text)
    try:
        data = json.loads(_TRAILING_COMMA.sub(r"\1", bare))
    except ValueError:
        raise NotRunnable(f"{path} is not valid JSON: fix it in the Code tab, then start the preview again.") from None
    if not isinstance(data, dict):
        return None
    key = next((k for k in ("postStartCommand", "postAttachCommand") if _line(data.get(k))), "")
    if not key:
        return None
    ports = data.get("forwardPorts") or data.get("appPort")
    first = ports[0] if isinstance(ports, list) and ports else ports
    return Declaration(_line(data[key]), f"{key} in {path}", _container_port(first), _line(data.get("postCreateCommand")))


def _compose(text: str, path: str) -> Declaration | None:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError:
        raise NotRunnable(f"{path} is not valid YAML: fix it in the Code tab, then start the preview again.") from None
    services = data.get("services") if isinstance(data, dict) else None
    if not isinstance(services, dict):
        return None
    ordered = sorted(services.items(), key=lambda item: item[0] not in ("web", "app"))
    for name, service in ordered:
        if not isinstance(service, dict) or not _built_here(service.get("build")):
            continue
        if command := _line(service.get("command")):
            ports = service.get("ports")
            port = _container_port(ports[0]) if isinstance(ports, list) and ports else None
            return Declaration(command, f"the {name} service's command in {path}", port)
    return None


def _built_here(build: object) -> bool:
    context = build.get("context", ".") if isinstance(build, dict) else build
    return isinstance(context, str) and context.rstrip("/") in (".", "")


def _line(value: object) -> str:
    """A command given as a string, an argv list, or (devcontainer) an object of commands run side by side."""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, list) and value and all(isinstance(word, str) for word in value):
        return shlex.join(value)
    if isinstance(value, dict) and (lines := [line for v in value.values() if (line := _line(v))]):
        return lines[0] if len(lines) == 1 else " & ".join(lines) + " & wait"
    return ""


def _container_port(value: object) -> int | None:
    """The port inside: 5000, "5000", "8000:5000", "127.0.0.1:8000:5000/tcp", or {target: 5000}."""
    if isinstance(value, dict):
        value = value.get("target")
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if 0 < value < 65536 else None
    if isinstance(value, str) and (match := re.search(r"(\d{1,5})(?:/\w+)?$", value.strip())):
        port = int(match.group(1))
        return port if 0 < port < 65536 else None
    return None
