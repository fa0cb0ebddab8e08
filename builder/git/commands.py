"""Running git on a project's mirror: where the bare repository lives, its config, and one git command at a time."""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
from pathlib import Path

from builder.errors import GitExportError
from builder.settings import settings

log = logging.getLogger(__name__)

GIT_TIMEOUT_S = 300
HTTP_BACKEND = "/usr/lib/git-core/git-http-backend"
HOOK_SCRIPT = Path(__file__).with_name("pre-receive")
GIT = ("git", "-c", "core.autocrlf=false")

# The mirror's own config. Non-fast-forward pushes and deletions get git's usual refusals; fsck refuses a broken or
# crafted object before any hook sees it; nothing repacks behind Forja's back while a request reads the repository.
REPO_CONFIG = {
    "core.bare": "true",
    "receive.denyNonFastForwards": "true",
    "receive.denyDeletes": "true",
    "receive.fsckObjects": "true",
    "receive.autogc": "false",
    "gc.auto": "0",
    "http.receivepack": "true",
    "uploadpack.allowFilter": "true",
}


def git_root() -> Path:
    return settings.data_dir / "git"


def repo_path(project_id: str) -> Path:
    return git_root() / f"{project_id}.git"


def link_path(project_id: str) -> Path:
    """Where the project's remote is kept (remote.py)."""
    return git_root() / "remotes" / f"{project_id}.json"


def forget_repos(project_ids: list[str]) -> None:
    """Remove what git kept for projects deleted for good: each repository, its lock file and its remote's link (with
    the remote's token)."""
    for project_id in project_ids:
        shutil.rmtree(repo_path(project_id), ignore_errors=True)
        for kept in (git_root() / f"{project_id}.lock", link_path(project_id)):
            kept.unlink(missing_ok=True)


def git_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """No system or global config and no prompts: the same git whoever runs Forja."""
    env = {
        "PATH": os.environ.get("PATH", os.defpath),
        "HOME": str(git_root()),
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_CONFIG_GLOBAL": os.devnull,
        "GIT_TERMINAL_PROMPT": "0",
        "LC_ALL": "C",
        "TZ": "UTC",
    }
    return env | (extra or {})


def git(repo: Path, *args: str, input: bytes | None = None, env: dict[str, str] | None = None) -> bytes:
    """Run one git command in `repo`; its stdout, or GitExportError with git's last line."""
    command = [*GIT, *args]
    try:
        done = subprocess.run(
            command,
            cwd=repo,
            env=git_env(env),
            input=input if input is not None else b"",
            capture_output=True,
            check=True,
            timeout=GIT_TIMEOUT_S,
        )
    except FileNotFoundError:
        raise GitExportError("git is not installed on this Forja's machine; an admin can install it.") from None
    except subprocess.CalledProcessError as exc:
        detail = exc.stderr.decode("utf-8", "replace").strip().splitlines()
        raise GitExportError(f"git {args[0]} failed: {detail[-1] if detail else exc.returncode}") from None
    except subprocess.TimeoutExpired:
        raise GitExportError(f"git {args[0]} took longer than {GIT_TIMEOUT_S} s and was stopped.") from None
    return done.stdout


def ensure_repo(project_id: str) -> Path:
    """The project's bare repository, made on first use; its config and hook rewritten when they differ."""
    repo = repo_path(project_id)
    if not (repo / "HEAD").exists():
        repo.mkdir(parents=True, exist_ok=True)
        git(repo, "-c", "init.defaultBranch=main", "init", "--quiet", "--bare", ".")
        for key, value in REPO_CONFIG.items():
            git(repo, "config", key, value)
        log.info("made the git mirror of %s at %s", project_id, repo)
    hook = repo / "hooks" / "pre-receive"
    text = HOOK_SCRIPT.read_text()
    if not hook.exists() or hook.read_text() != text:
        hook.parent.mkdir(exist_ok=True)
        hook.write_text(text)
        hook.chmod(0o755)
    return repo
