"""Workspaces (monorepos): one install at the workspace's root with its package manager, the app run in one member.

npm and yarn list their members in package.json's "workspaces", pnpm in pnpm-workspace.yaml; Turborepo and Nx
package-based layouts use either. A member is a web app when it has a front-end framework dependency and a dev
script. The member's own script runs in its folder (`cd apps/web && npm run dev`): every manager leaves its
binaries in node_modules/.bin there or in the root's, so no package manager is needed once installed.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping

import yaml

from preview_runtime.detect.found import Found, NotRunnable, RunOverride
from preview_runtime.detect.node import DEV_SCRIPTS, detect_node, install_for, is_front_end, read_manifest

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


def _join(folder: str, name: str) -> str:
    return f"{folder}/{name}" if folder else name


def member_patterns(files: Mapping[str, bytes], base: str) -> list[str] | None:
    """The workspace's member globs (relative to `base`), from pnpm-workspace.yaml or package.json; None when the
    folder is not a workspace root."""
    if (pnpm := files.get(_join(base, "pnpm-workspace.yaml"))) is not None:
        try:
            config = yaml.safe_load(pnpm)
        except yaml.YAMLError:
            raise NotRunnable(
                f"{_join(base, 'pnpm-workspace.yaml')} is not valid YAML: fix it in the Code tab, then start the preview again."
            ) from None
        packages = config.get("packages") if isinstance(config, dict) else None
        return [str(p) for p in packages] if isinstance(packages, list) else []
    if _join(base, "package.json") not in files:
        return None
    patterns = read_manifest(files, _join(base, "package.json")).get("workspaces")
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


def is_web_app(files: Mapping[str, bytes], folder: str) -> bool:
    manifest = read_manifest(files, _join(folder, "package.json"))
    scripts = manifest.get("scripts")
    has_dev = isinstance(scripts, dict) and any(isinstance(scripts.get(n), str) and scripts[n].strip() for n in DEV_SCRIPTS)
    return has_dev and is_front_end(manifest)


def workspace_app(files: Mapping[str, bytes], base: str, override: RunOverride | None = None) -> Found | None:
    """The workspace's web app, installed at the root and run in its member folder; None when `base` is no workspace
    root, or the root itself is the web app (its members then are its libraries) and no member was chosen."""
    patterns = member_patterns(files, base)
    if patterns is None:
        return None
    folders = members(files, base, patterns)
    chosen = override.folder.strip("/") if override is not None else ""
    prefix = f"{base}/" if base else ""
    chosen = next((f for f in folders if chosen and f in (chosen, f"{prefix}{chosen}")), "")
    apps = [f for f in folders if is_web_app(files, f)]
    if not chosen:
        if not apps or is_web_app(files, base):
            return None
        ranked = [f"{prefix}{name}" for name in PREFERRED_APPS if f"{prefix}{name}" in apps]
        chosen = (ranked or apps)[0]
    root = read_manifest(files, _join(base, "package.json")) if _join(base, "package.json") in files else {}
    install, manager, notes = install_for(files, base, root)
    found = detect_node(files, chosen)
    found.install = install
    # No inputs: the dependency caches keep the root's node_modules alone, and a workspace's members have their
    # own (pnpm links each member's dependencies there), so a restored cache would miss them: it installs each time.
    found.inputs = []
    found.notes = notes + [n for n in found.notes if "lockfile" not in n]
    found.choices = [f for f in apps if f != chosen]
    relative = chosen[len(prefix) :]
    if found.choices:
        found.notes.append(f"Several apps in this workspace: running {relative}; choose another in Run settings.")
    how = f'the "{found.dev.argv[2]}" script' if found.dev.argv[:2] == ["npm", "run"] else f"{found.framework}'s dev command"
    found.source = f"{how} in {_join(relative, 'package.json')}, a member of the {manager} workspace"
    return found
