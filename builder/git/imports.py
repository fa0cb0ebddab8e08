"""An import from a git URL: `git clone --depth 1` of one branch or tag, then the same checks as a zip's.

Only https, http and git:// URLs, and only public addresses unless FORJA_GIT_IMPORT_PRIVATE says otherwise (a URL must
not make Forja reach what only Forja can reach; builder/git/addresses.py pins git to the addresses checked). The clone is bare: nothing is checked out, so no link in it is ever
written to disk; its tree passes trees.tree_of (paths, folders Forja does not keep, symbolic links, submodules, sizes,
file count), and a refusal names the file and the rule.
"""

from __future__ import annotations

import asyncio
import logging
import re
import tempfile
from pathlib import Path, PurePosixPath
from urllib.parse import urlsplit, urlunsplit

from builder.errors import FileTreeError, GitExportError, InvalidInput
from builder.filetree import Limits
from builder.git.addresses import Pinned, pin
from builder.git.commands import git
from builder.git.objects import ObjectReader
from builder.git.trees import Known, PushRefused, tree_of

log = logging.getLogger(__name__)

SCHEMES = ("https", "http", "git")
_REF = re.compile(r"^[A-Za-z0-9._/-]{1,200}$")
# git may follow nothing but these, redirects and submodules included (the clone fetches no submodule anyway).
# No redirect either: the address checked is the one fetched from.
PROTOCOLS = [
    *("-c", "protocol.allow=never", "-c", "http.followRedirects=false"),
    *(arg for p in SCHEMES for arg in ("-c", f"protocol.{p}.allow=always")),
]


def shown(url: str) -> str:
    """The URL without its credentials, for messages and logs."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    netloc = f"[{host}]" if ":" in host else host
    return urlunsplit(parts._replace(netloc=netloc + (f":{parts.port}" if parts.port else "")))


def check_url(url: str, ref: str | None) -> None:
    parts = urlsplit(url.strip())
    if parts.scheme not in SCHEMES or not parts.hostname:
        raise InvalidInput(
            "Import from an https://, http:// or git:// address of a git repository, e.g. https://host/owner/repo.git."
        )
    if ref is not None and (not _REF.match(ref) or ref.startswith("-") or ".." in ref):
        raise InvalidInput(f"{ref!r} is not a branch or tag name.")


def _clone(url: str, pinned: Pinned, ref: str | None, work: Path) -> dict[str, bytes]:
    repo = work / "repo.git"
    branch = ["--branch", ref] if ref else []
    try:
        git(
            work,
            *PROTOCOLS,
            *pinned.config,
            "clone",
            "--quiet",
            "--bare",
            "--depth",
            "1",
            "--single-branch",
            "--no-tags",
            *branch,
            "--",
            pinned.url,
            str(repo),
        )
    except GitExportError as exc:
        raise InvalidInput(f"Could not fetch {shown(url)}: {exc.message.removeprefix('git clone failed: ')}") from None
    limits = Limits.from_settings()
    with ObjectReader(repo, {}) as reader:
        try:
            tree = tree_of(reader, "HEAD", reader.commit("HEAD"), limits, Known())
        except PushRefused as exc:
            raise FileTreeError(exc.message) from None
        contents = reader.contents(entry.sha for entry in tree.values())
    return {path: contents[entry.sha] for path, entry in tree.items()}


async def fetch_tree(url: str, ref: str | None = None) -> tuple[dict[str, bytes], str]:
    """The files of the branch or tag (default: the repository's own) and a name for the project."""
    url = url.strip()
    check_url(url, ref)
    parts = urlsplit(url)
    host = parts.hostname or ""
    pinned = await asyncio.to_thread(pin, url, "Forja imports only from public git servers.")
    with tempfile.TemporaryDirectory(prefix="forja-git-import-") as work:
        tree = await asyncio.to_thread(_clone, url, pinned, ref, Path(work))
    if not tree:
        raise FileTreeError(f"{shown(url)} has no files to import.")
    name = PurePosixPath(parts.path).name.removesuffix(".git") or host
    log.info("fetched %d files from %s", len(tree), shown(url))
    return tree, name
