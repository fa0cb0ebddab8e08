"""Codex CLI (the `@openai/codex` npm package), an external coding agent a project may pick as its engine.

Its version is pinned by engines/codex/package-lock.json; setup installs it into `.cache/engines/codex` (the binary is
the package's optional dependency for this platform). Here: where that binary is, how it is told to work headless on
one folder with one model behind Forja's relay and nothing else, and the lines of its transcript.

Codex speaks OpenAI's Responses API only (`POST {base_url}/responses`), so only an OpenAI-compatible connection can
drive it. Headless, `codex exec --json PROMPT` works in its working folder and prints one JSON event a line
(thread.started, turn.started, item.started / item.completed for its messages, commands and file changes,
turn.completed with the turn's usage, turn.failed, error). Its whole configuration is given as `-c` overrides, its
user configuration and rules ignored (`--ignore-user-config`, `--ignore-rules`): Forja's sandbox is the sandbox, so its
own is off (`danger-full-access`) and nobody is asked to approve anything; no web search, update check, analytics or
feedback; its sessions are not kept (`--ephemeral`). CODEX_HOME is left to its default, `~/.codex` in the project's
HOME, which is inside the sandbox.
"""

from __future__ import annotations

import json
import platform
from pathlib import Path
from typing import Any

from preview_runtime.engines import events

LOCKFILE_DIR = Path(__file__).with_name("codex")
PROVIDER = "forja"  # the provider's name in Codex's configuration: the relay Forja runs for it
TOKEN_VARIABLE = "FORJA_MODEL_TOKEN"  # where Codex reads its key from: the run's token, worth nothing to the model
# Its features that reach OpenAI's or GitHub's services (plugins, apps), or give the model tools Forja's round has no
# use for (sub-agents, goals, images made by OpenAI).
_OFF = ("plugins", "remote_plugin", "apps", "multi_agent", "goals", "image_generation")
_TRIPLES = {
    "x86_64": ("codex-linux-x64", "x86_64-unknown-linux-musl"),
    "aarch64": ("codex-linux-arm64", "aarch64-unknown-linux-musl"),
}


def binary(installed: Path) -> Path | None:
    """Codex's binary in `installed` (where setup ran npm with the lockfile) for this machine, or None."""
    found = _TRIPLES.get(platform.machine())
    if found is None:
        return None
    program = installed / "node_modules" / "@openai" / found[0] / "vendor" / found[1] / "bin" / "codex"
    return program if program.is_file() else None


def _toml(value: object) -> str:
    """`value` as a TOML value for `-c`: a string as a basic string (JSON's escapes are TOML's), a dict inline."""
    if isinstance(value, dict):
        return "{" + ", ".join(f"{key} = {_toml(item)}" for key, item in value.items()) + "}"
    if isinstance(value, bool):
        return "true" if value else "false"
    return json.dumps(value)


def settings(base_url: str, model: str) -> dict[str, object]:
    """Codex's configuration, key by key: one provider at `base_url` speaking the Responses API with the run's token
    as its key, no retries (the relay's answer is the model's), nothing asked, nothing of its own reached."""
    provider = {
        "name": "Forja",
        "base_url": base_url,
        "env_key": TOKEN_VARIABLE,
        "wire_api": "responses",
        "request_max_retries": 0,
        "stream_max_retries": 0,
    }
    return {
        "model": model,
        "model_provider": PROVIDER,
        f"model_providers.{PROVIDER}": provider,
        "approval_policy": "never",
        "sandbox_mode": "danger-full-access",
        "web_search": "disabled",
        "check_for_update_on_startup": False,
        "analytics.enabled": False,
        "feedback.enabled": False,
        **{f"features.{name}": False for name in _OFF},
    }


def command(program: Path, prompt: str, base_url: str, model: str) -> list[str]:
    """The headless run: JSON events on stdout, the configuration of `settings`, the person's request as its prompt."""
    overrides = [part for key, value in settings(base_url, model).items() for part in ("-c", f"{key}={_toml(value)}")]
    flags = ["--json", "--skip-git-repo-check", "--ephemeral", "--ignore-user-config", "--ignore-rules", "--color", "never"]
    return [str(program), "exec", *flags, *overrides, "--", prompt]


def environment(api_key: str) -> dict[str, str]:
    """What Codex's process gets on top of the sandbox's environment: the run's token, where its provider reads it."""
    return {TOKEN_VARIABLE: api_key}


def _item(event: dict[str, Any]) -> dict[str, Any]:
    return events.as_object(event.get("item")) if event.get("type") == "item.completed" else {}


def said_text(line: str) -> str | None:
    """What the agent said to the person in this line of its output (an agent_message item), else None."""
    event = events.event(line)
    item = _item(event) if event is not None else {}
    if item.get("type") != "agent_message":
        return None
    return str(item.get("text") or "").strip() or None


def step_tokens(line: str) -> tuple[int, int, int, int] | None:
    """The tokens one turn took, as its `turn.completed` event counts them (the sum of its model answers' usage):
    input without the cached part, output, cache read and cache written; None for any other line."""
    event = events.event(line)
    if event is None or event.get("type") != "turn.completed":
        return None
    usage = events.as_object(event.get("usage"))
    counts = [
        n if isinstance(n, int) else 0
        for n in (
            usage.get("input_tokens"),
            usage.get("output_tokens"),
            usage.get("cached_input_tokens"),
            usage.get("cache_write_input_tokens"),
        )
    ]
    # OpenAI's input counts include the cached tokens; Forja counts them apart, as Claude's do.
    return max(0, counts[0] - counts[2] - counts[3]), counts[1], counts[2], counts[3]


def _item_line(item: dict[str, Any]) -> str | None:
    kind = item.get("type")
    if kind == "command_execution":
        said = f"command: {str(item.get('command'))[:200]} (exit code {item.get('exit_code')})"
        output = str(item.get("aggregated_output") or "").strip()
        return f"{said}: {output[-500:]}" if output and item.get("exit_code") != 0 else said
    if kind == "file_change":
        changed = [
            f"{change.get('kind', '?')} {change.get('path', '?')}"
            for change in item.get("changes") or []
            if isinstance(change, dict)
        ]
        return f"files: {', '.join(changed)} ({item.get('status', '?')})"
    if kind == "error":
        return f"error: {item.get('message')}"
    if kind in ("reasoning", "todo_list"):
        return None
    return f"{kind}: {json.dumps(item)[:200]}"


def transcript_line(line: str) -> str | None:
    """What one line of its JSON output says, for the run's log; None for events that say nothing to a person (a
    turn's start) and lines that are not its events."""
    event = events.event(line)
    if event is None:
        return line.strip() or None
    kind = event.get("type")
    if kind == "item.completed":
        return said_text(line) or _item_line(_item(event))
    if kind == "turn.failed":
        return f"error: {events.as_object(event.get('error')).get('message')}"
    if kind == "error":
        return f"error: {event.get('message')}"
    return None
