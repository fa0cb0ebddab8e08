"""How to run a project nobody wrote for Forja, read from its own files.

Where the project is: the tree's root, or the one folder everything sits in (a zip of a folder), or a front
end and an API in two folders side by side, or the folder a person's run settings name (override.py). How it starts:
a package.json script that starts a dev server, else what a file for another host declares (declared.py: .replit,
Procfile, Makefile, devcontainer, compose), else the conventions of Node.js (node.py), Python (python.py), or plain
HTML served as it is. Anything else gets one sentence naming the file that tells and what Forja can run.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Mapping

from preview_runtime.detect.command import HOST, PORT, Command
from preview_runtime.detect.declared import declared
from preview_runtime.detect.found import Found, NotRunnable, RunOverride
from preview_runtime.detect.node import detect_node, dev_script, is_front_end, read_manifest
from preview_runtime.detect.override import folder_in, with_command
from preview_runtime.detect.python import detect_python, is_python, not_requirements, python_install
from preview_runtime.detect.workspaces import workspace_app

__all__ = ["Command", "Found", "NotRunnable", "RunOverride", "detect"]

_IGNORED = re.compile(r"(^|/)(node_modules|\.git|\.venv|venv|__pycache__|\.next|\.nuxt|\.svelte-kit|\.angular)/")
STATIC_FOLDERS = ("", "public", "site", "www", "docs", "static")
# Files that name a language Forja does not run, and what it is.
OTHER_STACKS = (
    ("Gemfile", "Ruby"),
    ("go.mod", "Go"),
    ("Cargo.toml", "Rust"),
    ("composer.json", "PHP"),
    ("pom.xml", "Java"),
    ("build.gradle", "Java or Kotlin"),
    ("build.gradle.kts", "Kotlin"),
    ("mix.exs", "Elixir"),
    ("pubspec.yaml", "Dart or Flutter"),
    ("deno.json", "Deno"),
    ("Package.swift", "Swift"),
)
# Where a repository keeps its docs site, beside a library that starts nothing itself.
DOCS_FOLDERS = frozenset({"docs", "doc", "documentation", "website", "site"})
_EACH_WORKSPACE = re.compile(r"npm run ([\w:.-]+) (?:--workspaces|-ws)\b")
_PROXY_TARGET = re.compile(rb"(?:localhost|127\.0\.0\.1|0\.0\.0\.0):(\d{2,5})")


def detect(tree: Mapping[str, bytes], override: RunOverride | None = None) -> list[Found]:
    """The parts to run, the one serving the page last; NotRunnable when there is nothing Forja can start.
    `override`: a person's run settings, the folder to run as the project's root (or the workspace member to run) and
    a command to start it with."""
    files = {p: d for p, d in tree.items() if not _IGNORED.search(p)}
    override = override or RunOverride()
    chosen = folder_in(files, override.folder) if override.folder else ""
    root = _base(files)
    app = None
    if chosen or not _runs_each_workspace(files, root):
        app = workspace_app(files, root, override)
    base = chosen or (app.dev.cwd if app is not None else root)
    if not override.command:
        return [app] if app is not None else _detect(files, base)
    try:
        parts = [app] if app is not None else _detect(files, base)
    except NotRunnable:  # the person's command starts it: detection only finds the install
        parts = []
    return [with_command(files, base, parts, override.command)]


def _detect(files: Mapping[str, bytes], base: str) -> list[Found]:
    try:
        found = _at(files, base)
    except NotRunnable:
        # A package.json for tooling only (a formatter, a linter) beside a page that is the site itself.
        if (page := _static(files, base)) is not None:
            return [page]
        # A library whose root starts nothing, with its docs site (Starlight, Docusaurus, MkDocs...) in a folder.
        if docs := [f for f in _in_subfolders(files, base)[0] if _docs_folder(f)]:
            docs[0].notes.append(f"The project's root has nothing to start; its folder {docs[0].dev.cwd} does: it runs that.")
            return [docs[0]]
        raise
    if found is not None:
        # A declared command (declared.py) may have no package.json at the root: no workspaces there.
        if not found.python and f"{base}/package.json".lstrip("/") in files and (parts := _workspaces(files, base, found)):
            return parts
        if found.python or not (api := _python_beside(files, base, found.notes)):
            return [found]
        # A Node root whose own script also starts a Python API (concurrently...): install both, run the script.
        found.install += api.install
        found.inputs += api.inputs
        found.python = True
        return [found]
    parts, refused = _in_subfolders(files, base)
    # A folder that starts nothing stops the preview (an API not written yet), unless all that runs is a docs site.
    if refused is not None and not (parts and all(_docs_folder(f) for f in parts)):
        raise refused
    fronts = [f for f in parts if not f.python and _front(files, f)]
    backs = [f for f in parts if f not in fronts]
    if fronts and backs:
        return [_as_api(backs[0], _api_port(files, fronts[0], backs[0])), fronts[0]]
    if len(parts) >= 1:
        return [(fronts or parts)[0]]
    if (page := _static(files, base)) is not None:
        return [page]
    prefix = f"{base}/" if base else ""
    for name, language in OTHER_STACKS:
        if f"{prefix}{name}" in files or (name == "pom.xml" and any(p.endswith(".csproj") for p in files)):
            raise NotRunnable(
                f"{prefix}{name} says this is a {language} project: Forja previews Node.js, Python and plain HTML projects, "
                f"so it cannot run this one."
            )
    raise NotRunnable(
        'Forja cannot tell how to start this project: add a package.json with a "dev" script, '
        "a requirements.txt with an app.py, or an index.html."
    )


def _base(files: Mapping[str, bytes]) -> str:
    """The folder the whole project sits in ("" for the root): a zip of `my-app/` imports as my-app/..."""
    tops = {p.split("/", 1)[0] if "/" in p else "" for p in files}
    if len(tops) == 1 and (top := tops.pop()):
        return top
    return ""


def _at(files: Mapping[str, bytes], folder: str) -> Found | None:
    prefix = f"{folder}/" if folder else ""
    has_node = f"{prefix}package.json" in files
    if has_node and dev_script(read_manifest(files, f"{prefix}package.json")):
        return detect_node(files, folder)
    if (found := declared(files, folder)) is not None:
        return found
    if has_node:
        return detect_node(files, folder)
    if is_python(files, folder):
        return detect_python(files, folder)
    return None


def _in_subfolders(files: Mapping[str, bytes], base: str) -> tuple[list[Found], NotRunnable | None]:
    """What each folder under `base` would run, and the first folder's refusal: a folder that starts nothing (a
    library's src/) does not stop its docs/ site from running."""
    parts: list[Found] = []
    refused: NotRunnable | None = None
    for folder in _subfolders(files, base):
        try:
            if (found := _at(files, folder)) is not None:
                parts.append(found)
        except NotRunnable as exc:
            refused = refused or exc
    return parts, refused


