"""preview_runtime.checks: the checks a project's own files declare, as they run in its preview.

Manifests are the upstream scaffolders' own text where one exists (create-vite 9.3.0's React templates,
Create React App's and `npm init`'s test scripts, django-admin 5.2's layout); plans come from plan_for.
"""

from __future__ import annotations

import json

import pytest

from preview_runtime.checks import COMPILEALL, ProjectCheck, project_checks
from preview_runtime.plan import RunPlan, plan_for

# create-vite 9.3.0 --template react, package.json as written (the corpus fetches the same).
VITE_REACT = b"""{
  "name": "vite-react",
  "private": true,
  "version": "0.0.0",
  "type": "module",
  "scripts": {
    "dev": "vite",
    "build": "vite build",
    "lint": "oxlint",
    "preview": "vite preview"
  },
  "dependencies": {
    "react": "^19.3.1",
    "react-dom": "^19.3.1"
  },
  "devDependencies": {
    "@types/react": "^19.3.0",
    "@types/react-dom": "^19.3.0",
    "@vitejs/plugin-react": "^6.1.2",
    "oxlint": "^1.88.0",
    "vite": "^8.3.4"
  }
}
"""
# Create React App 5's scripts: `react-scripts test` watches files until stopped.
CRA_SCRIPTS = {
    "start": "react-scripts start",
    "build": "react-scripts build",
    "test": "react-scripts test",
    "eject": "react-scripts eject",
}
NPM_INIT_TEST = 'echo "Error: no test specified" && exit 1'


def package(scripts: dict[str, str], deps: dict[str, str] | None = None) -> bytes:
    return json.dumps({"name": "app", "version": "1.0.0", "scripts": scripts, "devDependencies": deps or {"vite": "8"}}).encode()


def checks(tree: dict[str, bytes]) -> list[ProjectCheck]:
    return project_checks(tree, plan_for(tree))


def test_the_create_vite_react_template_builds_and_lints() -> None:
    tree = {"package.json": VITE_REACT, "index.html": b"<div id=root>", "src/main.jsx": b""}
    assert checks(tree) == [ProjectCheck("lint", "npm run lint"), ProjectCheck("build", "npm run build")]


def test_a_project_in_a_base_folder_is_checked_there() -> None:
    tree = {"my-app/package.json": VITE_REACT, "my-app/index.html": b"<div id=root>"}
    assert checks(tree) == [
        ProjectCheck("lint", "cd my-app && npm run lint"),
        ProjectCheck("build", "cd my-app && npm run build"),
    ]


def test_type_check_scripts_go_by_any_of_their_usual_names() -> None:
    for name in ("typecheck", "type-check", "check-types", "tsc"):
        tree = {"package.json": package({"dev": "vite", name: "tsc --noEmit"})}
        assert checks(tree) == [ProjectCheck("type-check", f"npm run {name}")]


@pytest.mark.parametrize(
    ("test", "expected"),
    [
        (NPM_INIT_TEST, None),
        ("react-scripts test", None),
        ("jest --watch", None),
        ("jest --watchAll", None),
        ("vitest watch", None),
        ("ng test", None),
        ("react-scripts test --watchAll=false", "npm run test"),
        ("jest", "npm run test"),
        ("node --test", "npm run test"),
        ("vitest run", "npm run test"),
        ("vitest --run --coverage", "npm run test"),
        # Vitest watches unless told otherwise: told here, as `vitest run` would be.
        ("vitest", "npm run test -- --run"),
        ("vitest --coverage", "npm run test -- --run"),
    ],
)
def test_test_scripts_run_once_or_not_at_all(test: str, expected: str | None) -> None:
    tree = {"package.json": package({"dev": "vite", "test": test})}
    assert checks(tree) == ([ProjectCheck("tests", expected)] if expected else [])


def test_create_react_app_builds_but_its_watching_tests_are_left_out() -> None:
    tree = {"package.json": package(CRA_SCRIPTS, {"react-scripts": "5.0.1"}), "public/index.html": b""}
    assert checks(tree) == [ProjectCheck("build", "npm run build")]


