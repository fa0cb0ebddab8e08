"""The corpus: projects nobody at Forja wrote, which every preview runner must show as their authors meant.

Each entry says where its files come from (an upstream scaffolder at an exact version, a path inside a
package on npm or PyPI, or, where the upstream template lives only on GitHub, which this machine and CI
cannot reach, a minimal project written as the framework's docs show it), the text its page must show,
and where to look for it. scripts/fetch_corpus.py makes the projects and fetches everything they install
into .cache/corpus; tests/integration/test_corpus.py previews each one offline in both runners.

Versions: every scaffolder and package named here is exact, and npm and pip resolve every range as of
RESOLVED_BEFORE (npm's `before`, pip's `--uploaded-prior-to`), so a fetch on another day writes the same
lockfiles and downloads the same wheels.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

REPO = Path(__file__).resolve().parents[1]
CORPUS_DIR = REPO / ".cache" / "corpus"
# corepack's cache (COREPACK_HOME) with the pnpm and yarn versions the entries' installs run, shared by all entries.
COREPACK_DIR = CORPUS_DIR / "corepack"
WHEELS_DIR = CORPUS_DIR / "wheels"
DOCS_DIR = Path(__file__).resolve().parent / "corpus_docs"
RESOLVED_BEFORE = "2026-11-23T00:00:00Z"

Origin = Literal["scaffolder", "registry", "docs"]


@dataclass(frozen=True)
class Scaffold:
    """An npm scaffolder run as `npm exec --package=<package> -- <command>`; "{dir}" is the project's folder."""

    package: str
    command: tuple[str, ...]


@dataclass(frozen=True)
class PythonScaffold:
    """A command from a PyPI package installed into a throwaway venv; "{dir}" is the project's folder."""

    requirement: str
    command: tuple[str, ...]


@dataclass(frozen=True)
class NpmFiles:
    """The folder `path` inside a package's tarball on npm, less `drop`."""

    package: str
    path: str
    drop: tuple[str, ...] = ()


@dataclass(frozen=True)
class PypiFiles:
    """The folder `path` inside a PyPI package's sdist (or wheel, for packages that publish no sdist)."""

    requirement: str
    path: str
    archive: Literal["sdist", "wheel"] = "sdist"


@dataclass(frozen=True)
class Docs:
    """A minimal project as the framework's docs page `url` shows it, kept in scripts/corpus_docs/<name>."""

    url: str


Source = Scaffold | PythonScaffold | NpmFiles | PypiFiles | Docs


@dataclass(frozen=True)
class Interaction:
    """What a person does on the page that only the app's live connection to its server answers (a websocket,
    socket.io), and the text that shows afterwards."""

    expect: str
    fill: tuple[str, str] | None = None  # (a field's label, the text typed into it)
    click: str = ""  # a button's accessible name


@dataclass(frozen=True)
class Entry:
    name: str
    origin: Origin
    source: Source
    expect: str  # visible text of the app's own page (from its upstream source)
    path: str = "/"  # the page to open
    # Files a person importing this project would have beside the upstream ones (path -> text), each explained in notes.
    added: dict[str, str] = field(default_factory=dict)
    interact: Interaction | None = None  # done once the page shows `expect`
    # What `pip download` fetches for it, run in the project's folder ("-r requirements.txt", ".", specs).
    pip: tuple[str, ...] = ()
    notes: str = ""
    resolved_before: str = RESOLVED_BEFORE  # npm and pip pick the versions that were out then
    # The package manager whose lockfile the project carries: "npm"; "yarn" (npm resolves as of the date, then
    # `yarn import` turns its lockfile into yarn.lock); "pnpm" (pnpm resolves on the fetch day: it knows no date).
    manager: Literal["npm", "yarn", "pnpm"] = "npm"


CREATE_VITE = "create-vite@9.3.0"
# Each create-vite template's page says "Edit <file> and save to test HMR", but for Qwik (made with an older create-vite).
VITE_TEMPLATES = {
    "vanilla": "Edit src/main.js and save to test",
    "vanilla-ts": "Edit src/main.ts and save to test",
    "react": "Edit src/App.jsx and save to test",
    "react-ts": "Edit src/App.tsx and save to test",
    "preact": "Edit src/app.jsx and save to test",
    "preact-ts": "Edit src/app.tsx and save to test",
    "vue": "Edit src/App.vue and save to test",
    "vue-ts": "Edit src/App.vue and save to test",
    "svelte": "Edit src/App.svelte and save to test",
    "svelte-ts": "Edit src/App.svelte and save to test",
    "solid": "Edit src/App.jsx and save to test",
    "solid-ts": "Edit src/App.tsx and save to test",
    "lit": "Edit src/my-element.js and save to test",
    "lit-ts": "Edit src/my-element.ts and save to test",
    "qwik": "Click on the Vite and Qwik logos to learn more",
    "qwik-ts": "Click on the Vite and Qwik logos to learn more",
}

