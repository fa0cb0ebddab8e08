"""The Docker runner: each preview in a hardened container on an isolated bridge network (see DESIGN.md)."""

from preview_runtime.docker.config import DockerConfig
from preview_runtime.docker.firewall import remove_stale_firewall_rules
from preview_runtime.docker.runner import DockerRunner

__all__ = ["DockerConfig", "DockerRunner", "remove_stale_firewall_rules"]
