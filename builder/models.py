"""Database tables of the project store.

A Version is an immutable snapshot of a whole tree. Its files point at Blobs by content
hash, so a follow-up that changes one file of two thousand adds one blob and reuses the rest.
"""

from __future__ import annotations

import enum
import secrets
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Column, Index, LargeBinary, UniqueConstraint
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
    run_command: str = Field(default="", max_length=2000, description="Run settings: a shell line that starts the app.")
    run_folder: str = Field(default="", max_length=500, description="Run settings: the folder run as the project's root.")
    approve_changes: bool = Field(
        default=False, description="Agent mode: each run's change waits for a person to accept it before it is a version."
    )
    git_bytes: int = Field(
        default=0,
        sa_type=BigInteger,
        description="What the project's git repository (builder/git/mirror.py) takes on disk, as last measured; it counts "
        "in its owner's storage.",
    )
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
    # No foreign key: a person's account may go while the versions they saved stay (then nobody in particular).
    user_id: str | None = Field(default=None, max_length=32, description="Who saved it (a person's save, edit, push).")


class VersionAuthor(SQLModel, table=True):
    """Everyone whose changes a version holds: a co-edited file's Save names each person who typed in it."""

    version_id: int = Field(foreign_key="version.id", primary_key=True)
    # No foreign key, as Version.user_id: the version keeps its authors when an account goes.
    user_id: str = Field(primary_key=True, max_length=32)


class CollabUpdate(SQLModel, table=True):
    """One Yjs update of a co-edited file's shared document (its room), kept until the file is saved: a worker that
    restarts, or another that opens the room, replays them to get the working copy back."""

    id: int | None = Field(default=None, primary_key=True)
    project_id: str = Field(foreign_key="project.id", index=True, max_length=32)
    path: str = Field(max_length=1024)
    data: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    created_at: datetime = Field(default_factory=utcnow)


class CollabAuthor(SQLModel, table=True):
    """Someone who changed a co-edited file since its last save: the next version names them."""

    project_id: str = Field(foreign_key="project.id", primary_key=True, max_length=32)
    path: str = Field(primary_key=True, max_length=1024)
    user_id: str = Field(primary_key=True, max_length=32)


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
        default="prompt",
        max_length=16,
        description="prompt (a person asked), repair (Forja asked, after a check), plan, ask or agent.",
    )
    outcome: str = Field(
        default="running",
        max_length=32,
        description="running, saved, failed, stopped or interrupted; an agent run also awaiting (approval) or rejected.",
    )
    error: str = Field(default="")
    pictures: str = Field(default="", description="Blob hashes of the pictures the person attached, comma-separated.")
    places: str = Field(default="[]", description="An ask's answer: JSON list of the places it relies on (CodeReference).")
    steps: str = Field(default="[]", description="An agent run's steps: JSON list of AgentStep.")
    pending: str = Field(
        default="", description="An agent run waiting for approval: JSON of its change (PendingChange); empty otherwise."
    )
    user_id: str | None = Field(
        default=None, foreign_key="user.id", index=True, max_length=32, description="Who asked; a repair round: who asked first."
    )
    created_at: datetime = Field(default_factory=utcnow, index=True)


class PreviewSession(SQLModel, table=True):
    id: str = Field(default_factory=lambda: secrets.token_hex(8), primary_key=True, max_length=32)
    project_id: str = Field(foreign_key="project.id", index=True, max_length=32)
    version_id: int | None = Field(default=None, foreign_key="version.id")
    runner: str = Field(max_length=32)
    status: str = Field(default="starting", max_length=32)
    url: str = Field(default="")
    handle: str = Field(default="", description="Container id or process id, runner-specific.")
    user_id: str | None = Field(
        default=None, foreign_key="user.id", max_length=32, description="Who started it; empty: a share link or Forja's check."
    )
    started_at: datetime = Field(default_factory=utcnow, index=True)
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
    # A link to the published app instead of a preview: the live app (follows later publishes), or one release, pinned.
    follows_live: bool = Field(default=False, description="Opens the app's address, whatever release it serves then.")
    release_id: int | None = Field(default=None, foreign_key="release.id", description="Opens this release, pinned.")


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


