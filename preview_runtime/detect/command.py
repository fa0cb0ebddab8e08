"""A command to run in a project folder, kept as parts so it renders for a shell or as an argv for the browser.

The tokens `$PORT` and `$HOST` stand for the address the runner gives the preview: a server runner's shell
expands them from the environment it sets; the WebContainer path puts in numbers of its own.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field

PORT = "$PORT"
HOST = "$HOST"


@dataclass(frozen=True)
class Command:
    argv: list[str]
    cwd: str = ""  # relative to the project's root; "" is the root itself
    env: dict[str, str] = field(default_factory=dict)

    def shell(self) -> str:
        """One POSIX shell line: `cd DIR && NAME=value ... argv`."""
        words = [f"{name}={_quote(value)}" for name, value in self.env.items()]
        words += [_quote(word) for word in self.argv]
        line = " ".join(words)
        return f"cd {shlex.quote(self.cwd)} && {line}" if self.cwd else line

    def resolved(self, port: int, host: str) -> list[str]:
        """argv with the address written in (for runners without a shell of their own)."""
        return [word.replace(PORT, str(port)).replace(HOST, host) for word in self.argv]


def _quote(word: str) -> str:
    """Shell-quoted, except that `$PORT` and `$HOST` stay variables (in double quotes)."""
    if PORT in word or HOST in word:
        return '"' + word.replace("\\", "\\\\").replace('"', '\\"').replace("`", "\\`") + '"'
    return shlex.quote(word)


def sequence(commands: list[Command]) -> str:
    """Commands run one after the other, each in its own folder; stops at the first that fails."""
    return " && ".join(f"( {c.shell()} )" if c.cwd else c.shell() for c in commands)


def together(commands: list[Command]) -> str:
    """Servers run side by side: all but the last in the background, the last in front (its exit ends the preview)."""
    *background, front = commands
    parts = [f"( {c.shell()} ) &" for c in background]
    parts.append(f"( {front.shell()} )" if front.cwd and background else front.shell())
    return " ".join(parts)
