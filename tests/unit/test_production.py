"""preview_runtime.production: how a project is built for production, read from its own files.

Real projects first: the corpus (scripts/corpus.py, fetched into .cache/corpus) and our starters. Small trees written
here only for what none of them holds (a literal outDir, angular.json's outputPath, adapter-static's fallback...).
"""

from __future__ import annotations

import json

import pytest

from builder.generation.starters import StarterVariables, load_starters, render_starter
from preview_runtime.detect import RunOverride
from preview_runtime.production import SERVER_APP, NotPublishable, ProductionPlan, production_plan
from preview_runtime.production_server import SERVER_REFUSED
from scripts.corpus import ENTRIES, Entry, app_files, in_a_test_run
from tests.conftest import corpus_app

NPM_BUILD = "NODE_ENV=production npm run build"
SERVER_SENTENCE = SERVER_APP.split(": ", 1)[1]  # what every refused server app's sentence goes on to say
NODE_ENV = 'NODE_ENV=production HOST="$HOST" PORT="$PORT"'
NPM_START = f"{NODE_ENV} npm run start"


class Server(tuple[str, str, str]):
    """A server plan: (framework, build, start)."""


def server(framework: str, build: str, start: str) -> Server:
    return Server((framework, build, start))


# What production_plan answers for each corpus entry: (build, output, spa) of a static site, a Server plan, or the
# refused server app it names (SERVER_APP's blank), or a whole sentence (starting "This project is").
CORPUS: dict[str, tuple[str, str, bool] | Server | str] = {
    **{f"vite-{t}": (NPM_BUILD, "dist", False) for t in ("vanilla", "react", "preact", "vue", "svelte", "solid", "lit", "qwik")},
    **{
        f"vite-{t}-ts": (NPM_BUILD, "dist", False)
        for t in ("vanilla", "react", "preact", "vue", "svelte", "solid", "lit", "qwik")
    },
    "angular": (NPM_BUILD, "dist/angular/browser", True),
    "astro": (NPM_BUILD, "dist", False),
    "h5bp-webpack": (NPM_BUILD, "dist", False),
    "static-site": ("", "", False),
    "turbo-pnpm": ("cd apps/web && NODE_ENV=production corepack pnpm@9.15.9 run build", "apps/web/dist", False),
    "next-app-router": server("Next.js", NPM_BUILD, 'NODE_ENV=production npx --no -- next start -p "$PORT" -H "$HOST"'),
    "next-pages-router": server("Next.js", NPM_BUILD, 'NODE_ENV=production npx --no -- next start -p "$PORT" -H "$HOST"'),
    "sveltekit": SERVER_REFUSED.format(
        framework="a SvelteKit app with adapter-auto",
        why="Forja runs SvelteKit's adapter-node server or publishes adapter-static's files: set one of them in svelte.config.js",
    ),
    "express-generator": server("Express", "", NPM_START),
    "express-generator-yarn": server("Express", "", f"{NODE_ENV} corepack yarn@1.22.22 run start"),
    "fastify-cli": server("Fastify", "", f'{NODE_ENV} FASTIFY_ADDRESS="$HOST" FASTIFY_PORT="$PORT" npm run start'),
    "nestjs": server("NestJS", NPM_BUILD, f"{NODE_ENV} npm run start:prod"),
    "better-t-stack": "a Vite front end and its Express API",
    "nuxt": server("Nuxt", NPM_BUILD, f"{NODE_ENV} node .output/server/index.mjs"),
    "react-router": server("React Router framework mode", NPM_BUILD, NPM_START),
    "hono": server("Hono", NPM_BUILD, NPM_START),
    "flask-replit": server("Flask", "", "sh -c 'python main.py'"),
    "django": server("Django", "", 'python manage.py runserver --noreload --insecure "$HOST:$PORT"'),
    "flask-tutorial": server("Flask", "", 'FLASK_DEBUG=0 flask --app flaskr run --host "$HOST" --port "$PORT"'),
    "fastapi": server("FastAPI", "", 'uvicorn app.main:app --host "$HOST" --port "$PORT"'),
    "streamlit-hello": server(
        "Streamlit",
        "",
        'streamlit run streamlit_app.py --server.port "$PORT" --server.address "$HOST" --server.headless true '
        "--browser.gatherUsageStats false",
    ),
    "nicegui": server("NiceGUI", "", "python main.py"),
    "shiny": server("Shiny", "", 'shiny run --host "$HOST" --port "$PORT" app.py'),
}
STARTERS: dict[str, tuple[str, str, bool] | Server | str] = {
    "react-vite-tailwind": (NPM_BUILD, "dist", False),
    "svelte-vite": (NPM_BUILD, "dist", False),
    "vue-vite": (NPM_BUILD, "dist", False),
    "html": ("", "", False),
    "bookings": ("", "", False),
    "express-api": server("Express", "", NPM_START),
    "fastapi": server("FastAPI", "", 'uvicorn app.main:app --host "$HOST" --port "$PORT"'),
    "flask": server("Flask", "", 'FLASK_DEBUG=0 flask --app app:app run --host "$HOST" --port "$PORT"'),
    "fullstack-react-fastapi": "a front end with a Python API",
}


