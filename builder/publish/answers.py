"""What publishing answers of an app and its releases, to the page, the API, the CLI and MCP alike."""

from __future__ import annotations

from pydantic import BaseModel, Field

from builder.publish.addresses import app_url
from builder.review.answers import ReviewInfo
from builder.store.releases import AppRow


class AppInfo(BaseModel):
    """A project's published app: its address and what it serves."""

    project_id: str
    name: str
    url: str
    state: str  # live, unpublished or none (named, nothing published yet)
    live_release: int | None = None
    live_version: int | None = None


class ReleaseInfo(BaseModel):
    number: int
    version: int
    state: str  # building, ready, failed, pruned, or blocked (built, but the review found critical problems)
    live: bool
    framework: str
    kind: str = "static"  # static (files served from disk) or server (run in a sandbox of its own)
    files: int
    size_bytes: int
    build_s: float
    error: str
    created_at: str
    user_id: str | None = None
    override_reason: str = ""  # why its publisher let it go live despite the review's critical findings


class PublishResult(BaseModel):
    app: AppInfo
    release: ReleaseInfo
    risks: list[str] = Field(
        default_factory=list,
        description="A sentence for each rule of the version's .forja/data.json that lets anyone in or lets the app's "
        "users reach rows of others (empty when none does, or it has no such file).",
    )
    review: ReviewInfo | None = Field(default=None, description="The review of what the release serves, run before it went live.")


def app_info(row: AppRow) -> AppInfo:
    live = row.live_release_id is not None and not row.unpublished
    return AppInfo(
        project_id=row.project_id,
        name=row.name,
        url=app_url(row.name),
        state="unpublished" if row.unpublished else "live" if live else "none",
        live_release=row.live_number if live else None,
        live_version=row.live_version if live else None,
    )
