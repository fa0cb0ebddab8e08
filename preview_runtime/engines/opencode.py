"""OpenCode (the `opencode-ai` npm package), an external coding agent a project may pick as its engine.

Its version is pinned by engines/opencode/package-lock.json; scripts/prefetch_starters.py installs it into
`.cache/engines/opencode` (the binary is the package's optional dependency for this platform). Here: where that binary
is, how it is told to work headless on one folder with one model (an OpenAI-compatible one or Claude, behind Forja's
relay) and nothing else, and the lines of its transcript.

Headless, `opencode run --format json MESSAGE` works in its working folder and prints one JSON event a line
(step_start, text, tool_use, step_finish, error). Its configuration comes whole from OPENCODE_CONFIG_CONTENT; without
the variables of QUIET_ENV it would fetch models.dev's catalogue, look for updates and plugins at startup.
"""

from __future__ import annotations

import json
import platform
from pathlib import Path
from typing import Any

from preview_runtime.engines import events
from preview_runtime.engines.relay import Protocol

LOCKFILE_DIR = Path(__file__).with_name("opencode")
PROVIDER = "forja"  # the provider's name in OpenCode's configuration: the relay Forja runs for it
# The variables that keep OpenCode on this machine: no catalogue of models (models.dev), no update check, no session
# sharing, no language servers downloaded, no default plugins, no skills or settings of Claude Code read from HOME.
QUIET_ENV = {
    "OPENCODE_DISABLE_MODELS_FETCH": "1",
    "OPENCODE_DISABLE_AUTOUPDATE": "1",
    "OPENCODE_DISABLE_SHARE": "1",
    "OPENCODE_DISABLE_LSP_DOWNLOAD": "1",
    "OPENCODE_DISABLE_DEFAULT_PLUGINS": "1",
    "OPENCODE_DISABLE_CLAUDE_CODE": "1",
    "OPENCODE_DISABLE_EXTERNAL_SKILLS": "1",
}
# The tools it may use without asking (nobody is there to answer): its file tools and the shell, inside the sandbox.
_PERMISSION = {"edit": "allow", "bash": "allow", "webfetch": "deny", "external_directory": "deny"}
# The AI SDK package OpenCode builds the provider with (both bundled in its binary), by the protocol the model speaks.
_SDK: dict[Protocol, str] = {"openai": "@ai-sdk/openai-compatible", "anthropic": "@ai-sdk/anthropic"}
_PACKAGES = {"x86_64": ("opencode-linux-x64", "opencode-linux-x64-baseline"), "aarch64": ("opencode-linux-arm64",)}


def _has_avx2() -> bool:
    try:
        return " avx2" in Path("/proc/cpuinfo").read_text()
    except OSError:
        return False


def binary(installed: Path) -> Path | None:
    """OpenCode's binary in `installed` (where setup ran npm with the lockfile) for this machine, or None: the x64
    build needs AVX2, the baseline one does not."""
    names = _PACKAGES.get(platform.machine(), ())
    if names[:1] == ("opencode-linux-x64",) and not _has_avx2():
        names = names[1:]
    for name in names:
        found = installed / "node_modules" / name / "bin" / "opencode"
        if found.is_file():
            return found
    return None


def config(protocol: Protocol, base_url: str, model: str, api_key: str) -> dict[str, Any]:
    """OpenCode's whole configuration: one provider speaking `protocol` ("openai" or "anthropic") at `base_url` with
    one model, used for titles too (a second model would be a second provider to reach), no sharing, no updates,
    every tool allowed."""
    provider = {
        "npm": _SDK[protocol],
        "name": "Forja",
        "options": {"baseURL": base_url, "apiKey": api_key},
        "models": {model: {"name": model, "tool_call": True}},
    }
    return {
        "$schema": "https://opencode.ai/config.json",
        "model": f"{PROVIDER}/{model}",
        "small_model": f"{PROVIDER}/{model}",
        "share": "disabled",
        "autoupdate": False,
        "provider": {PROVIDER: provider},
        "permission": _PERMISSION,
    }


def environment(protocol: Protocol, base_url: str, model: str, api_key: str) -> dict[str, str]:
    """What OpenCode's process gets on top of the sandbox's environment."""
    return {**QUIET_ENV, "OPENCODE_CONFIG_CONTENT": json.dumps(config(protocol, base_url, model, api_key))}


def command(program: Path, prompt: str) -> list[str]:
    """The headless run: the person's request as its message, JSON events on stdout, no external plugins."""
    return [str(program), "run", "--format", "json", "--pure", "--title", "Forja", prompt]


def said_text(line: str) -> str | None:
    """What the agent said to the person in this line of its output (a `text` event), else None."""
    event = events.event(line)
    if event is None or event.get("type") != "text":
        return None
    return str(events.as_object(event.get("part")).get("text") or "").strip() or None


def step_tokens(line: str) -> tuple[int, int, int, int] | None:
    """The tokens one model answer took, as its `step_finish` event counts them: input, output, cache read and cache
    written; None for any other line."""
    event = events.event(line)
    if event is None or event.get("type") != "step_finish":
        return None
    tokens = events.as_object(events.as_object(event.get("part")).get("tokens"))
    cache = events.as_object(tokens.get("cache"))
    counts = [
        n if isinstance(n, int) else 0 for n in (tokens.get("input"), tokens.get("output"), cache.get("read"), cache.get("write"))
    ]
    return counts[0], counts[1], counts[2], counts[3]


def transcript_line(line: str) -> str | None:
    """What one line of its JSON output says, for the run's log; None for events that say nothing to a person
    (a step's start) and lines that are not its events."""
    event = events.event(line)
    if event is None:
        return line.strip() or None
    part = events.as_object(event.get("part"))
    kind = event.get("type")
    if kind == "text":
        return said_text(line)
    if kind == "tool_use":
        state = events.as_object(part.get("state"))
        title = state.get("title") or json.dumps(state.get("input") or {})[:200]
        said = f"{part.get('tool', 'tool')}: {title} ({state.get('status', '?')})"
        return f"{said}: {str(state.get('error'))[:500]}" if state.get("error") else said
    if kind == "error":
        error = event.get("error")
        return f"error: {events.as_object(events.as_object(error).get('data')).get('message') or error}"
    return None
