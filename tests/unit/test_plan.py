"""preview_runtime.plan: how a tree is installed and started."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from preview_runtime.detect import RunOverride
from preview_runtime.plan import (
    RunPlan,
    browser_plan_for,
    dependency_files,
    npm_script,
    npm_script_line,
    plan_for,
    plan_so_far,
)
from preview_runtime.production import production_plan
from preview_runtime.stack import detect_stack


def package(scripts: dict[str, str], **extra: object) -> dict[str, bytes]:
    return {"package.json": json.dumps({"name": "shop", "version": "2.1.0", "scripts": scripts, **extra}).encode()}


def test_broken_package_json_is_named_with_where_it_breaks() -> None:
    with pytest.raises(ValueError, match=r"package.json is not valid JSON \(line 1, column \d+\): fix it in the Code tab"):
        plan_for({"package.json": b'{"name": "shop", "scripts": {"dev": "vite"}}"}'})
    with pytest.raises(ValueError, match=r"package.json must hold one JSON object"):
        plan_for({"package.json": b'["vite"]'})
    assert detect_stack({"package.json": b'{"dependencies": ["vite"]}'}) == []


def test_dependency_files_decide_the_cache_key_inputs() -> None:
    tree = {
        **package({"dev": "vite"}, devDependencies={"vite": "7"}),
        "package-lock.json": b"{}",
        "src/main.js": b"",
        "requirements.txt": b"fastapi\n",
        "api/main.py": b"",
    }
    plan = plan_for(tree)
    assert sorted(plan.lockfile_hash_inputs) == ["package-lock.json", "package.json", "requirements.txt"]
    assert plan.install == "npm install --no-audit --no-fund && python -m pip install -r requirements.txt"


def test_a_package_json_with_nothing_to_install_starts_without_an_install() -> None:
    server = {**package({"start": "node server.js", "build": "node build.js"}), "server.js": b"", "build.js": b""}
    plan = plan_for(server)
    assert (plan.install, plan.dev, plan.notes) == ("", "npm run start", [])
    assert plan.lockfile_hash_inputs == ["package.json"]  # its checks still find the folder's scripts
    browser = browser_plan_for(server)
    assert browser is not None and (browser.install, browser.dev) == ([], ["npm", "run", "start"])
    release = production_plan(server)
    assert (release.build, release.start) == (
        "NODE_ENV=production npm run build",
        'NODE_ENV=production HOST="$HOST" PORT="$PORT" npm run start',
    )
    empty_lock = json.dumps({"lockfileVersion": 3, "packages": {"": {"name": "shop"}}}).encode()
    assert plan_for({**server, "package-lock.json": empty_lock}).install == ""
    assert plan_for({**server, **package({"dev": "node server.js"}, dependencies={}, packageManager="pnpm@9.1.0")}).install == ""
    in_folder = {"web/package.json": package({"dev": "node serve.js"})["package.json"], "web/serve.js": b""}
    assert plan_for(in_folder, RunOverride(folder="web")).install == ""


@pytest.mark.parametrize(
    "extra",
    [
        {"package.json": package({"start": "node server.js"}, dependencies={"express": "5"})["package.json"]},
        {"package.json": package({"start": "node server.js"}, devDependencies={"nodemon": "3"})["package.json"]},
        {"package.json": package({"start": "node server.js"}, optionalDependencies={"fsevents": "2"})["package.json"]},
        {"package.json": package({"start": "node server.js"}, peerDependencies={"react": "19"})["package.json"]},
        {"package.json": package({"start": "node server.js"}, workspaces=["packages/*"])["package.json"]},
        {"package.json": package({"start": "node server.js", "postinstall": "node setup.js"})["package.json"]},
        {"package.json": package({"start": "node server.js", "prepare": "husky"})["package.json"]},
        {"binding.gyp": b"{}"},
        {"package-lock.json": json.dumps({"packages": {"": {}, "node_modules/left-pad": {"version": "1.3.0"}}}).encode()},
        {"package-lock.json": json.dumps({"lockfileVersion": 1, "dependencies": {"left-pad": {"version": "1.3.0"}}}).encode()},
        {"package-lock.json": b"{not json"},
        {"yarn.lock": b""},
        {"pnpm-workspace.yaml": b"packages: []\n"},
    ],
)
def test_anything_an_install_would_fetch_or_run_keeps_the_install(extra: dict[str, bytes]) -> None:
    tree = {**package({"start": "node server.js"}), "server.js": b"", **extra}
    assert plan_for(tree).install != ""


def test_npm_script_runs_the_script_itself_with_npms_variables() -> None:
    tree = package({"dev": "vite --port 5173"})
    assert npm_script(plan_for(tree).dev, tree) == (
        'vite --port 5173 --host "$HOST"',
        {
            "npm_lifecycle_event": "dev",
            "npm_lifecycle_script": "vite --port 5173",
            "npm_package_name": "shop",
            "npm_package_version": "2.1.0",
        },
    )


def test_npm_script_keeps_npm_when_it_does_more_than_run_the_script() -> None:
    with_pre = package({"predev": "node gen.js", "dev": "vite"})
    assert npm_script(plan_for(with_pre).dev, with_pre) is None
    with_post = package({"dev": "vite", "postdev": "echo done"})
    assert npm_script(plan_for(with_post).dev, with_post) is None
    tree = package({"dev": "vite"})
    assert npm_script("cd web && npm run dev", tree) is None
    assert npm_script("python -m http.server", tree) is None


def test_npm_script_keeps_variables_and_arguments_as_npm_applies_them() -> None:
    tree = package({"dev": "tsc -b && vite"})
    script = npm_script('NG_CLI_ANALYTICS=false npm run dev -- --port "$PORT"', tree)
    assert script is not None
    assert script[0] == 'export NG_CLI_ANALYTICS=false; tsc -b && vite --port "$PORT"'


def test_a_build_line_runs_the_script_as_npm_would_without_npm(tmp_path: Path) -> None:
    tree = package({"build": "site-tool build"})
    (tmp_path / "node_modules" / ".bin").mkdir(parents=True)
    tool = tmp_path / "node_modules" / ".bin" / "site-tool"
    # The tool says what npm would have given it: its arguments, NODE_ENV, npm's variables and where it was found.
    tool.write_text('#!/bin/sh\necho "$* $NODE_ENV $npm_lifecycle_event $npm_package_name $INIT_CWD $(command -v site-tool)"\n')
    tool.chmod(0o755)
    line = npm_script_line("NODE_ENV=production npm run build -- --out dist", tree)
    assert "npm run" not in line
    done = subprocess.run(["sh", "-c", line], cwd=tmp_path, capture_output=True, text=True, env={"PATH": "/usr/bin:/bin"})
    assert done.stdout == f"build --out dist production build shop {tmp_path} {tool}\n", done.stderr

    with_pre = package({"prebuild": "node gen.js", "build": "vite build"})
    assert npm_script_line("npm run build", with_pre) == "npm run build"  # npm runs prebuild first: npm it is


def test_dependency_files_keep_the_manifests_and_lockfiles_of_every_folder_only() -> None:
    tree = {
        **package({"dev": "vite"}),
        "package-lock.json": b"{}",
        "index.html": b"<div id=root></div>",
        "api/requirements.txt": b"fastapi\n",
        "api/main.py": b"",
        "node_modules/left-pad/package.json": b"{}",
    }
    assert sorted(dependency_files(tree)) == ["api/requirements.txt", "package-lock.json", "package.json"]
    # pnpm installs a workspace's members only when it sees pnpm-workspace.yaml (the install ahead gets these files alone).
    workspace = {"pnpm-workspace.yaml": b"packages: [apps/*]", ".yarnrc.yml": b"nodeLinker: pnp", "turbo.json": b"{}"}
    assert sorted(dependency_files(workspace)) == [".yarnrc.yml", "pnpm-workspace.yaml"]


def test_plan_so_far_reads_a_partial_tree_or_its_dependency_files_or_gives_none() -> None:
    vite = json.dumps({"name": "web", "scripts": {"dev": "vite"}, "devDependencies": {"vite": "7.0.0"}}).encode()
    # A package.json before the pages it serves is already a plan.
    only_manifest = plan_so_far({"package.json": vite})
    assert only_manifest is not None and only_manifest.install == "npm install --no-audit --no-fund"
    # An API's app.py before its requirements.txt makes the tree unrunnable; its dependency files alone are not.
    partial = {"web/package.json": vite, "api/app.py": b"from flask import Flask\n"}
    with pytest.raises(ValueError):
        plan_for(partial)
    from_dependencies = plan_so_far(partial)
    assert from_dependencies is not None and from_dependencies.install == "( cd web && npm install --no-audit --no-fund )"
    assert plan_so_far({"src/App.tsx": b"", "requirements.txt": b"flask\n"}) is None


def test_only_a_front_end_frameworks_dev_server_must_serve_a_home_page() -> None:
    """RunPlan.home_page: a 404 at its page is a failure for Vite, Next.js, Docusaurus, VitePress, Create React App,
    Astro... but an API (Express, Fastify, FastAPI) may rightly have no route at /, and a person's own command may
    start anything."""

    def plan(deps: dict[str, str], scripts: dict[str, str], **files: bytes) -> RunPlan:
        manifest = {"name": "x", "dependencies": deps, "scripts": scripts}
        return plan_for({"package.json": json.dumps(manifest).encode(), **files})

    front_ends = [
        plan({"vite": "7"}, {"dev": "vite"}, **{"index.html": b""}),
        plan({"next": "15"}, {"dev": "next dev"}),
        plan({"@docusaurus/core": "3"}, {"start": "docusaurus start", "serve": "docusaurus serve"}),
        plan({"vitepress": "1"}, {"docs:dev": "vitepress dev docs"}),
        plan({"react-scripts": "5"}, {"start": "react-scripts start"}),
        plan({"astro": "5"}, {"dev": "astro dev"}),
        plan({"vite": "7"}, {}),  # no script: Vite's own dev command
    ]
    assert [p.home_page for p in front_ends] == [True] * len(front_ends), [p.framework for p in front_ends]
    apis = [
        plan({"express": "5"}, {"start": "node server.js"}, **{"server.js": b""}),
        plan({"fastify": "5", "fastify-cli": "7"}, {"dev": "fastify start app.js"}),
        plan({"@nestjs/core": "11"}, {"start:dev": "nest start --watch"}),
        plan_for({"main.py": b"from fastapi import FastAPI\napp = FastAPI()\n", "requirements.txt": b"fastapi\n"}),
        plan_for({"index.html": b"<h1>x</h1>"}),  # Forja's own static server: its 404 is the project's missing page
    ]
    assert [p.home_page for p in apis] == [False] * len(apis), [p.framework for p in apis]
    vite = {"package.json": json.dumps({"dependencies": {"vite": "7"}, "scripts": {"dev": "vite"}}).encode()}
    assert plan_for(vite).home_page
    assert not plan_for(vite, RunOverride(command="node api.js")).home_page


def test_only_a_front_end_dev_server_updates_the_page_itself() -> None:
    def manifest(deps: dict[str, str], scripts: dict[str, str]) -> bytes:
        return json.dumps({"name": "x", "dependencies": deps, "scripts": scripts}).encode()

    vite = {"package.json": manifest({"vite": "5"}, {"dev": "vite"}), "index.html": b"<h1>x</h1>"}
    assert plan_for(vite).hot_reload
    # A plain page and a server of its own show a saved version only when the page loads again.
    assert not plan_for({"index.html": b"<h1>x</h1>"}).hot_reload
    assert not plan_for({"package.json": manifest({"express": "4"}, {"start": "node server.js"}), "server.js": b""}).hot_reload
    assert not plan_for(
        {"app.py": b"from flask import Flask\napp = Flask(__name__)\n", "requirements.txt": b"flask\n"}
    ).hot_reload
