"""preview_runtime.detect.declared and override: how a project says it runs (.replit, Procfile, Makefile,
devcontainer, compose), in which order, and a person's own run settings over all of it."""

from __future__ import annotations

import json

import pytest

from builder.errors import InvalidInput
from builder.services.run_settings import RunSettings, folders_of, valid_run_settings
from preview_runtime.detect import NotRunnable, RunOverride, detect
from preview_runtime.plan import browser_plan_for, plan_for

FLASK = b"from flask import Flask\napp = Flask(__name__)\n\nif __name__ == '__main__':\n    app.run()\n"
TAILWIND = json.dumps({"name": "site", "devDependencies": {"tailwindcss": "4"}, "scripts": {"css": "tailwindcss"}}).encode()


def test_a_flask_app_with_a_package_json_for_its_css_runs_the_replit_line_with_both_installs() -> None:
    tree = {
        "package.json": TAILWIND,
        "requirements.txt": b"flask\n",
        "main.py": FLASK,
        ".replit": b'run = "python main.py"\n\n[[ports]]\nlocalPort = 5000\nexternalPort = 80\n',
    }
    plan = plan_for(tree)
    assert plan.dev == "sh -c 'python main.py'"
    assert plan.source == "`python main.py` from the run line in .replit"
    assert plan.framework == "Flask" and plan.port == 5000 and plan.has_server
    assert plan.install == "python -m pip install -r requirements.txt && npm install --no-audit --no-fund"
    assert set(plan.lockfile_hash_inputs) == {"requirements.txt", "package.json"}
    assert browser_plan_for(tree) is None


def test_replit_run_as_a_list_and_the_deployment_run() -> None:
    listed = plan_for({"main.py": FLASK, ".replit": b'run = ["python3", "main.py"]\n'})
    assert listed.dev == "sh -c 'python3 main.py'" and listed.source.endswith(" from " + "the run line in .replit")
    deployment = plan_for({"main.py": FLASK, ".replit": b'[deployment]\nrun = ["sh", "-c", "gunicorn main:app"]\n'})
    assert deployment.dev == "sh -c 'sh -c '\"'\"'gunicorn main:app'\"'\"''"
    assert deployment.source.endswith(" from " + "the [deployment] run line in .replit")


def test_a_package_script_that_starts_a_dev_server_comes_before_any_declaration() -> None:
    tree = {
        "package.json": json.dumps({"scripts": {"dev": "vite"}, "devDependencies": {"vite": "7"}}).encode(),
        ".replit": b'run = "npm run build && npx serve dist"\n',
        "Procfile": b"web: npx serve dist\n",
    }
    plan = plan_for(tree)
    assert plan.dev.startswith("npm run dev") and plan.source == '`npm run dev` from the "dev" script in package.json'


@pytest.mark.parametrize(
    ("files", "dev", "source"),
    [
        (
            {".replit": b'run = "python main.py"\n', "Procfile": b"web: gunicorn main:app\n"},
            "python main.py",
            "the run line in .replit",
        ),
        (
            {"Procfile": b"release: migrate\nweb: gunicorn main:app\n", "Makefile": b"dev:\n\tpython main.py\n"},
            "gunicorn main:app",
            "the web line in Procfile",
        ),
        (
            {"Makefile": b"PORT ?= 8000\nrun: dev\ndev:\n\tpython main.py\n", ".devcontainer.json": b"{}"},
            "make dev",
            "the dev target in Makefile",
        ),
        (
            {"Makefile": b"install:\n\tpip install -r requirements.txt\nserve:\n\tpython main.py\n"},
            "make serve",
            "the serve target in Makefile",
        ),
    ],
)
def test_the_declarations_are_read_in_their_order(files: dict[str, bytes], dev: str, source: str) -> None:
    plan = plan_for({"requirements.txt": b"flask\n", "main.py": FLASK, **files})
    assert plan.dev == f"sh -c '{dev}'" and plan.source.endswith(" from " + source)


def test_a_makefile_variable_named_like_a_target_is_not_a_target() -> None:
    # `dev := 1` and `run ?= x` assign variables; only `start:` is a rule.
    plan = plan_for({"main.py": FLASK, "Makefile": b"dev := 1\nstart:\n\tpython main.py\n"})
    assert plan.dev == "sh -c 'make start'" and plan.source.endswith(" from " + "the start target in Makefile")


def test_a_devcontainer_gives_start_install_and_port() -> None:
    devcontainer = b"""{
      // JSON with comments, as VS Code writes it
      "name": "app",
      "postCreateCommand": "pip install --user -r requirements.txt", /* the install */
      "postStartCommand": ["python", "main.py"],
      "forwardPorts": [8080, 5432],
    }"""
    plan = plan_for({"requirements.txt": b"flask\n", "main.py": FLASK, ".devcontainer/devcontainer.json": devcontainer})
    assert plan.dev == "sh -c 'python main.py'" and plan.port == 8080
    assert plan.install == "sh -c 'pip install --user -r requirements.txt'"
    assert plan.source.endswith(" from " + "postStartCommand in .devcontainer/devcontainer.json")


def test_a_devcontainer_without_a_start_command_declares_nothing() -> None:
    devcontainer = b'{"postCreateCommand": "npm ci", "appPort": "3000:3000"}'
    plan = plan_for({"requirements.txt": b"flask\n", "app.py": FLASK, ".devcontainer/devcontainer.json": devcontainer})
    assert (
        plan.framework == "Flask"
        and plan.dev.startswith("flask --app app:app run")
        and plan.source.endswith("from Flask app in app.py")
    )


