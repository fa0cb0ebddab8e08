"""How a project is built for production, read from its own files as detect/ reads how it runs for a preview.

A front-end that builds to static files (or a plain HTML site, which needs no build) is a "static" plan: what shell
line builds the site, which folder holds it afterwards, and whether unknown paths fall back to index.html. A server
app (Next.js, Nuxt, Astro/SvelteKit node output, Express and its kin, NestJS, Flask, Django, FastAPI...) is a "server"
plan: its build and the line that serves it on $PORT (production_server.py). The project's root (or the folder a person's run settings name, or the workspace member) is the one its
preview runs (detect() chooses it), and the build runs with the package manager its install uses.

Both `build` and `output` are relative to the preview's root folder (where Runner.run_command runs a line and
Runner.collect reads): an app in a folder of the project builds with `cd web && ...` and its output is `web/dist`.
"""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Mapping
from typing import Literal

from pydantic import BaseModel

from preview_runtime.detect import OTHER_STACKS, STATIC_FOLDERS, Found, NotRunnable, RunOverride, detect
from preview_runtime.detect.command import Command
from preview_runtime.detect.node import BACKENDS, dependencies, in_folder, install_for, read_manifest
from preview_runtime.production_server import Refused, node_start, python_start

# Said of the server apps still refused: those of two servers (a front end and its API in two folders, or a Node
# front end whose script also starts a Python API), since a release is one process serving one port, and Angular's
# server rendering, whose server entry each project writes its own way.
SERVER_APP = (
    "This project is a server app ({framework}): Forja publishes server apps that run as one server (Next.js, Nuxt, "
    "Astro and SvelteKit with their node adapters, Express, Fastify, Hono, Koa, NestJS, Flask, Django, FastAPI...), "
    "front-ends that build to static files and plain HTML sites, not this one yet."
)
_WHAT = (
    "it publishes Vite, Create React App, Astro, Eleventy, VitePress, Angular, SvelteKit (adapter-static) and webpack "
    "projects, and plain HTML sites."
)
# Dependencies that make a project a server app whatever else it holds, for people (their production start: node_start).
SERVER_FRAMEWORKS = (
    ("next", "Next.js"),
    ("nuxt", "Nuxt"),
    ("@remix-run/dev", "Remix"),
    ("@react-router/dev", "React Router framework mode"),
    ("@nestjs/core", "NestJS"),
    ("fastify", "Fastify"),
    ("hono", "Hono"),
    ("koa", "Koa"),
    ("express", "Express"),
)
# A dependency on one of these means the app routes on the client: unknown paths must fall back to index.html.
CLIENT_ROUTERS = frozenset(
    {
        "react-router",
        "react-router-dom",
        "@tanstack/react-router",
        "wouter",
        "vue-router",
        "svelte-spa-router",
        "@angular/router",
        "preact-router",
        "@solidjs/router",
    }
)
_CONFIG_EXTENSIONS = ("js", "mjs", "cjs", "ts", "mts", "cts")
_STRING = r"""\s*[:=]\s*['"`]([^'"`$]+)['"`]"""
_VITE_OUT_DIR = re.compile(r"\boutDir" + _STRING)
_SCRIPT_OUT_DIR = re.compile(r"--outDir[ =](\S+)")
_ELEVENTY_OUTPUT = re.compile(r"--output[ =](\S+)")
_ELEVENTY_CONFIG_OUTPUT = re.compile(r"\boutput" + _STRING)
_ASTRO_SERVER = re.compile(r"""\boutput\s*:\s*['"](server|hybrid)['"]|\badapter\s*:""")
_SVELTE_PAGES = re.compile(r"\bpages" + _STRING)
_SVELTE_FALLBACK = re.compile(r"""\bfallback\s*:\s*['"`]""")
_VITEPRESS_BUILD = re.compile(r"\bvitepress build(?:\s+([^\s&|;-][^\s&|;]*))?")
_WEBPACK_PATH = re.compile(r"""\bpath\s*:\s*path\.(?:resolve|join)\(\s*__dirname\s*,\s*['"]([^'"]+)['"]\s*\)""")


class NotPublishable(ValueError):
    """Forja cannot publish the project as it is; the message is one plain sentence: what was found and what Forja
    can publish."""