def _docs_folder(found: Found) -> bool:
    """Whether `found` runs from a folder a repository keeps its docs site in."""
    return found.dev.cwd.rsplit("/", 1)[-1].lower() in DOCS_FOLDERS


def _subfolders(files: Mapping[str, bytes], base: str) -> list[str]:
    prefix = f"{base}/" if base else ""
    names = sorted({p[len(prefix) :].split("/", 1)[0] for p in files if p.startswith(prefix) and "/" in p[len(prefix) :]})
    return [f"{prefix}{name}" for name in names]


def _python_beside(files: Mapping[str, bytes], base: str, notes: list[str]) -> Found | None:
    """The Python API next to a Node root (requirements.txt, or api/requirements.txt), for its install only. Not a
    requirements.txt written for people, nor one in a project with no Python file: `notes` says why it was passed by."""
    prefix = f"{base}/" if base else ""
    if not any(p.startswith(prefix) and p.endswith(".py") for p in files):
        if any(f"{folder}/requirements.txt".lstrip("/") in files for folder in [base, *_subfolders(files, base)]):
            notes.append("There is a requirements.txt but no Python file: the project runs as a Node.js app alone.")
        return None
    for folder in [base, *_subfolders(files, base)]:
        prefix = f"{folder}/" if folder else ""
        if line := not_requirements(files, folder):
            notes.append(f"{prefix}requirements.txt is not a list of Python packages (“{line[:80]}”): it was not installed.")
            continue
        if f"{prefix}requirements.txt" in files or f"{prefix}pyproject.toml" in files:
            try:
                return detect_python(files, folder)
            except NotRunnable:  # no server of its own to find: its packages are still needed
                install, inputs = python_install(files, folder)
                return Found(framework="Python", dev=Command([]), install=install, python=True, inputs=inputs)
    return None


