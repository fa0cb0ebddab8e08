"""How to run a project: install and dev commands, the port, and whether it has a server.

Read from the project's own files by preview_runtime.detect; this module turns what it found into the
shell commands the server runners execute and the argv the browser's WebContainer spawns.
"""

from __future__ import annotations

import hashlib
import json
import re
import shlex
from collections.abc import Mapping, Sequence

from pydantic import BaseModel, Field

from preview_runtime.detect import Found, NotRunnable, RunOverride, detect
from preview_runtime.detect.command import Command, sequence, together
from preview_runtime.detect.node import LOCKFILES, MANAGER_FILES
from preview_runtime.detect.python import MANIFESTS as PYTHON_MANIFESTS

DEFAULT_PORT = 5173
# Names of the files that decide which dependencies get installed: a change to one needs a new install.
DEPENDENCY_FILES = frozenset({*LOCKFILES, *MANAGER_FILES, "package.json", *PYTHON_MANIFESTS})


def is_dependency_file(path: str) -> bool:
    return path.rsplit("/", 1)[-1] in DEPENDENCY_FILES and "node_modules/" not in path


def dependency_files(tree: Mapping[str, bytes]) -> dict[str, bytes]:
    """The tree's dependency files alone: all an install ahead of the rest of the project gets to read."""
    return {path: data for path, data in tree.items() if is_dependency_file(path)}


class Mount(BaseModel):
    """A host folder the app's sandbox sees at `target` (its /data folder, its database's socket folder): the same
    folder for every version, so what the app keeps there outlives new versions, parks and restarts."""

    source: str = Field(description="The folder on the host (absolute).")
    target: str = Field(description="Where the app sees it (absolute), like /data.")
    read_only: bool = Field(default=False, description="Mounted read-only (a /data folder over its size quota).")


# The variables whose values name a mount's target: a runner with no sandbox to mount in (the local runner without
# bubblewrap) points them at the host folder instead (outside_paths).
MOUNTED_PATH_VARS = ("DATA_DIR", "DATABASE_URL", "DATABASE_PATH")


def outside_paths(env: Mapping[str, str], mounts: Sequence[Mount]) -> dict[str, str]:
    """`env` for processes that run with no sandbox: in MOUNTED_PATH_VARS, each mount's target becomes its host
    folder (a process outside a sandbox sees the host's /data, not the app's)."""
    env = dict(env)
    for name in MOUNTED_PATH_VARS:
        if name in env:
            for mount in mounts:
                env[name] = re.sub(rf"{re.escape(mount.target)}(?=/|$|\?|&)", mount.source, env[name])
    return env


class RunPlan(BaseModel):
    """What a runner executes, in the project's folder, with PORT set to `port`."""

    install: str = ""
    dev: str
    port: int = Field(default=DEFAULT_PORT, ge=1, le=65535)
    has_server: bool = Field(description="True when the project runs its own backend (not only a dev server for a front end).")
    hot_reload: bool = Field(
        default=False,
        description="The page's dev server updates the open page itself after a save (Vite's HMR...); else the page reloads it.",
    )
    lockfile_hash_inputs: list[str] = Field(
        default_factory=list, description="Files whose content decides the dependency cache key."
    )
    side_ports: list[int] = Field(
        default_factory=list,
        description="Ports of servers the plan starts beside the page's (an API): never taken for the preview's address.",
    )
    framework: str = Field(default="", description='What runs, for people: "Vite", "Next.js", "Flask"...')
    home_page: bool = Field(
        default=False,
        description="The page's dev command is a front-end framework's dev server (Vite, Next.js, Docusaurus...), which "
        "serves the app's home page: a 404 there is a failure, not a running app (an API's may rightly answer 404).",
    )
    notes: list[str] = Field(default_factory=list, description="Said in the Logs tab when the preview starts.")
    env: dict[str, str] = Field(
        default_factory=dict,
        exclude=True,
        repr=False,
        description="The app's own variables (its Environment), in the environment of its processes; Forja's own "
        "(PORT, HOST, PATH...) win over them. Never written into a record, a log line or a dump of the plan.",
    )
    kept_env: dict[str, str] = Field(
        default_factory=dict,
        description="Forja's variables for the app that are no secret (where its data is: DATA_DIR, an SQLite "
        "DATABASE_URL), in the environment of its processes over env: kept in a parked record, unlike env, so a Forja "
        "that restarted wakes the app with them.",
    )
    mounts: list[Mount] = Field(
        default_factory=list,
        description="Host folders the app's processes see (its /data folder...): kept in a parked record, unlike env.",
    )
    cpus: float | None = Field(
        default=None,
        gt=0,
        description="A CPU limit of its own (a publish's build sandbox), in place of the runner's limit for previews.",
    )
    source: str = Field(
        default="",
        description='The start command and where it came from, for people: "`python main.py` from the run line in .replit"; '
        "empty when Forja worked it out from the framework.",
    )


def dependency_key(plan: RunPlan, files: Mapping[str, bytes], salt: Sequence[str]) -> str:
    """Names one installed set of dependencies: the install command and the manifests it reads, plus the
    runner's `salt` (the project, the image...). Runners keep dependencies under it to skip the next install."""
    digest = hashlib.sha256(json.dumps([*salt, plan.install]).encode())
    for name in sorted(plan.lockfile_hash_inputs):
        if (data := files.get(name)) is not None:
            digest.update(name.encode() + b"\0" + hashlib.sha256(data).digest())
    return digest.hexdigest()[:24]