class AcceptanceRun(SQLModel, table=True):
    """How one acceptance check (a test of `.forja/checks/`) went in one verification, with the page at its end."""

    id: int | None = Field(default=None, primary_key=True)
    verification_id: int = Field(foreign_key="verification.id", index=True)
    project_id: str = Field(foreign_key="project.id", index=True, max_length=32)
    position: int = Field(description="1, 2, 3... in the order the checks ran (their files' order).")
    path: str = Field(max_length=300)
    title: str = Field(max_length=500)
    passed: bool
    message: str = Field(default="", description="Why it failed, in a sentence.")
    duration_s: float = 0.0
    screenshot: bytes | None = Field(default=None, sa_column=Column(LargeBinary, nullable=True))


class Plan(SQLModel, table=True):
    """What the model (or an offline starter) proposed to build, in plain words, before building it.

    The person edits it in place or asks for a revised one, then builds it: the generation reads the plan.
    """

    # Hex, like the other ids: a URL-safe one may start with "-", which a command line reads as an option.
    id: str = Field(default_factory=lambda: secrets.token_hex(8), primary_key=True, max_length=32)
    project_id: str = Field(foreign_key="project.id", index=True, max_length=32)
    prompt: str = Field(description="What the person asked for, in their words.")
    title: str = Field(default="", max_length=200)
    summary: str = Field(default="", description="The app in two or three sentences.")
    pages: str = Field(default="", description="The pages, and what a person can do on each.")
    data: str = Field(default="", description="The data the app keeps.")
    checks: str = Field(default="[]", description="JSON list of the acceptance checks, as things a visitor does and sees.")
    status: str = Field(default="proposed", max_length=16, description="proposed, or built (then `version` says which).")
    version: int | None = Field(default=None, description="The version number the plan was built as.")
    provider: str = Field(default="", max_length=32, description="Who wrote it: offline, anthropic or openai.")
    user_id: str | None = Field(default=None, max_length=32, description="Who asked for it.")
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


# -- accounts -------------------------------------------------------------------------------------


def new_user_id() -> str:
    return secrets.token_hex(8)


LOCAL_USER_ID = "local"
"""The one user of FORJA_AUTH=none: every project made without sign-in is theirs (until the first admin adopts them)."""


class Role(enum.StrEnum):
    """What a person may do on the server as a whole."""

    admin = "admin"
    member = "member"


class ProjectRole(enum.StrEnum):
    """What a person may do with one project: owners also delete it and choose who else works on it."""

    owner = "owner"
    editor = "editor"
    viewer = "viewer"


class User(SQLModel, table=True):
    id: str = Field(default_factory=new_user_id, primary_key=True, max_length=32)
    email: str = Field(unique=True, max_length=254, description="Lower-cased; how the person signs in.")
    name: str = Field(max_length=100)
    password_hash: str = Field(default="", max_length=255, description="argon2id; empty: no password sign-in.")
    role: Role = Field(default=Role.member)
    created_at: datetime = Field(default_factory=utcnow)
    last_sign_in_at: datetime | None = None
    # The sign-in before the last: the Account page tells of the failed sign-ins since then.
    previous_sign_in_at: datetime | None = None
    disabled_at: datetime | None = None
    # Quotas of this person; None: the server's default.
    quota_tokens_day: int | None = None
    quota_cost_day_usd: float | None = None
    quota_previews: int | None = None
    quota_projects: int | None = None
    quota_storage_mb: int | None = None
    quota_published_apps: int | None = None
    quota_build_minutes_day: int | None = None


class SignIn(SQLModel, table=True):
    """A browser's session: its cookie holds a random token whose SHA-256 is kept here."""

    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(unique=True, max_length=64)
    user_id: str = Field(foreign_key="user.id", index=True, max_length=32)
    created_at: datetime = Field(default_factory=utcnow)
    last_seen_at: datetime = Field(default_factory=utcnow)
    expires_at: datetime
    user_agent: str = Field(default="", max_length=200)


class ApiToken(SQLModel, table=True):
    """A personal token for the HTTP API and the CLI: shown once, kept as its SHA-256."""

    id: int | None = Field(default=None, primary_key=True)
    user_id: str = Field(foreign_key="user.id", index=True, max_length=32)
    name: str = Field(max_length=100)
    token_hash: str = Field(unique=True, max_length=64)
    hint: str = Field(max_length=16, description="The token's first characters, to tell tokens apart.")
    created_at: datetime = Field(default_factory=utcnow)
    last_used_at: datetime | None = None
    revoked_at: datetime | None = None


