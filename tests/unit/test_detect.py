"""preview_runtime.detect: how projects nobody wrote for Forja are started, from their own files.

The manifests below are shaped like the upstream scaffolders' (create-vite, create-next-app, Angular CLI,
express-generator, django-admin...); tests/integration/test_corpus.py runs the real ones.
"""

from __future__ import annotations

import json

import pytest

from preview_runtime.detect import NotRunnable, detect
from preview_runtime.plan import browser_plan_for, plan_for


def package(scripts: dict[str, str] | None = None, deps: dict[str, str] | None = None, **extra: object) -> bytes:
    body: dict[str, object] = {"name": "app", "version": "0.0.0", **extra}
    if scripts is not None:
        body["scripts"] = scripts
    body["devDependencies"] = deps or {}
    return json.dumps(body).encode()


@pytest.mark.parametrize(
    ("scripts", "deps", "framework", "dev", "port"),
    [
        ({"dev": "vite", "build": "vite build"}, {"vite": "7"}, "Vite", 'npm run dev -- --port "$PORT" --host "$HOST"', 5173),
        ({"dev": "next dev --turbopack"}, {"next": "15"}, "Next.js", 'npm run dev -- --port "$PORT" --hostname "$HOST"', 3000),
        ({"dev": "astro dev"}, {"astro": "5"}, "Astro", 'npm run dev -- --port "$PORT" --host "$HOST"', 4321),
        (
            {"dev": "vite dev"},
            {"@sveltejs/kit": "2", "vite": "6"},
            "SvelteKit",
            'npm run dev -- --port "$PORT" --host "$HOST"',
            5173,
        ),
        ({"dev": "nuxt dev"}, {"nuxt": "3"}, "Nuxt", 'npm run dev -- --port "$PORT" --host "$HOST"', 3000),
        (
            {"dev": "react-router dev"},
            {"@react-router/dev": "7"},
            "React Router",
            'npm run dev -- --port "$PORT" --host "$HOST"',
            5173,
        ),
        (
            {"ng": "ng", "start": "ng serve", "build": "ng build"},
            {"@angular/cli": "19", "@angular/core": "19"},
            "Angular",
            'NG_CLI_ANALYTICS=false npm run start -- --port "$PORT" --host "$HOST"',
            4200,
        ),
        (
            {"start": "react-scripts start"},
            {"react-scripts": "5"},
            "Create React App",
            "DANGEROUSLY_DISABLE_HOST_CHECK=true npm run start",
            3000,
        ),
        ({"start": "node ./bin/www"}, {"express": "4"}, "Express", "npm run start", 3000),
        (
            {"start": "fastify start -l info app.js", "dev": "fastify start -w -l info -P app.js"},
            {"fastify": "5", "fastify-cli": "7"},
            "Fastify",
            'FASTIFY_ADDRESS="$HOST" FASTIFY_PORT="$PORT" npm run dev',
            3000,
        ),
        ({"dev": "tsx watch src/index.ts"}, {"hono": "4", "@hono/node-server": "1"}, "Hono", "npm run dev", 3000),
        ({"start": "nest start", "start:dev": "nest start --watch"}, {"@nestjs/core": "11"}, "NestJS", "npm run start:dev", 3000),
        # The script pins its own port: kept, and known to be where the server listens.
        ({"dev": "vite --port 3001"}, {"vite": "7"}, "Vite", 'npm run dev -- --host "$HOST"', 3001),
        (
            {"dev": "cross-env NODE_ENV=development vite"},
            {"vite": "7"},
            "Vite",
            'npm run dev -- --port "$PORT" --host "$HOST"',
            5173,
        ),
    ],
)
def test_node_stacks_get_host_and_port_the_way_their_tool_takes_them(scripts, deps, framework, dev, port) -> None:
    plan = plan_for({"package.json": package(scripts, deps)})
    assert (plan.framework, plan.dev, plan.port) == (framework, dev, port)
    assert plan.install == "npm install --no-audit --no-fund"


def test_without_a_script_the_frameworks_own_command_runs() -> None:
    plan = plan_for({"package.json": package({"build": "vite build"}, {"vite": "7"})})
    assert plan.dev == 'npx --no -- vite --port "$PORT" --host "$HOST"'
    server = plan_for({"package.json": package(None, {"express": "5"}), "server.js": b"require('express')"})
    assert server.dev == "npx --no -- node server.js" and server.has_server


