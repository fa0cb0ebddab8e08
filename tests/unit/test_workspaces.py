"""preview_runtime.detect.workspaces: which member of a monorepo runs, and how it is installed (at the root).

Layouts as create-turbo (pnpm, npm), yarn workspaces and Nx's package-based repos write them;
tests/integration/test_corpus.py previews a real create-turbo output in both runners.
"""

from __future__ import annotations

import json

import pytest

from preview_runtime.detect import NotRunnable, detect
from preview_runtime.detect.found import RunOverride
from preview_runtime.plan import browser_plan_for, plan_for

VITE_APP = {"scripts": {"dev": "vite", "build": "vite build"}, "devDependencies": {"vite": "7"}}
NEXT_APP = {"scripts": {"dev": "next dev --turbopack --port 3000"}, "dependencies": {"next": "15", "react": "19"}}
LIBRARY = {"name": "@repo/ui", "scripts": {"lint": "eslint ."}, "devDependencies": {"typescript": "5"}}
API = {"scripts": {"dev": "node --watch server.js"}, "dependencies": {"express": "5"}}


def manifest(**body: object) -> bytes:
    return json.dumps(body).encode()


def turbo_pnpm(prefix: str = "", **apps: dict) -> dict[str, bytes]:
    """create-turbo's pnpm layout: a root running `turbo run dev`, apps/* and packages/*."""
    tree = {
        "package.json": manifest(
            name="repo",
            private=True,
            scripts={"dev": "turbo run dev"},
            devDependencies={"turbo": "2"},
            packageManager="pnpm@9.0.0",
        ),
        "pnpm-workspace.yaml": b'packages:\n  - "apps/*"\n  - "packages/*"\n',
        "pnpm-lock.yaml": b"lockfileVersion: '9.0'\n",
        "turbo.json": b'{"tasks": {"dev": {"cache": false, "persistent": true}}}',
        "packages/ui/package.json": manifest(**LIBRARY),
    }
    tree |= {f"apps/{name}/package.json": manifest(name=name, **body) for name, body in apps.items()}
    return {f"{prefix}{path}": data for path, data in tree.items()}


def test_a_pnpm_workspace_installs_at_the_root_with_pnpm_and_runs_apps_web() -> None:
    (found,) = detect(turbo_pnpm(web=NEXT_APP))
    assert found.dev.cwd == "apps/web" and found.framework == "Next.js" and found.port == 3000
    assert [(c.argv, c.cwd) for c in found.install] == [(["corepack", "pnpm@9.0.0", "install", "--prefer-offline"], "")]
    assert found.source == 'the "dev" script in apps/web/package.json, a member of the pnpm workspace'
    assert found.choices == [] and not any("Several apps" in n for n in found.notes)
    plan = plan_for(turbo_pnpm(web=NEXT_APP))
    assert plan.install == "corepack pnpm@9.0.0 install --prefer-offline"
    assert plan.dev == 'cd apps/web && npm run dev -- --hostname "$HOST"'
    # Not in the WebContainer (npm only, in the root): a server runner runs it.
    assert browser_plan_for(turbo_pnpm(web=NEXT_APP)) is None
    # Its members' own node_modules are not in the dependency caches (root node_modules only): no cache key.
    assert plan.lockfile_hash_inputs == []


def test_a_workspace_imported_as_one_folder_runs_its_member_by_its_full_path() -> None:
    (found,) = detect(turbo_pnpm("my-repo/", web=VITE_APP))
    assert found.dev.cwd == "my-repo/apps/web" and found.install[0].cwd == "my-repo"
    assert found.framework == "Vite"


def test_yarn_workspaces_install_with_yarn_and_pass_over_the_api_and_libraries() -> None:
    tree = {
        "package.json": manifest(private=True, workspaces={"packages": ["apps/*", "packages/*"]}),
        "yarn.lock": b"# yarn lockfile v1\n",
        "apps/api/package.json": manifest(**API),
        "apps/frontend/package.json": manifest(**VITE_APP),
        "packages/ui/package.json": manifest(**LIBRARY),
    }
    (found,) = detect(tree)
    assert found.dev.cwd == "apps/frontend" and found.choices == []
    assert found.install[0].shell() == "corepack yarn@1.22.22 install --prefer-offline --non-interactive"
    assert found.source == 'the "dev" script in apps/frontend/package.json, a member of the yarn workspace'


def test_several_web_apps_run_apps_web_and_offer_the_others() -> None:
    tree = turbo_pnpm(docs=NEXT_APP, web=NEXT_APP, admin=VITE_APP)
    (found,) = detect(tree)
    assert found.dev.cwd == "apps/web"
    assert found.choices == ["apps/admin", "apps/docs"]
    assert "Several apps in this workspace: running apps/web; choose another in Run settings." in found.notes
    # With no preferred name among them: the first by name.
    (first,) = detect(turbo_pnpm(site2=VITE_APP, dashboard=VITE_APP))
    assert first.dev.cwd == "apps/dashboard" and first.choices == ["apps/site2"]


