"""Database tables of the project store.

A Version is an immutable snapshot of a whole tree. Its files point at Blobs by content
hash, so a follow-up that changes one file of two thousand adds one blob and reuses the rest.
"""

from __future__ import annotations

import enum
import secrets
from datetime import UTC, datetime

from sqlalchemy import Column, LargeBinary, UniqueConstraint
from sqlmodel import Field, SQLModel


def utcnow() -> datetime:
    return datetime.now(UTC)


def new_project_id() -> str:
    """Short, URL-friendly and unguessable enough that ids cannot be enumerated."""
    return secrets.token_hex(6)


class Author(enum.StrEnum):
    user = "user"
    ai = "ai"
    template = "template"
    import_ = "import"


class Project(SQLModel, table=True):
    id: str = Field(default_factory=new_project_id, primary_key=True, max_length=32)
    name: str = Field(max_length=200)
    stack: str = Field(default="", max_length=200, description="Comma-separated, e.g. 'react,vite'.")
    current_version_id: int | None = Field(default=None)
    provider: str = Field(default="", max_length=32, description="Provider picked in the UI; empty means the default.")
    model: str = Field(default="", max_length=100)
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow, index=True)
    deleted_at: datetime | None = Field(default=None, index=True)


class Blob(SQLModel, table=True):
    hash: str = Field(primary_key=True, max_length=64, description="SHA-256 of the content, hex.")
    size: int
    data: bytes = Field(sa_column=Column(LargeBinary, nullable=False))


class Version(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("project_id", "number"),)

    id: int | None = Field(default=None, primary_key=True)
    project_id: str = Field(foreign_key="project.id", index=True, max_length=32)
    number: int = Field(description="1, 2, 3... within the project; what people see.")
    parent_id: int | None = Field(default=None, foreign_key="version.id")
    author: Author
    message: str = Field(default="")
    files_changed: int = Field(default=0)
    created_at: datetime = Field(default_factory=utcnow)


class VersionFile(SQLModel, table=True):
    version_id: int = Field(foreign_key="version.id", primary_key=True)
    path: str = Field(primary_key=True, max_length=1024)
    blob_hash: str = Field(foreign_key="blob.hash", max_length=64, index=True)


class Generation(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    project_id: str = Field(foreign_key="project.id", index=True, max_length=32)
    version_id: int | None = Field(default=None, foreign_key="version.id")
    prompt: str
    provider: str = Field(max_length=32)
    model: str = Field(default="", max_length=100)
    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    cost_usd: float = 0.0
    cost_known: bool = True
    duration_s: float = 0.0
    summary: str = Field(default="")
    kind: str = Field(
        default="prompt", max_length=16, description="prompt (a person asked) or repair (Forja asked, after a check)."
    )
    outcome: str = Field(default="running", max_length=32, description="running, saved, failed, stopped or interrupted.")
    error: str = Field(default="")
    pictures: str = Field(default="", description="Blob hashes of the pictures the person attached, comma-separated.")
    created_at: datetime = Field(default_factory=utcnow, index=True)


class PreviewSession(SQLModel, table=True):
    id: str = Field(default_factory=lambda: secrets.token_hex(8), primary_key=True, max_length=32)
    project_id: str = Field(foreign_key="project.id", index=True, max_length=32)
    version_id: int | None = Field(default=None, foreign_key="version.id")
    runner: str = Field(max_length=32)
    status: str = Field(default="starting", max_length=32)
    url: str = Field(default="")
    handle: str = Field(default="", description="Container id or process id, runner-specific.")
    started_at: datetime = Field(default_factory=utcnow)
    last_seen_at: datetime = Field(default_factory=utcnow)
    stopped_at: datetime | None = None


class ShareLink(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    project_id: str = Field(foreign_key="project.id", index=True, max_length=32)
    version_id: int | None = Field(default=None, foreign_key="version.id")
    token_hash: str = Field(unique=True, max_length=64, description="SHA-256 of the token; the token itself is never stored.")
    created_at: datetime = Field(default_factory=utcnow)
    expires_at: datetime | None = None
    revoked_at: datetime | None = None


class Verification(SQLModel, table=True):
    """What Forja saw when it ran one version: the problems it found and a screenshot of the page."""

    id: int | None = Field(default=None, primary_key=True)
    project_id: str = Field(foreign_key="project.id", index=True, max_length=32)
    version_id: int | None = Field(default=None, foreign_key="version.id")
    status: str = Field(max_length=32, description="passed, problems or failed (the app did not start).")
    problems: str = Field(default="[]", description="JSON list of the problems found, as VerificationProblem.")
    attempts: int = Field(default=0, description="Automatic repair rounds that led to this version.")
    screenshot: bytes | None = Field(default=None, sa_column=Column(LargeBinary, nullable=True))
    duration_s: float = 0.0
    note: str = Field(default="", description="Why Forja stopped repairing after this check, when it did.")
    created_at: datetime = Field(default_factory=utcnow, index=True)
