"""Yarn 1's lockfile as a preview installs it behind a registry mirror.

Yarn 1 ("classic") fetches each package from the URL its yarn.lock's `resolved` line holds, whatever registry is
configured (1.22's NpmRegistry.getRequestUrl keeps a full URL as it is): with only a mirror reachable, as on a company
network, a yarn.lock written against registry.yarnpkg.com cannot install. So the copy a preview's sandbox gets (never
the project's saved file) has the public registries' hosts written as the mirror's address; the path and the `#sha1`
after it are kept, and the `integrity` lines are not touched, so yarn still checks each tarball it gets.

Yarn 2+ lockfiles name no hosts (their `resolution`s are `name@npm:version`), and pnpm and npm ask the configured
registry for what their lockfiles name by version (pnpm-lock.yaml's `resolution: {integrity}`): those are left as they
are, and so are a lockfile's tarball dependencies on other hosts.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Mapping

LOCKFILE = "yarn.lock"
_PUBLIC = re.compile(rb'^(?P<key>[ \t]+resolved[ \t]+"?)https?://registry\.(?:yarnpkg\.com|npmjs\.org)/', re.MULTILINE)
_BERRY = re.compile(rb"^__metadata:", re.MULTILINE)
# What yarn itself writes without a mirror: the host a lockfile's mirror addresses go back to (see as_saved).
_YARN_REGISTRY = b"https://registry.yarnpkg.com/"


def _base(mirror: str) -> bytes:
    return mirror.rstrip("/").encode() + b"/"


def rewrite(lockfile: bytes, mirror: str) -> bytes:
    """A Yarn 1 lockfile whose `resolved` URLs on registry.yarnpkg.com or registry.npmjs.org (http or https) are on
    `mirror` (its URL, with any path) instead; a Yarn 2+ lockfile as it is."""
    if _BERRY.search(lockfile):
        return lockfile
    base = _base(mirror)
    return _PUBLIC.sub(lambda match: match["key"] + base, lockfile)


def for_sandbox(files: Mapping[str, bytes], mirror: str | None) -> Mapping[str, bytes]:
    """`files` as a preview gets them: with a mirror, each yarn.lock rewritten (see rewrite); else `files` itself."""
    if not mirror:
        return files
    locks = {path: rewrite(data, mirror) for path, data in files.items() if posixpath.basename(path) == LOCKFILE}
    return {**files, **locks} if locks else files


def as_saved(path: str, working: bytes, saved: bytes | None, mirror: str | None) -> bytes:
    """A file read back from a preview's working copy as the project would keep it: a yarn.lock the sandbox got
    rewritten is the saved one again, and one changed there (a `yarn add` in the terminal) has the mirror's address
    written back as yarn's own registry, so no project keeps a mirror's address it never wrote."""
    if not mirror or posixpath.basename(path) != LOCKFILE:
        return working
    if saved is not None and working == rewrite(saved, mirror):
        return saved
    if _BERRY.search(working):
        return working
    base = re.escape(_base(mirror))
    return re.sub(rb'^([ \t]+resolved[ \t]+"?)' + base, lambda match: match[1] + _YARN_REGISTRY, working, flags=re.MULTILINE)
