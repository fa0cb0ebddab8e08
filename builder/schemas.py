"""Pydantic models at the service boundary: what the UI, the HTTP API and the CLI exchange."""

from __future__ import annotations

import base64
from datetime import datetime

from pydantic import BaseModel, Field

from builder.filetree import is_binary_path
from builder.models import Author


class VersionInfo(BaseModel):
    id: int
    number: int
    parent_number: int | None
    author: Author
    message: str
    files_changed: int
    created_at: datetime


class ProjectSummary(BaseModel):
    id: str
    name: str
    stack: list[str]
    file_count: int
    current_version: int | None
    created_at: datetime
    updated_at: datetime


class ProjectDetail(ProjectSummary):
    versions: list[VersionInfo] = Field(default_factory=list)


class FileInfo(BaseModel):
    path: str
    size: int
    binary: bool


class FileContent(BaseModel):
    """One file; text as is, binary files base64-encoded so JSON can carry them."""

    path: str
    content: str
    encoding: str = Field(description="'utf-8' or 'base64'.")

    @classmethod
    def of(cls, path: str, data: bytes) -> FileContent:
        if is_binary_path(path):
            return cls(path=path, content=base64.b64encode(data).decode("ascii"), encoding="base64")
        return cls(path=path, content=data.decode("utf-8"), encoding="utf-8")


class CommitResult(BaseModel):
    project_id: str
    version: VersionInfo
    changed: list[str]
    deleted: list[str]
