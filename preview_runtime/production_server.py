"""How a server app runs for production: the build (if any) and the line that serves it on $PORT.

Read from the project's files as detect/ reads its dev form, with the package manager detect chose. Node apps start
with NODE_ENV=production (their framework's own production server: `next start`, Nuxt's and Astro's node output,
SvelteKit's adapter-node build, or the package's "start" script / main for Express, Fastify, Hono, Koa, NestJS). Python
apps start under gunicorn or uvicorn when the project installs them, else with the server detect starts, never with a
reloader or a debugger.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Mapping

from preview_runtime.detect.command import HOST, PORT, Command
from preview_runtime.detect.found import Found
from preview_runtime.detect.node import dependencies, in_folder, install_for
from preview_runtime.detect.python import installed_names

# Said of what is still refused; `{framework}` names it and `{why}` says why, in a few words.
SERVER_REFUSED = "This project is {framework}: Forja cannot publish it yet, because {why}."
# The address a server reads (most read PORT and HOST; Nitro, Astro and adapter-node read exactly these).
ADDRESS = {"HOST": HOST, "PORT": PORT}
NODE_PRODUCTION = {"NODE_ENV": "production"}
_RELOAD_FLAGS = frozenset({"--reload", "--debug", "--debugger", "-w", "--watch"})
_ASTRO_MIDDLEWARE = re.compile(r"""\bmode\s*:\s*['"]middleware['"]""")
_ADAPTER_NODE_OUT = re.compile(r"""adapter\(\s*\{[^}]*\bout\s*:\s*['"`]([^'"`$]+)['"`]""", re.DOTALL)
_SVELTE_ADAPTER = re.compile(r"""['"](?:@sveltejs/|svelte-)(adapter-[\w-]+)['"]""")
_DJANGO_SETTINGS = re.compile(r"""DJANGO_SETTINGS_MODULE['"]\s*,\s*['"]([\w.]+)\.settings['"]""")


class Refused(ValueError):
    """What the server app is and why Forja does not publish it (SERVER_REFUSED's two blanks)."""

    def __init__(self, framework: str, why: str) -> None:
        super().__init__(SERVER_REFUSED.format(framework=framework, why=why))


def node_start(
    tree: Mapping[str, bytes], found: Found, manifest: Mapping[str, object], framework: str, config: str
) -> tuple[str, str]:
    """(framework, start line) of a Node server app; `config` is the framework's config text (astro, svelte)."""
    folder = found.dev.cwd
    deps = dependencies(manifest)
    env = {**NODE_PRODUCTION, **ADDRESS}
    if framework == "Next.js":
        next_start = _binary(tree, found, manifest, ["next", "start", "-p", PORT, "-H", HOST])
        return framework, Command(next_start, folder, NODE_PRODUCTION).shell()
    if framework == "Nuxt":
        return framework, Command(["node", ".output/server/index.mjs"], folder, env).shell()
    if framework == "Astro":
        if "@astrojs/node" not in deps:
            raise Refused("an Astro app with a server adapter other than @astrojs/node", "Forja runs Astro's node output only")
        if _ASTRO_MIDDLEWARE.search(config):
            raise Refused(
                "an Astro app in @astrojs/node's middleware mode",
                "that mode needs a server of your own around it; use mode: 'standalone'",
            )
        return "Astro (node)", Command(["node", "dist/server/entry.mjs"], folder, env).shell()
    if framework == "SvelteKit":
        if "@sveltejs/adapter-node" not in deps or "adapter-node" not in config:
            named = _SVELTE_ADAPTER.search(config)  # the one svelte.config imports, which may not be installed
            adapter = named.group(1) if named else "no adapter"
            raise Refused(
                f"a SvelteKit app with {adapter}",
                "Forja runs SvelteKit's adapter-node server or publishes adapter-static's files: set one of them in svelte.config.js",
            )
        out = _ADAPTER_NODE_OUT.search(config[config.find("adapter-node") :])
        return "SvelteKit (node)", Command(["node", out.group(1).strip("./") if out else "build"], folder, env).shell()
    return framework, _package_start(tree, found, manifest, framework)


