"""Python projects: their dependencies (requirements.txt, PEP 621 or Poetry pyproject.toml) and the server to start.

The server, in order (after what the project declares: declared.py reads a Procfile), Django's manage.py, a Python UI
framework's app (pyui.py), an app object (FastAPI, Starlette, Quart: uvicorn; Flask, or a package with a Flask app
factory: `flask --app`), a WSGI `application` (uvicorn's WSGI mode), and last a script that runs itself.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterator, Mapping

from packaging.requirements import InvalidRequirement, Requirement

from preview_runtime.detect.command import HOST, PORT, Command
from preview_runtime.detect.found import Found, NotRunnable
from preview_runtime.detect.pyui import PREFERRED, Server, ui_server

MANIFESTS = ("requirements.txt", "pyproject.toml", "Pipfile", "Procfile", "manage.py")
PIP = ["python", "-m", "pip", "install"]
_SKIP = re.compile(r"(^|/)(\.venv|venv|env|node_modules|\.git|__pycache__|site-packages|tests?|docs?)/")
_ASGI = re.compile(r"^(\w+)\s*(?::[^=]+)?=\s*(FastAPI|Starlette|Quart|Sanic|Litestar)\(", re.MULTILINE)
_FLASK_APP = re.compile(r"^(\w+)\s*(?::[^=]+)?=\s*Flask\(", re.MULTILINE)
_FACTORY = re.compile(r"^def (create_app|make_app)\(", re.MULTILINE)
_WSGI = re.compile(r"^application\s*=", re.MULTILINE)
_MAIN = re.compile(r"""^if __name__ == ['"]__main__['"]\s*:""", re.MULTILINE)


MKDOCS_CONFIGS = ("mkdocs.yml", "mkdocs.yaml")


def is_python(tree: Mapping[str, bytes], folder: str) -> bool:
    prefix = f"{folder}/" if folder else ""
    return any(f"{prefix}{name}" in tree for name in (*MANIFESTS, *MKDOCS_CONFIGS)) or any(
        p.startswith(prefix) and p.endswith(".py") and "/" not in p[len(prefix) :] for p in tree
    )


def detect_python(tree: Mapping[str, bytes], folder: str = "") -> Found:
    local = _local(tree, folder)
    sources = {p: d.decode("utf-8", "replace") for p, d in local.items() if p.endswith(".py") and len(d) < 512_000}
    _requirements(local)  # a broken manifest is the first thing to say
    server = _server(local, sources)
    install, inputs = python_install(tree, folder, server.needs)
    return Found(
        framework=server.framework,
        dev=Command(server.argv, cwd=folder, env=server.env),
        install=install,
        port=server.port,
        server=True,
        python=True,
        inputs=inputs,
        notes=server.notes,
        source=server.source,
    )


def python_install(tree: Mapping[str, bytes], folder: str, needs: list[str] | None = None) -> tuple[list[Command], list[str]]:
    """The pip install of the folder's dependencies plus `needs` (a server tool it does not list), and the files read."""
    local = _local(tree, folder)
    requirements, inputs = _requirements(local)
    wanted = _names(requirements)
    missing = [pkg for pkg in needs or [] if pkg not in wanted]
    install = []
    # A requirements.txt of comments only (an app of the standard library says so) gets no pip run, nor the venv made
    # for it: they cost a Python preview's start seconds of a core.
    if any(_pip_lines(local.get("requirements.txt", b""))):
        install.append(Command([*PIP, "-r", "requirements.txt", *missing], cwd=folder))
    elif requirements or missing:
        install.append(Command([*PIP, *requirements, *missing], cwd=folder))
    prefix = f"{folder}/" if folder else ""
    return install, [f"{prefix}{name}" for name in inputs]


def _pip_lines(requirements_txt: bytes) -> Iterator[tuple[str, str]]:
    """Each line of a requirements.txt that pip acts on (a requirement or an option): as written, and without its
    comment and its line continuation."""
    for raw in requirements_txt.decode("utf-8", "replace").splitlines():
        line = raw.split(" #", 1)[0].strip().rstrip("\\").strip()
        if line and not line.startswith("#"):
            yield raw, line


def installed_names(tree: Mapping[str, bytes], folder: str) -> set[str]:
    """The lower-cased names of the packages python_install installs for the folder (its requirements)."""
    return _names(_requirements(_local(tree, folder))[0])


def _names(requirements: list[str]) -> set[str]:
    return {name.lower() for name in re.findall(r"^\s*([A-Za-z0-9_.-]+)", "\n".join(requirements), re.MULTILINE)}


def _local(tree: Mapping[str, bytes], folder: str) -> dict[str, bytes]:
    """The folder's files by their path inside it, without environments, tests and docs (they start no server)."""
    prefix = f"{folder}/" if folder else ""
    return {p[len(prefix) :]: data for p, data in tree.items() if p.startswith(prefix) and not _SKIP.search(p[len(prefix) :])}