def npm_script(command: str, files: Mapping[str, bytes]) -> tuple[str, dict[str, str]] | None:
    """The package.json script that `command` (a plan's dev command, a publish's build) runs through `npm run`, with
    the variables npm would set.

    Running the script without npm saves npm's own Node process (~17 MB per idle preview) and a
    process level between the container's init and the dev server. Variables before `npm` and
    arguments after `--` are kept as npm would apply them. None when npm does more than run the
    script (pre/post scripts around it) or the command is not `npm run NAME`.
    """
    match = re.fullmatch(r"((?:[A-Z_][A-Z0-9_]*=\S+ )*)npm run ([\w:.-]+)(?: -- (.+))?", command.strip())
    manifest = _package_json(files)
    scripts = manifest.get("scripts")
    if not match or not isinstance(scripts, dict):
        return None
    assignments, name, args = match.groups()
    script = scripts.get(name)
    if not isinstance(script, str) or not script.strip() or f"pre{name}" in scripts or f"post{name}" in scripts:
        return None
    # npm appends the arguments to the script's text, so they reach its last command; so do they here.
    command = (f"export {assignments.strip()}; " if assignments else "") + script + (f" {args}" if args else "")
    env = {"npm_lifecycle_event": name, "npm_lifecycle_script": script}
    for key in ("name", "version"):
        if isinstance(manifest.get(key), str):
            env[f"npm_package_{key}"] = manifest[key]
    return command, env


def npm_folder_env(folder: str) -> dict[str, str]:
    """The variables npm sets for where a script runs (next to npm_script's), for the project's `folder`."""
    return {"npm_package_json": f"{folder}/package.json", "INIT_CWD": folder}


def npm_script_line(command: str, files: Mapping[str, bytes]) -> str:
    """`command` as one shell line that runs its npm script itself (npm_script) in the project's folder, with its
    `node_modules/.bin` first on PATH and npm's variables, as npm would: a build saves npm's own start (~0.1 s).
    `command` itself when npm does more than run the script."""
    script = npm_script(command, files)
    if script is None:
        return command
    line, env = script
    folder = " ".join(f'{name}="{value}"' for name, value in npm_folder_env("$PWD").items())
    npm_env = " ".join(f"{name}={shlex.quote(value)}" for name, value in env.items())
    return f'export PATH="$PWD/node_modules/.bin:$PATH" {folder} {npm_env}; {line}'


def _package_json(tree: Mapping[str, bytes]) -> dict:
    """package.json as a dict; {} when it is missing or not a JSON object."""
    try:
        manifest = json.loads(tree["package.json"])
    except (KeyError, ValueError):
        return {}
    return manifest if isinstance(manifest, dict) else {}


def plan_for(tree: Mapping[str, bytes], override: RunOverride | None = None) -> RunPlan:
    """The run plan for a tree (under a person's run settings, if any); raises NotRunnable (a ValueError) with one
    plain sentence when nothing is runnable."""
    parts = detect(tree, override)
    front = parts[-1]
    install = sequence([command for part in parts for command in part.install])
    dev = together([part.dev for part in parts])
    port = front.port
    return RunPlan(
        install=install,
        dev=dev,
        port=port,
        has_server=any(part.server for part in parts),
        hot_reload=front.hot_reload,
        lockfile_hash_inputs=[path for part in parts for path in part.inputs],
        side_ports=[part.side_port for part in parts if part.side_port is not None],
        framework=" + ".join(part.framework for part in reversed(parts)),
        home_page=front.home_page,
        notes=[note for part in parts for note in part.notes],
        source=f"`{_for_people(front.dev)}` from {front.source}" if front.source else "",
    )


def _for_people(dev: Command) -> str:
    """The command as the project wrote it: a declared shell line without the `sh -c` it runs in, a script without
    the address Forja appends (`npm run dev`, not `npm run dev -- --port "$PORT"...`)."""
    if dev.argv[:2] == ["sh", "-c"] and len(dev.argv) == 3:
        return dev.argv[2]
    return shlex.join(dev.argv[: dev.argv.index("--")] if "--" in dev.argv else dev.argv)


def plan_so_far(tree: Mapping[str, bytes], override: RunOverride | None = None) -> RunPlan | None:
    """The run plan of a project still being written: from the files there so far, else from their dependency files
    alone (an API's app.py may come before the requirements.txt that makes it runnable); None when neither runs."""
    for files in (tree, dependency_files(tree)):
        try:
            return plan_for(files, override)
        except NotRunnable:
            continue
    return None


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
    """The WebContainer plan of a front-end-only project at the tree's root, or None when it needs a server runner."""
    try:
        parts = detect(tree)
    except NotRunnable:
        return None
    if len(parts) != 1 or not _browser_runs(parts[0]):
        return None
    found = parts[0]
    if found.framework == "Static HTML":
        # The browser's own static server serves the root; a page in public/ or docs/ waits for a server runner.
        return BrowserPlan(dev=[], port=DEFAULT_PORT) if found.dev.argv[-1] == "." else None
    port = found.port
    install = found.install[0].resolved(port, "0.0.0.0") if found.install else []
    return BrowserPlan(install=install, dev=found.dev.resolved(port, "0.0.0.0"), port=port)


def _browser_runs(found: Found) -> bool:
    """WebContainers run Node only, in the project's root, with npm; a server of its own stays on the server runners."""
    return not (found.server or found.python or found.dev.cwd or found.dev.env) and all(
        c.argv[:2] == ["npm", "install"] for c in found.install
    )
