"""Debug modes the source turns on: `app.run(debug=True)`, `DEBUG = True` in a Django settings file, `FLASK_DEBUG=1`
(or `flask run --debug`) in a file that starts the app. Each is where the fix goes, so each finding names file and line.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from builder.filetree import SKIPPED_DIRS
from builder.review.door_routes import MAX_SOURCE, line_at
from builder.review.findings import Finding, Severity

# A Python line that turns a debugger on: `app.run(debug=True)` (Werkzeug's), `FastAPI(debug=True)` (tracebacks in
# pages), `app.debug = True`, `app.config["DEBUG"] = True`. Only a literal True: a value read from the environment is the
# deployment's choice. A call's arguments may hold two levels of parentheses and span lines.
_CALL_ARGS = r"\((?:[^()]|\((?:[^()]|\([^()]*\))*\))*?"
_PY_DEBUG = re.compile(
    r"^[ \t]*[^#\n]*?(?:(?:\.run|\bFastAPI|\bStarlette)" + _CALL_ARGS + r"\bdebug\s*=\s*True\b"
    r"|\.debug\s*=\s*True\b|\.config\[\s*['\"]DEBUG['\"]\s*\]\s*=\s*True\b)",
    re.MULTILINE,
)
_DJANGO_DEBUG = re.compile(r"^DEBUG\s*=\s*True\b", re.MULTILINE)
# FLASK_DEBUG=1 in an env file, a Dockerfile's ENV, a Procfile or a script; `flask run --debug`.
_FLASK_DEBUG = re.compile(
    r"^[ \t]*[^#\n]*?(?:\bFLASK_DEBUG['\"]?\s*[=:\s]\s*['\"]?(?:1|true|on|yes)\b|\bflask\b[^\n]*\brun\b[^\n]*--debug\b)",
    re.MULTILINE | re.IGNORECASE,
)
_STARTS_THE_APP = ("Dockerfile", "Procfile", ".env", ".flaskenv", "package.json", "Makefile")
_STARTS_SUFFIXES = (".sh", ".env", ".toml", ".yml", ".yaml", ".json", ".cfg", ".ini")


def debug_in_source(tree: Mapping[str, bytes]) -> list[Finding]:
    """A finding for each file (and kind) that turns a debug mode on, at its first such line."""
    findings: dict[tuple[str, str], Finding] = {}
    for path, data in sorted(tree.items()):
        parts = path.split("/")
        if len(data) > MAX_SOURCE or any(part in SKIPPED_DIRS or part == "site-packages" for part in parts[:-1]):
            continue
        name = parts[-1]
        text = data.decode("utf-8", "replace")
        if name.endswith(".py"):
            _add(findings, "debug-mode", path, text, _PY_DEBUG)
            if name == "settings.py" or "settings" in parts[:-1]:
                _add(findings, "django-debug", path, text, _DJANGO_DEBUG)
        if name.startswith(_STARTS_THE_APP) or name.endswith(_STARTS_SUFFIXES) or name.endswith(".py"):
            _add(findings, "debug-mode", path, text, _FLASK_DEBUG)
    return list(findings.values())


def _add(findings: dict[tuple[str, str], Finding], kind: str, path: str, text: str, pattern: re.Pattern[str]) -> None:
    match = pattern.search(text)
    if match is None or (kind, path) in findings:
        return
    line = line_at(text, match.start())
    what = "Django's DEBUG setting" if kind == "django-debug" else "debug mode"
    findings[kind, path] = Finding(
        check="doors",
        kind=kind,
        severity=Severity.high,
        message="The app is set to run in debug mode: when it fails, it shows visitors its code and settings, and "
        "some debuggers even let them run commands on the server.",
        file=path,
        line=line,
        fix=f"Turn {what} off in {path} line {line}: debug only when an environment variable asks for it (off by "
        "default), never as a literal True in the code or in a file that starts the app.",
    )