def _runs_each_workspace(files: Mapping[str, bytes], base: str) -> bool:
    """The root's dev script runs one script in every npm workspace: `_workspaces` starts them side by side."""
    path = f"{base}/package.json" if base else "package.json"
    manifest = read_manifest(files, path) if path in files else {}
    scripts = manifest.get("scripts")
    name = dev_script(manifest)
    return bool(name and isinstance(scripts, dict) and _EACH_WORKSPACE.match(scripts[name]))


def _workspaces(files: Mapping[str, bytes], base: str, root: Found) -> list[Found]:
    """A root script that runs one script in every npm workspace (`npm run dev --workspaces`): npm runs them one
    after the other, so a first server that never ends keeps the others from starting. They run side by side
    instead, the front end on $PORT; the root's install covers them all."""
    argv = root.dev.argv
    prefix = f"{base}/" if base else ""
    manifest = read_manifest(files, f"{prefix}package.json")
    scripts = manifest.get("scripts")
    if argv[:2] != ["npm", "run"] or len(argv) < 3 or not isinstance(scripts, dict):
        return []
    match = _EACH_WORKSPACE.match(str(scripts.get(argv[2], "")))
    patterns = manifest.get("workspaces")
    if isinstance(patterns, dict):
        patterns = patterns.get("packages")
    if not match or not isinstance(patterns, list):
        return []
    folders = sorted(
        path.removesuffix("/package.json")
        for path in files
        if path.endswith("/package.json")
        and any(fnmatch.fnmatchcase(path.removesuffix("/package.json"), f"{prefix}{pattern}") for pattern in patterns)
    )
    parts = []
    for folder in folders:
        scripts_here = read_manifest(files, f"{folder}/package.json").get("scripts")
        if isinstance(scripts_here, dict) and isinstance(scripts_here.get(match.group(1)), str):
            part = detect_node(files, folder)
            part.install = []
            parts.append(part)
    fronts = [part for part in parts if _front(files, part)]
    if len(parts) < 2 or not fronts:
        return []
    backs = [_as_api(part, part.port) for part in parts if part is not fronts[0]]
    fronts[0].install, fronts[0].inputs = root.install, [*root.inputs, *fronts[0].inputs]
    return [*backs, fronts[0]]


def _front(files: Mapping[str, bytes], found: Found) -> bool:
    folder = found.dev.cwd
    return is_front_end(read_manifest(files, f"{folder}/package.json" if folder else "package.json"))


def _api_port(files: Mapping[str, bytes], front: Found, back: Found) -> int:
    """The port the front end's dev proxy sends /api to (vite.config, package.json "proxy"...), else the API's default."""
    prefix = f"{front.dev.cwd}/"
    for path, data in files.items():
        name = path.rsplit("/", 1)[-1]
        if (
            path.startswith(prefix)
            and path.count("/") == prefix.count("/")
            and (name.startswith(("vite.config", "next.config", "proxy.conf", "nuxt.config")) or name == "package.json")
        ):
            if match := _PROXY_TARGET.search(data):
                return int(match.group(1))
    return back.port


def _as_api(found: Found, port: int) -> Found:
    """The API half of a two-folder project: on the port its front end proxies to, on loopback, PORT its own."""
    argv = [w.replace(PORT, str(port)).replace(HOST, "127.0.0.1") for w in found.dev.argv]
    env = {**found.dev.env, "PORT": str(port), "HOST": "127.0.0.1"}
    found.dev = Command(argv, cwd=found.dev.cwd, env=env)
    found.side_port = port
    found.notes.append(f"{found.framework} API in {found.dev.cwd}/ on port {port}, started next to the front end.")
    return found


def _static(files: Mapping[str, bytes], base: str) -> Found | None:
    for folder in STATIC_FOLDERS:
        path = "/".join(p for p in (base, folder, "index.html") if p)
        if path in files:
            where = path.removesuffix("index.html").rstrip("/") or "."
            argv = ["python", "-m", "http.server", PORT, "--bind", HOST, "--directory", where]
            return Found(framework="Static HTML", dev=Command(argv), port=8080)
    return None
