"""How to run a project: install and dev commands, the port, and whether it has a server.

Read from the tree (package.json scripts, requirements.txt, index.html) and from the run hints a
generation or a starter gave; the hints win.
"""

from __future__ import annotations

import hashlib
import json
import re
import shlex
from collections.abc import Mapping, Sequence

from pydantic import BaseModel, Field

from preview_runtime.stack import detect_stack

SERVER_STACKS = frozenset({"express", "fastify", "python", "fastapi", "flask", "django"})
# Files that decide which dependencies get installed: a change to one needs a new install.
DEPENDENCY_MANIFESTS = ("package-lock.json", "package.json", "requirements.txt", "api/requirements.txt")
DEFAULT_PORT = 5173


class RunPlan(BaseModel):
    """What a runner executes, in the project's folder, with PORT set to `port`."""

    install: str = ""
    dev: str
    port: int = Field(default=DEFAULT_PORT, ge=1, le=65535)
    has_server: bool = Field(description="True when the project runs its own backend (not only a dev server for a front end).")
    lockfile_hash_inputs: list[str] = Field(
        default_factory=list, description="Files whose content decides the dependency cache key."
    )


def dependency_key(plan: RunPlan, files: Mapping[str, bytes], salt: Sequence[str]) -> str:
    """Names one installed set of dependencies: the install command and the manifests it reads, plus the
    runner's `salt` (the project, the image...). Runners keep dependencies under it to skip the next install."""
    digest = hashlib.sha256(json.dumps([*salt, plan.install]).encode())
    for name in sorted(plan.lockfile_hash_inputs):
        if (data := files.get(name)) is not None:
            digest.update(name.encode() + b"\0" + hashlib.sha256(data).digest())
    return digest.hexdigest()[:24]


def npm_script(plan: RunPlan, files: Mapping[str, bytes]) -> tuple[str, dict[str, str]] | None:
    """The package.json script that `plan.dev` runs through `npm run`, with the variables npm would set.

    Running the script without npm saves npm's own Node process (~17 MB per idle preview) and a
    process level between the container's init and the dev server. None when npm does more than
    run the script: arguments after the name, or pre/post scripts around it.
    """
    match = re.fullmatch(r"npm run ([\w:.-]+)", plan.dev.strip())
    manifest = _package_json(files)
    scripts = manifest.get("scripts")
    if not match or not isinstance(scripts, dict):
        return None
    name = match.group(1)
    script = scripts.get(name)
    if not isinstance(script, str) or not script.strip() or f"pre{name}" in scripts or f"post{name}" in scripts:
        return None
    env = {"npm_lifecycle_event": name, "npm_lifecycle_script": script}
    for key in ("name", "version"):
        if isinstance(manifest.get(key), str):
            env[f"npm_package_{key}"] = manifest[key]
    return script, env


def _package_json(tree: Mapping[str, bytes]) -> dict:
    """package.json as a dict; {} when it is missing or not a JSON object."""
    try:
        manifest = json.loads(tree["package.json"])
    except (KeyError, ValueError):
        return {}
    return manifest if isinstance(manifest, dict) else {}


def _checked_package_json(tree: Mapping[str, bytes]) -> dict:
    """package.json as a dict ({} when there is none); ValueError that says where when it is broken."""
    if "package.json" not in tree:
        return {}
    try:
        manifest = json.loads(tree["package.json"])
    except ValueError as exc:
        where = f" (line {exc.lineno}, column {exc.colno})" if isinstance(exc, json.JSONDecodeError) else ""
        raise ValueError(
            f"package.json is not valid JSON{where}: fix it in the Code tab, then start the preview again."
        ) from None
    if not isinstance(manifest, dict):
        raise ValueError("package.json must hold one JSON object ({...}): fix it in the Code tab, then start the preview again.")
    return manifest


def plan_for(tree: Mapping[str, bytes], hints: Mapping[str, object] | None = None) -> RunPlan:
    """The run plan for a tree; raises ValueError with a plain message when nothing is runnable."""
    hints = dict(hints or {})
    stack = set(detect_stack(tree))
    manifest = _checked_package_json(tree)
    scripts = manifest.get("scripts", {})
    cache_inputs = [p for p in DEPENDENCY_MANIFESTS if p in tree]
    install = ""
    dev = ""
    port = DEFAULT_PORT
    if "package.json" in tree:
        install = "npm install --no-audit --no-fund"
        if "requirements.txt" in tree or "api/requirements.txt" in tree:
            install += " && python -m pip install -r " + (
                "requirements.txt" if "requirements.txt" in tree else "api/requirements.txt"
            )
        script = "dev" if "dev" in scripts else "start" if "start" in scripts else ""
        dev = f"npm run {script}" if script else ""
        match = re.search(r"--port[ =]\$?\{?PORT:-(\d+)|--port[ =](\d+)|PORT\s*\|\|\s*(\d+)", json.dumps(scripts))
        if match:
            port = int(next(g for g in match.groups() if g))
        elif "vite" in stack:
            port = 5173
        elif stack & {"express", "fastify"}:
            port = 3000
    elif "requirements.txt" in tree:
        install = "python -m pip install -r requirements.txt"
        if "fastapi" in stack:
            module = "app.main:app" if "app/main.py" in tree else "main:app" if "main.py" in tree else "app:app"
            dev, port = f"python -m uvicorn {module} --host 0.0.0.0 --port ${{PORT:-8000}} --reload", 8000
        elif "flask" in stack:
            dev, port = "python -m flask --app app run --host 0.0.0.0 --port ${PORT:-5000} --reload", 5000
        elif "django" in stack and "manage.py" in tree:
            dev, port = "python manage.py runserver 0.0.0.0:${PORT:-8000}", 8000
    elif any(p.endswith(".html") for p in tree):
        dev, port = "python -m http.server ${PORT:-8080} --bind 0.0.0.0", 8080
    install = str(hints.get("install") or install)
    dev = str(hints.get("dev") or dev)
    port = int(hints.get("port") or port)  # type: ignore[call-overload]
    if not dev:
        raise ValueError('Forja cannot tell how to start this project: add a "dev" script to package.json, or an index.html.')
    return RunPlan(install=install, dev=dev, port=port, has_server=bool(stack & SERVER_STACKS), lockfile_hash_inputs=cache_inputs)


class BrowserPlan(BaseModel):
    """How a front-end-only project runs in a WebContainer in the person's browser.

    WebContainers run Node only, so projects with a Python part or a server of their own stay on
    the server runners. A page without package.json is served by a small Node static server the
    browser writes next to the project.
    """

    install: list[str] = Field(default_factory=list, description="argv of the install step; empty when none")
    dev: list[str] = Field(description="argv of the dev server, or empty for the built-in static server")
    port: int = Field(default=DEFAULT_PORT, ge=1, le=65535)


def browser_plan_for(tree: Mapping[str, bytes]) -> BrowserPlan | None:
    """The WebContainer plan of a front-end-only project, or None when it needs a server runner."""
    try:
        plan = plan_for(tree)
    except ValueError:
        return None
    if plan.has_server or "requirements.txt" in tree or "api/requirements.txt" in tree:
        return None
    if "package.json" in tree:
        return BrowserPlan(install=shlex.split(plan.install), dev=shlex.split(plan.dev), port=plan.port)
    return BrowserPlan(dev=[], port=plan.port)
