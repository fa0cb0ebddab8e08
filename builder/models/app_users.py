"""The people who use an app Forja serves (not Forja accounts), and the rows of data they keep in it."""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from builder.models.times import utcnow


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