class ProductionPlan(BaseModel):
    kind: Literal["static", "server"]
    build: str  # shell line run in the preview's root folder, "" when none (plain HTML, most Python apps)
    output: str  # static: folder, relative to the preview's root, holding the built site ("" = the root itself)
    spa: bool  # the app routes on the client: unknown paths fall back to index.html (else a real 404)
    framework: str  # for people: "Vite", "Create React App", "Astro", ...
    public_env_prefixes: list[str]  # variables a build may see (VITE_, PUBLIC_...): all others stay out of it
    # server: the shell line serving the app on $PORT (and $HOST) for production, run in the preview's root folder
    start: str = ""


def production_plan(tree: Mapping[str, bytes], override: RunOverride | None = None) -> ProductionPlan:
    """How to build the project for production and where its site lands; NotPublishable when Forja cannot publish it
    (a server app, a front-end whose build Forja does not know, a project detect cannot run)."""
    try:
        parts = detect(tree, override)
    except NotRunnable as exc:
        raise NotPublishable(str(exc)) from None
    found = parts[-1]
    folder = found.dev.cwd
    if found.framework == "Static HTML":  # detect serves a folder as it is: no package.json starts anything
        where = found.dev.argv[-1] if found.dev.argv[:3] == ["python", "-m", "http.server"] else _page_folder(tree, folder)
        return _plain("" if where in (".", None) else where)
    if "nx" in found.dev.argv[:5]:
        raise NotPublishable(
            f"This is {_a(found.framework)} app of an Nx workspace: Forja cannot tell yet where Nx writes its build, so it publishes "
            "only apps with a build script of their own (Vite, Create React App, Astro...) and plain HTML sites."
        )
    manifest_path = in_folder(folder, "package.json")
    # Not found.server: any shell line (run settings, a Makefile, a Procfile) counts as one; the dependencies tell.
    if len(parts) > 1 or (found.python and found.framework in ("Node.js", "Vite")):
        raise NotPublishable(SERVER_APP.format(framework=_server_words(parts)))
    if found.python:
        return _server_plan(found.framework, "", python_start(tree, found))
    if manifest_path not in tree:  # started by a declared command (a Makefile...) with no package.json to build from
        if other := next((language for name, language in OTHER_STACKS if in_folder(folder, name) in tree), ""):
            raise NotPublishable(SERVER_APP.format(framework=f"{other}, started by {found.source or 'a shell command'}"))
        if (page := _page_folder(tree, folder)) is not None:
            return _plain(page)
        raise NotPublishable(f"Forja finds no package.json in {folder or 'the project'} to build it from: {_WHAT}")
    manifest = read_manifest(tree, manifest_path)
    deps = dependencies(manifest)
    if server := next((label for dep, label in SERVER_FRAMEWORKS if dep in deps), ""):
        return _node_server(tree, found, manifest, server, "")
    if found.server:  # a Node server without a framework Forja names (node:http...): its start script or main
        return _node_server(tree, found, manifest, "Node.js", "")
    try:
        site = _site(tree, folder, manifest, deps)
    except _NodeServer as server_app:
        return _node_server(tree, found, manifest, server_app.framework, server_app.config)
    if site is None:
        if (page := _page_folder(tree, folder)) is not None and not deps & BACKENDS:
            return _plain(page)
        if _script(manifest, "start") or isinstance(manifest.get("main"), str):  # a server of its own (node:http...)
            return _node_server(tree, found, manifest, "Node.js", "")
        raise NotPublishable(f"Forja does not know how {manifest_path} builds a site for production: {_WHAT}")
    framework, output, spa, prefixes = site
    return ProductionPlan(
        kind="static",
        build=_build_line(tree, found, manifest),
        output=in_folder(folder, output),
        spa=spa or bool(deps & CLIENT_ROUTERS),
        framework=framework,
        public_env_prefixes=prefixes,
    )


class _NodeServer(Exception):
    """A front-end framework set up to run a server (Astro with an adapter, SvelteKit without adapter-static)."""

    def __init__(self, framework: str, config: str) -> None:
        self.framework, self.config = framework, config


def _node_server(
    tree: Mapping[str, bytes], found: Found, manifest: Mapping[str, object], framework: str, config: str
) -> ProductionPlan:
    try:
        label, start = node_start(tree, found, manifest, framework, config)
    except Refused as exc:
        raise NotPublishable(str(exc)) from None
    has_build = bool(_build_script(manifest)) or framework in ("Next.js", "Nuxt", "Astro", "SvelteKit", "NestJS")
    return _server_plan(label, _build_line(tree, found, manifest) if has_build else "", start)


def _server_plan(framework: str, build: str, start: str) -> ProductionPlan:
    return ProductionPlan(
        kind="server", build=build, output="", spa=False, framework=framework, public_env_prefixes=[], start=start
    )


