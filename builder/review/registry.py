"""What a registry says of a package: whether it exists, when each version was published, which are deprecated.

One request per package name (PyPI: per name and pinned version, whose answer is a fraction of the whole project's),
at most `review_package_lookups` in flight, each answer kept for CACHE_S in this process so a second review of the
same app (or the next app with the same packages) asks nothing. Only what the checks read is kept, not the answer.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Coroutine, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx

from builder.review.lockfiles import Ecosystem

CACHE_S = 300.0
CACHE_MAX = 20_000  # answers kept at most; the expired are dropped first, then all when it is still full
NPM_REGISTRY = "https://registry.npmjs.org"


class Unreachable(Exception):
    """A registry or feed could not answer; str() says which and why in plain words (never its address)."""

    def __init__(self, who: str, why: str) -> None:
        super().__init__(f"{who} {why}")
        self.who = who


@dataclass(frozen=True)
class Release:
    published: datetime | None
    deprecated: str  # npm's deprecation message, PyPI's reason for yanking it ("yanked" when it gave none); "" if not


@dataclass(frozen=True)
class Package:
    exists: bool
    releases: dict[str, Release]


_cache: dict[tuple[str, str, str], tuple[float, Any]] = {}


def cached(key: tuple[str, str, str]) -> Any | None:
    hit = _cache.get(key)
    return hit[1] if hit and hit[0] > time.monotonic() else None


def remember(key: tuple[str, str, str], value: object) -> None:
    if len(_cache) >= CACHE_MAX:
        now = time.monotonic()
        for stale in [k for k, (expires, _) in _cache.items() if expires <= now]:
            del _cache[stale]
        if len(_cache) >= CACHE_MAX:
            _cache.clear()
    _cache[key] = (time.monotonic() + CACHE_S, value)


@dataclass(frozen=True)
class Asker:
    """How the check asks a registry or feed: through the caller's client, each answer awaited at most `wait_s`, at
    most as many requests in flight as the gate lets through."""

    client: httpx.AsyncClient
    wait_s: float
    gate: asyncio.Semaphore

    async def json(self, url: str, who: str, body: object = None) -> Any | None:
        """The JSON a GET (a POST when there is a body) answers; None on 404; Unreachable on anything else that is
        not JSON."""
        try:
            async with self.gate:
                if body is not None:
                    response = await self.client.post(url, json=body, timeout=self.wait_s)
                else:
                    # The full packument (not npm's abbreviated one): only it says when each version was published.
                    headers = {"Accept": "application/json"}
                    response = await self.client.get(url, headers=headers, timeout=self.wait_s, follow_redirects=True)
        except httpx.TimeoutException:
            raise Unreachable(who, "did not answer in time") from None
        except (httpx.HTTPError, httpx.InvalidURL):  # InvalidURL: the previews' mirror setting is not checked at start
            raise Unreachable(who, "could not be reached") from None
        if response.status_code == 404:
            return None
        if response.status_code != 200:
            raise Unreachable(who, f"answered with an error ({response.status_code})")
        try:
            return response.json()
        except ValueError:
            raise Unreachable(who, "answered with something that is not package information") from None


async def all_of(jobs: Iterable[Coroutine[Any, Any, None]]) -> None:
    """Run the jobs together; Unreachable as soon as one raises it (the others are then cancelled: an outage costs
    one wait, not one per package)."""
    try:
        async with asyncio.TaskGroup() as group:
            for job in jobs:
                group.create_task(job)
    except* Unreachable as failed:
        raise failed.exceptions[0] from None


async def look_up(
    ask: Asker, ecosystem: Ecosystem, wanted: Iterable[tuple[str, str]], npm_registry: str, pypi_url: str
) -> dict[tuple[str, str], Package]:
    """Each (name, version) asked (version "" when only the name is known) to its Package; Unreachable as soon as one
    answer cannot be had."""
    wanted = list(wanted)
    found: dict[tuple[str, str], Package] = {}
    if ecosystem == "npm":
        keys = {(name, "") for name, _ in wanted}  # one packument holds every version

        async def one(key: tuple[str, str]) -> None:
            found[key] = await _npm(ask, npm_registry.rstrip("/") or NPM_REGISTRY, key[0])
    else:
        keys = set(wanted)

        async def one(key: tuple[str, str]) -> None:
            found[key] = await _pypi(ask, pypi_url.rstrip("/"), *key)

    await all_of(one(key) for key in sorted(keys))
    if ecosystem == "npm":
        return {(name, version): found[(name, "")] for name, version in wanted}
    return found


async def _npm(ask: Asker, registry: str, name: str) -> Package:
    key = (registry, name, "")
    if (hit := cached(key)) is not None:
        return hit
    data = await ask.json(f"{registry}/{name.replace('/', '%2f')}", "npm's registry")  # npm's own escape of a scope
    package = Package(False, {}) if data is None else _from_packument(data)
    remember(key, package)
    return package


def _from_packument(data: Any) -> Package:
    if not isinstance(data, dict):
        raise Unreachable("npm's registry", "answered with something that is not package information")
    versions = listed if isinstance(listed := data.get("versions"), dict) else {}
    times = dated if isinstance(dated := data.get("time"), dict) else {}
    releases = {
        version: Release(_when(times.get(version)), _deprecation(manifest))
        for version, manifest in versions.items()
        if isinstance(manifest, dict)
    }
    return Package(True, releases)


def _deprecation(manifest: dict[str, Any]) -> str:
    value = manifest.get("deprecated")
    if value is True or (isinstance(value, str) and value.strip()):
        return "deprecated" if value is True else value.strip()
    return ""


def _when(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


async def _pypi(ask: Asker, base: str, name: str, version: str) -> Package:
    key = (base, name, version)
    if (hit := cached(key)) is not None:
        return hit
    data = await ask.json(f"{base}/{name}/{version}/json" if version else f"{base}/{name}/json", "PyPI")
    if data is None and version:  # no such version, or no such project: the project's page tells which
        exists = await ask.json(f"{base}/{name}/json", "PyPI") is not None
        data = {"urls": None} if exists else None
    package = Package(False, {}) if data is None else _from_pypi(data, version)
    remember(key, package)
    return package


def _from_pypi(data: Any, version: str) -> Package:
    if not isinstance(data, dict):
        raise Unreachable("PyPI", "answered with something that is not package information")
    if not version:  # the project's page: each release's first upload (the install gate holds the young back)
        releases = listed if isinstance(listed := data.get("releases"), dict) else {}
        return Package(True, {v: _pypi_release(files) for v, files in releases.items() if isinstance(files, list)})
    files = data.get("urls")
    if not isinstance(files, list):  # the name exists; the pinned version does not
        return Package(True, {})
    return Package(True, {version: _pypi_release(files)})


def _pypi_release(files: list[Any]) -> Release:
    files = [file for file in files if isinstance(file, dict)]
    times = [when for file in files if (when := _when(file.get("upload_time_iso_8601")))]
    yanked = bool(files) and all(file.get("yanked") for file in files)
    reason = next((str(file.get("yanked_reason") or "") for file in files if file.get("yanked_reason")), "")
    return Release(min(times, default=None), (reason or "yanked") if yanked else "")
