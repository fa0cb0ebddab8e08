"""Node.js projects: the package manager from the lockfile, the script to run, and how its tool takes host and port.

The person's files are never edited: the address goes in as the flags or variables each tool reads, appended to
the script the way `npm run NAME -- ARGS` appends them, and only when the script does not set it already.
"""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Mapping
from dataclasses import dataclass, field

from preview_runtime.detect.command import HOST, PORT, Command
from preview_runtime.detect.found import Found, NotRunnable

# Scripts that start a dev server, most telling first ("start" often means production: last).
# Last, the names a docs site's guide gives its scripts (VitePress: `docs:dev`) in a repository whose app is elsewhere.
DEV_SCRIPTS = ("dev", "start:dev", "develop", "serve", "dev:server", "start", "docs:dev", "dev:docs", "start:docs")
LOCKFILES = ("package-lock.json", "npm-shrinkwrap.json", "pnpm-lock.yaml", "yarn.lock", "bun.lock", "bun.lockb")
# Files that change what pnpm and yarn install beside the lockfile: the workspace's members, Yarn 2+'s settings.
MANAGER_FILES = ("pnpm-workspace.yaml", ".yarnrc.yml")
NPM_INSTALL = ["npm", "install", "--no-audit", "--no-fund"]
# What an install would fetch or run: with none of these, a package.json's scripts run as they are (npm run needs no
# node_modules), so the preview skips a second of npm's own start.
_INSTALLED_SECTIONS = ("dependencies", "devDependencies", "optionalDependencies", "peerDependencies")
_INSTALL_SCRIPTS = ("preinstall", "install", "postinstall", "prepublish", "preprepare", "prepare", "postprepare")
# The versions corepack runs when package.json pins none (prepared into the corepack cache at setup).
DEFAULT_VERSIONS = {"pnpm": "9.15.9", "yarn": "1.22.22", "yarn-berry": "4.9.2"}
# Packages already in the manager's cache install from it with no request (Yarn 2+ does so by itself).
OFFLINE_FLAGS = {"pnpm": ("--prefer-offline",), "yarn": ("--prefer-offline", "--non-interactive"), "yarn-berry": ()}
# Wrappers before the real tool in a script: `cross-env NODE_ENV=development vite`.
_WRAPPERS = frozenset({"cross-env", "env-cmd", "dotenv", "npx", "exec", "env", "--"})


@dataclass(frozen=True)
class Tool:
    framework: str
    port: int  # its own default port
    port_flag: tuple[str, ...] = ()  # ("--port",) or ("-p", "--port"): the first is used, any counts as already set
    host_flag: tuple[str, ...] = ()
    env: dict[str, str] = field(default_factory=dict)
    # More flags, each unless the script gives it: VitePress' `--base /` serves a site at the address Forja opens
    # whatever `base` its config sets for where it is published (a repository's own path on GitHub Pages).
    flags: tuple[tuple[str, str], ...] = ()
    # A front end's dev server, which serves the app's home page: a 404 there is no running app (an API's may be).
    home_page: bool = True