def test_the_lockfile_names_the_package_manager_which_corepack_runs_at_the_pinned_version() -> None:
    scripts = {"dev": "vite"}
    pnpm = plan_for({"package.json": package(scripts, {"vite": "7"}), "pnpm-lock.yaml": b"lockfileVersion: '9.0'"})
    assert pnpm.install == "corepack pnpm@9.15.9 install --prefer-offline" and "pnpm-lock.yaml" in pnpm.lockfile_hash_inputs
    assert pnpm.notes == ["The lockfile is pnpm's: installing with pnpm 9.15.9 (Forja's default) through corepack."]
    pinned = plan_for(
        {"package.json": package(scripts, {"vite": "7"}, packageManager="pnpm@8.15.4+sha512.abc"), "pnpm-lock.yaml": b""}
    )
    assert pinned.install == "corepack pnpm@8.15.4 install --prefer-offline"
    yarn = plan_for({"package.json": package(scripts, {"vite": "7"}), "yarn.lock": b"# yarn lockfile v1\n"})
    assert yarn.install == "corepack yarn@1.22.22 install --prefer-offline --non-interactive"
    # Yarn 2+ (its lockfile has __metadata): with node_modules, so the script runs the way it does for the others.
    berry = plan_for({"package.json": package(scripts, {"vite": "7"}), "yarn.lock": b"__metadata:\n  version: 8\n"})
    assert berry.install == "YARN_NODE_LINKER=node-modules YARN_ENABLE_TELEMETRY=0 corepack yarn@4.9.2 install"
    berry_pin = plan_for({"package.json": package(scripts, {"vite": "7"}, packageManager="yarn@4.5.0"), "yarn.lock": b""})
    assert "corepack yarn@4.5.0 install" in berry_pin.install and "YARN_NODE_LINKER=node-modules" in berry_pin.install
    # No lockfile at all: the pin alone names the manager.
    only_pin = plan_for({"package.json": package(scripts, {"vite": "7"}, packageManager="yarn@1.22.19")})
    assert only_pin.install == "corepack yarn@1.22.19 install --prefer-offline --non-interactive"
    assert only_pin.notes == [
        'package.json\'s "packageManager" names yarn: installing with yarn 1.22.19 (pinned in package.json) through corepack.'
    ]
    bun = plan_for({"package.json": package(scripts, {"vite": "7"}), "bun.lockb": b"\0"})
    assert bun.install == "npm exec --yes bun@1 -- install"
    # The WebContainer path installs with npm only: pnpm and yarn projects go to the server runners.
    assert browser_plan_for({"package.json": package(scripts, {"vite": "7"})}) is not None
    for lock in ("pnpm-lock.yaml", "yarn.lock"):
        assert browser_plan_for({"package.json": package(scripts, {"vite": "7"}), lock: b""}) is None


def test_a_lockfile_that_does_not_match_is_named_with_what_to_do() -> None:
    lock = json.dumps({"lockfileVersion": 3, "packages": {"": {"devDependencies": {"vite": "7"}}}}).encode()
    plan = plan_for({"package.json": package({"dev": "vite"}, {"vite": "7", "react": "19"}), "package-lock.json": lock})
    assert plan.notes == [
        "package-lock.json does not match package.json (it lacks react): npm installs from package.json and updates the lockfile."
    ]