def corpus_tree(name: str) -> dict[str, bytes]:
    corpus_app(name)
    return app_files(next(entry for entry in ENTRIES if entry.name == name))


def check(tree: dict[str, bytes], expected: tuple[str, str, bool] | Server | str) -> None:
    if isinstance(expected, str):
        with pytest.raises(NotPublishable) as refused:
            production_plan(tree)
        if expected.startswith("This project is"):
            assert str(refused.value) == expected
            return
        assert str(refused.value) == SERVER_APP.format(framework=expected)
        assert str(refused.value).endswith(SERVER_SENTENCE)
        return
    plan = production_plan(tree)
    if isinstance(expected, Server):
        assert (plan.kind, plan.framework, plan.build, plan.start) == ("server", *expected)
        # Every production start serves the address the runner gives (never a port of its own choosing)...
        assert "$PORT" in plan.start or plan.start == "sh -c 'python main.py'" or plan.framework in ("NiceGUI",)
        # ... and never a reloader or a debugger.
        assert not {"--reload", "--watch", "nodemon", "--debug"} & set(plan.start.split())
        return
    assert plan.kind == "static"
    assert (plan.build, plan.output, plan.spa) == expected


@pytest.mark.parametrize("entry", in_a_test_run(), ids=lambda e: e.name)
def test_corpus_projects_build_as_their_authors_set_up(entry: Entry) -> None:
    check(corpus_tree(entry.name), CORPUS[entry.name])


def test_every_corpus_entry_says_how_it_builds() -> None:
    """FORJA_CORPUS=all checks every entry's plan: each needs its answer here, fetched in a test run or not."""
    assert sorted(CORPUS) == sorted(entry.name for entry in ENTRIES)


@pytest.mark.parametrize("starter", load_starters(), ids=lambda s: s.name)
def test_starters_build_for_production(starter) -> None:
    tree = {path: text.encode() for path, text in render_starter(starter, StarterVariables(title="Shop")).items()}
    check(tree, STARTERS[starter.name])


def test_the_server_apps_the_issue_names_are_published_as_servers() -> None:
    for name in ("next-pages-router", "express-generator", "fastapi", "flask-replit", "django", "nestjs", "hono"):
        assert production_plan(corpus_tree(name)).kind == "server"


def package(scripts: dict[str, str] | None = None, deps: dict[str, str] | None = None) -> bytes:
    return json.dumps({"name": "app", "scripts": scripts or {}, "devDependencies": deps or {}}).encode()


VITE = package({"dev": "vite", "build": "vite build"}, {"vite": "8", "react": "19"})


def plan(tree: dict[str, bytes], override: RunOverride | None = None) -> ProductionPlan:
    return production_plan({"index.html": b"<div id=app></div>", **tree}, override)


