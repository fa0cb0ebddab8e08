"""preview_runtime.production: how a project is built for production, read from its own files.

Real projects first: the corpus (scripts/corpus.py, fetched into .cache/corpus) and our starters. Small trees written
here only for what none of them holds (a literal outDir, angular.json's outputPath, adapter-static's fallback...).
"""

from __future__ import annotations

import fcntl
import json
import os

import pytest

from builder.generation.starters import StarterVariables, load_starters, render_starter
from preview_runtime.detect import RunOverride
from preview_runtime.production import SERVER_APP, NotPublishable, ProductionPlan, production_plan
from scripts.corpus import ENTRIES, Entry, app_files
from scripts.fetch_corpus import LOCK, is_fetched

NPM_BUILD = "NODE_ENV=production npm run build"
SERVER_SENTENCE = SERVER_APP.split(": ", 1)[1]  # what every server app's refusal goes on to say
# What production_plan answers for each corpus entry: (build, output, spa), or the server app it names.
CORPUS: dict[str, tuple[str, str, bool] | str] = {
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
    "next-app-router": "Next.js",
    "next-pages-router": "Next.js",
    "sveltekit": "SvelteKit without adapter-static",
    "express-generator": "Express",
    "express-generator-yarn": "Express",
    "fastify-cli": "Fastify",
    "nestjs": "NestJS",
    "better-t-stack": "a Vite front end and its Express API",
    "nuxt": "Nuxt",
    "react-router": "React Router framework mode",
    "hono": "Hono",
    "flask-replit": "Flask",
    "django": "Django",
    "flask-tutorial": "Flask",
    "fastapi": "FastAPI",
    "streamlit-hello": "Streamlit",
    "nicegui": "NiceGUI",
    "shiny": "Shiny",
}
STARTERS: dict[str, tuple[str, str, bool] | str] = {
    "react-vite-tailwind": (NPM_BUILD, "dist", False),
    "svelte-vite": (NPM_BUILD, "dist", False),
    "vue-vite": (NPM_BUILD, "dist", False),
    "html": ("", "", False),
    "express-api": "Express",
    "fastapi": "FastAPI",
    "flask": "Flask",
    "fullstack-react-fastapi": "a front end with a Python API",
}


def corpus_tree(entry: Entry) -> dict[str, bytes]:
    """The entry's files; while scripts/fetch_corpus.py holds its lock (CI runs it beside the first tests) it may still
    come, so wait for the lock before skipping."""
    if not is_fetched(entry) and LOCK.exists():
        with LOCK.open("a") as lock:
            fcntl.flock(lock, fcntl.LOCK_SH)
    if not is_fetched(entry):
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"corpus project {entry.name} is not fetched (scripts/fetch_corpus.py)", pytrace=False)
        pytest.skip(f"corpus project {entry.name} is not fetched: run scripts/fetch_corpus.py")
    return app_files(entry)


def check(tree: dict[str, bytes], expected: tuple[str, str, bool] | str) -> None:
    if isinstance(expected, str):
        with pytest.raises(NotPublishable) as refused:
            production_plan(tree)
        assert str(refused.value) == SERVER_APP.format(framework=expected)
        assert str(refused.value).endswith(SERVER_SENTENCE)
        return
    plan = production_plan(tree)
    assert plan.kind == "static"
    assert (plan.build, plan.output, plan.spa) == expected


@pytest.mark.parametrize("entry", ENTRIES, ids=[e.name for e in ENTRIES])
def test_corpus_projects_build_as_their_authors_set_up(entry: Entry) -> None:
    assert entry.name in CORPUS, f"{entry.name}: say here what production_plan must answer for it"
    check(corpus_tree(entry), CORPUS[entry.name])


@pytest.mark.parametrize("starter", load_starters(), ids=lambda s: s.name)
def test_starters_build_for_production(starter) -> None:
    tree = {path: text.encode() for path, text in render_starter(starter, StarterVariables(title="Shop")).items()}
    check(tree, STARTERS[starter.name])


def test_the_refusals_the_issue_names_say_server_apps_are_not_published_yet() -> None:
    by_name = {e.name: e for e in ENTRIES}
    for name in ("next-app-router", "express-generator", "fastapi", "flask-replit"):
        with pytest.raises(NotPublishable, match=r"is a server app .*publishing server apps is not in this Forja yet"):
            production_plan(corpus_tree(by_name[name]))


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
    with pytest.raises(NotPublishable, match="SvelteKit without adapter-static"):
        kit("import adapter from '@sveltejs/adapter-node';\nexport default { kit: { adapter: adapter() } };")


def test_astro_with_a_server_output_or_node_adapter_is_a_server_app() -> None:
    astro = package({"dev": "astro dev", "build": "astro build"}, {"astro": "5"})
    assert (
        production_plan({"package.json": astro, "astro.config.mjs": b"export default defineConfig({ outDir: 'site' })"}).output
        == "site"
    )
    with pytest.raises(NotPublishable, match="Astro with a server adapter"):
        production_plan({"package.json": astro, "astro.config.mjs": b"export default defineConfig({ output: 'server' })"})
    with_node = package({"dev": "astro dev", "build": "astro build"}, {"astro": "5", "@astrojs/node": "9"})
    with pytest.raises(NotPublishable, match="Astro with a server adapter"):
        production_plan({"package.json": with_node, "astro.config.mjs": b"export default {}"})


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
