"""What the run command prints: one line per phase with its time (as scripts/phase.sh prints the shell's phases), and
when a phase fails, the end of the run log, where the whole output of pip, npm, Reflex and Vite went."""

from __future__ import annotations

from pathlib import Path

NAME_WIDTH = 24


def duration(seconds: float) -> str:
    return f"{seconds:.1f} s" if seconds < 10 else f"{seconds:.0f} s"


def phase_line(name: str, seconds: float, note: str = "") -> str:
    """`Page build .............. unchanged, 4.2 s`"""
    dots = "." * max(2, NAME_WIDTH - len(name))
    return f"{name} {dots} {note + ', ' if note else ''}{duration(seconds)}"


def log_tail(log: Path, lines: int = 25) -> str:
    try:
        text = log.read_text(errors="replace")
    except OSError:
        return "  (the log could not be read)"
    return "\n".join(f"  {line}" for line in text.splitlines()[-lines:])


def failure(what: str, seconds: float, log: Path) -> str:
    return f"{what} failed after {duration(seconds)}. The end of its output:\n{log_tail(log)}\nThe whole log: {log}"