def test_python_servers_from_their_files() -> None:
    flask = plan_for({"requirements.txt": b"Flask==3.1\n", "app.py": b"from flask import Flask\napp = Flask(__name__)\n"})
    assert flask.framework == "Flask" and flask.has_server
    assert flask.dev == 'flask --app app:app run --host "$HOST" --port "$PORT" --reload'
    assert flask.install == "python -m pip install -r requirements.txt"
    factory = plan_for(
        {
            "pyproject.toml": b'[project]\nname = "flaskr"\ndependencies = ["flask"]\n',
            "flaskr/__init__.py": b"def create_app(test_config=None):\n",
        }
    )
    assert factory.dev.startswith("flask --app flaskr run") and factory.install == "python -m pip install flask"
    fastapi = plan_for({"requirements.txt": b"fastapi\n", "app/main.py": b"from fastapi import FastAPI\n\napp = FastAPI()\n"})
    assert fastapi.dev == 'uvicorn app.main:app --host "$HOST" --port "$PORT" --reload'
    assert fastapi.install == "python -m pip install -r requirements.txt uvicorn"  # the server tool it does not list
    django = plan_for({"manage.py": b"#!/usr/bin/env python\n", "requirements.txt": b"Django>=5\n", "mysite/settings.py": b""})
    assert django.framework == "Django" and django.dev == 'python manage.py runserver "$HOST:$PORT"'
    streamlit = plan_for({"requirements.txt": b"streamlit\n", "streamlit_app.py": b"import streamlit as st\nst.title('Hi')\n"})
    assert streamlit.framework == "Streamlit" and streamlit.dev.startswith('streamlit run streamlit_app.py --server.port "$PORT"')
    procfile = plan_for({"Procfile": b"web: gunicorn app:app\n", "requirements.txt": b"flask\ngunicorn\n", "app.py": b""})
    assert procfile.dev == "sh -c 'gunicorn app:app'"


def test_a_requirements_txt_of_comments_only_installs_nothing_and_an_option_line_installs() -> None:
    standard = {"Procfile": b"web: python app.py\n", "app.py": b"print('hi')\n"}
    for nothing in (b"", b"# Python standard library only: nothing to install.\n\n  # still nothing\n"):
        assert plan_for({**standard, "requirements.txt": nothing}).install == ""
    assert plan_for({**standard, "requirements.txt": b"-r base.txt  # the shared list\n"}).install == (
        "python -m pip install -r requirements.txt"
    )


def test_poetry_constraints_install_through_pip() -> None:
    toml = b'[tool.poetry.dependencies]\npython = "^3.11"\nfastapi = "^0.115.2"\nuvicorn = {version = "~0.30", extras = ["standard"]}\n'
    plan = plan_for({"pyproject.toml": toml, "main.py": b"from fastapi import FastAPI\napp = FastAPI()\n"})
    assert plan.install == "python -m pip install 'fastapi>=0.115.2,<0.116' 'uvicorn[standard]>=0.30,<0.31'"


def test_a_front_end_and_an_api_in_two_folders_run_together() -> None:
    tree = {
        "frontend/package.json": package({"dev": "vite"}, {"vite": "7", "react": "19"}),
        "frontend/vite.config.js": b"export default { server: { proxy: { '/api': 'http://localhost:8001' } } }",
        "backend/requirements.txt": b"fastapi\nuvicorn\n",
        "backend/main.py": b"from fastapi import FastAPI\napp = FastAPI()\n",
    }
    plan = plan_for(tree)
    assert plan.framework == "Vite + FastAPI" and plan.side_ports == [8001]
    assert plan.dev == (
        "( cd backend && PORT=8001 HOST=127.0.0.1 uvicorn main:app --host 127.0.0.1 --port 8001 --reload ) & "
        '( cd frontend && npm run dev -- --port "$PORT" --host "$HOST" )'
    )
    assert (
        plan.install
        == "( cd backend && python -m pip install -r requirements.txt ) && ( cd frontend && npm install --no-audit --no-fund )"
    )
    assert browser_plan_for(tree) is None


def test_a_requirements_txt_written_for_people_or_beside_no_python_does_not_make_a_node_app_python() -> None:
    vite = {
        "package.json": json.dumps({"scripts": {"dev": "vite"}, "devDependencies": {"vite": "^7.0.0"}}).encode(),
        "vite.config.js": b"export default {}\n",
        "src/main.jsx": b"",
    }
    # As a peer builder's export has it: prose for the person who installs it.
    prose = b"# System prerequisites\nNode.js >= 18.x, npm >= 9.x\n"
    plan = plan_for({**vite, "requirements.txt": prose, "scripts/seed.py": b"print(1)\n"})
    assert (plan.framework, plan.install) == ("Vite", "npm install --no-audit --no-fund")
    assert plan.notes == [
        "requirements.txt is not a list of Python packages (\u201cNode.js >= 18.x, npm >= 9.x\u201d): it was not installed."
    ]
    alone = plan_for({**vite, "requirements.txt": b"requests==2.32.3\n"})
    assert "pip" not in alone.install and alone.notes == [
        "There is a requirements.txt but no Python file: the project runs as a Node.js app alone."
    ]
    # A real API beside it is still installed (the full-stack starters' shape).
    api = plan_for({**vite, "requirements.txt": b"fastapi==0.165.0\n", "api/main.py": b"from fastapi import FastAPI\n"})
    assert api.install.endswith("&& python -m pip install -r requirements.txt") and api.notes == []


