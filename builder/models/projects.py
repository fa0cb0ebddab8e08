"""A project and what it is made of: versions (immutable snapshots of a whole tree, whose files point at Blobs by
content hash, so a follow-up that changes one file of two thousand adds one blob and reuses the rest), co-editing
updates, generations and their checks, plans, previews and share links."""

from __future__ import annotations

import enum
import secrets
from datetime import datetime

from sqlalchemy import BigInteger, Column, LargeBinary, UniqueConstraint
from sqlmodel import Field, SQLModel

from builder.models.times import utcnow


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
    engine: str = Field(
        default="forja",
        max_length=32,
        description="What works on the project: `forja` (Forja's own model rounds), or a coding agent in the "
        "project's sandbox: `opencode` (OpenCode) or `codex` (Codex CLI).",
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
        description="running, saved, failed, stopped or interrupted; an agent run also awaiting (approval), rejected or "
        "asking (its questions wait for answers; answered once they came).",
    )
    error: str = Field(default="")
    pictures: str = Field(default="", description="Blob hashes of the pictures the person attached, comma-separated.")
    places: str = Field(default="[]", description="An ask's answer: JSON list of the places it relies on (CodeReference).")
    steps: str = Field(default="[]", description="An agent run's steps: JSON list of AgentStep.")
    pending: str = Field(
        default="", description="An agent run waiting for approval: JSON of its change (PendingChange); empty otherwise."
    )
    questions: str = Field(
        default="[]",
        description="An agent run that asked the person: JSON list of its questions (PlanQuestion), answers once given.",
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
    status: str = Field(
        default="proposed",
        max_length=16,
        description="asking (its questions wait for the person's answers), proposed, or built (then `version` says which).",
    )
    version: int | None = Field(default=None, description="The version number the plan was built as.")
    provider: str = Field(default="", max_length=32, description="Who wrote it: offline, anthropic or openai.")
    questions: str = Field(
        default="[]", description="JSON list of the planner's questions and the person's answers (plan_questions.py)."
    )
    user_id: str | None = Field(default=None, max_length=32, description="Who asked for it.")
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)
