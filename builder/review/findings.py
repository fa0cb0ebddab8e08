"""What a review check finds: one thing wrong with an app, where it is, how bad, and what to ask the model to change.

Every check (secrets in served files, data rules, packages, a server app's doors) answers in these, so the publish gate,
the Publish dialog, the API and `forja review` treat them alike. A finding never carries a secret's value: only where it
is and what kind it is.
"""

from __future__ import annotations

import enum
import hashlib

from pydantic import BaseModel, Field


class Severity(enum.StrEnum):
    """How bad a finding is; a critical one stops a publish unless an owner publishes anyway and says why."""

    critical = "critical"
    high = "high"
    medium = "medium"
    low = "low"


SEVERITY_ORDER: dict[Severity, int] = {Severity.critical: 0, Severity.high: 1, Severity.medium: 2, Severity.low: 3}


class Finding(BaseModel):
    """One thing a check found."""

    check: str = Field(description='The check that found it: "secrets", "rules", "packages", "doors" or "replay".')
    kind: str = Field(description='What it is, in a short stable name of the check\'s own (e.g. "aws-key", "public-write").')
    severity: Severity
    message: str = Field(description="What it means, in one plain sentence for a person who does not program.")
    file: str = Field(default="", description="The project file (or served file) it is in; empty when a request showed it.")
    line: int | None = Field(default=None, description="The line in that file, counted from 1, when there is one.")
    request: str = Field(default="", description='The request that showed it (e.g. "DELETE /api/items/1 with no session").')
    fix: str = Field(description="What the model is asked to change when the person presses Fix this (no secret values).")

    @property
    def fingerprint(self) -> str:
        """The same finding in two reviews has the same fingerprint (its line may move; its place and kind do not)."""
        key = "\0".join((self.check, self.kind, self.file, self.request))
        return hashlib.sha256(key.encode()).hexdigest()[:24]


def ordered(findings: list[Finding]) -> list[Finding]:
    """Worst first, then by file and line, so a list reads the same every time."""
    return sorted(findings, key=lambda f: (SEVERITY_ORDER[f.severity], f.file, f.line or 0, f.kind, f.request))
