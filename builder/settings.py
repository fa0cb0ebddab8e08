"""Every Forja setting, read once from environment variables (or `.env`) with defaults.

One place so that the README's settings table, the UI, the API and the CLI agree.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

REPO_ROOT = Path(__file__).resolve().parent.parent


class Settings(BaseSettings):
    """Forja's configuration; each field is read from FORJA_<FIELD NAME> (DATABASE_URL has no prefix)."""

    model_config = SettingsConfigDict(env_prefix="FORJA_", env_file=REPO_ROOT / ".env", extra="ignore")

    data_dir: Path = Field(default=REPO_ROOT / "data", description="Where the SQLite database and preview work directories live.")
    database_url: str = Field(
        default="",
        validation_alias=AliasChoices("DATABASE_URL", "FORJA_DATABASE_URL"),
        description="SQLAlchemy URL; empty means SQLite in FORJA_DATA_DIR/forja.db.",
    )
    host: str = Field(default="127.0.0.1", description="Address the builder listens on.")
    port: int = Field(default=3000, description="Port of the builder (page, API and websocket share it).")
    public_url: str = Field(default="", description="Address people open; empty means http://HOST:PORT.")

    max_files: int = Field(default=2000, description="Most files one project (or one import) may hold.")
    max_file_bytes: int = Field(default=2 * 1024 * 1024, description="Largest single file, in bytes.")
    max_total_bytes: int = Field(default=50 * 1024 * 1024, description="Largest project, all files together, in bytes.")
    max_upload_bytes: int = Field(default=60 * 1024 * 1024, description="Largest zip upload, in bytes.")
    max_zip_ratio: int = Field(default=200, description="Largest uncompressed/compressed ratio of a zip member (zip bomb guard).")

    @property
    def sqlite_path(self) -> Path:
        return self.data_dir / "forja.db"

    @property
    def sync_database_url(self) -> str:
        """URL for Alembic and other synchronous callers."""
        url = self.database_url or f"sqlite:///{self.sqlite_path}"
        if url.startswith(("postgres://", "postgresql://")):
            url = "postgresql+psycopg://" + url.split("://", 1)[1]
        return url

    @property
    def async_database_url(self) -> str:
        """URL for the service layer, with an asyncio driver for the same database."""
        url = self.sync_database_url
        if url.startswith("sqlite://"):
            return "sqlite+aiosqlite://" + url.removeprefix("sqlite://")
        return url

    @property
    def base_url(self) -> str:
        return (self.public_url or f"http://{self.host}:{self.port}").rstrip("/")


settings = Settings()
