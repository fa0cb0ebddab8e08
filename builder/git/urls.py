"""The address and commands to clone a project with, as the Clone dialog and `forja clone-url` / `forja git-token create`
show them. No address ever holds a token: git would keep it in the clone's `.git/config`."""

from __future__ import annotations

import re
import shlex
from urllib.parse import urlsplit


def git_user(email: str) -> str:
    """A user name for git's credentials: git ignores it (the token says who), but it reads better than none."""
    return re.sub(r"[^A-Za-z0-9._-]", "", email.partition("@")[0]) or "forja"


def clone_url(base_url: str, project_id: str) -> str:
    """`http(s)://host/git/<id>.git`: the project's repository, without credentials."""
    parts = urlsplit(base_url.rstrip("/"))
    return f"{parts.scheme}://{parts.netloc}{parts.path}/git/{project_id}.git"


def clone_command(base_url: str, project_id: str) -> str:
    """The plain clone, as without accounts (only this machine may use it then)."""
    return f"git clone {clone_url(base_url, project_id)}"


def credential_setup(url: str, email: str, token: str) -> str:
    """The line that hands a git token to git's own credential store (~/.git-credentials, which git makes readable by
    its owner only), for this repository's address alone: printf's arguments, not its format, so a % stays a %."""
    fields = [f"url={url}", f"username={git_user(email)}", f"password={token}"]
    return f"printf '%s\\n' {' '.join(shlex.quote(f) for f in fields)} | git credential-store store"


def token_clone_command(url: str) -> str:
    """The clone that finds its token in git's credential store, looked up by the repository's path as well as its
    host (each project's token apart); the clone's `.git/config` holds these two settings, never the token."""
    return f"git clone -c credential.helper=store -c credential.useHttpPath=true {shlex.quote(url)}"