def test_vite_reads_a_literal_out_dir_and_a_client_router_makes_it_an_spa() -> None:
    config = b"export default defineConfig({ plugins: [react()], build: { outDir: './public-site/', sourcemap: true } })"
    assert plan({"package.json": VITE, "vite.config.ts": config}).output == "public-site"
    assert (
        plan({"package.json": VITE, "vite.config.js": b"export default { build: { outDir: process.env.OUT } }"}).output == "dist"
    )
    routed = package({"dev": "vite", "build": "tsc -b && vite build --outDir www"}, {"vite": "8", "react-router-dom": "7"})
    routed_plan = plan({"package.json": routed})
    assert (routed_plan.output, routed_plan.spa, routed_plan.public_env_prefixes) == ("www", True, ["VITE_"])
    with pytest.raises(NotPublishable, match="outside the project"):
        plan({"package.json": VITE, "vite.config.js": b"export default { build: { outDir: '../elsewhere' } }"})


def test_the_build_uses_the_package_manager_of_the_install_and_the_folder_the_preview_runs() -> None:
    assert plan({"package.json": VITE, "yarn.lock": b"# yarn lockfile v1\n"}).build == (
        "NODE_ENV=production corepack yarn@1.22.22 run build"
    )
    nested = {"site/package.json": VITE, "site/pnpm-lock.yaml": b"lockfileVersion: '9.0'\n", "site/index.html": b"<p>"}
    in_folder = production_plan({**nested, "api/main.py": b"print(1)\n"}, RunOverride(folder="site"))
    assert (in_folder.build, in_folder.output) == ("cd site && NODE_ENV=production corepack pnpm@9.15.9 run build", "site/dist")
    no_script = plan({"package.json": package({"dev": "vite"}, {"vite": "8"})})
    assert no_script.build == "NODE_ENV=production npx --no -- vite build"


def test_angular_output_path_by_builder() -> None:
    def angular(builder: str, options: dict[str, object]) -> str:
        config = {
            "projects": {"shop": {"projectType": "application", "architect": {"build": {"builder": builder, "options": options}}}}
        }
        deps = {"@angular/core": "20", "@angular/cli": "20"}
        tree = {
            "package.json": package({"start": "ng serve", "build": "ng build"}, deps),
            "angular.json": json.dumps(config).encode(),
        }
        return production_plan(tree).output

    assert angular("@angular/build:application", {}) == "dist/shop/browser"
    assert angular("@angular/build:application", {"outputPath": "dist/site"}) == "dist/site/browser"
    assert angular("@angular/build:application", {"outputPath": {"base": "out", "browser": ""}}) == "out"
    assert angular("@angular-devkit/build-angular:browser", {"outputPath": "dist/shop"}) == "dist/shop"
    with pytest.raises(NotPublishable, match="Angular with server rendering"):
        angular("@angular/build:application", {"ssr": {"entry": "src/server.ts"}, "outputMode": "server"})


def test_sveltekit_is_static_only_with_adapter_static_and_an_spa_with_its_fallback() -> None:
    deps = {"@sveltejs/kit": "2", "@sveltejs/adapter-static": "3", "vite": "7"}
    scripts = {"dev": "vite dev", "build": "vite build"}

    def kit(config: str) -> ProductionPlan:
        return production_plan({"package.json": package(scripts, deps), "svelte.config.js": config.encode()})

    prerendered = kit("import adapter from '@sveltejs/adapter-static';\nexport default { kit: { adapter: adapter() } };")
    assert (prerendered.framework, prerendered.output, prerendered.spa) == ("SvelteKit", "build", False)
    spa = kit(
        "import adapter from '@sveltejs/adapter-static';\nexport default { kit: { adapter: adapter({ pages: 'site', fallback: '200.html' }) } };"
    )
    assert (spa.output, spa.spa, spa.public_env_prefixes) == ("site", True, ["PUBLIC_"])
    with pytest.raises(NotPublishable, match="SvelteKit app with adapter-auto: Forja cannot publish it yet"):
        kit("import adapter from '@sveltejs/adapter-auto';\nexport default { kit: { adapter: adapter() } };")
    deps["@sveltejs/adapter-node"] = "5"
    node = kit("import adapter from '@sveltejs/adapter-node';\nexport default { kit: { adapter: adapter() } };")
    assert (node.kind, node.build, node.start) == ("server", NPM_BUILD, f"{NODE_ENV} node build")
    out = kit("import adapter from '@sveltejs/adapter-node';\nexport default { kit: { adapter: adapter({ out: 'server' }) } };")
    assert out.start == f"{NODE_ENV} node server"