def _package_start(tree: Mapping[str, bytes], found: Found, manifest: Mapping[str, object], framework: str) -> str:
    """The package's production start: "start:prod" (NestJS writes it), else "start", else `node <main>`; NestJS
    with neither runs its compiled dist/main."""
    folder = found.dev.cwd
    # Tools that read the address from variables of their own (fastify-cli's FASTIFY_ADDRESS) get them as detect does.
    env = {**NODE_PRODUCTION, **ADDRESS, **{k: v for k, v in found.dev.env.items() if HOST in v or PORT in v}}
    scripts = manifest.get("scripts")
    scripts = scripts if isinstance(scripts, dict) else {}
    for name in ("start:prod", "start"):
        line = scripts.get(name)
        if isinstance(line, str) and line.strip() and not _watches(line):
            return Command([*_manager(tree, found, manifest), "run", name], folder, env).shell()
    main = manifest.get("main")
    if isinstance(main, str) and main.strip() and in_folder(folder, main.strip().removeprefix("./")) in tree:
        return Command(["node", main.strip()], folder, env).shell()
    if framework == "NestJS":
        return Command(["node", "dist/main"], folder, env).shell()
    raise Refused(
        f"a {framework} server",
        'its package.json has no "start" script and no "main" file to run for production: add a "start" script',
    )


def _watches(line: str) -> bool:
    """A "start" that is a dev server in disguise (nodemon, --watch, tsx watch): not a production start."""
    words = shlex.split(line) if line.count('"') % 2 == 0 and line.count("'") % 2 == 0 else line.split()
    return bool({"nodemon", "watch", *_RELOAD_FLAGS} & set(words))


def _binary(tree: Mapping[str, bytes], found: Found, manifest: Mapping[str, object], argv: list[str]) -> list[str]:
    """argv run as an installed package's binary, through the package manager the install used (Yarn 2+'s Plug'n'Play
    has no node_modules/.bin for npx to find)."""
    manager = _manager(tree, found, manifest)
    if any(word.startswith("pnpm") for word in manager):
        return [*manager, "exec", *argv]
    if any(word.startswith("yarn") for word in manager):
        return [*manager, "run", *argv]
    return ["npx", "--no", "--", *argv]


def _manager(tree: Mapping[str, bytes], found: Found, manifest: Mapping[str, object]) -> list[str]:
    """The package manager's argv before `install` (`npm`, `corepack pnpm@9.15.9`), as the install uses it."""
    node = [c for c in found.install if "install" in c.argv and c.argv[:2] != ["python", "-m"]]
    if not node:
        node, _, _ = install_for(tree, found.dev.cwd, manifest)
    argv = node[0].argv
    return argv[: argv.index("install")]


def python_start(tree: Mapping[str, bytes], found: Found) -> str:
    """A Python app's production start line: gunicorn or uvicorn when installed, else detect's server without its
    reloader (a declared command, a Procfile's or .replit's, runs as its author wrote it)."""
    folder, argv = found.dev.cwd, found.dev.argv
    installed = installed_names(tree, folder) | {
        word for c in found.install for word in c.argv if word in ("uvicorn", "gunicorn")
    }
    env = dict(found.dev.env)
    if argv[:2] == ["sh", "-c"]:  # declared by the project (a Procfile, .replit): run as its author wrote it
        return found.dev.shell()
    bind = f"{HOST}:{PORT}"
    if found.framework == "Django":
        module = _django_project(tree, folder)
        if "gunicorn" in installed and module:
            return Command(["gunicorn", f"{module}.wsgi:application", "--bind", bind], folder, env).shell()
        if "uvicorn" in installed and module and in_folder(folder, f"{module.replace('.', '/')}/asgi.py") in tree:
            return Command(["uvicorn", f"{module}.asgi:application", "--host", HOST, "--port", PORT], folder, env).shell()
        return Command(["python", "manage.py", "runserver", "--noreload", "--insecure", bind], folder, env).shell()
    if found.framework == "Flask" and "--app" in argv:
        target = argv[argv.index("--app") + 1]
        if "gunicorn" in installed and ":" in target:
            return Command(["gunicorn", target, "--bind", bind], folder, env).shell()
        flask = ["flask", "--app", target, "run", "--host", HOST, "--port", PORT]
        return Command(flask, folder, {**env, "FLASK_DEBUG": "0"}).shell()
    return Command([word for word in argv if word not in _RELOAD_FLAGS], folder, env).shell()


def _django_project(tree: Mapping[str, bytes], folder: str) -> str:
    """The package holding Django's settings, as manage.py names it ("mysite"), or "" when it does not say."""
    text = tree.get(in_folder(folder, "manage.py"), b"").decode("utf-8", "replace")
    match = _DJANGO_SETTINGS.search(text)
    return match.group(1) if match else ""