def test_a_compose_service_built_from_the_project_declares_its_command_and_port() -> None:
    compose = b"""services:
  db:
    image: postgres:16
    command: postgres -c log_statement=all
  web:
    build: .
    command: ["gunicorn", "-b", "0.0.0.0:5000", "main:app"]
    ports:
      - "8000:5000"
"""
    plan = plan_for({"requirements.txt": b"flask\ngunicorn\n", "main.py": FLASK, "docker-compose.yml": compose})
    assert plan.dev == "sh -c 'gunicorn -b 0.0.0.0:5000 main:app'" and plan.port == 5000
    assert plan.source.endswith(" from " + "the web service's command in docker-compose.yml")


def test_compose_services_pulled_from_a_registry_are_not_the_project() -> None:
    compose = b"services:\n  site:\n    image: nginx\n    command: nginx -g 'daemon off;'\n    ports: ['80:80']\n"
    plan = plan_for({"requirements.txt": b"flask\n", "app.py": FLASK, "compose.yaml": compose})
    assert plan.framework == "Flask" and plan.source.endswith("from Flask app in app.py")


def test_a_declaration_in_a_zipped_folder_names_its_file_there() -> None:
    plan = plan_for({"my-app/main.py": FLASK, "my-app/Procfile": b"web: python main.py\n"})
    assert plan.dev == "cd my-app && sh -c 'python main.py'" and plan.source.endswith(
        " from " + "the web line in my-app/Procfile"
    )


@pytest.mark.parametrize(
    ("name", "text", "said"),
    [
        (".replit", b"run = python main.py\n", ".replit is not valid TOML"),
        (".devcontainer/devcontainer.json", b'{"postStartCommand": ', ".devcontainer/devcontainer.json is not valid JSON"),
        ("compose.yaml", b"services: [web: {\n", "compose.yaml is not valid YAML"),
    ],
)
def test_a_broken_declaration_file_is_named(name: str, text: bytes, said: str) -> None:
    with pytest.raises(NotRunnable, match=said):
        detect({"main.py": FLASK, name: text})


def test_run_settings_command_replaces_the_detected_start_and_keeps_its_install() -> None:
    tree = {"package.json": json.dumps({"scripts": {"dev": "vite"}, "devDependencies": {"vite": "7"}}).encode()}
    plan = plan_for(tree, RunOverride(command="npx vite --port $PORT --host $HOST --strictPort"))
    assert plan.dev == 'sh -c "npx vite --port $PORT --host $HOST --strictPort"'
    assert plan.install == "npm install --no-audit --no-fund" and plan.source.endswith(" from " + "your run settings")
    assert plan.has_server and not plan.hot_reload


def test_run_settings_command_runs_where_detection_finds_nothing() -> None:
    plan = plan_for({"serve.sh": b"#!/bin/sh\nbusybox httpd -f -p $PORT\n"}, RunOverride(command="sh serve.sh"))
    assert plan.dev == "sh -c 'sh serve.sh'" and plan.install == "" and plan.framework == "Shell command"


def test_run_settings_folder_is_detected_as_the_root() -> None:
    tree = {
        "apps/web/package.json": json.dumps({"scripts": {"dev": "vite"}, "devDependencies": {"vite": "7"}}).encode(),
        "apps/api/requirements.txt": b"flask\n",
        "apps/api/app.py": FLASK,
        "README.md": b"# two apps\n",
    }
    api = plan_for(tree, RunOverride(folder="apps/api/"))
    assert api.framework == "Flask" and api.dev.startswith("cd apps/api && flask --app app:app run")
    both = plan_for(tree, RunOverride(command="python app.py", folder="apps/api"))
    assert both.dev == "cd apps/api && sh -c 'python app.py'"
    assert both.install == "( cd apps/api && python -m pip install -r requirements.txt )"


def test_run_settings_folder_that_is_not_in_the_project_is_refused_in_words() -> None:
    with pytest.raises(NotRunnable, match=r"The folder apps/gone/ in this project's run settings is not in the project"):
        plan_for({"app.py": FLASK}, RunOverride(folder="apps/gone"))


def test_the_cli_refuses_run_settings_the_api_would_in_the_same_words() -> None:
    with pytest.raises(InvalidInput) as refused:
        valid_run_settings("npm run dev\nrm -rf /", "")
    assert str(refused.value) == (
        "The run settings are not accepted: the command must be one line, without newlines or NUL characters: "
        "join commands with &&."
    )
    assert valid_run_settings("  python app.py ", "/apps/api/") == RunSettings(command="python app.py", folder="apps/api")


def test_a_makefile_beside_a_node_server_without_package_json_is_a_shell_command() -> None:
    plan = plan_for({"Makefile": b"dev:\n\tnode server.js\n", "server.js": b"require('http').createServer().listen(3000)\n"})
    assert plan.dev == "sh -c 'make dev'" and plan.framework == "Shell command" and plan.install == ""


def test_run_settings_offer_the_projects_folders_without_installed_packages() -> None:
    tree = {
        "README.md": b"",
        "apps/web/src/main.js": b"",
        "apps/web/node_modules/vite/index.js": b"",
        "apps/api/app.py": FLASK,
        "apps/web/dist/index.html": b"",
    }
    assert folders_of(tree) == ["apps", "apps/api", "apps/web", "apps/web/src"]