_VITE = Tool("Vite", 5173, ("--port",), ("--host",))
# By the command a script runs (its first word, or first two for CLIs with subcommands).
TOOLS: dict[str, Tool] = {
    "vite": _VITE,
    "astro": Tool("Astro", 4321, ("--port",), ("--host",)),
    "react-router": Tool("React Router", 5173, ("--port",), ("--host",)),
    "remix vite:dev": Tool("Remix", 5173, ("--port",), ("--host",)),
    "remix dev": Tool("Remix", 3000),
    "nuxt": Tool("Nuxt", 3000, ("--port", "-p"), ("--host",)),
    "nuxi": Tool("Nuxt", 3000, ("--port", "-p"), ("--host",)),
    "next": Tool("Next.js", 3000, ("--port", "-p"), ("--hostname", "-H")),
    "ng": Tool("Angular", 4200, ("--port",), ("--host",), {"NG_CLI_ANALYTICS": "false"}),
    # Create React App reads PORT and HOST; its host check would refuse the preview's own name.
    "react-scripts": Tool("Create React App", 3000, env={"DANGEROUSLY_DISABLE_HOST_CHECK": "true"}),
    "vue-cli-service": Tool("Vue CLI", 8080, ("--port",), ("--host",)),
    "webpack": Tool("webpack", 8080, ("--port",), ("--host",)),
    "webpack-dev-server": Tool("webpack", 8080, ("--port",), ("--host",)),
    "gatsby": Tool("Gatsby", 8000, ("-p", "--port"), ("-H", "--host")),
    "parcel": Tool("Parcel", 1234, ("--port", "-p"), ("--host",)),
    "eleventy": Tool("Eleventy", 8080, ("--port",)),
    # fastify-cli listens on localhost unless told: FASTIFY_ADDRESS, which a container needs to be reachable.
    "fastify": Tool("Fastify", 3000, env={"FASTIFY_ADDRESS": HOST, "FASTIFY_PORT": PORT}, home_page=False),
    "nest": Tool("NestJS", 3000, home_page=False),
    "docusaurus start": Tool("Docusaurus", 3000, ("--port",), ("--host",)),
    "vitepress dev": Tool("VitePress", 5173, ("--port",), ("--host",), flags=(("--base", "/"),)),
}
# Commands that serve what a build made, which must run first: a script of one is not the app's dev server.
SERVES_A_BUILD = frozenset(
    {"docusaurus serve", "vite preview", "astro preview", "vitepress preview", "nuxt preview", "serve", "http-server"}
)
# Commands a script may start with that no package of the project's provides.
RUNNERS = frozenset({"node", "npm", "npx", "pnpm", "yarn", "bun", "deno", "sh", "bash", "python", "python3"})
# With no script to run: the framework's own dev command, by dependency (most specific first).
BY_DEPENDENCY = (
    ("next", "next dev"),
    ("nuxt", "nuxt dev"),
    ("@angular/cli", "ng serve"),
    ("astro", "astro dev"),
    ("@react-router/dev", "react-router dev"),
    ("gatsby", "gatsby develop"),
    ("react-scripts", "react-scripts start"),
    ("@vue/cli-service", "vue-cli-service serve"),
    ("@sveltejs/kit", "vite dev"),
    ("vite", "vite"),
    ("parcel", "parcel index.html"),
)
# For people: the most specific framework a package.json names.
FRAMEWORKS = (
    ("next", "Next.js"),
    ("nuxt", "Nuxt"),
    ("@sveltejs/kit", "SvelteKit"),
    ("astro", "Astro"),
    ("@angular/core", "Angular"),
    ("@react-router/dev", "React Router"),
    ("@remix-run/dev", "Remix"),
    ("react-scripts", "Create React App"),
    ("gatsby", "Gatsby"),
    ("@builder.io/qwik", "Qwik"),
    ("@nestjs/core", "NestJS"),
    ("fastify", "Fastify"),
    ("hono", "Hono"),
    ("koa", "Koa"),
    ("express", "Express"),
    ("vite", "Vite"),
)
BACKENDS = frozenset({"@nestjs/core", "fastify", "hono", "koa", "express"})
FRONT_ENDS = frozenset(dep for dep, _ in BY_DEPENDENCY)


def read_manifest(tree: Mapping[str, bytes], path: str) -> dict:
    """package.json as a dict; NotRunnable naming where it breaks."""
    try:
        manifest = json.loads(tree[path])
    except ValueError as exc:
        where = f" (line {exc.lineno}, column {exc.colno})" if isinstance(exc, json.JSONDecodeError) else ""
        raise NotRunnable(f"{path} is not valid JSON{where}: fix it in the Code tab, then start the preview again.") from None
    if not isinstance(manifest, dict):
        raise NotRunnable(f"{path} must hold one JSON object ({{...}}): fix it in the Code tab, then start the preview again.")
    return manifest


