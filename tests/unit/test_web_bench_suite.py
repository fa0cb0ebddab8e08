"""Reading Web-Bench's layout: the app's start command from a project's Playwright config, its package.json without
the benchmark's own packages, and the folders --path may name."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from builder.errors import InvalidInput
from builder.eval.webbench import load_web_bench, project_dirs, run_command

CONFIG = """const { defineConfig } = require('@playwright/test')
const PROJECT_DIR = process.env.EVAL_PROJECT_ROOT || 'src'
const PORT = process.env.EVAL_PROJECT_PORT || 3211
const ASSETS = process.env.EVAL_ASSETS || 'assets'
module.exports = defineConfig({
  webServer: {
    command: `COMMAND`,
    url: `http://127.0.0.1:${PORT}`,
  },
})
"""
PREFIX = "export EVAL_PROJECT_ROOT=src EVAL_PROJECT_PORT=$PORT EVAL=true IS_EVAL_PRODUCTION=true; "


def project(folder: Path, command: str, package: dict | None = None) -> Path:
    folder.mkdir(parents=True)
    (folder / "playwright.config.js").write_text(CONFIG.replace("COMMAND", command))
    (folder / "tasks.jsonl").write_text(json.dumps({"id": "init", "description": "Make a page."}) + "\n")
    (folder / "package.json").write_text(json.dumps(package or {"name": "p"}))
    return folder


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        ("npx serve ${PROJECT_DIR} -p ${PORT}", "npx serve src -p $PORT"),
        ("npx vite --port ${PORT} --config vite.config.ts", "npx vite --port $PORT --config vite.config.ts"),
        (
            " npm run db -- ${PROJECT_DIR} && npm run dev -- ${PROJECT_DIR} ${PORT}",
            "npm run db -- src && npm run dev -- src $PORT",
        ),
        ("cp -r ${ASSETS} ${PROJECT_DIR} && npx serve ${process.env.EVAL_PROJECT_ROOT}", "cp -r assets src && npx serve src"),
    ],
)
def test_the_apps_command_is_its_configs_web_server(tmp_path: Path, command: str, expected: str) -> None:
    assert run_command(project(tmp_path / "p", command)) == PREFIX + expected


def test_a_command_naming_what_cannot_be_read_leaves_the_project_to_forjas_own_detection(tmp_path: Path) -> None:
    assert run_command(project(tmp_path / "p", "node ${SERVER_FILE} ${PORT}")) == ""
    (tmp_path / "p" / "playwright.config.js").unlink()
    assert run_command(tmp_path / "p") == ""


def test_the_apps_package_json_leaves_out_the_benchmarks_packages(tmp_path: Path) -> None:
    package = {
        "name": "@web-bench/x",
        "scripts": {"dev": "vite", "test": "npx @web-bench/test-util", "test1": "npx playwright test"},
        "dependencies": {"react": "^18.3.1"},
        "devDependencies": {"@playwright/test": "^1.56.1", "@web-bench/test-util": "workspace:*", "vite": "^7.1.5"},
        "eval": {"stable": True},
    }
    folder = project(tmp_path / "projects" / "x", "npx vite --port ${PORT}", package)
    (folder / "src-init").mkdir()
    (folder / "src-init" / "index.html").write_text("<p>start</p>")
    (folder / "vite.config.ts").write_text("export default {}")
    (folder / "test").mkdir()
    (folder / "test" / "init.spec.js").write_text("")
    [task] = load_web_bench(tmp_path)
    app = json.loads(task.start["package.json"])
    assert app == {
        "name": "@web-bench/x",
        "scripts": {"dev": "vite"},
        "dependencies": {"react": "^18.3.1"},
        "devDependencies": {"vite": "^7.1.5"},
    }
    assert sorted(task.start) == ["package.json", "src/index.html", "vite.config.ts"]
    assert (task.id, task.chain, task.web_bench and task.web_bench.specs) == ("x/init", "x", ["init.spec.js"])


def test_path_must_hold_a_web_bench_project(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="There is no folder"):
        project_dirs(tmp_path / "missing")
    with pytest.raises(InvalidInput, match="holds no Web-Bench project"):
        project_dirs(tmp_path)
    one = project(tmp_path / "projects" / "a", "npx serve ${PROJECT_DIR}")
    assert project_dirs(tmp_path) == [one] == project_dirs(one)


def test_tasks_come_from_tasks_yml_too(tmp_path: Path) -> None:
    folder = project(tmp_path / "projects" / "chart", "npx vite --port ${PORT}")
    (folder / "tasks.jsonl").unlink()
    (folder / "tasks.yml").write_text(
        "- id: task-1\n  date: 2025-05-12\n  description: |\n    - Draw the `#axes` chart.\n    - Save it in index.js\n"
        "- id: task-2\n  description: Add grids.\n"
    )
    (folder / "test").mkdir()
    for spec in ("task-1.spec.js", "task-2.spec.js"):
        (folder / "test" / spec).write_text("")
    tasks = load_web_bench(tmp_path)
    assert [(task.id, task.title) for task in tasks] == [
        ("chart/task-1", "Draw the `#axes` chart."),
        ("chart/task-2", "Add grids."),
    ]
    assert tasks[1].web_bench is not None and tasks[1].web_bench.specs == ["task-1.spec.js", "task-2.spec.js"]
    assert "Save it in index.js" in tasks[0].prompt
