"""Before a sandbox installs a project's packages: the names the project asks for are real, not look-alikes, not new.

A model sometimes invents a package name, or writes one a letter away from a popular package; whoever publishes that
name later gets their code run by the install. The review before publish (builder/review/packages.py) reports these
among its findings; this gate refuses the install itself, in every runner that installs on a server (previews,
releases, builds, the review's scratch sandbox: all start through PreviewHub.launch), with a sentence that names
each package and what to do.

Only the names the project's own manifests ask for are checked (package.json, requirements.txt, pyproject.toml),
not every package of a lockfile: those are the ones a model or a person wrote, and a few lookups keep a start fast.
A registry that cannot be reached refuses nothing (the check's outage is no reason to stop a preview); a name the
admin vouches for (FORJA_REVIEW_ALLOWED_PACKAGES) is never a look-alike nor too new. The gate's answer is kept for a
few minutes per set of manifests (kept with the registries' answers, but also an outage's): a machine with no
network pays the registry's wait once, not at every start.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping

import httpx

from builder.errors import PackagesRefused
from builder.review.findings import Finding
from builder.review.install_commands import install_manifests
from builder.review.lockfiles import Ecosystem
from builder.review.packages import package_findings, young_versions
from builder.review.registry import cached, remember
from builder.settings import settings
from builder.settings.review_packages import ReviewPackageSettings
from preview_runtime.local.registry_reading import Verdict

MANIFESTS = frozenset({"package.json", "requirements.txt", "pyproject.toml"})
# Read with them: the scopes it sends to a private registry are not asked about on the public one.
CONTEXT = frozenset({".npmrc"})
# The packages check's kinds that stop an install: a name no registry has, a look-alike of a popular one, a version
# younger than the admin's minimum age. Deprecated packages and advisories are the review's to report, not a refusal.
REFUSED = frozenset({"missing", "misspelling", "too-new"})
SHOWN = 3  # packages named in the refusal; the rest are counted


def manifests(tree: Mapping[str, bytes]) -> dict[str, bytes]:
    """The project's own manifests (not a dependency's, inside node_modules), with its .npmrc files; {} without any."""
    found = {
        path: data
        for path, data in tree.items()
        if path.rsplit("/", 1)[-1] in MANIFESTS | CONTEXT and "node_modules/" not in path
    }
    return found if any(path.rsplit("/", 1)[-1] in MANIFESTS for path in found) else {}


def _named(findings: list[Finding]) -> tuple[str, list[str]] | None:
    """What stops an install, in the findings' own sentences, and the files they are in; None when nothing does."""
    stopping = [f for f in findings if f.kind in REFUSED]
    if not stopping:
        return None
    named = " ".join(f.message for f in stopping[:SHOWN])
    more = f" And {len(stopping) - SHOWN} more." if len(stopping) > SHOWN else ""
    return named + more, sorted({f.file for f in stopping if f.file})


def refusal(findings: list[Finding]) -> str:
    """The sentence a refused install says, or "" when nothing in `findings` stops it."""
    if (stopped := _named(findings)) is None:
        return ""
    named, files = stopped
    return (
        f"The app's packages were not installed: {named} Change {' and '.join(files) or 'its package list'}, then start it again."
    )


def command_refusal(findings: list[Finding]) -> str:
    """The sentence a refused install command says, or "" when nothing in `findings` stops it."""
    if (stopped := _named(findings)) is None:
        return ""
    return f"The command was not run: {stopped[0]} Ask for the package by its right name, or for another one."


def package_refusal(findings: list[Finding]) -> str:
    """The sentence an installer in a sandbox prints when the registry's answer for a package is refused."""
    if (stopped := _named(findings)) is None:
        return ""
    return f"Forja did not let this package install: {stopped[0]} Ask for the package by its right name, or another one."


class InstallGate:
    """Asks the packages check about a project's manifests before a sandbox installs them; PackagesRefused when one
    of its names should not be installed."""

    def __init__(self, chosen: ReviewPackageSettings | None = None) -> None:
        self._settings = chosen  # None: Forja's settings, as the review's
        self._client = httpx.AsyncClient(follow_redirects=False)

    async def close(self) -> None:
        await self._client.aclose()

    async def check(self, tree: Mapping[str, bytes]) -> None:
        asked = manifests(tree)
        if asked and (sentence := await self._answer(asked, refusal)):
            raise PackagesRefused(sentence)

    async def check_command(self, line: str) -> None:
        """Before a shell line runs in a sandbox: the packages it names to install (`npm install NAME`, `pip install
        NAME`...) are asked about as a manifest naming them would be."""
        asked = install_manifests(line)
        if asked and (sentence := await self._answer(asked, command_refusal)):
            raise PackagesRefused(sentence)

    async def verdict(self, ecosystem: Ecosystem, name: str) -> Verdict:
        """What an installer in a sandbox may have of one package, asked of the registry through the egress proxy
        (preview_runtime/local/registry_relay.py): a name a manifest naming it would be refused for is refused; its
        versions younger than the minimum age are held back, so the install picks an older one."""
        manifest = json.dumps({"dependencies": {name: "latest"}}) if ecosystem == "npm" else f"{name}\n"
        asked = {"package.json" if ecosystem == "npm" else "requirements.txt": manifest.encode()}
        key = ("install-gate-package", self._key(asked), "verdict")
        found = cached(key)
        if not isinstance(found, Verdict):
            refusal = await self._answer(asked, package_refusal)
            held = frozenset() if refusal else await young_versions(ecosystem, name, self._client, self._settings)
            found = Verdict(refusal, held)
            remember(key, found)
        return found

    async def _answer(self, asked: Mapping[str, bytes], said: Callable[[list[Finding]], str]) -> str:
        key = ("install-gate", self._key(asked), said.__name__)  # kept as long as the registries' answers
        sentence = cached(key)
        if sentence is None:
            sentence = said(await package_findings(asked, self._client, self._settings))
            remember(key, sentence)
        return sentence

    def _key(self, asked: Mapping[str, bytes]) -> str:
        # The answer follows what is asked and of whom: a process-wide cache, as the registries' answers are.
        chosen = self._settings or settings
        asked_of = (chosen.review_npm_registry, chosen.review_pypi_url, chosen.review_min_package_age_days)
        digest = hashlib.sha256(f"{asked_of}\0{chosen.review_allowed_packages}".encode())
        for path in sorted(asked):
            digest.update(f"\0{path}\0".encode())
            digest.update(asked[path])
        return digest.hexdigest()
