"""The swarm runner: each preview a hardened Docker Swarm service on an overlay network of its own (see DESIGN.md)."""

from preview_runtime.swarm.config import SwarmConfig
from preview_runtime.swarm.runner import SwarmRunner

__all__ = ["SwarmConfig", "SwarmRunner"]
