"""Counts and lists of files as people read them in logs, messages and the UI."""

from __future__ import annotations


def plural(n: int, word: str) -> str:
    """'1 file', '2 files'."""
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def joined(parts: list[str]) -> str:
    """'a', 'a and b', 'a, b and c'."""
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]


def describe_paths(paths: list[str]) -> str:
    if len(paths) <= 2:
        return ", ".join(paths) or "no files"
    return f"{paths[0]} and {len(paths) - 1} more files"


# A copy's first version message starts with this; the page labels such versions "Copy", not "Import".
DUPLICATED_FROM = "Duplicated from"
