"""Web-Bench (bytedance/web-bench) as a suite: a checkout the person points to, read in the benchmark's own layout.

Each project of `<checkout>/projects/` has `tasks.jsonl` or `tasks.yml` (task `init`, then `task-1` ... `task-20`, each
building on the one before), `src-init/` (where a model starts), `src/` (the final reference), `test/<task>.spec.js` and a Playwright
config whose web server serves the app from `EVAL_PROJECT_ROOT` on `EVAL_PROJECT_PORT`. Task N is passed when the tests
of tasks `init` to N pass. Here a project's tasks are one chain: one Forja project, its app the project's own files
with `src/` holding the code, run in its preview with the config's web-server command (a run setting), and each task
graded by the benchmark's own tests (builder/eval/webbench_grader.py).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import yaml
from pydantic import BaseModel, ValidationError

from builder.errors import InvalidInput
from builder.eval.suite import Category, EvalTask, WebBenchTests

SRC = "src"
# The harness around the app: Web-Bench's own, never the app's files (the grader brings its own Playwright).
TASK_FILES = ("tasks.jsonl", "tasks.yml")
NOT_APP = {"test", *TASK_FILES, "src-init", "src", "playwright.config.js", "readme.md", ".evalignore", "node_modules"}
GRADER_PACKAGES = {"@playwright/test", "playwright"}
SERVER_PACKAGES = {"express", "fastify", "koa", "next", "nuxt", "@nestjs/core", "hono"}
DATA_PACKAGES = {"prisma", "@prisma/client", "sequelize", "lowdb", "nedb", "better-sqlite3", "sqlite3", "mongoose"}
TITLE_CHARS = 80


class BenchTask(BaseModel):
    id: str
    description: str


def project_dirs(path: Path) -> list[Path]:
    """The Web-Bench projects at `path`: a checkout (its `projects/`), a folder of projects, or one project."""
    if not path.is_dir():
        raise InvalidInput(f"There is no folder {path}: give --path a Web-Bench checkout (bytedance/web-bench).")
    if _has_tasks(path):
        return [path]
    root = path / "projects" if (path / "projects").is_dir() else path
    found = sorted(folder for folder in root.iterdir() if _has_tasks(folder))
    if not found:
        raise InvalidInput(
            f"{path} holds no Web-Bench project (a folder with tasks.jsonl or tasks.yml): give --path a checkout of "
            "bytedance/web-bench, its projects/ folder, or one project."
        )
    return found


def load_web_bench(path: Path) -> list[EvalTask]:
    """Every task of every project at `path`, in the benchmark's order."""
    return [task for folder in project_dirs(path) for task in project_tasks(folder)]


def project_tasks(folder: Path) -> list[EvalTask]:
    name = folder.name
    tasks = _tasks(folder)
    package = _package(folder)
    base = {**_app_files(folder), "package.json": _app_package(package)}
    start = {**base, **_files(folder / "src-init", SRC)}
    reference = {**base, **_files(folder / SRC, SRC)}
    command = run_command(folder)
    util = _test_util(folder)
    specs: list[str] = []
    result = []
    for task in tasks:
        spec = f"{task.id}.spec.js"
        if (folder / "test" / spec).is_file():
            specs.append(spec)
        result.append(
            EvalTask(
                id=f"{name}/{task.id}",
                title=_title(task.description),
                category=_category(package),
                prompt=_prompt(name, task, command),
                checks={},
                reference=reference,
                start=start,
                chain=name,
                run_command=command,
                web_bench=WebBenchTests(project_dir=str(folder), specs=list(specs), test_util=util),
            )
        )
    return result


def _has_tasks(folder: Path) -> bool:
    return any((folder / name).is_file() for name in TASK_FILES)


def _tasks(folder: Path) -> list[BenchTask]:
    """The project's tasks in order, from tasks.jsonl (a task a line) or tasks.yml (a list), as its projects have one
    or the other."""
    jsonl = folder / "tasks.jsonl"
    try:
        if jsonl.is_file():
            lines = [line for line in jsonl.read_text().splitlines() if line.strip()]
            return [BenchTask.model_validate_json(line) for line in lines]
        listed = yaml.safe_load((folder / "tasks.yml").read_text())
        return [BenchTask.model_validate(task) for task in listed or []]
    except (OSError, ValidationError, yaml.YAMLError, TypeError) as exc:
        raise InvalidInput(f"Web-Bench project {folder.name}: its tasks cannot be read: {exc}") from None


def _prompt(project: str, task: BenchTask, command: str) -> str:
    served = f", served by `{command}`" if command else ""
    return f"{task.description}\n\n(Web-Bench {project}, {task.id}: the app's code is in {SRC}/{served}.)"