class GitToken(SQLModel, table=True):
    """A token for git alone, on one project: clone and fetch, or push too; it expires. Shown once, kept as its SHA-256."""

    id: int | None = Field(default=None, primary_key=True)
    user_id: str = Field(foreign_key="user.id", index=True, max_length=32)
    project_id: str = Field(foreign_key="project.id", index=True, max_length=32)
    name: str = Field(default="", max_length=100, description="What it is for, if the person said.")
    token_hash: str = Field(unique=True, max_length=64)
    hint: str = Field(max_length=16, description="The token's first characters, to tell tokens apart.")
    can_push: bool = Field(default=False, description="It may push (its person's role is checked too); else only read.")
    # Made by a request that came with an API token: revoked with that token, so none outlives its revocation.
    api_token_id: int | None = Field(default=None, foreign_key="apitoken.id", index=True)
    created_at: datetime = Field(default_factory=utcnow)
    expires_at: datetime
    last_used_at: datetime | None = None
    revoked_at: datetime | None = None


class AccountLink(SQLModel, table=True):
    """A one-time link an admin hands on: an invitation to make an account, or a password reset."""

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=16, description="invite or reset.")
    token_hash: str = Field(unique=True, max_length=64)
    email: str = Field(default="", max_length=254, description="invite: the address it is for, empty for anyone.")
    role: Role = Field(default=Role.member, description="invite: the role the new account gets.")
    user_id: str | None = Field(default=None, foreign_key="user.id", max_length=32, description="reset: whose password.")
    created_by: str | None = Field(default=None, foreign_key="user.id", max_length=32)
    created_at: datetime = Field(default_factory=utcnow)
    expires_at: datetime
    used_at: datetime | None = None


class SignInAttempt(SQLModel, table=True):
    """A failed check of a secret (a password, the setup code), counted per account, per address and per browser to
    slow down guessing; or an account made, counted per address to limit sign-ups."""

    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(max_length=254, index=True, description="The account tried, or what else was guessed.")
    address: str = Field(max_length=64, index=True, description="The client's address (an IPv6 address's /64).")
    at: datetime = Field(default_factory=utcnow, index=True)
    kind: str = Field(default="failed", max_length=16, description="failed, or sign-up (an account made).")
    device: str = Field(default="", max_length=64, description="The hash of the browser's device cookie, if it sent one.")


class GitPush(SQLModel, table=True):
    """A push to a project's git repository that Forja took, and the bytes it brought: counted per person and hour
    (FORJA_GIT_PUSHES_PER_HOUR, FORJA_GIT_PUSH_MB_PER_HOUR)."""

    id: int | None = Field(default=None, primary_key=True)
    user_id: str = Field(foreign_key="user.id", index=True, max_length=32)
    size: int = Field(sa_type=BigInteger, description="Bytes git received into the mirror (its quarantine's size).")
    at: datetime = Field(default_factory=utcnow, index=True)


class TrustedDevice(SQLModel, table=True):
    """A browser that signed in to an account: its device cookie's SHA-256, so others' failures never slow it down."""

    __table_args__ = (UniqueConstraint("token_hash", "user_id"),)

    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(max_length=64, index=True)
    user_id: str = Field(foreign_key="user.id", index=True, max_length=32)
    created_at: datetime = Field(default_factory=utcnow)
    last_used_at: datetime = Field(default_factory=utcnow)


class ProjectMember(SQLModel, table=True):
    project_id: str = Field(foreign_key="project.id", primary_key=True, max_length=32)
    user_id: str = Field(foreign_key="user.id", primary_key=True, index=True, max_length=32)
    role: ProjectRole
    added_at: datetime = Field(default_factory=utcnow)


class ServerSetting(SQLModel, table=True):
    """A setting an admin changed on the admin page (the quotas' defaults), as JSON; absent: the environment's."""

    key: str = Field(primary_key=True, max_length=64)
    value: str
    updated_at: datetime = Field(default_factory=utcnow)


def new_app_user_id() -> str:
    return secrets.token_hex(12)