def dependencies(manifest: Mapping[str, object]) -> set[str]:
    return {
        name
        for section in ("dependencies", "devDependencies")
        if isinstance(names := manifest.get(section), dict)
        for name in names
    }


def framework_of(manifest: Mapping[str, object]) -> str:
    deps = dependencies(manifest)
    return next((label for dep, label in FRAMEWORKS if dep in deps), "Node.js")


def is_front_end(manifest: Mapping[str, object]) -> bool:
    return bool(dependencies(manifest) & FRONT_ENDS)


def in_folder(folder: str, name: str) -> str:
    """`name` inside `folder` ("" is the project's root)."""
    return f"{folder}/{name}" if folder else name


def dev_script(manifest: Mapping[str, object]) -> str:
    """The name of the package.json script that starts a dev server, or "": the first of DEV_SCRIPTS the project has,
    unless it serves a build (Docusaurus' `serve`) while another does not, or its tool is no package of the project's
    (a `dev` running json-server, not installed) while another runs a framework's own command (`react-scripts
    start`)."""
    scripts = manifest.get("scripts")
    if not isinstance(scripts, dict):
        return ""
    names = [n for n in DEV_SCRIPTS if isinstance(scripts.get(n), str) and scripts[n].strip()]
    if not names:
        return ""
    first = scripts[names[0]]
    if _serves_a_build(first):
        return next((n for n in names if not _serves_a_build(scripts[n])), names[0])
    if _not_installed(first, dependencies(manifest)):
        return next((n for n in names[1:] if _tool_of(scripts[n])[1] is not None), names[0])
    return names[0]


def _serves_a_build(script: str) -> bool:
    words = [w.rsplit("/", 1)[-1] for w in _last_command(script)[:2]]
    return bool(words) and (words[0] in SERVES_A_BUILD or " ".join(words) in SERVES_A_BUILD)


def _not_installed(script: str, deps: set[str]) -> bool:
    """Whether the script's command is a tool no dependency of the project's provides (nor Node, npm or a shell)."""
    words = _last_command(script)
    if not words:
        return False
    first = words[0].rsplit("/", 1)[-1]
    return first not in deps and first not in RUNNERS and _tool_of(script)[1] is None


def node_install(tree: Mapping[str, bytes], folder: str) -> tuple[list[Command], list[str], list[str]]:
    """The folder's install (by its lockfile; none when it would install nothing), the files it reads, and what to tell
    the person."""
    manifest = read_manifest(tree, in_folder(folder, "package.json"))
    inputs = [in_folder(folder, name) for name in ("package.json", *LOCKFILES) if in_folder(folder, name) in tree]
    if not needs_install(tree, folder, manifest):
        return [], inputs, []
    install, _, notes = install_for(tree, folder, manifest)
    return install, inputs, notes


def needs_install(tree: Mapping[str, bytes], folder: str, manifest: Mapping[str, object]) -> bool:
    """Whether installing would do anything: a package to fetch, a workspace to link, a script npm runs at install
    (a binding.gyp is built by one), or a lockfile naming packages. Any other manager's lockfile counts as naming some."""
    if any(manifest.get(section) for section in (*_INSTALLED_SECTIONS, "workspaces")):
        return True
    scripts = manifest.get("scripts")
    if isinstance(scripts, dict) and any(scripts.get(name) for name in _INSTALL_SCRIPTS):
        return True
    if any(in_folder(folder, name) in tree for name in ("binding.gyp", *MANAGER_FILES)):
        return True
    return any(
        not name.startswith(("package-lock.", "npm-shrinkwrap.")) or _locks_packages(tree[path])
        for name in LOCKFILES
        if (path := in_folder(folder, name)) in tree
    )


