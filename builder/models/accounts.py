"""Forja's own accounts: people, their sign-ins and tokens, their roles on the server and on projects."""

from __future__ import annotations

import enum
import secrets
from datetime import datetime

from sqlalchemy import BigInteger, UniqueConstraint
from sqlmodel import Field, SQLModel

from builder.models.times import utcnow


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
