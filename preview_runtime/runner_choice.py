"""Which server runner a preview gets: the one asked for, or with `auto` the strongest this Forja has, and why, in
words the person reads in the project's log."""

from __future__ import annotations

from collections.abc import Mapping

from preview_runtime.runner import Runner, RunnerError

# The runners on Forja's side, strongest first (the WebContainer runs in the person's browser).
SERVER_RUNNERS = ("swarm", "docker", "local")
RUNNER_CHOICES = ("auto", *SERVER_RUNNERS)

# What `auto` picks, strongest first, and what it tells the person.
AUTO_ORDER = (
    ("swarm", "Docker Swarm is ready: each preview runs as a hardened service of the swarm, on a network of its own."),
    ("docker", "Docker is ready: each preview runs in its own hardened container."),
)


def choose_runner(
    requested: str, available: Mapping[str, Runner], unavailable: Mapping[str, str] | None = None
) -> tuple[Runner, str]:
    """The runner for a preview and why that one; `auto` means the swarm when this Forja's engine is a swarm manager,
    else Docker when it is ready, else the local runner.

    `unavailable` says why a runner is missing (no engine, its image still building...), so the
    person reads the real reason rather than a guess.
    """
    why_not = dict(unavailable or {})
    if requested not in RUNNER_CHOICES:
        raise RunnerError(f"Unknown runner {requested!r}; use one of: {', '.join(RUNNER_CHOICES)}.")
    if requested == "auto":
        for name, why in AUTO_ORDER:
            if name in available:
                return available[name], why
        if "local" in available:
            return available["local"], f"Docker is not used: {why_not.get('docker', 'it is turned off in the settings.')}"
        reasons = "".join(f" The {name} runner cannot be used: {why_not[name]}" for name in SERVER_RUNNERS if name in why_not)
        raise RunnerError(f"No preview runner is available on this Forja.{reasons}")
    if requested not in available:
        default = {
            "docker": "no Docker engine is reachable",
            "swarm": "this Forja's Docker engine is not a swarm manager",
        }.get(requested, "it is turned off in the settings")
        raise RunnerError(f"The {requested} runner cannot be used: {why_not.get(requested, default)}")
    return available[requested], f"The {requested} runner was asked for."
