"""A native addon whose build failed in an install: the package whose install script compiled it (node-gyp, directly
or through node-pre-gyp or prebuild-install), told from the install's output, and what to say where no compiler is.

The Docker runner's image has none (one would lengthen every build of the image): a package with no prebuilt binary
it can fetch (bcrypt 5's are on GitHub, out of a preview's reach) cannot build there, and the local runner can."""

from __future__ import annotations

import re

# npm's (and yarn classic's) line naming the folder of the package whose install script failed.
_FAILED_IN = re.compile(
    r"^(?:npm (?:error|ERR!) path|error) \S*/node_modules/((?:@[^/\s]+/)?[^/\s:]+)(?::\s*Command failed\.)?\s*$"
)
# A line of a native build: its command, or what node-gyp printed.
_BUILDING = re.compile(r"\bnode-(?:pre-)?gyp\b|\bgyp (?:ERR!|info|WARN|http)|\bprebuild-install\b")


class NativeBuild:
    """Reads an install's output one line at a time; `failed` is the package whose native build failed, once its
    lines said so ("" until then, and for any other failure). npm prints a failed script's output after the line
    naming its package, and nothing of the scripts that worked."""

    def __init__(self) -> None:
        self._package = ""
        self._building = False

    def read(self, line: str) -> None:
        if match := _FAILED_IN.search(line.strip()):
            self._package, self._building = match.group(1), False
        elif _BUILDING.search(line):
            self._building = True

    @property
    def failed(self) -> str:
        return self._package if self._building else ""


def no_compiler(package: str) -> str:
    """Why an install failed where previews have no compiler, and what builds it."""
    return (
        f"The package {package} has to be compiled from its C/C++ source as it installs, and previews in Docker have no "
        "compiler for that here: the local runner can build it."
    )