def _title(description: str) -> str:
    """The description's first sentence on one line (tasks.yml's are Markdown lists, often)."""
    line = next((line.strip().lstrip("-* ").strip() for line in description.splitlines() if line.strip()), "")
    first = line.split(". ")[0]
    return first if len(first) <= TITLE_CHARS else first[: TITLE_CHARS - 1].rstrip() + "…"


def _package(folder: Path) -> dict:
    try:
        package = json.loads((folder / "package.json").read_text()) if (folder / "package.json").is_file() else {}
    except (OSError, ValueError) as exc:
        raise InvalidInput(f"Web-Bench project {folder.name}: its package.json cannot be read: {exc}") from None
    return package if isinstance(package, dict) else {}


def _dependencies(package: dict) -> set[str]:
    return {name for key in ("dependencies", "devDependencies") for name in package.get(key) or {}}


def _category(package: dict) -> Category:
    names = _dependencies(package)
    if names & DATA_PACKAGES:
        return "data"
    return "backend" if names & SERVER_PACKAGES else "front-end"


def _app_package(package: dict) -> bytes:
    """package.json as the app needs it: without the graders' packages and pnpm's `workspace:` links, which npm
    cannot install and the app never imports, and without the scripts that run the benchmark's tests."""
    app = dict(package)
    for key in ("dependencies", "devDependencies"):
        if key in app:
            app[key] = {
                name: version
                for name, version in (app[key] or {}).items()
                if name not in GRADER_PACKAGES and not str(version).startswith("workspace:")
            }
    scripts = {name: line for name, line in (app.get("scripts") or {}).items() if "test-util" not in line}
    app["scripts"] = {name: line for name, line in scripts.items() if "playwright" not in line}
    app.pop("eval", None)
    return (json.dumps(app, indent=2) + "\n").encode()


def _files(folder: Path, prefix: str = "") -> dict[str, bytes]:
    if not folder.is_dir():
        return {}
    lead = f"{prefix}/" if prefix else ""
    return {
        lead + path.relative_to(folder).as_posix(): path.read_bytes()
        for path in sorted(folder.rglob("*"))
        if path.is_file() and "node_modules" not in path.relative_to(folder).parts
    }


def _app_files(folder: Path) -> dict[str, bytes]:
    """The project's own files around its code (its build config, typings): all but the benchmark's harness."""
    files: dict[str, bytes] = {}
    for entry in sorted(folder.iterdir()):
        if entry.name in NOT_APP or entry.name == "package.json":
            continue
        if entry.is_file():
            files[entry.name] = entry.read_bytes()
        elif entry.is_dir():
            files.update(_files(entry, entry.name))
    return files


def _test_util(folder: Path) -> str:
    """Where the checkout's `@web-bench/test-util` is (the tests require it), or "" when it has none."""
    for parent in folder.parents:
        util = parent / "libraries" / "test-util"
        if (util / "package.json").is_file():
            return str(util)
    return ""


_CONSTANT = re.compile(r"""const\s+(\w+)\s*=\s*process\.env\.(\w+)\s*(?:\|\|\s*(['"]?)([\w./-]*)\3)?""")
_WEB_SERVER = re.compile(r"""webServer\s*:\s*\{.*?command\s*:\s*(`|'|")(.*?)\1""", re.S)
_PLACEHOLDER = re.compile(r"\$\{\s*([\w.]+)\s*\}")


def run_command(folder: Path) -> str:
    """The app's start command from the project's Playwright config (its web server), for Forja's preview: the app's
    folder is src, its port Forja's $PORT. "" when the config names something this cannot read; Forja then runs the
    project as it runs any project."""
    try:
        config = (folder / "playwright.config.js").read_text()
    except OSError:
        return ""
    found = _WEB_SERVER.search(config)
    if found is None:
        return ""
    values = {"EVAL_PROJECT_ROOT": SRC, "EVAL_PROJECT_PORT": "$PORT"}
    known: dict[str, str] = dict(values)
    for name, variable, _, default in _CONSTANT.findall(config):
        known[name] = known[f"process.env.{variable}"] = values.get(variable) or default
    missing = [name for name in _PLACEHOLDER.findall(found[2]) if not known.get(name)]
    if missing:
        return ""
    command = _PLACEHOLDER.sub(lambda match: known[match[1]], found[2]).strip()
    return f"export EVAL_PROJECT_ROOT={SRC} EVAL_PROJECT_PORT=$PORT EVAL=true IS_EVAL_PRODUCTION=true; {command}"