def not_requirements(tree: Mapping[str, bytes], folder: str) -> str:
    """The first line of the folder's requirements.txt that is not a requirement, an option or a comment ("" when
    each is, or there is none): such a file is prose for people ("Node.js >= 18.x"), which pip would fail on."""
    local = _local(tree, folder)
    if "requirements.txt" not in local:
        return ""
    for raw, line in _pip_lines(local["requirements.txt"]):
        if line.startswith(("-", ".", "/")) or "://" in line:
            continue
        try:
            Requirement(line)
        except InvalidRequirement:
            return raw.strip()
    return ""


def _requirements(local: Mapping[str, bytes]) -> tuple[list[str], list[str]]:
    """The requirement lines and the files they came from."""
    if "requirements.txt" in local:
        text = local["requirements.txt"].decode("utf-8", "replace")
        lines = [line for line in text.splitlines() if line.strip() and not line.lstrip().startswith(("#", "-"))]
        return lines, ["requirements.txt"]
    if "pyproject.toml" not in local:
        return [], []
    try:
        data = tomllib.loads(local["pyproject.toml"].decode("utf-8", "replace"))
    except tomllib.TOMLDecodeError as exc:
        raise NotRunnable(
            f"pyproject.toml is not valid TOML ({exc}): fix it in the Code tab, then start the preview again."
        ) from None
    project = data.get("project")
    listed = project.get("dependencies") if isinstance(project, dict) else None
    deps = [d for d in listed if isinstance(d, str)] if isinstance(listed, list) else []
    poetry = data.get("tool", {}).get("poetry", {}) if isinstance(data.get("tool"), dict) else {}
    if not deps and isinstance(poetry, dict) and isinstance(poetry.get("dependencies"), dict):
        deps = [_poetry(name, spec) for name, spec in poetry["dependencies"].items() if name.lower() != "python"]
    return deps, ["pyproject.toml"]


def _poetry(name: str, spec: object) -> str:
    """A Poetry constraint as pip reads it: ^1.2 is >=1.2,<2; ~1.2 is >=1.2,<1.3; extras kept."""
    extras = ""
    if isinstance(spec, dict):
        if isinstance(spec.get("extras"), list):
            extras = "[" + ",".join(str(e) for e in spec["extras"]) + "]"
        spec = spec.get("version", "*")
    text = str(spec).strip()
    if text in ("", "*"):
        return name + extras
    if text[0] in "^~" and (parts := re.findall(r"\d+", text)):
        nums = [int(p) for p in parts]
        if text[0] == "^":
            bump = next((i for i, n in enumerate(nums) if n), len(nums) - 1)
        else:
            bump = min(1, len(nums) - 1) if len(nums) > 1 else 0
        upper = [*nums[:bump], nums[bump] + 1]
        return f"{name}{extras}>={'.'.join(parts)},<{'.'.join(map(str, upper))}"
    if text[0].isdigit():
        return f"{name}{extras}=={text}"
    return f"{name}{extras}{text}"


def _server(local: Mapping[str, bytes], sources: Mapping[str, str]) -> Server:
    if "manage.py" in local:
        return Server("Django", ["python", "manage.py", "runserver", f"{HOST}:{PORT}"], 8000, "Django's manage.py")
    if (ui := ui_server(sources)) is not None:
        return ui
    ordered = sorted(sources, key=lambda p: (p.count("/"), p.rsplit("/", 1)[-1] not in PREFERRED, p))
    for path in ordered:
        if match := _ASGI.search(sources[path]):
            target = f"{_module(path)}:{match.group(1)}"
            argv = ["uvicorn", target, "--host", HOST, "--port", PORT, "--reload"]
            return Server(match.group(2), argv, 8000, f"{match.group(2)} app in {path}", ["uvicorn"])
    for path in ordered:
        text = sources[path]
        if (match := _FLASK_APP.search(text)) or (path.endswith("__init__.py") and _FACTORY.search(text)):
            target = _module(path) + (f":{match.group(1)}" if match else "")
            argv = ["flask", "--app", target, "run", "--host", HOST, "--port", PORT, "--reload"]
            return Server("Flask", argv, 5000, f"Flask app {'in' if match else 'factory in'} {path}")
    for path in ordered:
        if _WSGI.search(sources[path]) and path.rsplit("/", 1)[-1] == "wsgi.py":
            argv = ["uvicorn", f"{_module(path)}:application", "--interface", "wsgi", "--host", HOST, "--port", PORT]
            return Server("WSGI", argv, 8000, f"WSGI application in {path}", ["uvicorn"])
    for path in ordered:
        if _MAIN.search(sources[path]) and "/" not in path:
            return Server("Python", ["python", path], 8000, f"{path}, a script that runs itself")
    # A docs site, last: an app beside its docs is what its preview shows.
    for config in MKDOCS_CONFIGS:
        if config in local:
            argv = ["mkdocs", "serve", "--config-file", config, "--dev-addr", f"{HOST}:{PORT}"]
            return Server("MkDocs", argv, 8000, f"MkDocs' {config}", ["mkdocs"])
    raise NotRunnable(
        'Forja finds no server to start in this Python project: add a Procfile with a "web:" line, or an app.py '
        "that creates a Flask, FastAPI, Gradio, NiceGUI, Shiny, Dash, Panel or Streamlit app."
    )


def _module(path: str) -> str:
    return path.removesuffix(".py").removesuffix("/__init__").replace("/", ".")
