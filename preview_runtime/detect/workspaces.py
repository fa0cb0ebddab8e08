"""Workspaces (monorepos): one install at the workspace's root with its package manager, the app run in one member.

npm and yarn list their members in package.json's "workspaces", pnpm in pnpm-workspace.yaml; Turborepo and Nx
package-based layouts use either. A member is a web app when it has a front-end framework dependency and a dev
script. The member's own script runs in its folder (`cd apps/web && npm run dev`): every manager leaves its
binaries in node_modules/.bin there or in the root's, so no package manager is needed once installed.
"""

from __future__ import annotations

import fnmatch
import json
import re
from collections.abc import Mapping

import yaml

from preview_runtime.detect.command import HOST, PORT, Command
from preview_runtime.detect.found import Found, NotRunnable, RunOverride
from preview_runtime.detect.node import (
    detect_node,
    dev_script,
    framework_of,
    in_folder,
    install_for,
    is_front_end,
    read_manifest,
)

# Which app runs when several members are web apps: the first of these folders that is one, else the first by name.
PREFERRED_APPS = (
    "apps/web",
    "apps/app",
    "apps/frontend",
    "apps/client",
    "apps/site",
    "apps/www",
    "apps/docs",
    "packages/web",
    "packages/app",
    "packages/frontend",
    "packages/client",
    "web",
    "app",
    "frontend",
    "client",
)


def member_patterns(files: Mapping[str, bytes], base: str) -> list[str] | None:
    """The workspace's member globs (relative to `base`), from pnpm-workspace.yaml or package.json; None when the
    folder is not a workspace root."""
    if (pnpm := files.get(in_folder(base, "pnpm-workspace.yaml"))) is not None:
        try:
            config = yaml.safe_load(pnpm)
        except yaml.YAMLError:
            raise NotRunnable(
                f"{in_folder(base, 'pnpm-workspace.yaml')} is not valid YAML: fix it in the Code tab, then start the preview again."
            ) from None
        packages = config.get("packages") if isinstance(config, dict) else None
        return [str(p) for p in packages] if isinstance(packages, list) else []
    if in_folder(base, "package.json") not in files:
        return None
    patterns = read_manifest(files, in_folder(base, "package.json")).get("workspaces")
    if isinstance(patterns, dict):  # yarn's {"packages": [...], "nohoist": [...]}
        patterns = patterns.get("packages")
    return [str(p) for p in patterns] if isinstance(patterns, list) else None


def members(files: Mapping[str, bytes], base: str, patterns: list[str]) -> list[str]:
    """Member folders (full paths in the tree) that hold a package.json, by name; `!pattern` excludes."""
    prefix = f"{base}/" if base else ""
    wanted = [p.strip().removeprefix("./").rstrip("/") for p in patterns if not p.startswith("!")]
    excluded = [p[1:].strip().removeprefix("./").rstrip("/") for p in patterns if p.startswith("!")]
    found = set()
    for path in files:
        if not path.endswith("/package.json") or not path.startswith(prefix):
            continue
        folder = path.removesuffix("/package.json")
        relative = folder[len(prefix) :]
        # "apps/**" and "apps/*" both name apps/web: fnmatch's * crosses "/" anyway.
        if any(fnmatch.fnmatchcase(relative, p) for p in wanted) and not any(fnmatch.fnmatchcase(relative, p) for p in excluded):
            found.add(folder)
    return sorted(found)


# A root dev script that hands the start to the workspace's members (Turborepo, Nx, Lerna, npm/yarn/pnpm's own
# workspace flags): Forja runs the web app member itself instead, with the preview's address.
_HANDS_OFF = re.compile(r"\b(turbo|nx|lerna)\b|--workspaces?\b|\s-ws\b|--filter\b|\s-r\b|--recursive\b|\bworkspaces? ")


def _root_starts_itself(manifest: Mapping[str, object]) -> bool:
    scripts = manifest.get("scripts")
    name = dev_script(manifest)
    return bool(name and isinstance(scripts, dict) and not _HANDS_OFF.search(scripts[name]))


def is_web_app(files: Mapping[str, bytes], folder: str) -> bool:
    manifest = read_manifest(files, in_folder(folder, "package.json"))
    return bool(dev_script(manifest)) and is_front_end(manifest)


