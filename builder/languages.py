"""Monaco language ids by file name, so each file opens with the right highlighting."""

from pathlib import PurePosixPath

_BY_SUFFIX = {
    ".js": "javascript", ".jsx": "javascript", ".mjs": "javascript", ".cjs": "javascript",
    ".ts": "typescript", ".tsx": "typescript", ".mts": "typescript",
    ".json": "json", ".html": "html", ".htm": "html", ".css": "css", ".scss": "scss", ".less": "less",
    ".md": "markdown", ".py": "python", ".yml": "yaml", ".yaml": "yaml", ".toml": "ini", ".ini": "ini",
    ".sh": "shell", ".sql": "sql", ".xml": "xml", ".svg": "xml", ".vue": "html", ".svelte": "html",
    ".go": "go", ".rs": "rust", ".java": "java", ".rb": "ruby", ".php": "php", ".graphql": "graphql",
}  # fmt: skip
_BY_NAME = {"Dockerfile": "dockerfile", "Makefile": "plaintext", ".env": "ini", ".gitignore": "plaintext"}


def language_for(path: str) -> str:
    name = PurePosixPath(path).name
    return _BY_NAME.get(name) or _BY_SUFFIX.get(PurePosixPath(path).suffix.lower(), "plaintext")
