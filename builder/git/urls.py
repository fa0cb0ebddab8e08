"""The address and command to clone a project with, as the Clone dialog and `python -m builder clone-url` show them."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

TOKEN_PLACEHOLDER = "YOUR_TOKEN"


def git_user(email: str) -> str:
    """A user name for the URL: git ignores it (the token says who), but it reads better than none."""
    return re.sub(r"[^A-Za-z0-9._-]", "", email.partition("@")[0]) or "forja"


def clone_url(base_url: str, project_id: str, email: str | None) -> str:
    """`http(s)://<user>:YOUR_TOKEN@host/git/<id>.git` with accounts (`email` is the person's), without a token when
    Forja has none (then only this machine may use it)."""
    parts = urlsplit(base_url.rstrip("/"))
    credentials = f"{git_user(email)}:{TOKEN_PLACEHOLDER}@" if email is not None else ""
    return f"{parts.scheme}://{credentials}{parts.netloc}{parts.path}/git/{project_id}.git"


def clone_command(base_url: str, project_id: str, email: str | None) -> str:
    return f"git clone {clone_url(base_url, project_id, email)}"
