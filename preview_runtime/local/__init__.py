"""The local runner: previews as processes on this machine, in bubblewrap when it is installed."""

from preview_runtime.local.runner import LocalRunner

__all__ = ["LocalRunner"]
