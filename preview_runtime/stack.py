"""What a project is built with, read from its manifest files.

The runner policy uses it to pick where a project runs; the UI shows it next to the name.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping

# Ordered: the first match of each group is the most specific name for the project.
_NODE_PACKAGES = (
    ("next", "next"),
    ("nuxt", "nuxt"),
    ("@sveltejs/kit", "sveltekit"),
    ("astro", "astro"),
    ("@angular/core", "angular"),
    ("@react-router/dev", "react-router"),
    ("react", "react"),
    ("preact", "preact"),
    ("solid-js", "solid"),
    ("lit", "lit"),
    ("@builder.io/qwik", "qwik"),
    ("vue", "vue"),
    ("svelte", "svelte"),
    ("vite", "vite"),
    ("express", "express"),
    ("fastify", "fastify"),
    ("hono", "hono"),
    ("@nestjs/core", "nestjs"),
    ("tailwindcss", "tailwind"),
)
_PYTHON_PACKAGES = ("fastapi", "flask", "django", "streamlit")
MANIFEST_NAMES = frozenset({"package.json", "requirements.txt", "pyproject.toml"})


def is_manifest(path: str) -> bool:
    """Whether the file can change what `detect_stack` says."""
    return path.rsplit("/", 1)[-1] in MANIFEST_NAMES


def _package_json(tree: Mapping[str, bytes]) -> list[str]:
    found: list[str] = []
    for path, data in tree.items():
        if not path.endswith("package.json") or "node_modules/" in path:
            continue
        try:
            manifest = json.loads(data)
        except ValueError:
            continue
        if not isinstance(manifest, dict):  # a broken manifest says nothing about the stack
            continue
        deps = {
            name
            for field in ("dependencies", "devDependencies")
            if isinstance(section := manifest.get(field), dict)
            for name in section
        }
        found.extend(name for package, name in _NODE_PACKAGES if package in deps)
    return found


def _python(tree: Mapping[str, bytes]) -> list[str]:
    text = (
        b"\n".join(data for path, data in tree.items() if is_manifest(path) and not path.endswith("package.json"))
        .decode("utf-8", "replace")
        .lower()
    )
    found = [name for name in _PYTHON_PACKAGES if re.search(rf"(^|[\s\"']){name}\b", text, re.MULTILINE)]
    if found or any(path.endswith(".py") for path in tree):
        found.insert(0, "python")
    return found


def detect_stack(tree: Mapping[str, bytes]) -> list[str]:
    """Short lower-case names such as ['react', 'vite', 'tailwind'] or ['python', 'fastapi']."""
    stack = _package_json(tree) + _python(tree)
    if not stack and any(path.endswith(".html") for path in tree):
        stack = ["html"]
    return list(dict.fromkeys(stack))
