"""A review's findings as the Publish dialog shows them, and the change request its Fix this sends to the model.

Plain words for a person who does not program: how bad (a label and a colour), what it means, and where. A finding
carries no secret value (builder/review/findings.py), so neither does anything made from it here.
"""

from __future__ import annotations

import dataclasses
from typing import Literal

from builder.review.answers import FindingInfo
from builder.review.findings import SEVERITY_ORDER, Finding, Severity

# How bad, in words and a colour: text and colour both, so it reads without colour too.
SEVERITY_BADGES: dict[Severity, tuple[str, Literal["red", "orange", "amber", "gray"]]] = {
    Severity.critical: ("Must fix", "red"),
    Severity.high: ("Should fix", "orange"),
    Severity.medium: ("Worth a look", "amber"),
    Severity.low: ("Minor", "gray"),
}


@dataclasses.dataclass
class FindingRow:
    severity: str  # its badge: SEVERITY_BADGES
    message: str
    where: str
    confirmed: bool  # its owner said it is meant: it stops no publish


def where(finding: Finding) -> str:
    """Where it is: a file and line, or the request that showed it; "" when it names neither."""
    if finding.file:
        return f"in {finding.file}, line {finding.line}" if finding.line else f"in {finding.file}"
    return f"when the app was sent {finding.request}" if finding.request else ""


def worst_first(findings: list[FindingInfo]) -> list[FindingInfo]:
    """A review keeps them so; sorted again (stable) so the dialog never depends on it."""
    return sorted(findings, key=lambda info: SEVERITY_ORDER[info.finding.severity])


def finding_row(info: FindingInfo) -> FindingRow:
    return FindingRow(info.finding.severity.value, info.finding.message, where(info.finding), info.confirmed is not None)


def fix_request(finding: Finding) -> str:
    """The change request Fix this sends: the finding's own fix, and where, so the model changes the right place."""
    place = where(finding)
    return (
        f"The review before publishing found a problem: {finding.message}"
        + (f" (It is {place}.)" if place else "")
        + f"\n\nChange this: {finding.fix}"
    )
