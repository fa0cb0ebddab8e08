"""What the Environment dialog says about one app's variables: who reads them, which names end up in its page, and
whether it has a server (and so its own database). The dialog explains only what this app is made of: VITE_ for a
Vite app, NEXT_PUBLIC_ for a Next.js one, DATABASE_URL for an app with a server; an app that runs only in the
visitor's browser is told that what it uses is visible in the page."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass

from preview_runtime.detect import NotRunnable, RunOverride, detect
from preview_runtime.production import SERVER_FRAMEWORKS, NotPublishable, production_plan

# The build tools (package.json dependencies) that put variables of a name into the page they build, and that name's
# start: what builder.app_secrets.PUBLIC_PREFIXES marks public, tool by tool.
PUBLIC_BY_TOOL = (
    ("vite", "VITE_"),
    ("next", "NEXT_PUBLIC_"),
    ("astro", "PUBLIC_"),
    ("@sveltejs/kit", "PUBLIC_"),
    ("react-scripts", "REACT_APP_"),
    ("gatsby", "GATSBY_"),
    ("@vue/cli-service", "VUE_APP_"),
)
_SERVER_DEPENDENCIES = frozenset(dep for dep, _label in SERVER_FRAMEWORKS)
_SECRETS = "the AI sees only their names, and nothing here shows a value again."


@dataclass(frozen=True)
class EnvWords:
    """The dialog's sentences for one app: `intro` under its title, `public` under the form; `server`: whether the
    app has a server of its own, whose data part (its database, its /data folder) the dialog then shows."""

    intro: str
    public: str
    server: bool
    prefixes: tuple[str, ...] = ()  # the names' starts this app's build puts into its page (VITE_...): none for others


def _dependencies(tree: Mapping[str, bytes]) -> set[str]:
    """Every dependency named by a package.json anywhere in the project (a front end may live in a folder of its own)."""
    found: set[str] = set()
    for path, data in tree.items():
        if path.rsplit("/", 1)[-1] != "package.json" or "node_modules/" in path:
            continue
        try:
            manifest = json.loads(data)
        except (UnicodeDecodeError, json.JSONDecodeError):
            continue
        if isinstance(manifest, dict):
            for key in ("dependencies", "devDependencies"):
                section = manifest.get(key)
                if isinstance(section, dict):
                    found.update(str(name) for name in section)
    return found


def _names(prefixes: list[str]) -> str:
    return " or ".join(prefixes)


def env_words(tree: Mapping[str, bytes], override: RunOverride | None = None) -> EnvWords:
    """The dialog's words for the project `tree` (the current version's files) under its run settings."""
    deps = _dependencies(tree)
    prefixes = list(dict.fromkeys(prefix for dep, prefix in PUBLIC_BY_TOOL if dep in deps))
    try:
        parts = detect(tree, override)
    except NotRunnable:
        # Nothing runs yet (an empty project, files Forja cannot start): no claim about a page or a server.
        return EnvWords(
            intro=f"Your app's own settings and secrets (a payment key, a mail API key). Its processes get them; {_SECRETS}",
            public="A variable the app builds into its page can be read there by anyone who opens the app: keep keys out "
            "of the page.",
            server=True,
            prefixes=tuple(prefixes),
        )
    server = len(parts) > 1 or any(part.server or part.python for part in parts) or bool(deps & _SERVER_DEPENDENCIES)
    if not server:
        # A Node server of its own (node:http, started by its start script) is one to its publish too.
        try:
            server = production_plan(tree, override).kind == "server"
        except NotPublishable:
            pass
    if server:
        intro = (
            "Your app's own settings and secrets (a payment key, a mail API key). Its server gets them in its preview "
            f"and when published; {_SECRETS}"
        )
        public = (
            f"Names starting {_names(prefixes)} are built into the page, where anyone who opens the app can read them; "
            "the others stay on the server. Keep keys under other names."
            if prefixes
            else "They stay on the server: the page shows one only if the app's own code puts it there."
        )
        return EnvWords(intro=intro, public=public, server=True, prefixes=tuple(prefixes))
    intro = f"Your app's own settings (the public key of a map or a payment form, an address it calls); {_SECRETS}"
    if prefixes:
        public = (
            f"This app runs in the visitor's browser, with no server of its own: the page reads only names starting "
            f"{_names(prefixes)}, and builds them into itself, where anyone who opens the app can read them. Never put a "
            "password or a secret key here."
        )
    else:
        public = (
            "This app is pages only, with no server of its own: everything they use is written in them, where anyone who "
            "opens the app can read it. Never put a password or a secret key here."
        )
    return EnvWords(intro=intro, public=public, server=False, prefixes=tuple(prefixes))