def _locks_packages(lock: bytes) -> bool:
    """Whether an npm lockfile names a package: under "packages" beyond the root's "" entry, or lockfile v1's
    "dependencies". One npm cannot read counts as naming some (npm's install says what is wrong with it)."""
    try:
        parsed = json.loads(lock)
    except ValueError:
        return True
    if not isinstance(parsed, dict):
        return True
    packages = parsed.get("packages")
    return bool(parsed.get("dependencies")) or (isinstance(packages, dict) and any(key for key in packages))


def detect_node(tree: Mapping[str, bytes], folder: str = "") -> Found:
    manifest = read_manifest(tree, in_folder(folder, "package.json"))
    scripts = manifest.get("scripts") if isinstance(manifest.get("scripts"), dict) else {}
    assert isinstance(scripts, dict)
    deps = dependencies(manifest)
    install, inputs, notes = node_install(tree, folder)
    name = dev_script(manifest)
    if name:
        tool_key, tool = _tool_of(scripts[name])
        args = _address_args(scripts[name], tool)
        argv = ["npm", "run", name, *(["--", *args] if args else [])]
        port = _pinned_port(scripts[name]) or (tool.port if tool else 3000)
        source = f'the "{name}" script in {in_folder(folder, "package.json")}'
    else:
        command = next((cmd for dep, cmd in BY_DEPENDENCY if dep in deps), "")
        if not command:
            main = manifest.get("main") if isinstance(manifest.get("main"), str) else ""
            entry = next((f for f in (main, "server.js", "index.js", "app.js") if f and in_folder(folder, f) in tree), "")
            if not entry:
                raise NotRunnable(
                    f'{in_folder(folder, "package.json")} has no "dev" or "start" script and Forja finds no framework or server.js '
                    'to start: add a "dev" script that starts the app (for example "vite" or "node server.js").'
                )
            command = f"node {entry}"
        tool_key, tool = _tool_of(command)
        argv = ["npx", "--no", "--", *shlex.split(command), *_address_args(command, tool)]
        port = tool.port if tool else 3000
        source = ""
    framework = framework_of(manifest)
    env = dict(tool.env) if tool else {}
    return Found(
        framework=framework if framework != "Node.js" or tool is None else tool.framework,
        dev=Command(argv, cwd=folder, env=env),
        install=install,
        port=port,
        hot_reload=is_front_end(manifest),
        server=bool(deps & BACKENDS) or (tool_key in ("fastify", "nest")),
        home_page=tool is not None and tool.home_page,
        inputs=inputs,
        notes=notes,
        source=source,
    )