def workspace_app(files: Mapping[str, bytes], base: str, override: RunOverride | None = None) -> Found | None:
    """The workspace's web app, installed at the root and run in its member folder; None when `base` is no workspace
    root, or, unless the person chose a member, when the root itself is the web app (its members then are its
    libraries) or its own dev script starts the project (a front end and an API side by side, with concurrently)."""
    patterns = member_patterns(files, base)
    folders = members(files, base, patterns) if patterns is not None else []
    apps = [f for f in folders if is_web_app(files, f)]
    nx = not apps and in_folder(base, "nx.json") in files
    projects: dict[str, tuple[str, str]] = {}
    if nx:  # Nx's integrated layout: apps are project.json folders, the root holds every dependency
        projects = nx_projects(files, base)
        folders, apps = sorted(projects), sorted(f for f, (_, target) in projects.items() if target)
    elif patterns is None:
        return None
    named = _named(folders, base, override)
    if override is not None and override.folder and not named:
        return None  # the person's folder is no member: it runs as a project of its own
    chosen = _chosen(folders, apps, base, override)
    root = read_manifest(files, in_folder(base, "package.json")) if in_folder(base, "package.json") in files else {}
    if not chosen or (not named and (is_web_app(files, base) or _root_starts_itself(root))):
        return None
    install, manager, notes = install_for(files, base, root)
    found = _nx_found(files, base, chosen, projects[chosen], root) if nx else detect_node(files, chosen)
    found.install = install
    # No inputs: the dependency caches keep the root's node_modules alone, and a workspace's members have their
    # own (pnpm links each member's dependencies there), so a restored cache would miss them: it installs each time.
    found.inputs = []
    found.notes = notes + [n for n in found.notes if "lockfile" not in n]
    found.choices = [f for f in apps if f != chosen]
    relative = chosen[len(f"{base}/") if base else 0 :]
    if found.choices:
        found.notes.append(f"Several apps in this workspace: running {relative}; choose another in Run settings.")
    if nx:
        target = found.dev.argv[5].rsplit(":", 1)[-1]  # nx run <name>:<target>
        found.source = f"the {target} target of {in_folder(relative, 'project.json')}, an Nx project"
    else:
        how = f'the "{found.dev.argv[2]}" script' if found.dev.argv[:2] == ["npm", "run"] else f"{found.framework}'s dev command"
        found.source = f"{how} in {in_folder(relative, 'package.json')}, a member of the {manager} workspace"
    return found


def _named(folders: list[str], base: str, override: RunOverride | None) -> list[str]:
    """The member the person chose (full path), when their folder names one."""
    wanted = override.folder.strip("/") if override is not None else ""
    prefix = f"{base}/" if base else ""
    return [f for f in folders if wanted and f in (wanted, f"{prefix}{wanted}")][:1]


def _chosen(folders: list[str], apps: list[str], base: str, override: RunOverride | None) -> str:
    """The person's member, else the first preferred folder that is a web app, else the first web app by name."""
    if named := _named(folders, base, override):
        return named[0]
    prefix = f"{base}/" if base else ""
    ranked = [f"{prefix}{name}" for name in PREFERRED_APPS if f"{prefix}{name}" in apps]
    return (ranked or apps or [""])[0]


def nx_projects(files: Mapping[str, bytes], base: str) -> dict[str, tuple[str, str]]:
    """Nx projects with no package.json of their own, by folder: (name, the target that serves it or "")."""
    prefix = f"{base}/" if base else ""
    projects = {}
    for path in files:
        folder = path.removesuffix("/project.json")
        if folder == path or not path.startswith(prefix) or f"{folder}/package.json" in files:
            continue
        try:
            config = json.loads(files[path])
        except ValueError:
            raise NotRunnable(f"{path} is not valid JSON: fix it in the Code tab, then start the preview again.") from None
        config = config if isinstance(config, dict) else {}
        targets = config.get("targets") if isinstance(config.get("targets"), dict) else {}
        assert isinstance(targets, dict)
        # A target of its own, else the one Nx's Vite and Next.js plugins infer from the app's config file.
        names = [f.rsplit("/", 1)[-1] for f in files if f.startswith(f"{folder}/") and f.count("/") == folder.count("/") + 1]
        inferred = "serve" if any(n.startswith("vite.config.") for n in names) else ""
        inferred = "dev" if any(n.startswith("next.config.") for n in names) else inferred
        target = next((t for t in ("serve", "dev") if t in targets), inferred)
        projects[folder] = (str(config.get("name") or folder.rsplit("/", 1)[-1]), target)
    return projects


def _nx_found(files: Mapping[str, bytes], base: str, folder: str, project: tuple[str, str], root: dict) -> Found:
    """`nx run name:target` at the root, with the address as the target's options (Nx hands them to Vite, Next.js,
    Angular's dev server, or their executors); no Nx daemon or cloud, which a preview would only start for nothing."""
    name, target = project
    if not target:
        raise NotRunnable(
            f'{in_folder(folder, "project.json")} has no "serve" or "dev" target and no vite.config or next.config: add one, '
            "or choose another app in Run settings."
        )
    config = json.dumps(json.loads(files[in_folder(folder, "project.json")]).get("targets", {}).get(target, {}))
    next_js = "next" in config or any(f.startswith(f"{folder}/next.config.") for f in files)
    host = "--hostname" if next_js else "--host"
    argv = ["npx", "--no", "--", "nx", "run", f"{name}:{target}", f"--port={PORT}", f"{host}={HOST}"]
    env = {"NX_DAEMON": "false", "NX_NO_CLOUD": "true", "NX_TUI": "false"}
    framework = "Next.js" if next_js else framework_of(root)
    return Found(framework=framework, dev=Command(argv, cwd=base, env=env), port=4200, hot_reload=True)