def test_the_persons_chosen_folder_runs_when_it_names_a_member() -> None:
    tree = turbo_pnpm(docs=NEXT_APP, web=NEXT_APP)
    (found,) = detect(tree, RunOverride(folder="apps/docs"))
    assert found.dev.cwd == "apps/docs" and found.choices == ["apps/web"]
    assert found.install[0].cwd == "" and "running apps/docs" in found.notes[-1]
    # A folder that is no member runs as a project of its own (here a library, with nothing to start); one that is
    # not in the project is named.
    with pytest.raises(NotRunnable, match=r"packages/ui/package\.json has no"):
        detect(tree, RunOverride(folder="packages/ui"))
    with pytest.raises(NotRunnable, match=r"^The folder apps/nope/ in this project's run settings is not in the project"):
        detect(tree, RunOverride(folder="apps/nope"))


def test_an_nx_package_based_repo_installs_with_npm_at_the_root() -> None:
    tree = {
        "package.json": manifest(name="org", workspaces=["apps/*", "libs/*"], devDependencies={"nx": "21"}),
        "package-lock.json": manifest(lockfileVersion=3, packages={}),
        "nx.json": b'{"targetDefaults": {}}',
        "apps/app/package.json": manifest(**VITE_APP),
        "apps/app/vite.config.ts": b"export default {}",
        "libs/shared/package.json": manifest(**LIBRARY),
    }
    (found,) = detect(tree)
    assert found.dev.cwd == "apps/app"
    assert found.install[0].argv[:2] == ["npm", "install"] and found.install[0].cwd == ""
    assert found.source.endswith("a member of the npm workspace")


def test_an_nx_integrated_repo_runs_its_app_through_nx_at_the_root() -> None:
    tree = {
        "package.json": manifest(name="org", devDependencies={"nx": "21", "@nx/vite": "21", "@nx/next": "21", "vite": "7"}),
        "package-lock.json": manifest(lockfileVersion=3, packages={}),
        "nx.json": b'{"plugins": ["@nx/vite/plugin", "@nx/next/plugin"]}',
        "apps/web/project.json": b'{"name": "web", "projectType": "application"}',
        "apps/web/vite.config.ts": b"export default {}",
        "apps/shop/project.json": b'{"name": "store", "targets": {"dev": {"executor": "@nx/next:server"}}}',
        "apps/shop/next.config.js": b"module.exports = {}",
        "libs/ui/project.json": b'{"name": "ui", "projectType": "library"}',
    }
    (found,) = detect(tree)
    assert found.dev.shell() == (
        'NX_DAEMON=false NX_NO_CLOUD=true NX_TUI=false npx --no -- nx run web:serve "--port=$PORT" "--host=$HOST"'
    )
    assert found.install[0].argv[:2] == ["npm", "install"] and found.framework == "Vite"
    assert found.choices == ["apps/shop"] and found.source == "the serve target of apps/web/project.json, an Nx project"
    (shop,) = detect(tree, RunOverride(folder="apps/shop"))
    assert shop.dev.argv[3:] == ["nx", "run", "store:dev", "--port=$PORT", "--hostname=$HOST"] and shop.framework == "Next.js"
    with pytest.raises(NotRunnable, match=r'^libs/ui/project.json has no "serve" or "dev" target'):
        detect(tree, RunOverride(folder="libs/ui"))


def test_a_root_app_with_library_workspaces_runs_the_root() -> None:
    tree = {
        "package.json": manifest(workspaces=["packages/*"], **VITE_APP),
        "packages/lib/package.json": manifest(**{**VITE_APP, "name": "lib"}),
    }
    (found,) = detect(tree)
    assert found.dev.cwd == "" and found.source == 'the "dev" script in package.json'


def test_an_invalid_pnpm_workspace_file_is_named() -> None:
    tree = turbo_pnpm(web=VITE_APP) | {"pnpm-workspace.yaml": b"packages: [apps/*\n"}
    with pytest.raises(NotRunnable, match=r"^pnpm-workspace.yaml is not valid YAML: fix it in the Code tab"):
        detect(tree)


def test_a_root_whose_own_dev_script_starts_the_project_runs_the_root() -> None:
    """The full-stack starter's shape: a front end in web/ (a workspace) and an API, both started by the root's own
    script; a root script that hands the start to the members (turbo) leaves the choice to the rule."""
    own = {"dev": 'concurrently "npm:dev:api" "npm:dev:web"', "dev:web": "npm run dev --workspace web"}
    tree = {
        "package.json": manifest(workspaces=["web"], scripts=own, devDependencies={"concurrently": "10"}),
        "web/package.json": manifest(**VITE_APP),
        "api/main.py": b"from fastapi import FastAPI\napp = FastAPI()\n",
        "api/requirements.txt": b"fastapi\n",
    }
    (found,) = detect(tree)
    assert found.dev.cwd == "" and found.dev.argv[:3] == ["npm", "run", "dev"] and found.python
    handed = tree | {"package.json": manifest(workspaces=["web"], scripts={"dev": "turbo run dev"})}
    assert detect(handed)[0].dev.cwd == "web"