def test_astro_with_a_server_output_or_node_adapter_is_a_server_app() -> None:
    astro = package({"dev": "astro dev", "build": "astro build"}, {"astro": "5"})
    assert (
        production_plan({"package.json": astro, "astro.config.mjs": b"export default defineConfig({ outDir: 'site' })"}).output
        == "site"
    )
    with pytest.raises(NotPublishable, match="server adapter other than @astrojs/node: Forja cannot publish it yet"):
        production_plan({"package.json": astro, "astro.config.mjs": b"export default defineConfig({ output: 'server' })"})
    with_node = package({"dev": "astro dev", "build": "astro build"}, {"astro": "5", "@astrojs/node": "9"})
    config = b"import node from '@astrojs/node';\nexport default defineConfig({ adapter: node({ mode: 'standalone' }) })"
    standalone = production_plan({"package.json": with_node, "astro.config.mjs": config})
    assert (standalone.kind, standalone.build, standalone.start) == (
        "server",
        NPM_BUILD,
        f"{NODE_ENV} node dist/server/entry.mjs",
    )
    with pytest.raises(NotPublishable, match="middleware mode: Forja cannot publish it yet"):
        production_plan({"package.json": with_node, "astro.config.mjs": config.replace(b"standalone", b"middleware")})


def test_other_static_generators_and_what_forja_cannot_publish() -> None:
    cra = production_plan(
        {"package.json": package({"start": "react-scripts start", "build": "react-scripts build"}, {"react-scripts": "5"})}
    )
    assert (cra.framework, cra.output, cra.public_env_prefixes) == ("Create React App", "build", ["REACT_APP_"])
    eleventy = package({"start": "eleventy --serve", "build": "eleventy"}, {"@11ty/eleventy": "3"})
    assert production_plan({"package.json": eleventy, "index.md": b"# Hi"}).output == "_site"
    vitepress = package(
        {"docs:dev": "vitepress dev docs", "docs:build": "vitepress build docs", "dev": "vitepress dev docs"}, {"vitepress": "1"}
    )
    docs = production_plan({"package.json": vitepress, "docs/index.md": b"# Hi"})
    assert (docs.build, docs.output) == ("NODE_ENV=production npm run docs:build", "docs/.vitepress/dist")
    assert production_plan({"public/index.html": b"<h1>Hi</h1>"}).output == "public"
    with pytest.raises(NotPublishable, match=r"does not know how package\.json builds a site"):
        production_plan(
            {"package.json": package({"dev": "node tools/serve.js", "build": "node tools/build.js"}), "tools/serve.js": b""}
        )