def test_the_script_that_runs_the_app_not_one_that_serves_a_build_or_runs_a_tool_not_installed() -> None:
    # Docusaurus as its scaffolder writes package.json: `serve` serves build/, which does not exist yet.
    docusaurus = {
        "scripts": {"start": "docusaurus start", "build": "docusaurus build", "serve": "docusaurus serve"},
        "dependencies": {"@docusaurus/core": "3.9.2", "react": "^19.0.0"},
    }
    plan = plan_for({"package.json": json.dumps(docusaurus).encode(), "docusaurus.config.js": b""})
    assert (plan.framework, plan.dev) == ("Docusaurus", 'npm run start -- --port "$PORT" --host "$HOST"')
    # A Create React App project whose `dev` runs a mock API with json-server, which it does not even depend on.
    cra = {
        "scripts": {"dev": "json-server --watch db.json --port 3001", "start": "react-scripts start"},
        "dependencies": {"react-scripts": "5.0.1", "react": "^18.2.0"},
    }
    plan = plan_for({"package.json": json.dumps(cra).encode(), "src/index.js": b""})
    assert (plan.framework, plan.dev) == ("Create React App", "DANGEROUSLY_DISABLE_HOST_CHECK=true npm run start")
    # Installed, the same `dev` is what runs; and Vue CLI's `serve` is its dev server, not a build's.
    installed = {**cra, "devDependencies": {"json-server": "0.17.4"}}
    assert plan_for({"package.json": json.dumps(installed).encode()}).dev.startswith("npm run dev")
    vue = {"scripts": {"serve": "vue-cli-service serve", "build": "vue-cli-service build"}, "dependencies": {"vue": "^3"}}
    assert plan_for({"package.json": json.dumps(vue).encode()}).dev.startswith("npm run serve")


def test_a_vitepress_site_set_up_as_its_guide_says_runs_at_the_root_whatever_its_base() -> None:
    manifest = {
        "scripts": {
            "docs:dev": "vitepress dev docs",
            "docs:build": "vitepress build docs",
            "docs:preview": "vitepress preview docs",
        },
        "devDependencies": {"vitepress": "^1.6.3"},
    }
    tree = {
        "package.json": json.dumps(manifest).encode(),
        "docs/.vitepress/config.mts": b"export default { title: 'Guide', base: '/guide/' }\n",
        "docs/index.md": b"# Guide\n",
    }
    plan = plan_for(tree)
    assert (plan.framework, plan.dev) == ("VitePress", 'npm run docs:dev -- --port "$PORT" --host "$HOST" --base /')
    # A repository's own app comes first; its docs site's script only when it has none.
    app = {**manifest, "scripts": {**manifest["scripts"], "dev": "vite"}, "devDependencies": {"vite": "^7.0.0"}}
    assert plan_for({**tree, "package.json": json.dumps(app).encode()}).dev.startswith("npm run dev ")


def test_a_mkdocs_site_serves_with_mkdocs_and_an_app_beside_its_docs_comes_first() -> None:
    """Laid out as `mkdocs new` makes it (mkdocs.yml, docs/index.md), with or without a requirements.txt."""
    site = {"mkdocs.yml": b"site_name: My Docs\n", "docs/index.md": b"# Welcome to MkDocs\n"}
    bare = plan_for(site)
    assert (bare.framework, bare.dev) == ("MkDocs", 'mkdocs serve --config-file mkdocs.yml --dev-addr "$HOST:$PORT"')
    assert bare.install == "python -m pip install mkdocs"
    listed = plan_for({**site, "requirements.txt": b"mkdocs==1.6.1\nmkdocs-material==9.6.14\n"})
    assert listed.install == "python -m pip install -r requirements.txt"
    flask = {"app.py": b"from flask import Flask\napp = Flask(__name__)\n", "requirements.txt": b"flask\n"}
    assert plan_for({**site, **flask}).framework == "Flask"


