"""A published app: its releases, its environment and databases, and the reviews that run before it goes live."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

from builder.models.times import utcnow


class PublishedApp(SQLModel, table=True):
    """A project published at an address of its own (`<name>.apps.<domain>`): the release it serves, if any."""

    project_id: str = Field(foreign_key="project.id", primary_key=True, max_length=32)
    name: str = Field(unique=True, max_length=63, description="The DNS label of its address, chosen by the owner.")
    live_release_id: int | None = Field(default=None, description="The release its address serves; None before the first.")
    unpublished_at: datetime | None = Field(default=None, description="Set: the address answers 410 until a new publish.")
    domain: str | None = Field(
        default=None, unique=True, max_length=253, description="A host name of the owner's for it, proved theirs: routed."
    )
    # A name asked for and not proved yet (its TXT record not seen): routed nowhere, and several apps may ask for one.
    domain_claim: str | None = Field(default=None, max_length=253, description="A host name asked for, not proved yet.")
    domain_token: str | None = Field(
        default=None, max_length=64, description="The random value its TXT record must hold (for the claim or the domain)."
    )
    domain_claimed_at: datetime | None = None
    domain_checked_at: datetime | None = Field(default=None, description="When the sweep last looked the claim up.")
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class Release(SQLModel, table=True):
    """One publish: a version built for production, its files kept on disk until pruned (FORJA_RELEASES_KEPT)."""

    __table_args__ = (UniqueConstraint("project_id", "number"),)

    id: int | None = Field(default=None, primary_key=True)
    project_id: str = Field(foreign_key="project.id", index=True, max_length=32)
    number: int = Field(description="1, 2, 3... within the project; what people see.")
    version_id: int = Field(foreign_key="version.id")
    user_id: str | None = Field(default=None, foreign_key="user.id", max_length=32, description="Who published it.")
    state: str = Field(
        default="building",
        max_length=16,
        description="building, ready, failed, pruned, or blocked (built, but the review found critical problems).",
    )
    framework: str = Field(default="", max_length=100)
    kind: str = Field(default="static", max_length=16, description="static (files on disk) or server (its own sandbox).")
    spa: bool = Field(default=False, description="Unknown paths answer index.html (the app routes on the client).")
    files: int = 0
    size_bytes: int = 0
    build_s: float = 0.0
    error: str = Field(default="", max_length=2000, description="failed: why, in one sentence.")
    log: str = Field(default="", description="The end of the build's output.")
    override_reason: str = Field(
        default="",
        max_length=500,
        description="Why its publisher (user_id) let it go live despite the review's critical findings; empty if none.",
    )
    created_at: datetime = Field(default_factory=utcnow, index=True)
    finished_at: datetime | None = None


class AppEnvVar(SQLModel, table=True):
    """One of a project's own variables (its Environment panel): given to its app's processes, never shown again."""

    project_id: str = Field(foreign_key="project.id", primary_key=True, max_length=32)
    name: str = Field(primary_key=True, max_length=100, description="An environment variable's name, like STRIPE_KEY.")
    value: str = Field(description="The value, encrypted with Fernet (builder/app_secrets.py); never sent anywhere.")
    public: bool = Field(default=False, description="Its name marks it for the page (VITE_...): a front-end build gets it.")
    updated_at: datetime = Field(default_factory=utcnow)
    updated_by: str | None = Field(default=None, foreign_key="user.id", max_length=32, description="Who set it last.")


class AppDatabase(SQLModel, table=True):
    """The PostgreSQL database and role Forja made for one app and scope (builder/services/app_data.py)."""

    project_id: str = Field(foreign_key="project.id", primary_key=True, max_length=32)
    scope: str = Field(primary_key=True, max_length=16, description='"preview" or "live".')
    name: str = Field(max_length=63, description="The database's name, the same as its role's.")
    password: str = Field(description="The role's password, encrypted with Fernet (builder/app_secrets.py).")
    created_at: datetime = Field(default_factory=utcnow)


class Review(SQLModel, table=True):
    """One run of the review over a version (builder/services/reviews.py): what it read and how long it took."""

    id: int | None = Field(default=None, primary_key=True)
    project_id: str = Field(foreign_key="project.id", index=True, max_length=32)
    version_id: int = Field(foreign_key="version.id")
    release_id: int | None = Field(default=None, foreign_key="release.id", description="The release whose files it read.")
    looked_at: str = Field(max_length=300, description='What it read, in words ("the built files of release 3").')
    duration_s: float = 0.0
    created_at: datetime = Field(default_factory=utcnow)


class ReviewFinding(SQLModel, table=True):
    """One finding of a review (builder/review/findings.py's Finding), with the file's content digest as the review
    read it: the finding is stale once the current version's file differs."""

    id: int | None = Field(default=None, primary_key=True)
    review_id: int = Field(foreign_key="review.id", index=True)
    fingerprint: str = Field(max_length=24)
    check: str = Field(max_length=16)
    kind: str = Field(max_length=64)
    severity: str = Field(max_length=8)
    message: str
    file: str = Field(default="", max_length=1000)
    line: int | None = None
    request: str = Field(default="", max_length=500)
    fix: str
    digest: str = Field(default="", max_length=64, description="sha256 of the file as read; empty without a file.")
    in_project: bool = Field(default=False, description="The file is one of the version's own (not only a built one).")


class FindingConfirmation(SQLModel, table=True):
    """An owner's word that a finding is meant (a public read of a menu): it stops no publish while its file is as
    it was when confirmed (digest)."""

    project_id: str = Field(foreign_key="project.id", primary_key=True, max_length=32)
    fingerprint: str = Field(primary_key=True, max_length=24)
    digest: str = Field(default="", max_length=64)
    reason: str = Field(max_length=500)
    user_id: str | None = Field(default=None, foreign_key="user.id", max_length=32)
    created_at: datetime = Field(default_factory=utcnow)
