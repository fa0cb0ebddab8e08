"""Who is asking an app Forja serves: one of the app's own users (never a Forja account), or nobody."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel


class AppViewer(BaseModel):
    user_id: str | None  # None = anonymous
    role: Literal["user", "admin"] = "user"