def test_a_library_whose_root_starts_nothing_runs_its_docs_site_from_its_folder() -> None:
    """A library's root (tests and a build, no app) with its Starlight site in docs/, or its MkDocs site in docs/
    beside a src/ of Python that starts nothing: the site runs, and the Logs say why that folder."""
    starlight = package({"dev": "astro dev", "build": "astro build"}, {"astro": "^5.6.1", "@astrojs/starlight": "^0.34.3"})
    library = {
        "package.json": package({"test": "vitest", "build": "tsup"}, {"vitest": "3", "tsup": "8"}),
        "src/index.ts": b"export const add = (a: number, b: number) => a + b;\n",
        "docs/package.json": starlight,
        "docs/astro.config.mjs": b"import starlight from '@astrojs/starlight';\nexport default { integrations: [starlight()] };\n",
    }
    [found] = detect(library)
    assert (found.framework, found.dev.cwd) == ("Astro", "docs")
    assert found.notes == ["The project's root has nothing to start; its folder docs does: it runs that."]
    python = {
        "src/lib.py": b"def add(a, b):\n    return a + b\n",
        "docs/mkdocs.yml": b"site_name: lib\n",
        "docs/docs/index.md": b"# lib\n",
    }
    assert plan_for(python).dev == 'cd docs && mkdocs serve --config-file mkdocs.yml --dev-addr "$HOST:$PORT"'
    # With nothing that starts anywhere, the refusal is still the root's own.
    with pytest.raises(NotRunnable, match='no "dev" or "start" script'):
        detect({key: value for key, value in library.items() if not key.startswith("docs/")})


def test_a_project_inside_one_folder_runs_from_there() -> None:
    plan = plan_for({"my-app/package.json": package({"dev": "vite"}, {"vite": "7"}), "my-app/index.html": b""})
    assert plan.dev == 'cd my-app && npm run dev -- --port "$PORT" --host "$HOST"'
    assert plan.lockfile_hash_inputs == ["my-app/package.json"]


def test_static_sites_and_tooling_only_package_json() -> None:
    page = plan_for({"index.html": b"<h1>Hi</h1>", "style.css": b""})
    assert page.framework == "Static HTML" and page.dev == 'python -m http.server "$PORT" --bind "$HOST" --directory .'
    tooling = plan_for({"package.json": package({"format": "prettier -w ."}, {"prettier": "3"}), "public/index.html": b""})
    assert tooling.dev.endswith("--directory public")


def test_what_cannot_run_is_one_sentence_naming_the_file() -> None:
    with pytest.raises(NotRunnable, match=r"^go.mod says this is a Go project: Forja previews Node.js, Python and plain HTML"):
        detect({"go.mod": b"module x", "main.go": b"package main"})
    with pytest.raises(NotRunnable, match=r'^package.json has no "dev" or "start" script and Forja finds no framework'):
        detect({"package.json": package({"test": "jest"}, {"jest": "29"})})
    with pytest.raises(NotRunnable, match=r"^Forja finds no server to start in this Python project"):
        detect({"requirements.txt": b"requests\n", "tool.py": b"print(1)\n"})
    with pytest.raises(NotRunnable, match=r"^pyproject.toml is not valid TOML"):
        detect({"pyproject.toml": b"[project\n", "main.py": b""})


def test_a_script_run_in_every_workspace_runs_them_side_by_side() -> None:
    # npm would run the workspaces' dev scripts one after the other: the API's never ends, the web's never starts.
    tree = {
        "package.json": package({"dev": "npm run dev --workspaces --if-present"}, workspaces=["apps/*"]),
        "package-lock.json": b"{}",
        "apps/server/package.json": package({"dev": "tsx watch src/index.ts"}, {"express": "5"}),
        "apps/web/package.json": package({"dev": "vite dev"}, {"vite": "7", "react": "19"}),
        "apps/web/vite.config.ts": b"export default { server: { port: 3001 } }",
    }
    plan = plan_for(tree)
    assert plan.install == "npm install --no-audit --no-fund"
    assert plan.dev == (
        "( cd apps/server && PORT=3000 HOST=127.0.0.1 npm run dev ) & "
        '( cd apps/web && npm run dev -- --port "$PORT" --host "$HOST" )'
    )
    assert plan.framework == "Vite + Express"
    assert plan.side_ports == [3000]  # never taken for the preview's address, though it answers first