def _server_words(parts: list[Found]) -> str:
    """What the server app is, for people: "Flask", "a Vite front end and its Express API"..."""
    front, backs = parts[-1], parts[:-1]
    if backs:
        return f"{_a(front.framework)} front end and its {backs[0].framework} API"
    if front.python and front.framework in ("Node.js", "Vite"):  # a Node root whose script also starts a Python API
        return "a front end with a Python API"
    return front.framework


def _a(word: str) -> str:
    return f"{'an' if word[:1] in 'AEIOU' else 'a'} {word}"


def _plain(folder: str) -> ProductionPlan:
    folder = folder.strip("/")
    return ProductionPlan(kind="static", build="", output=folder, spa=False, framework="Static HTML", public_env_prefixes=[])


# (framework, output folder inside the app's folder, spa by the framework's own settings, public variable prefixes)
Site = tuple[str, str, bool, list[str]]


def _site(tree: Mapping[str, bytes], folder: str, manifest: Mapping[str, object], deps: set[str]) -> Site | None:
    """What builds the app in `folder` and where; None when it is nothing Forja knows how to build."""
    build = _script(manifest, _build_script(manifest))
    if "astro" in deps:
        return _astro(tree, folder, deps)
    if "@sveltejs/kit" in deps:
        return _sveltekit(tree, folder, deps)
    if "@angular/core" in deps and in_folder(folder, "angular.json") in tree:
        return _angular(tree, folder)
    if "vitepress" in deps:
        match = _VITEPRESS_BUILD.search(build)
        docs = match.group(1).strip("./") if match and match.group(1) else ""
        return "VitePress", in_folder(docs, ".vitepress/dist"), False, ["VITE_"]
    if "@11ty/eleventy" in deps:
        config = _config_text(tree, folder, ("eleventy.config", ".eleventy"))
        match = _ELEVENTY_OUTPUT.search(build) or _ELEVENTY_CONFIG_OUTPUT.search(config)
        return "Eleventy", _clean(match.group(1)) if match else "_site", False, []
    if "react-scripts" in deps:
        return "Create React App", "build", False, ["REACT_APP_"]
    if "gatsby" in deps:
        return "Gatsby", "public", False, ["GATSBY_"]
    if "@vue/cli-service" in deps:
        return "Vue CLI", "dist", False, ["VUE_APP_"]
    if "vite" in deps:
        match = _SCRIPT_OUT_DIR.search(build) or _VITE_OUT_DIR.search(_config_text(tree, folder, ("vite.config",)))
        return "Vite", _clean(match.group(1)) if match else "dist", False, ["VITE_"]
    if "parcel" in deps and build:
        return "Parcel", "dist", False, []
    if "webpack" in deps and build:
        config = _config_text(tree, folder, ("webpack.config.prod", "webpack.prod", "webpack.config", "webpack.common"))
        match = _WEBPACK_PATH.search(config)
        return "webpack", _clean(match.group(1)) if match else "dist", False, []
    return None


def _astro(tree: Mapping[str, bytes], folder: str, deps: set[str]) -> Site:
    config = _config_text(tree, folder, ("astro.config",))
    if _ASTRO_SERVER.search(config) or "@astrojs/node" in deps:
        raise _NodeServer("Astro", config)
    match = _VITE_OUT_DIR.search(config)
    return "Astro", _clean(match.group(1)) if match else "dist", False, ["PUBLIC_"]


def _sveltekit(tree: Mapping[str, bytes], folder: str, deps: set[str]) -> Site:
    """Only adapter-static writes a site of files: `pages` (default build), and with a `fallback` page it is an SPA."""
    config = _config_text(tree, folder, ("svelte.config", "vite.config"))
    if "@sveltejs/adapter-static" not in deps or "adapter-static" not in config:
        raise _NodeServer("SvelteKit", config)
    options = config[config.find("adapter(", config.find("adapter-static")) :]
    pages = _SVELTE_PAGES.search(options)
    return "SvelteKit", _clean(pages.group(1)) if pages else "build", bool(_SVELTE_FALLBACK.search(options)), ["PUBLIC_"]