class AppUser(SQLModel, table=True):
    """A person with an account on one app that Forja serves (not a Forja account): its own per project and scope
    (`live`: the published app; `preview`: its preview), so an account of one app means nothing to another."""

    __table_args__ = (UniqueConstraint("project_id", "scope", "email"),)

    id: str = Field(default_factory=new_app_user_id, primary_key=True, max_length=32)
    project_id: str = Field(foreign_key="project.id", index=True, max_length=32)
    scope: str = Field(max_length=16, description="live (the published app) or preview.")
    email: str = Field(max_length=254, description="Lower-cased; how the person signs in to the app.")
    password_hash: str = Field(max_length=255, description="argon2id.")
    role: str = Field(default="user", max_length=16, description="user or admin (of this app).")
    created_at: datetime = Field(default_factory=utcnow)
    disabled_at: datetime | None = None
    verified_at: datetime | None = Field(default=None, description="When the person opened a link sent to their email.")


class AppSession(SQLModel, table=True):
    """A browser signed in to an app: its cookie on the app's host holds a random token whose SHA-256 is kept here,
    with the app it is for, so no other app (nor Forja) takes it."""

    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(unique=True, max_length=64)
    user_id: str = Field(foreign_key="appuser.id", index=True, max_length=32)
    project_id: str = Field(foreign_key="project.id", index=True, max_length=32)
    scope: str = Field(max_length=16)
    created_at: datetime = Field(default_factory=utcnow)
    expires_at: datetime


class AppUserToken(SQLModel, table=True):
    """A link sent by email for one app: to check a person's address (`verify`), to choose a new password (`reset`),
    or to make an account where sign-up is by invitation (`invite`). Only the SHA-256 of its random token is kept; it
    works once (`used_at`) and until `expires_at`."""

    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(unique=True, max_length=64)
    purpose: str = Field(max_length=16, description="verify, reset or invite.")
    project_id: str = Field(foreign_key="project.id", index=True, max_length=32)
    scope: str = Field(max_length=16)
    email: str = Field(max_length=254, description="Lower-cased; whom the link was sent to.")
    user_id: str | None = Field(default=None, foreign_key="appuser.id", index=True, max_length=32)
    created_at: datetime = Field(default_factory=utcnow)
    expires_at: datetime
    used_at: datetime | None = None


class AppSignUp(SQLModel, table=True):
    """How new people get an account on one app (per project and scope): `open` to anyone (the default, with no
    row), or `invite` only with an invitation."""

    project_id: str = Field(foreign_key="project.id", primary_key=True, max_length=32)
    scope: str = Field(primary_key=True, max_length=16)
    mode: str = Field(default="open", max_length=16, description="open or invite.")


def new_data_row_id() -> str:
    return secrets.token_urlsafe(12)


class AppDataRow(SQLModel, table=True):
    """One row of an app's data (`/_forja/data/<collection>`), per project and scope like its users: a JSON object,
    stamped with the app user who made it (`owner`, None when made by someone not signed in)."""

    __table_args__ = (
        Index("ix_appdatarow_list", "project_id", "scope", "collection", "created_at"),
        # A list of one person's rows (rules "read": "owner", or `mine`), read in order without passing the others'.
        Index("ix_appdatarow_owner", "project_id", "scope", "collection", "owner", "created_at"),
    )

    id: str = Field(default_factory=new_data_row_id, primary_key=True, max_length=32)
    project_id: str = Field(foreign_key="project.id", max_length=32)
    scope: str = Field(max_length=16, description="live (the published app) or preview.")
    collection: str = Field(max_length=63)
    owner: str | None = Field(default=None, max_length=32, description="The app user who made it (AppUser.id).")
    data: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class AppDataChange(SQLModel, table=True):
    """A row of an app's data made, changed or deleted: the log its change streams read (`/_forja/data/<c>/changes`),
    in the database so a stream in one Forja process hears a write made by another. Kept minutes, then pruned."""

    __table_args__ = (
        Index("ix_appdatachange_stream", "project_id", "scope", "collection", "id"),
        Index("ix_appdatachange_at", "at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    project_id: str = Field(foreign_key="project.id", max_length=32)
    scope: str = Field(max_length=16)
    collection: str = Field(max_length=63)
    row_id: str = Field(max_length=32)
    owner: str | None = Field(default=None, max_length=32, description="The row's owner, whom the read rule asks about.")
    kind: str = Field(max_length=8, description="create, update or delete.")
    at: datetime = Field(default_factory=utcnow)