def test_run_settings_and_workspaces_the_preview_honours() -> None:
    site = {"site/index.html": b"<h1>Hi</h1>", "tools/x.py": b"print(1)\n"}
    assert production_plan(site, RunOverride(folder="site", command="python3 -m http.server $PORT")).output == "site"
    nx = {
        "package.json": json.dumps({"name": "org", "devDependencies": {"nx": "21", "@nx/vite": "21", "vite": "7"}}).encode(),
        "nx.json": b'{"plugins": ["@nx/vite/plugin"]}',
        "apps/web/project.json": b'{"name": "web", "projectType": "application"}',
        "apps/web/vite.config.ts": b"export default {}",
    }
    with pytest.raises(NotPublishable, match=r"^This is a Vite app of an Nx workspace: Forja cannot tell yet where Nx writes"):
        production_plan(nx)
    with pytest.raises(NotPublishable, match=r"^Forja cannot tell how to start this project"):
        production_plan({"notes.txt": b"hello"})
    makefile = b"serve:\n\tpython3 -m http.server $$PORT --directory site\n"
    assert production_plan({"Makefile": makefile, "site/index.html": b"<h1>Hi</h1>"}).output == "site"
    with pytest.raises(NotPublishable, match=r"^Forja finds no package\.json in the project to build it from: it publishes Vite"):
        production_plan({"Makefile": b"serve:\n\t./serve.sh\n", "serve.sh": b"#!/bin/sh\n"})
    with pytest.raises(NotPublishable, match=r"server app \(Go, started by the run target in Makefile\)"):
        production_plan({"Makefile": b"run:\n\tgo run .\n", "go.mod": b"module x\n", "static/index.html": b"<p>"})


def test_node_servers_start_for_production_not_as_a_dev_server() -> None:
    express = {"express": "5"}
    # "start" that watches is a dev server: main then.
    watching = {
        "package.json": json.dumps(
            {"main": "server.js", "scripts": {"start": "nodemon server.js"}, "dependencies": express}
        ).encode(),
        "server.js": b"",
    }
    assert production_plan(watching).start == f"{NODE_ENV} node server.js"
    with pytest.raises(
        NotPublishable, match=r'Express server: Forja cannot publish it yet, because its package.json has no "start"'
    ):
        production_plan({"package.json": package({"dev": "node --watch app.js"}, express), "app.js": b""})
    pnpm = {
        "package.json": package({"dev": "tsx watch src/index.ts", "build": "tsc", "start": "node dist/index.js"}, {"koa": "2"}),
        "pnpm-lock.yaml": b"lockfileVersion: '9.0'\n",
    }
    next_pnpm = {
        "package.json": package({"dev": "next dev", "build": "next build"}, {"next": "16"}),
        "pnpm-lock.yaml": b"lockfileVersion: '9.0'\n",
    }
    assert production_plan(next_pnpm).start == 'NODE_ENV=production corepack pnpm@9.15.9 exec next start -p "$PORT" -H "$HOST"'
    plan = production_plan(pnpm)
    assert (plan.framework, plan.build, plan.start) == (
        "Koa",
        "NODE_ENV=production corepack pnpm@9.15.9 run build",
        f"{NODE_ENV} corepack pnpm@9.15.9 run start",
    )


def test_a_node_server_with_no_framework_publishes_by_its_start_script() -> None:
    plain = {
        "package.json": package({"start": "node server.js"}),
        "server.js": b"require('http').createServer().listen(process.env.PORT)",
    }
    plan = production_plan(plain)
    assert (plan.kind, plan.framework, plan.build, plan.start) == ("server", "Node.js", "", NPM_START)


def test_python_servers_use_gunicorn_or_uvicorn_when_the_project_installs_them() -> None:
    flask = {"app.py": b"from flask import Flask\napp = Flask(__name__)\n"}
    assert (
        production_plan({**flask, "requirements.txt": b"flask\ngunicorn==23\n"}).start == 'gunicorn app:app --bind "$HOST:$PORT"'
    )
    factory = {"shop/__init__.py": b"def create_app():\n    pass\n", "requirements.txt": b"flask\ngunicorn\n"}
    assert production_plan(factory).start == 'FLASK_DEBUG=0 flask --app shop run --host "$HOST" --port "$PORT"'
    django = corpus_tree("django")
    with_gunicorn = {**django, "requirements.txt": django["requirements.txt"] + b"\ngunicorn\n"}
    assert production_plan(with_gunicorn).start == 'gunicorn mysite.wsgi:application --bind "$HOST:$PORT"'
    with_uvicorn = {**django, "requirements.txt": django["requirements.txt"] + b"\nuvicorn\n"}
    assert production_plan(with_uvicorn).start == 'uvicorn mysite.asgi:application --host "$HOST" --port "$PORT"'
