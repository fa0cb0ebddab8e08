"""Who is asking an app: one of the app's own users (not a Forja account), or nobody signed in."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel


class AppViewer(BaseModel):
    """The person behind a request to an app; `user_id` None is someone not signed in."""

    user_id: str | None
    role: Literal["user", "admin"] = "user"
