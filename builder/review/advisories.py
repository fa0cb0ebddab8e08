"""Known security problems of exact package versions, from an advisory feed that speaks OSV's API.

`POST {feed}/v1/querybatch` names the advisories of each (ecosystem, name, version) by id (in batches of 1,000, OSV's
limit); `GET {feed}/v1/vulns/{id}` gives each advisory once, unless the batch's answer already held it whole. Both are
kept for CACHE_S. OSV pages a package's list past 1,000 advisories (`next_page_token`): the first page is read.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from builder.review.findings import Severity
from builder.review.lockfiles import Ecosystem
from builder.review.registry import Asker, Unreachable, all_of, cached, remember

BATCH = 1000
WHO = "the security advisory feed"
# GitHub's advisories (the most of OSV's npm and PyPI ones) grade in database_specific.severity; MODERATE is medium.
_GRADES = {
    "CRITICAL": Severity.critical,
    "HIGH": Severity.high,
    "MODERATE": Severity.medium,
    "MEDIUM": Severity.medium,
    "LOW": Severity.low,
}


@dataclass(frozen=True)
class Advisory:
    id: str
    summary: str
    severity: Severity
    fixed: str  # the first version that fixes it, "" when the advisory names none


Version = tuple[Ecosystem, str, str]


async def advisories(ask: Asker, feed: str, versions: Iterable[Version]) -> dict[Version, list[Advisory]]:
    """The advisories of each exact version (ecosystem, name, version) that has any; Unreachable when the feed cannot
    answer."""
    feed = feed.rstrip("/")
    wanted = sorted(set(versions))
    ids: dict[Version, list[str]] = {}
    asked = [v for v in wanted if cached((feed, "ids", "\0".join(v))) is None]
    for start in range(0, len(asked), BATCH):
        batch = asked[start : start + BATCH]
        queries = [{"package": {"name": name, "ecosystem": eco}, "version": version} for eco, name, version in batch]
        answer = await ask.json(f"{feed}/v1/querybatch", WHO, {"queries": queries})
        results = answer.get("results") if isinstance(answer, dict) else None
        if not isinstance(results, list) or len(results) != len(batch):
            raise Unreachable(WHO, "answered with something that is not a list of advisories")
        for version, result in zip(batch, results, strict=True):
            vulns = result.get("vulns") if isinstance(result, dict) else None
            listed = [v for v in vulns if isinstance(v, dict) and isinstance(v.get("id"), str)] if isinstance(vulns, list) else []
            for vuln in listed:
                if "affected" in vuln:  # a feed that answers whole advisories spares the second request
                    remember((feed, "vuln", vuln["id"]), vuln)
            remember((feed, "ids", "\0".join(version)), [vuln["id"] for vuln in listed])
    for version in wanted:
        ids[version] = cached((feed, "ids", "\0".join(version))) or []
    records = await _records(ask, feed, {i for listed in ids.values() for i in listed})
    return {
        version: [_advisory(records[i], version) for i in listed if not records[i].get("withdrawn")]
        for version, listed in ids.items()
        if listed
    }


async def _records(ask: Asker, feed: str, ids: set[str]) -> dict[str, dict]:
    records: dict[str, dict] = {}

    async def one(vuln_id: str) -> None:
        if (hit := cached((feed, "vuln", vuln_id))) is None:
            hit = await ask.json(f"{feed}/v1/vulns/{quote(vuln_id)}", WHO)
            hit = hit if isinstance(hit, dict) else {"id": vuln_id}  # listed but not served: still a known problem
            remember((feed, "vuln", vuln_id), hit)
        records[vuln_id] = hit

    await all_of(one(vuln_id) for vuln_id in sorted(ids))
    return records


def _advisory(record: dict[str, Any], version: Version) -> Advisory:
    ecosystem, name, _ = version
    mine = [
        a
        for a in record.get("affected") or []
        if isinstance(a, dict)
        and isinstance(a.get("package"), dict)
        and a["package"].get("name") == name
        and a["package"].get("ecosystem") == ecosystem
    ]
    return Advisory(
        id=str(record.get("id")),
        summary=" ".join(str(record.get("summary") or "").split())[:200],
        severity=_severity(record, mine),
        fixed=min(
            (fixed for a in mine for fixed in _fixed(a) if _numbers(fixed) > _numbers(version[2])), key=_numbers, default=""
        ),
    )


def _severity(record: dict[str, Any], mine: list[dict[str, Any]]) -> Severity:
    places = [
        record.get("database_specific"),
        *(a.get("ecosystem_specific") for a in mine),
        *(a.get("database_specific") for a in mine),
    ]
    for place in places:
        grade = place.get("severity") if isinstance(place, dict) else None
        if isinstance(grade, str) and grade.upper() in _GRADES:
            return _GRADES[grade.upper()]
    return Severity.high  # an advisory that grades itself in no words we read is taken as serious


def _fixed(affected: dict[str, Any]) -> list[str]:
    ranges = spans if isinstance(spans := affected.get("ranges"), list) else []
    return [
        str(event["fixed"])
        for span in ranges
        if isinstance(span, dict) and isinstance(span.get("events"), list)
        for event in span["events"]
        if isinstance(event, dict) and event.get("fixed")
    ]


def _numbers(version: str) -> tuple[int, ...]:
    """A version's numbers, enough to pick the fix above an installed version among an advisory's few."""
    return tuple(int(part) for part in re.findall(r"\d+", version))
