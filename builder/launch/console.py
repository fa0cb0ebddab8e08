"""What the run command prints: one line per phase with its time (as scripts/phase.sh prints the shell's phases), and
when a phase fails, the end of the run log, where the whole output of pip, npm, Reflex and Vite went."""

from __future__ import annotations

import re
from pathlib import Path

NAME_WIDTH = 24
FIRST_ERROR = re.compile(r"^(npm error|ERROR:|Error:|Traceback \(most recent call last\))")
ERROR_LINES = 12


def duration(seconds: float) -> str:
    return f"{seconds:.1f} s" if seconds < 10 else f"{seconds:.0f} s"


def phase_line(name: str, seconds: float, note: str = "") -> str:
    """`Page build .............. unchanged, 4.2 s`"""
    dots = "." * max(2, NAME_WIDTH - len(name))
    return f"{name} {dots} {note + ', ' if note else ''}{duration(seconds)}"


def log_tail(log: Path, lines: int = 25) -> str:
    """The log's last lines; when a tool's first error is further up (npm and Reflex print their debug lines after
    it), that error's first lines too."""
    try:
        text = log.read_text(errors="replace").splitlines()
    except OSError:
        return "  (the log could not be read)"
    end = len(text) - lines
    first = next((number for number, line in enumerate(text) if FIRST_ERROR.search(line)), None)
    shown = text[-lines:]
    if first is not None and first < end:
        shown = [*text[first : min(first + ERROR_LINES, end)], "...", *text[-(lines - ERROR_LINES) :]]
    return "\n".join(f"  {line}" for line in shown)


def failure(what: str, seconds: float, log: Path) -> str:
    return f"{what} failed after {duration(seconds)}. The end of its output:\n{log_tail(log)}\nThe whole log: {log}"
