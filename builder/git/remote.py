"""The one remote repository a project may be linked to: its URL, branch and token, and git's access to it.

The link is a small JSON file beside the mirrors (git/remotes/<project id>.json, mode 0600); its token is encrypted
with the apps' secrets key (builder/app_secrets.py) and leaves Forja only as an HTTP header of the git process that
uses it (GIT_CONFIG_* in that process's environment): never in a URL, a command line, a git config file, a log line
or an answer. Only https and http URLs, and only public addresses unless FORJA_GIT_IMPORT_PRIVATE, as for imports:
checked when the link is made and again by each git command, which connects only to the addresses checked for it
(builder/git/addresses.py).
"""

from __future__ import annotations

import asyncio
import base64
import logging
import os
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

from pydantic import BaseModel, Field

from builder.app_secrets import decrypt, encrypt
from builder.errors import ForjaError, GitExportError, InvalidInput, NotFound
from builder.git.addresses import pin
from builder.git.commands import git, link_path
from builder.git.imports import shown

log = logging.getLogger(__name__)

SCHEMES = ("https", "http")
MAX_TOKEN = 4096
PUBLIC_ONLY = "Forja links only to public git servers."
BRANCH_RULES = "a branch name: letters, digits, '.', '_', '-' and '/', not starting with '-' or '/', no '..'"
# git may use nothing but http(s) for a remote, and follow no redirect: the address checked is the one used.
PROTOCOLS = ("-c", "protocol.allow=never", "-c", "protocol.https.allow=always", "-c", "protocol.http.allow=always")
PROTOCOLS += ("-c", "http.followRedirects=false")


class RemoteRefused(ForjaError):
    """The remote said no: a wrong token, no access, no such repository."""

    status = 400


class RemoteLink(BaseModel):
    """As stored: the token encrypted."""

    url: str
    branch: str = "main"
    token: str | None = None
    set_by: str = ""
    set_at: datetime


class RemoteInfo(BaseModel):
    """A project's remote as anyone on it sees it: never its token, only whether it has one."""

    url: str = Field(description="The remote repository's address (https or http), without credentials.")
    branch: str = Field(description="The remote branch Push sends to and Pull brings from.")
    has_token: bool = Field(description="Whether a token is kept for it (never shown again).")
    set_at: datetime


def check_branch(branch: str) -> str:
    ok = all(c.isalnum() or c in "._-/" for c in branch) and 0 < len(branch) <= 200
    if not ok or branch.startswith(("-", "/")) or branch.endswith(("/", ".lock")) or ".." in branch or "//" in branch:
        raise InvalidInput(f"{branch[:200]!r} is not {BRANCH_RULES}.")
    return branch


def check_url(url: str) -> str:
    url = url.strip()
    parts = urlsplit(url)
    if parts.scheme not in SCHEMES or not parts.hostname or parts.query or parts.fragment:
        raise InvalidInput("Link an https:// (or http://) address of a git repository, e.g. https://host/owner/repo.git.")
    if parts.username or parts.password:
        raise InvalidInput("Put the token in the token field, not in the address: an address is shown to everyone.")
    return url


def read_link(project_id: str) -> RemoteLink:
    try:
        return RemoteLink.model_validate_json(link_path(project_id).read_text())
    except FileNotFoundError:
        raise NotFound("This project is not linked to a remote yet; link one first (Remote, or `remote set`).") from None


def info_of(link: RemoteLink) -> RemoteInfo:
    return RemoteInfo(url=link.url, branch=link.branch, has_token=link.token is not None, set_at=link.set_at)


def write_link(project_id: str, url: str, token: str | None, branch: str, user_id: str) -> RemoteInfo:
    if token is not None and (len(token) > MAX_TOKEN or not token.strip() or any(c in token for c in "\r\n\0")):
        raise InvalidInput(f"The token must be one line of at most {MAX_TOKEN} characters.")
    url = check_url(url)
    kept = None
    if token is None and link_path(project_id).exists():
        # Changing only the branch keeps the token: nobody has to find it again.
        old = read_link(project_id)
        kept = old.token if old.url == url else None
    link = RemoteLink(
        url=url,
        branch=check_branch(branch),
        token=encrypt(token.strip()) if token else kept,
        set_by=user_id,
        set_at=datetime.now(UTC),
    )
    path = link_path(project_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    draft = path.with_name(f".{path.name}.{os.getpid()}")
    fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(link.model_dump_json())
    draft.replace(path)
    log.info("project %s linked to the remote %s (%s) by %s", project_id, shown(link.url), link.branch, user_id)
    return info_of(link)


def remove_link(project_id: str) -> None:
    read_link(project_id)
    link_path(project_id).unlink(missing_ok=True)


async def check_address(url: str) -> None:
    await asyncio.to_thread(pin, url, PUBLIC_ONLY)


def auth_env(link: RemoteLink) -> dict[str, str]:
    """The token as the password of HTTP Basic, in the environment of one git process only."""
    if link.token is None:
        return {}
    basic = base64.b64encode(f"forja:{decrypt(link.token)}".encode()).decode()
    return {
        "GIT_CONFIG_COUNT": "1",
        "GIT_CONFIG_KEY_0": "http.extraHeader",
        "GIT_CONFIG_VALUE_0": f"Authorization: Basic {basic}",
    }


def remote_git(repo: Path, link: RemoteLink, *args: str) -> bytes:
    """One git command that talks to the remote; a refusal of the remote's in words (never with the token)."""
    try:
        return git(repo, *PROTOCOLS, *pin(link.url, PUBLIC_ONLY).config, *args, env=auth_env(link))
    except GitExportError as exc:
        said = exc.message
        if any(s in said for s in ("Authentication failed", "could not read Username", " 401", " 403")):
            raise RemoteRefused(
                f"{shown(link.url)} refused Forja's credentials: check that the token may read and write the "
                "repository, then link the remote again with it."
            ) from None
        if "not found" in said or " 404" in said or "does not appear to be a git repository" in said:
            raise RemoteRefused(f"{shown(link.url)} is not a git repository Forja can reach: {said}") from None
        raise RemoteRefused(f"The remote {shown(link.url)} answered: {said}") from None


def remote_head(repo: Path, link: RemoteLink, branch: str) -> str | None:
    """The remote branch's commit, fetched into the mirror's objects (no ref: clones of the mirror do not see it);
    None when the remote has no such branch."""
    ref = f"refs/heads/{branch}"
    out = remote_git(repo, link, "ls-remote", "--", link.url, ref).decode()
    found = [line.split("\t")[0] for line in out.splitlines() if line.endswith(f"\t{ref}")]
    if not found:
        return None
    remote_git(repo, link, "-c", "fetch.fsckObjects=true", "fetch", "--quiet", "--no-tags", "--", link.url, ref)
    return found[0]