def _last_command(script: str) -> list[str]:
    """The words of the command `npm run NAME -- ARGS` hands ARGS to: the script's last one."""
    last = re.split(r"&&|\|\||;", script)[-1]
    try:
        words = shlex.split(last)
    except ValueError:
        words = last.split()
    while words and (words[0] in _WRAPPERS or re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*=.*", words[0])):
        words.pop(0)
    return words


def _tool_of(script: str) -> tuple[str, Tool | None]:
    words = _last_command(script)
    if not words:
        return "", None
    first = words[0].rsplit("/", 1)[-1]
    pair = f"{first} {words[1]}" if len(words) > 1 else first
    for key in (pair, first):
        if key in TOOLS:
            return key, TOOLS[key]
    return first, None


def _address_args(script: str, tool: Tool | None) -> list[str]:
    """Flags telling the tool the address; none that the script already sets (a repeated flag confuses some CLIs)."""
    if tool is None:
        return []
    words = _last_command(script)
    given = {w.split("=", 1)[0] for w in words}
    args: list[str] = []
    if tool.port_flag and not given & set(tool.port_flag):
        args += [tool.port_flag[0], PORT]
    if tool.host_flag and not given & set(tool.host_flag):
        args += [tool.host_flag[0], HOST]
    return args + [word for flag, value in tool.flags if flag not in given for word in (flag, value)]


def _pinned_port(script: str) -> int | None:
    """A port the script fixes itself (`vite --port 3000`, `PORT=4000 node server.js`)."""
    match = re.search(r"(?:--port|-p)[ =](\d{2,5})\b|\bPORT=(\d{2,5})\b", script)
    return int(next(g for g in match.groups() if g)) if match else None


def install_for(tree: Mapping[str, bytes], folder: str, manifest: Mapping[str, object]) -> tuple[list[Command], str, list[str]]:
    """The install the lockfile names, the manager's name, and what to tell the person. pnpm and yarn run through
    corepack (part of Node), at the version package.json's "packageManager" pins, else a default of the same kind."""
    present = [name for name in LOCKFILES if in_folder(folder, name) in tree]
    wanted = manifest.get("packageManager") if isinstance(manifest.get("packageManager"), str) else ""
    pinned = re.match(r"(pnpm|yarn|bun|npm)@(\d+\.\d+\.\d+[\w.-]*)", str(wanted))
    notes: list[str] = []
    manager = "npm"
    if "pnpm-lock.yaml" in present:
        manager = "pnpm"
    elif "yarn.lock" in present:
        manager = "yarn"
    elif "bun.lock" in present or "bun.lockb" in present:
        manager = "bun"
    if pinned and pinned.group(1) != manager and not present:
        manager = pinned.group(1)
    if len({n.split(".")[0].split("-")[0] for n in present}) > 1:
        notes.append(f"{', '.join(present)}: more than one lockfile; Forja installs with {manager}. Delete the others.")
    if manager == "npm":
        if (lock := in_folder(folder, "package-lock.json")) in tree:
            notes += _lock_mismatch(tree[lock], manifest, lock)
        return [Command(NPM_INSTALL, cwd=folder)], manager, notes
    if manager == "bun":
        version = pinned.group(2) if pinned and pinned.group(1) == "bun" else "1"
        argv = ["npm", "exec", "--yes", f"bun@{version}", "--", "install"]
        notes.append(f"The lockfile is bun's: installing with bun {version}, fetched through npm.")
        return [Command(argv, cwd=folder)], manager, notes
    berry = manager == "yarn" and (
        b"__metadata:" in tree.get(in_folder(folder, "yarn.lock"), b"")
        or bool(pinned and pinned.group(1) == "yarn" and not pinned.group(2).startswith("1."))
    )
    kind = "yarn-berry" if berry else manager
    version = pinned.group(2) if pinned and pinned.group(1) == manager else DEFAULT_VERSIONS[kind]
    argv = ["corepack", f"{manager}@{version}", "install", *OFFLINE_FLAGS[kind]]
    # Yarn 2+ would otherwise install Plug'n'Play (no node_modules): node_modules lets the member's script run with npm.
    env = {"YARN_NODE_LINKER": "node-modules", "YARN_ENABLE_TELEMETRY": "0"} if berry else {}
    pin = "pinned in package.json" if pinned and pinned.group(1) == manager else "Forja's default"
    why = f"The lockfile is {manager}'s" if present else f'package.json\'s "packageManager" names {manager}'
    notes.append(f"{why}: installing with {manager} {version} ({pin}) through corepack.")
    return [Command(argv, cwd=folder, env=env)], manager, notes


def _lock_mismatch(lock: bytes, manifest: Mapping[str, object], name: str) -> list[str]:
    """A package-lock.json that lacks packages package.json asks for: npm installs them anyway, but say so."""
    try:
        root = json.loads(lock).get("packages", {}).get("", {})
    except (ValueError, AttributeError):
        return [f"{name} is not valid JSON: npm ignores it and installs from package.json. Delete it or fix it."]
    if not isinstance(root, dict):
        return []
    locked = dependencies(root)
    missing = sorted(dependencies(manifest) - locked)
    if not missing or not locked:
        return []
    shown = ", ".join(missing[:3]) + (" and more" if len(missing) > 3 else "")
    return [f"{name} does not match package.json (it lacks {shown}): npm installs from package.json and updates the lockfile."]