# Every create-vite 9 qwik template pairs Vite 8 with a Qwik that npm does not have (9.3.0 asks for ^1.20.2; 1.20.1,
# the newest there, wants vite <8), so `npm install` fails. 8.3.0 is the newest create-vite whose qwik templates install.
CREATE_VITE_FOR_QWIK = "create-vite@8.3.0"
VITE_NOTES = {
    "lit": "the text is inside the element's shadow root",
    "qwik": f"made with {CREATE_VITE_FOR_QWIK}: {CREATE_VITE}'s template needs a Qwik version npm does not have",
}

VITE = [
    Entry(
        name=f"vite-{template}",
        origin="scaffolder",
        source=Scaffold(
            CREATE_VITE_FOR_QWIK if template.startswith("qwik") else CREATE_VITE,
            ("create-vite", "{dir}", "--template", template, "--no-interactive", "--no-immediate"),
        ),
        expect=expect,
        notes=VITE_NOTES.get(template.removesuffix("-ts"), ""),
    )
    for template, expect in VITE_TEMPLATES.items()
]

NEXT_OPTIONS = ("--use-npm", "--skip-install", "--disable-git", "--no-react-compiler", "--no-cache-components")
NEXT_OPTIONS += ("--no-agents-md", "--no-agent-feedback", "--import-alias", "@/*")
# Every choice given, so it never prompts: a React front end and an Express API, nothing else.
BETTER_T_STACK_OPTIONS = tuple(
    "--frontend tanstack-router --backend express --runtime node --api none --database none --orm none --auth none "
    "--payments none --addons none --examples none --db-setup none --web-deploy none --server-deploy none "
    "--package-manager npm --no-install --no-git --disable-analytics --no-render-title --directory-conflict error".split()
)

