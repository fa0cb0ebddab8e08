"""Runs generated projects and reports on them; knows nothing of Forja's UI.

Usable on its own: give it a file tree, get back what the project is (`detect_stack`), how to run
it (`plan.plan_for`, from the project's own files) and, from a runner, a live preview with a log stream.
"""

from preview_runtime.logs import LogHub, LogLevel, LogLine, classify
from preview_runtime.stack import detect_stack

__all__ = ["LogHub", "LogLevel", "LogLine", "classify", "detect_stack"]
