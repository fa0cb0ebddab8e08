"""The archive's manifest: what Forja and schema made it, when, and each part with its size and checksum.

A part's checksum is SHA-256 over each of its files in archive order, as `name NUL sha256(content) LF`: a restore
computes it again as it reads the archive, so a flipped byte, a missing file or one too many names its part.
"""

from __future__ import annotations

import hashlib
import tomllib
from datetime import datetime

from pydantic import BaseModel, Field

from builder.settings import REPO_ROOT

MANIFEST_NAME = "manifest.json"
FORMAT = 1


def forja_version() -> str:
    return tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]["version"]


class Part(BaseModel):
    name: str = Field(description="database, app-database NAME, or the data folder's part: git, releases, appdata...")
    words: str = Field(description="What the part is, in plain words.")
    files: int = 0
    bytes: int = 0
    sha256: str = ""


class Manifest(BaseModel):
    format: int = FORMAT
    forja_version: str
    schema_revision: str = Field(description="The database's migration when it was taken.")
    created_at: datetime
    database: str = Field(description="sqlite or postgresql")
    parts: list[Part]
    left_out: dict[str, str] = Field(description="What of the data folder is not in the archive, and why.")

    @property
    def bytes(self) -> int:
        return sum(part.bytes for part in self.parts)


class PartSum:
    """A part's checksum and size, file by file."""

    def __init__(self, name: str, words: str) -> None:
        self.part = Part(name=name, words=words)
        self._digest = hashlib.sha256()

    def add(self, name: str, file_sha256: str, size: int) -> None:
        self._digest.update(f"{name}\0{file_sha256}\n".encode())
        self.part.files += 1
        self.part.bytes += size

    def done(self) -> Part:
        return self.part.model_copy(update={"sha256": self._digest.hexdigest()})
