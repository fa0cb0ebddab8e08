"""Models an admin connected on the admin page (or with `forja models`): the provider, its address, its key encrypted."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from builder.models.times import utcnow


class ModelConnection(SQLModel, table=True):
    """One provider's account or server. Its key is the ciphertext builder/app_secrets.py makes, never the key."""

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=16, description="anthropic, or openai (any OpenAI-compatible server).")
    base_url: str = Field(default="", max_length=500, description="Empty: the provider's own API.")
    api_key: str = Field(default="", description="Fernet ciphertext of the key; empty: a server that needs none.")
    model: str = Field(max_length=200)
    is_default: bool = Field(default=False)
    added_by: str | None = Field(default=None, max_length=32)
    added_by_name: str = Field(default="", max_length=254)
    created_at: datetime = Field(default_factory=utcnow)