def test_a_lint_script_that_rewrites_files_is_left_out() -> None:
    tree = {"package.json": package({"dev": "vite", "lint": "eslint . --fix", "format": "prettier --write ."})}
    assert checks(tree) == []


def test_a_project_declaring_no_checks_gets_none() -> None:
    assert checks({"package.json": package({"dev": "vite", "test": NPM_INIT_TEST})}) == []
    # A static site's helper script is no Python project.
    static = RunPlan(dev="python -m http.server $PORT", has_server=False, framework="Static HTML")
    assert project_checks({"index.html": b"<h1>hi</h1>", "tools/gen.py": b"print(1)"}, static) == []


def test_a_python_project_gets_a_syntax_check_and_pytest_when_it_installs_pytest() -> None:
    app = b"from flask import Flask\napp = Flask(__name__)\n"
    tree = {"app.py": app, "requirements.txt": b"flask==3.1.0\n", "tests/test_app.py": b"def test(): pass\n"}
    assert checks(tree) == [ProjectCheck("syntax", COMPILEALL)]
    tree["requirements.txt"] = b"flask==3.1.0\npytest>=8\n"
    assert checks(tree) == [ProjectCheck("syntax", COMPILEALL), ProjectCheck("tests", "python -m pytest -q")]
    del tree["tests/test_app.py"]
    tree["test_app.py"] = b"def test(): pass\n"
    assert checks(tree)[-1] == ProjectCheck("tests", "python -m pytest -q")


def test_pytest_from_pyproject_dependencies() -> None:
    pyproject = b'[project]\nname = "api"\nversion = "0"\ndependencies = ["fastapi", "pytest"]\n'
    tree = {"pyproject.toml": pyproject, "main.py": b"from fastapi import FastAPI\napp = FastAPI()\n", "tests/test_main.py": b""}
    assert checks(tree)[-1] == ProjectCheck("tests", "python -m pytest -q")


def test_django_runs_its_system_check() -> None:
    # django-admin startproject mysite . (Django 5.2), with its pinned requirement.
    tree = {
        "manage.py": b"#!/usr/bin/env python\nimport os\nimport sys\n",
        "mysite/__init__.py": b"",
        "mysite/settings.py": b"DEBUG = True\n",
        "mysite/urls.py": b"urlpatterns = []\n",
        "mysite/wsgi.py": b"application = None\n",
        "requirements.txt": b"Django==5.2.19\n",
    }
    assert checks(tree) == [ProjectCheck("syntax", COMPILEALL), ProjectCheck("django-check", "python manage.py check")]


def test_a_front_end_and_an_api_in_two_folders_are_each_checked_in_their_own() -> None:
    tree = {
        "frontend/package.json": package({"dev": "vite", "build": "vite build", "test": "vitest run"}),
        "frontend/index.html": b"",
        "backend/requirements.txt": b"fastapi\nuvicorn\npytest\n",
        "backend/main.py": b"from fastapi import FastAPI\napp = FastAPI()\n",
        "backend/tests/test_api.py": b"",
    }
    assert checks(tree) == [
        ProjectCheck("syntax", COMPILEALL),
        ProjectCheck("build", "cd frontend && npm run build"),
        ProjectCheck("tests (frontend)", "cd frontend && npm run test"),
        ProjectCheck("tests (backend)", "cd backend && python -m pytest -q"),
    ]


def test_npm_workspaces_run_the_roots_scripts_and_a_workspaces_own_only_when_the_root_has_none() -> None:
    root = {
        "name": "mono",
        "private": True,
        "workspaces": ["apps/*"],
        "scripts": {"dev": "npm run dev --workspaces", "build": "npm run build --workspaces"},
    }
    tree = {
        "package.json": json.dumps(root).encode(),
        "apps/web/package.json": package({"dev": "vite", "build": "vite build", "lint": "eslint ."}),
        "apps/api/package.json": package({"dev": "node server.js", "build": "tsc"}, {"express": "5"}),
        "apps/api/server.js": b"",
    }
    assert checks(tree) == [ProjectCheck("build", "npm run build"), ProjectCheck("lint", "cd apps/web && npm run lint")]