def _angular(tree: Mapping[str, bytes], folder: str) -> Site:
    """angular.json's application: the application builder writes the site in `<outputPath>/browser`, the older
    browser builder in `<outputPath>` itself; both default to dist/<project>."""
    path = in_folder(folder, "angular.json")
    try:
        config = json.loads(tree[path])
        projects = config["projects"]
        name = next(n for n, p in projects.items() if p.get("projectType", "application") == "application")
        build = projects[name]["architect"]["build"]
    except (ValueError, KeyError, TypeError, AttributeError, StopIteration):
        raise NotPublishable(f"{path} names no application with a build target: Forja publishes Angular applications.") from None
    builder = str(build.get("builder", ""))
    options = build.get("options") or {}
    if options.get("ssr") or options.get("outputMode") == "server":
        raise NotPublishable(SERVER_APP.format(framework="Angular with server rendering"))
    out = options.get("outputPath") or f"dist/{name}"
    if builder.endswith(":browser"):  # the older webpack builder: the site is the output folder itself
        return "Angular", _clean(str(out if isinstance(out, str) else out.get("base", f"dist/{name}"))), False, []
    if isinstance(out, dict):  # {"base": ..., "browser": ...}; browser "" puts the site in base itself
        base, browser = str(out.get("base") or f"dist/{name}"), out.get("browser", "browser")
        return "Angular", _clean(in_folder(base, str(browser)) if browser else base), False, []
    return "Angular", _clean(f"{out}/browser"), False, []


def _build_line(tree: Mapping[str, bytes], found: Found, manifest: Mapping[str, object]) -> str:
    """The package's build script run by the manager its install uses (`corepack pnpm@9 run build`...), or the
    framework's own build through npx when it has no such script; always with NODE_ENV=production."""
    folder = found.dev.cwd
    env = {"NODE_ENV": "production"}
    script = _build_script(manifest)
    if not script:
        return Command(["npx", "--no", "--", *shlex.split(_default_build(manifest))], cwd=folder, env=env).shell()
    node = [c for c in found.install if "install" in c.argv and c.argv[:2] != ["python", "-m"]]
    if not node:  # a workspace member started on its own (detect gives it none): its folder's lockfile decides
        node, _, _ = install_for(tree, folder, manifest)
    argv = node[0].argv
    return Command([*argv[: argv.index("install")], "run", script], cwd=folder, env=env).shell()


def _default_build(manifest: Mapping[str, object]) -> str:
    deps = dependencies(manifest)
    for dep, line in (("next", "next build"), ("nuxt", "nuxt build"), ("@nestjs/cli", "nest build")):
        if dep in deps:
            return line
    if "react-scripts" in deps:
        return "react-scripts build"
    if "@angular/cli" in deps:
        return "ng build"
    if "astro" in deps:
        return "astro build"
    if "@11ty/eleventy" in deps:
        return "eleventy"
    if "vitepress" in deps:
        return "vitepress build"
    return "vite build"


def _build_script(manifest: Mapping[str, object]) -> str:
    """The script that builds the site: "build", else one running VitePress's build (its init writes "docs:build")."""
    scripts = manifest.get("scripts")
    if not isinstance(scripts, dict):
        return ""
    if _script(manifest, "build"):
        return "build"
    return next((name for name, line in scripts.items() if isinstance(line, str) and _VITEPRESS_BUILD.search(line)), "")


def _script(manifest: Mapping[str, object], name: str) -> str:
    scripts = manifest.get("scripts")
    value = scripts.get(name) if isinstance(scripts, dict) else None
    return value if isinstance(value, str) else ""


def _config_text(tree: Mapping[str, bytes], folder: str, stems: tuple[str, ...]) -> str:
    """The config files of these names (any JS or TS extension) together, as text ("" when there are none): a
    setting may sit in a file the named one merges in (webpack.common.js)."""
    texts = [
        data.decode("utf-8", "replace")
        for stem in stems
        for extension in _CONFIG_EXTENSIONS
        if (data := tree.get(in_folder(folder, f"{stem}.{extension}"))) is not None
    ]
    return "\n".join(texts)


def _page_folder(tree: Mapping[str, bytes], folder: str) -> str | None:
    """The folder (relative to the preview's root) holding the site's index.html, as detect serves plain HTML."""
    for name in STATIC_FOLDERS:
        if (path := in_folder(in_folder(folder, name) if name else folder, "index.html")) in tree:
            return path.removesuffix("index.html").rstrip("/")
    return None


def _clean(path: str) -> str:
    """A folder as the build names it ("./dist/", "dist"), relative to the app's folder."""
    cleaned = path.strip().removeprefix("./").rstrip("/")
    if not cleaned or cleaned.startswith("/") or ".." in cleaned.split("/"):
        raise NotPublishable(f"The build writes its site to {path!r}, outside the project: set it to a folder inside it.")
    return cleaned
