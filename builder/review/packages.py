"""The review's packages check: every package an app installs exists, is not deprecated, is not brand new, is not a
close misspelling of a popular package, and has no known security problem in the version installed.

The packages come from the project's lockfiles (lockfiles.py); the registries (registry.py) say whether each exists,
when each version was published and whether it is deprecated; an OSV-format feed (advisories.py) names the known
problems of each exact version; typos.py compares names with the registries' most downloaded. When a registry or the
feed cannot be reached, the check says so in one low finding for it and reports what it could check: an outage never
raises and never blocks a publish.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import httpx

from builder.review.advisories import Advisory, advisories
from builder.review.findings import Finding, Severity, ordered
from builder.review.lockfiles import Dependency, Ecosystem, dependencies, private_scopes
from builder.review.registry import NPM_REGISTRY, Asker, Package, Unreachable, look_up
from builder.review.typos import misspelled
from builder.settings import settings as forja_settings
from builder.settings.previews import InstallSettings
from builder.settings.review_packages import ReviewPackageSettings

CHECK = "packages"
PUBLIC_NPM_HOSTS = frozenset({"registry.npmjs.org", "registry.npmjs.com", "registry.yarnpkg.com"})
NO_CHANGE = "Nothing in the app causes this and nothing needs to change: the next review checks the packages again."


async def package_findings(
    tree: Mapping[str, bytes], client: httpx.AsyncClient, settings: ReviewPackageSettings | None = None
) -> list[Finding]:
    """The packages check's findings for a project's files (path to bytes), worst first."""
    chosen = settings if settings is not None else forja_settings
    registry = _npm_registry(chosen)
    found = _checked(dependencies(tree), tree, registry)
    if not found:
        return []
    typos = await asyncio.to_thread(_misspellings, found, chosen.allowed_packages)  # the first builds an index
    ask = Asker(client, chosen.review_package_timeout_s, asyncio.Semaphore(chosen.review_package_lookups))
    parts = await asyncio.gather(
        _registry_findings(ask, chosen, registry, "npm", [d for d in found if d.ecosystem == "npm"], typos),
        _registry_findings(ask, chosen, registry, "PyPI", [d for d in found if d.ecosystem == "PyPI"], typos),
        _advisory_findings(ask, chosen, [d for d in found if d.version]),
    )
    return ordered([finding for part in parts for finding in part])


async def young_versions(
    ecosystem: Ecosystem, name: str, client: httpx.AsyncClient, settings: ReviewPackageSettings | None = None
) -> frozenset[str]:
    """The versions of a package younger than the minimum age: none for a name the admin vouches for, or when the
    registry cannot say (an outage holds nothing back)."""
    chosen = settings if settings is not None else forja_settings
    days = chosen.review_min_package_age_days
    if not days or name.lower() in chosen.allowed_packages or (ecosystem == "PyPI" and not chosen.review_pypi_url):
        return frozenset()
    ask = Asker(client, chosen.review_package_timeout_s, asyncio.Semaphore(chosen.review_package_lookups))
    try:
        found = await look_up(ask, ecosystem, [(name, "")], _npm_registry(chosen), chosen.review_pypi_url)
    except Unreachable:
        return frozenset()
    since = datetime.now(UTC) - timedelta(days=days)
    return frozenset(v for v, release in found[(name, "")].releases.items() if release.published and release.published > since)


def _misspellings(found: list[Dependency], allowed: frozenset[str]) -> dict[tuple[Ecosystem, str], str]:
    """Each name that looks like a misspelling of a popular package, to that package."""
    typos: dict[tuple[Ecosystem, str], str] = {}
    for d in found:
        if d.name.lower() not in allowed and (popular := misspelled(d.ecosystem, d.name)):
            typos[(d.ecosystem, d.name)] = popular
    return typos


def _npm_registry(chosen: ReviewPackageSettings) -> str:
    """The review's own registry setting, else the mirror previews install from, else npm's."""
    mirror = chosen.npm_registry if isinstance(chosen, InstallSettings) else ""
    return (chosen.review_npm_registry or mirror or NPM_REGISTRY).rstrip("/")


def _checked(found: list[Dependency], tree: Mapping[str, bytes], registry: str) -> list[Dependency]:
    """The packages the registry can vouch for: not from a private registry (a scope the project's .npmrc sends
    elsewhere, or a lockfile's address on another host)."""
    scopes = private_scopes(tree)
    try:
        hosts = PUBLIC_NPM_HOSTS | {urlsplit(registry).hostname or ""}
    except ValueError:  # the previews' mirror setting is not checked at start; asking it says it cannot be reached
        hosts = PUBLIC_NPM_HOSTS
    return [
        d
        for d in found
        if d.ecosystem != "npm" or ((not d.source or d.source in hosts) and d.name.partition("/")[0] not in scopes)
    ]


def _where(eco: Ecosystem) -> str:
    return "npm" if eco == "npm" else "PyPI"


def _finding(d: Dependency, kind: str, severity: Severity, message: str, fix: str) -> Finding:
    return Finding(
        check=CHECK,
        kind=kind,
        severity=severity,
        message=message,
        file=d.file,
        line=d.line,
        request=f"{d.ecosystem} {d.name} {d.version}".strip(),
        fix=fix,
    )


def _unchecked(why: Unreachable, what: str) -> Finding:
    return Finding(
        check=CHECK,
        kind="unchecked",
        severity=Severity.low,
        message=f"The app's packages could not be checked for {what}: {why}. The next review tries again.",
        request=why.who,
        fix=NO_CHANGE,
    )


async def _registry_findings(
    ask: Asker,
    chosen: ReviewPackageSettings,
    registry: str,
    eco: Ecosystem,
    found: list[Dependency],
    typos: dict[tuple[Ecosystem, str], str],
) -> list[Finding]:
    if not found:
        return []
    named = [d for d in _first_per_name(found) if (eco, d.name) in typos]
    if eco == "PyPI" and not chosen.review_pypi_url:  # the owner asked that no index be asked
        return [_misspelling(d, typos[(eco, d.name)]) for d in named]
    try:
        packages = await look_up(ask, eco, [(d.name, d.version) for d in found], registry, chosen.review_pypi_url)
    except Unreachable as why:  # the names can still be compared: that needs no registry
        return [
            *(_misspelling(d, typos[(eco, d.name)]) for d in named),
            _unchecked(why, "whether they exist, are deprecated or are too new"),
        ]
    # A misspelt name nobody published is said once, as a package that does not exist.
    findings = [_misspelling(d, typos[(eco, d.name)]) for d in named if packages[(d.name, d.version)].exists]
    now = datetime.now(UTC)
    for d in found:
        findings += _of_release(d, packages[(d.name, d.version)], typos.get((eco, d.name), ""), chosen, now)
    return findings


def _first_per_name(found: list[Dependency]) -> list[Dependency]:
    return list({d.name: d for d in reversed(found)}.values())


def _of_release(d: Dependency, package: Package, typo: str, chosen: ReviewPackageSettings, now: datetime) -> list[Finding]:
    where = _where(d.ecosystem)
    if not package.exists:
        perhaps = f" (perhaps {typo} was meant)" if typo else ""
        return [
            _finding(
                d,
                "missing",
                Severity.critical,
                f"The package {d.name} does not exist on {where}{perhaps}: models sometimes invent packages, and "
                "installing it fails, or installs whatever someone publishes under that name later.",
                f"{d.name} does not exist on {where}: remove it from {d.file} and from the code that uses it, or replace "
                f"it with a real package that does the same{perhaps}.",
            )
        ]
    if not d.version:
        return []
    release = package.releases.get(d.version)
    if release is None:
        return [
            _finding(
                d,
                "missing-version",
                Severity.high,
                f"Version {d.version} of {d.name} is not on {where}: it was withdrawn or never published.",
                f"Change {d.name} in {d.file} to a version that exists on {where}.",
            )
        ]
    findings = []
    if release.deprecated:
        findings.append(
            _finding(
                d,
                "deprecated",
                Severity.medium,
                f"{d.name} {d.version} is deprecated by its authors: “{release.deprecated[:200]}”.",
                f"{d.name} {d.version} is deprecated (“{release.deprecated[:200]}”): move {d.file} to a version or a "
                "package that is not.",
            )
        )
    days = chosen.review_min_package_age_days
    age = now - release.published if release.published else None
    if days and age is not None and age < timedelta(days=days) and d.name.lower() not in chosen.allowed_packages:
        findings.append(
            _finding(
                d,
                "too-new",
                Severity.high,
                f"{d.name} {d.version} was published only {_age(age)} ago: new releases are where hijacked packages "
                f"show up first, so a version younger than {days:g} days is held back.",
                f"Use a version of {d.name} published at least {days:g} days ago instead of {d.version}, in {d.file}.",
            )
        )
    return findings


def _age(age: timedelta) -> str:
    hours = max(int(age.total_seconds() // 3600), 0)
    if hours < 1:
        return "minutes"
    return f"{hours} hour{'s' * (hours != 1)}" if hours < 48 else f"{hours // 24} days"


def _misspelling(d: Dependency, popular: str) -> Finding:
    return _finding(
        d,
        "misspelling",
        Severity.high,
        f"{d.name} is one or two letters away from the popular package {popular}: it may be a look-alike that installs "
        "someone else's code.",
        f"Replace {d.name} with {popular} in {d.file} and in the code that uses it, if {popular} is what was meant.",
    )


async def _advisory_findings(ask: Asker, chosen: ReviewPackageSettings, pinned: list[Dependency]) -> list[Finding]:
    if not chosen.review_advisory_feed or not pinned:
        return []
    try:
        known = await advisories(ask, chosen.review_advisory_feed, [(d.ecosystem, d.name, d.version) for d in pinned])
    except Unreachable as why:
        return [_unchecked(why, "known security problems")]
    return [_of_advisory(d, a) for d in pinned for a in known.get((d.ecosystem, d.name, d.version), [])]


def _of_advisory(d: Dependency, advisory: Advisory) -> Finding:
    about = f": {advisory.summary}" if advisory.summary else ""
    upgrade = (
        f"Upgrade {d.name} to {advisory.fixed} or later in {d.file}"
        if advisory.fixed
        else f"Replace {d.name} in {d.file} with a package that does the same (no fixed version is known)"
    )
    finding = _finding(
        d,
        "advisory",
        advisory.severity,
        f"{d.name} {d.version} has a known security problem ({advisory.id}){about}.",
        f"{upgrade}: version {d.version} has a known security problem ({advisory.id}).",
    )
    return finding.model_copy(update={"request": f"{finding.request} {advisory.id}"})
