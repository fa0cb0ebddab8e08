"""The external coding agents a project may pick as its engine, by the name the project's setting holds: what each is
called, which models' protocols it speaks, and how one run of it is made and read (opencode.py, codex.py)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from preview_runtime.engines import codex, opencode
from preview_runtime.engines.relay import Protocol


@dataclass(frozen=True)
class Agent:
    name: str  # as people read it
    folder: str  # where setup installs it, under the engines' folder
    protocols: tuple[Protocol, ...]  # the models it can be driven by
    binary: Callable[[Path], Path | None]
    # Its program's arguments and environment for one request (prompt, protocol, relay's base URL, model, run's token).
    invocation: Callable[[Path, str, Protocol, str, str, str], tuple[list[str], dict[str, str]]]
    said_text: Callable[[str], str | None]
    step_tokens: Callable[[str], tuple[int, int, int, int] | None]
    transcript_line: Callable[[str], str | None]


def _opencode(
    program: Path, prompt: str, protocol: Protocol, base_url: str, model: str, token: str
) -> tuple[list[str], dict[str, str]]:
    return opencode.command(program, prompt), opencode.environment(protocol, base_url, model, token)


def _codex(
    program: Path, prompt: str, _protocol: Protocol, base_url: str, model: str, token: str
) -> tuple[list[str], dict[str, str]]:
    return codex.command(program, prompt, base_url, model), codex.environment(token)


AGENTS: dict[str, Agent] = {
    "opencode": Agent(
        "OpenCode",
        "opencode",
        ("anthropic", "openai"),
        opencode.binary,
        _opencode,
        opencode.said_text,
        opencode.step_tokens,
        opencode.transcript_line,
    ),
    "codex": Agent(
        "Codex", "codex", ("openai",), codex.binary, _codex, codex.said_text, codex.step_tokens, codex.transcript_line
    ),
}