NODE = [
    Entry(
        name="next-app-router",
        origin="scaffolder",
        source=Scaffold(
            "create-next-app@16.4.3",
            ("create-next-app", "{dir}", "--ts", "--tailwind", "--eslint", "--app", "--no-src-dir", *NEXT_OPTIONS),
        ),
        expect="To get started, edit the page.tsx file.",
        notes="app/layout.tsx loads Geist through next/font/google, which cannot reach Google's servers offline",
    ),
    Entry(
        name="next-pages-router",
        origin="scaffolder",
        source=Scaffold(
            "create-next-app@16.4.3",
            ("create-next-app", "{dir}", "--js", "--no-tailwind", "--no-eslint", "--no-app", "--src-dir", *NEXT_OPTIONS),
        ),
        expect="To get started, edit the index.js file.",
    ),
    Entry(
        name="sveltekit",
        origin="scaffolder",
        source=Scaffold(
            "sv@0.17.1", ("sv", "create", "{dir}", "--template", "demo", "--types", "ts", "--no-add-ons", "--no-install")
        ),
        expect="try editing src/routes/+page.svelte",
        notes="the demo template; its .npmrc sets engine-strict",
    ),
    Entry(
        name="angular",
        origin="scaffolder",
        source=Scaffold(
            "@angular/cli@22.2.7",
            (
                "ng",
                "new",
                "{dir}",
                "--skip-install",
                "--skip-git",
                "--defaults",
                "--ssr=false",
                "--style=css",
                "--ai-config=none",
            ),
        ),
        expect="Congratulations! Your app is running.",
    ),
    Entry(
        name="express-generator",
        origin="scaffolder",
        source=Scaffold("express-generator@4.16.1", ("express", "--view=pug", "{dir}")),
        expect="Welcome to Express",
        notes="express-generator's newest release (2019): Express 4.16, pug 2.0.0-beta11; bin/www reads PORT",
    ),
    Entry(
        name="fastify-cli",
        origin="scaffolder",
        source=Scaffold("fastify-cli@8.0.2", ("fastify", "generate", "{dir}")),
        expect='{"root":true}',
        notes="`fastify start` listens on 127.0.0.1:3000 unless told otherwise (-a/-p, FASTIFY_ADDRESS/FASTIFY_PORT)",
    ),
    Entry(
        name="nestjs",
        origin="scaffolder",
        source=Scaffold(
            "@nestjs/cli@12.0.8",
            ("nest", "new", "{dir}", "--skip-install", "--skip-git", "--package-manager", "npm", "--language", "ts"),
        ),
        expect="Hello World!",
        notes="main.ts listens on process.env.PORT ?? 3000",
    ),
    Entry(
        name="better-t-stack",
        origin="scaffolder",
        source=Scaffold(
            "create-better-t-stack@3.44.1",
            ("create-better-t-stack", "create", "{dir}", *BETTER_T_STACK_OPTIONS),
        ),
        expect="API Status",
        # Later tsdown releases (its API's build tool) depend on yuku, a package npm does not serve: resolve as of its release.
        resolved_before="2026-09-22T00:00:00Z",
        notes="front end and API in two folders: npm workspaces apps/web (Vite on 3001) and apps/server (Express on 3000, "
        "hard-coded); the root `dev` runs both; the page calls the API at VITE_SERVER_URL=http://localhost:3000 (apps/web/.env)",
    ),
    Entry(
        name="astro",
        origin="docs",
        source=Docs("https://docs.astro.build/en/install/manual/"),
        expect="Hello, World!",
        notes="create-astro@5.2.4 downloads every template, `basics` too, from GitHub, and no Astro example is on npm",
    ),
    Entry(
        name="nuxt",
        origin="docs",
        source=Docs("https://nuxt.com/docs/guide/directory-structure/app/app"),
        expect="Welcome to the homepage",
        notes="create-nuxt@3.37.0 (nuxi init) downloads its templates from GitHub; the files follow the starter's "
        "layout (app/app.vue, postinstall `nuxt prepare`) with the docs' app.vue",
    ),
    Entry(
        name="react-router",
        origin="docs",
        source=Docs("https://reactrouter.com/start/framework/installation"),
        expect="Welcome to React Router!",
        notes="create-react-router@8.4.0 downloads its templates from GitHub; the docs' manual setup (framework mode, "
        "server rendering on), the heading's words are ours",
    ),
    Entry(
        name="turbo-pnpm",
        origin="docs",
        source=Docs("https://turborepo.com/docs/crafting-your-repository/structuring-a-repository"),
        expect="Hello from @repo/ui in the web app",
        manager="pnpm",
        notes="a pnpm workspace laid out as Turborepo's docs and create-turbo's basic example (apps/web, apps/docs, "
        "packages/ui; create-turbo downloads that example from GitHub), pinned to pnpm 9.15.9; apps/web runs",
    ),
    Entry(
        name="express-generator-yarn",
        origin="scaffolder",
        source=Scaffold("express-generator@4.16.1", ("express", "--view=pug", "{dir}")),
        expect="Welcome to Express",
        manager="yarn",
        notes="express-generator's app with a yarn.lock and no package-lock.json (Yarn 1, Forja's default); not a Vite "
        "app: Yarn 1 caches every platform's build of Vite 8's native parts (570 MB) and needs them all offline",
    ),
    Entry(
        name="hono",
        origin="docs",
        source=Docs("https://hono.dev/docs/getting-started/nodejs"),
        expect="Hello Node.js!",
        notes="create-hono@0.19.5 downloads its templates from GitHub; `serve(app)` listens on 3000, "
        "a port the source never names",
    ),
    Entry(
        name="flask-replit",
        origin="docs",
        source=Docs("https://docs.replit.com/replit-workspace/configuring-repl"),
        expect="Hello, World!",
        pip=("-r", "requirements.txt"),
        notes="a Flask app made on Replit, with Tailwind's CLI in a package.json for its CSS "
        "(https://tailwindcss.com/docs/installation/tailwind-cli): package.json has no dev or start script, the .replit's "
        "run line starts it; main.py is Flask's quickstart app, listening on 0.0.0.0:5000 as .replit's [[ports]] says",
    ),
    Entry(
        name="h5bp-webpack",
        origin="registry",
        source=NpmFiles("html5-boilerplate@9.0.1", "dist"),
        expect="Hello world! This is HTML5 Boilerplate.",
        notes="the project HTML5 Boilerplate ships: webpack-dev-server (`start` passes --open); package.json's name is ' '",
    ),
    Entry(
        name="static-site",
        origin="registry",
        source=NpmFiles(
            "html5-boilerplate@9.0.1",
            "dist",
            drop=("package.json", "webpack.common.js", "webpack.config.dev.js", "webpack.config.prod.js"),
        ),
        expect="Hello world! This is HTML5 Boilerplate.",
        notes="HTML5 Boilerplate's site without its webpack tooling: plain HTML, CSS and JS",
    ),
]

