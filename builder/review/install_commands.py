"""The packages a shell line asks to install, as the manifests the packages check reads.

The install gate (builder/services/install_gate.py) asks about a project's manifests before a sandbox installs them;
a command run in a preview's sandbox (the agent's `npm install NAME`) names its packages on the line instead. This
reads them from it: npm, yarn, pnpm and bun adding packages, pip (also `python -m pip`, `uv pip`), `uv add` and
`poetry add`, in each part of a line joined with `&&`, `||`, `;` or `|`. What is not a registry's name is left out (a
path, an address, a git or GitHub source, a requirements file given with `-r`), so a line that installs only those
asks nothing. A line the shell could not split asks nothing either: the sandbox's shell would refuse it as well.
"""

from __future__ import annotations

import json
import re
import shlex

_JOINS = frozenset({"&&", "||", ";", "|", "&"})
_NPM_ADDS = {
    "npm": {"install", "i", "in", "add", "isntall"},
    "yarn": {"add"},
    "pnpm": {"add", "install", "i"},
    "bun": {"add", "install", "i"},
}
_PIP = re.compile(r"^pip[\d.]*$")
_PYTHON = re.compile(r"^python[\d.]*$")
_NPM_SPEC = re.compile(r"^(?P<name>(?:@[a-z0-9][\w.-]*/)?[a-z0-9][\w.-]*)(?:@(?P<version>[^/\s]+))?$", re.IGNORECASE)
_PYPI_SPEC = re.compile(r"^(?P<name>[A-Za-z0-9][\w.-]*)(?:\[[\w,.-]+\])?(?P<rest>(?:[=<>!~]=?.*)?)$")
# Options whose value is the next word, so that word is no package: pip's `-r file`, `-i URL`...
_TAKES_VALUE = frozenset(
    {"-r", "--requirement", "-c", "--constraint", "-i", "--index-url", "--extra-index-url", "-f", "--find-links",
     "-t", "--target", "--prefix", "--root", "-e", "--editable", "--registry", "--cache", "-C", "--dir",
     "--filter", "--group", "-G", "--python", "--source"}
)  # fmt: skip


def _words(line: str) -> list[list[str]]:
    """The line's simple commands, each as its words; [] when the shell could not split it."""
    try:
        lexer = shlex.shlex(line, posix=True, punctuation_chars=";&|")
        lexer.whitespace_split = True
        words = list(lexer)
    except ValueError:
        return []
    commands: list[list[str]] = [[]]
    for word in words:
        if word in _JOINS:
            commands.append([])
        else:
            commands[-1].append(word)
    return [command for command in commands if command]


def _operands(words: list[str]) -> list[str]:
    """The words that are not options nor an option's value."""
    found, skip = [], False
    for word in words:
        if skip:
            skip = False
        elif word.startswith("-"):
            skip = word in _TAKES_VALUE
        else:
            found.append(word)
    return found


def _npm_names(words: list[str]) -> dict[str, str]:
    asked = {}
    for spec in _operands(words):
        match = _NPM_SPEC.match(spec)
        if match:
            asked[match["name"]] = match["version"] or "latest"
    return asked


def _pypi_lines(words: list[str]) -> list[str]:
    return [spec for spec in _operands(words) if _PYPI_SPEC.match(spec) and "://" not in spec and "/" not in spec]


def _asked(words: list[str]) -> tuple[dict[str, str], list[str]]:
    """(npm names to versions, PyPI requirement lines) one simple command asks to install."""
    while words and "=" in words[0] and not words[0].startswith("-"):  # FOO=bar npm install x
        words = words[1:]
    if not words:
        return {}, []
    tool, rest = words[0].rsplit("/", 1)[-1], words[1:]
    if tool in _NPM_ADDS and rest and rest[0] in _NPM_ADDS[tool]:
        return _npm_names(rest[1:]), []
    if _PYTHON.match(tool) and rest[:2] == ["-m", "pip"]:
        tool, rest = "pip", rest[2:]
    if tool == "uv" and rest[:1] == ["pip"]:
        tool, rest = "pip", rest[1:]
    if _PIP.match(tool) and rest[:1] == ["install"]:
        return {}, _pypi_lines(rest[1:])
    if tool in ("uv", "poetry") and rest[:1] == ["add"]:
        return {}, _pypi_lines(rest[1:])
    return {}, []


def install_manifests(line: str) -> dict[str, bytes]:
    """The manifests (package.json, requirements.txt) naming what `line` asks to install; {} when it installs nothing
    by name."""
    npm: dict[str, str] = {}
    pypi: list[str] = []
    for words in _words(line):
        names, requirements = _asked(words)
        npm |= names
        pypi += requirements
    made: dict[str, bytes] = {}
    if npm:
        made["package.json"] = json.dumps({"dependencies": npm}, indent=2).encode()
    if pypi:
        made["requirements.txt"] = "".join(f"{requirement}\n" for requirement in pypi).encode()
    return made
