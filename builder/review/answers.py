"""What a review answers, to the API, the CLI and (later) the Publish dialog: its findings, each with whether it is
stale and whether its owner confirmed it."""

from __future__ import annotations

from pydantic import BaseModel, Field

from builder.review.findings import Finding, Severity


class Confirmation(BaseModel):
    """An owner's word that a finding is meant."""

    reason: str = Field(description="Why, in the owner's words.")
    user_id: str | None = Field(default=None, description="Who confirmed it.")
    at: str = Field(description="When (ISO 8601, UTC).")


class FindingInfo(BaseModel):
    """A finding as kept with its review."""

    finding: Finding
    fingerprint: str = Field(
        description="The finding's id across reviews (the same finding has the same one): what confirming it names."
    )
    stale: bool = Field(
        description="The file it points at changed in the project's current version since the review (or, for a built "
        "file, the current version is another one): review again to know whether it still holds."
    )
    confirmed: Confirmation | None = Field(
        default=None, description="The owner's confirmation, while the file is as it was when confirmed."
    )

    @property
    def is_open(self) -> bool:
        """Whether it still holds as far as anyone knows: neither confirmed by its owner nor stale."""
        return self.confirmed is None and not self.stale

    @property
    def blocks(self) -> bool:
        """Whether it stops a publish: critical, and not confirmed."""
        return self.finding.severity == Severity.critical and self.confirmed is None


class ReviewInfo(BaseModel):
    """One review of a version."""

    project_id: str
    version: int = Field(description="The version it reviewed.")
    release: int | None = Field(default=None, description="The release whose built files it read, if any.")
    looked_at: str = Field(description='What it read, in words ("the built files of release 3").')
    duration_s: float
    created_at: str = Field(description="When it ran (ISO 8601, UTC).")
    findings: list[FindingInfo] = Field(description="Worst first, then by file and line.")
    blocking: int = Field(description="Critical findings not confirmed: a publish stops on any of them.")