PYTHON = [
    Entry(
        name="django",
        origin="scaffolder",
        source=PythonScaffold("Django==5.2.19", ("django-admin", "startproject", "mysite", "{dir}")),
        expect="The install worked successfully! Congratulations!",
        added={"requirements.txt": "Django==5.2.19\n"},
        pip=("-r", "requirements.txt"),
        notes="startproject writes no requirements.txt; the added one pins what made the project (Django 6 needs "
        "Python 3.12, the preview image has 3.11). DEBUG's ALLOWED_HOSTS take *.localhost",
    ),
    Entry(
        name="flask-tutorial",
        origin="registry",
        source=PypiFiles("flask==3.1.3", "examples/tutorial"),
        expect="Log In",
        path="/auth/login",
        pip=(".", "flit_core<4"),
        notes="flaskr, Flask's tutorial app: a package run as `flask --app flaskr run`, dependencies only in "
        "pyproject.toml (built by flit_core). Its index needs `flask --app flaskr init-db` first, so the login page is opened",
    ),
    Entry(
        name="fastapi",
        origin="registry",
        source=PypiFiles("fastapi==0.165.0", "docs_src/bigger_applications"),
        expect="Hello Bigger Applications!",
        path="/?token=jessica",
        added={"requirements.txt": "fastapi[standard]==0.165.0\n"},
        pip=("-r", "requirements.txt"),
        notes="FastAPI's 'Bigger Applications' docs example (app/main.py with routers); every route wants ?token=jessica. "
        "requirements.txt added as the docs install it",
    ),
    Entry(
        name="streamlit-hello",
        origin="registry",
        source=PypiFiles("streamlit==1.67.0", "streamlit/hello", archive="wheel"),
        expect="Welcome to Streamlit!",
        added={"requirements.txt": "streamlit==1.67.0\n"},
        pip=("-r", "requirements.txt"),
        notes="`streamlit hello`'s multipage app from the wheel (Streamlit publishes no sdist), entry streamlit_app.py; "
        "requirements.txt added",
    ),
    Entry(
        name="nicegui",
        origin="docs",
        source=Docs("https://nicegui.io/documentation/section_getting_started"),
        expect="Hello NiceGUI!",
        interact=Interaction(click="BUTTON", expect="button was pressed"),
        pip=("-r", "requirements.txt"),
        notes="NiceGUI's first example as main.py, with a pinned requirements.txt; the click's notification comes over "
        "socket.io, and ui.run() picks port 8080 itself",
    ),
    Entry(
        name="shiny",
        origin="docs",
        source=Docs("https://shiny.posit.co/py/components/inputs/text-box/"),
        expect="Enter text...",
        interact=Interaction(fill=("Text input", "Typed into the preview"), expect="Typed into the preview"),
        pip=("-r", "requirements.txt"),
        notes="Shiny for Python's text box example (core syntax), with a pinned requirements.txt; the output is "
        "rendered by the server over Shiny's websocket, first and after each keystroke",
    ),
]

ENTRIES: list[Entry] = [*VITE, *NODE, *PYTHON]
# The entries a test run uses, which scripts/test.sh fetches beside the first tests, in the order the tests first need
# them: the end-to-end import (vite-react) and the Express publish, the Docker previews, the local previews and the
# publish test's, then three more kinds whose production plans tests/unit/test_production.py checks. Each takes 10 s to 8
# minutes to fetch; all 39 took 27 minutes on two cores, more than the tests before them. FORJA_CORPUS=all fetches and
# tests every entry.
IN_A_TEST_RUN = ("vite-react", "express-generator", "vite-react-ts", "turbo-pnpm", "fastapi", "flask-replit", "nicegui")
IN_A_TEST_RUN += ("vite-vue", "vite-svelte", "vite-lit-ts", "sveltekit", "next-pages-router", "express-generator-yarn")
IN_A_TEST_RUN += ("hono", "flask-tutorial", "static-site", "angular", "fastify-cli", "nestjs", "django")
EVERY_ENTRY = os.environ.get("FORJA_CORPUS", "") == "all"


def in_a_test_run() -> list[Entry]:
    """The entries a test run fetches and uses, in that order: IN_A_TEST_RUN's, or every entry with FORJA_CORPUS=all."""
    if EVERY_ENTRY:
        return list(ENTRIES)
    by_name = {entry.name: entry for entry in ENTRIES}
    return [by_name[name] for name in IN_A_TEST_RUN]


def app_files(entry: Entry) -> dict[str, bytes]:
    """The fetched project's files as an import reads them: relative POSIX path -> bytes."""
    app = CORPUS_DIR / entry.name / "app"
    return {path.relative_to(app).as_posix(): path.read_bytes() for path in sorted(app.rglob("*")) if path.is_file()}
