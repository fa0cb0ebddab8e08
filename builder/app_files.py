"""Which of a project's files its running app shows: the only files an edit made in the preview may change.

Select mode saves words typed over the preview into the source. An acceptance check, a test, a story, the README, a
lockfile or a tool's settings may quote the same words; changing one of those alone saves a version the app never
shows (its preview, share links, releases and exports keep the old words), and a check that now expects them.
"""

from __future__ import annotations

import re
from pathlib import PurePosixPath

# Pages, and the scripts, components and data they are built from.
APP_EXTENSIONS = (".html", ".htm", ".js", ".jsx", ".ts", ".tsx", ".mjs", ".vue", ".svelte", ".json")

# Folders of tests and their tools, documentation, and what an install or a build made (a hidden folder, such as
# `.forja/` with the acceptance checks or `.github/`, is never the app's either).
NOT_APP_FOLDERS = frozenset(
    {
        "__mocks__",
        "__tests__",
        "build",
        "coverage",
        "cypress",
        "dist",
        "docs",
        "e2e",
        "node_modules",
        "out",
        "playwright",
        "spec",
        "specs",
        "test",
        "tests",
    }
)

# Package manifests, lockfiles and the settings of the project's tools.
TOOL_FILES = frozenset(
    {
        "angular.json",
        "components.json",
        "composer.json",
        "deno.json",
        "jsconfig.json",
        "npm-shrinkwrap.json",
        "package-lock.json",
        "package.json",
        "vercel.json",
    }
)

# `Card.test.jsx`, `home.spec.ts`, `Button.stories.tsx`, `login.cy.js`; `vite.config.js`, `tsconfig.app.json`.
_NOT_APP_NAME = re.compile(r"\.(?:test|spec|stories|story|cy)\.[^.]+$|\.config\.[cm]?[jt]s$|^tsconfig(?:\.[^.]+)?\.json$", re.I)


def shown_by_the_app(path: str) -> bool:
    """Whether `path` (as the store keeps it, `src/App.jsx`) is a page of the app or a source its pages are built from."""
    parts = PurePosixPath(path).parts
    if not parts or not path.lower().endswith(APP_EXTENSIONS):
        return False
    if any(part.startswith(".") or part.lower() in NOT_APP_FOLDERS for part in parts[:-1]):
        return False
    name = parts[-1]
    return not name.startswith(".") and name.lower() not in TOOL_FILES and _NOT_APP_NAME.search(name) is None
