"""Git tokens with the real `git` CLI against a real Forja on a loopback port (test_cli_remote's server, accounts on).

Each clone runs the two lines Forja hands out with a token (the credential store's line, then the clone), in a home
folder of its own: the token lands in git's credential store there, never in the clone's `.git/config`. A read token
clones and fetches but its push is refused in words; a read-write token pushes; a token of one project opens no other
and not the API; a revoked or expired token is refused in a sentence git prints. No token ever reaches the log.
"""

from __future__ import annotations

import asyncio
import os
import stat
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import update
from sqlmodel import col

from builder import db
from builder.models import GitToken
from tests.integration.test_cli import Cli
from tests.integration.test_cli_remote import PASSWORD, Server, served_forja

pytestmark = pytest.mark.skipif(not Path("/usr/lib/git-core/git-http-backend").exists(), reason="git is not installed")

TREE = {"index.html": "<h1>Hello</h1>\n", "README.md": "# Site\n"}
PEOPLE = {"ana": "owner", "bo": "viewer", "cy": "editor"}


@dataclass
class Forja:
    server: Server
    api_tokens: dict[str, str]  # ana owns the projects; bo views them, cy edits them
    made: list[str] = field(default_factory=list)  # every git token made: none may reach the log

    @property
    def url(self) -> str:
        return self.server.url

    def api(self, who: str, method: str, path: str, **kwargs: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.api_tokens[who]}"}
        return httpx.request(method, self.url + path, headers=headers, timeout=30, trust_env=False, **kwargs)

    def project(self, name: str) -> str:
        made = self.api("ana", "POST", "/api/projects", json={"name": name, "files": TREE})
        assert made.status_code == 201, made.text
        project = made.json()["id"]
        for who, role in PEOPLE.items():
            if role != "owner":
                added = self.api(
                    "ana", "POST", f"/api/projects/{project}/members", json={"email": f"{who}@example.org", "role": role}
                )
                assert added.status_code < 400, added.text
        return project

    def git_token(self, who: str, project: str, **body: object) -> dict[str, Any]:
        made = self.api(who, "POST", f"/api/projects/{project}/git-tokens", json=body)
        assert made.status_code == 201, made.text
        self.made.append(made.json()["token"])
        return made.json()

    def versions(self, project: str) -> list[dict[str, Any]]:
        return self.api("ana", "GET", f"/api/projects/{project}").json()["versions"]

    def log_is_clean(self) -> None:
        """No token in any line of the server's log, and no traceback: every refusal was a sentence."""
        text = self.server.log.read_text()
        assert "Traceback" not in text
        for token in [*self.made, *self.api_tokens.values()]:
            assert token not in text


def git(home: Path, *args: str, cwd: Path | None = None, ok: bool = True) -> subprocess.CompletedProcess[str]:
    """git as someone whose home folder is `home` (their own machine): no prompt, no system settings."""
    done = subprocess.run(["git", *args], cwd=cwd or home, env=git_env(home), capture_output=True, text=True, timeout=120)
    if ok:
        assert done.returncode == 0, f"git {args} exited {done.returncode}: {done.stderr}"
    return done


def git_env(home: Path) -> dict[str, str]:
    return {
        "PATH": os.environ["PATH"],
        "HOME": str(home),
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_TERMINAL_PROMPT": "0",
        "GIT_AUTHOR_NAME": "Dev",
        "GIT_AUTHOR_EMAIL": "dev@example.org",
        "GIT_COMMITTER_NAME": "Dev",
        "GIT_COMMITTER_EMAIL": "dev@example.org",
    }


def run_lines(home: Path, made: dict[str, Any]) -> Path:
    """The two lines Forja gave with the token, run as shown in a shell in `home`; the clone's folder."""
    lines = f"{made['setup']}\n{made['clone']}\n"
    done = subprocess.run(["bash", "-e", "-c", lines], cwd=home, env=git_env(home), capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return home / str(made["project_id"])


def a_home(tmp_path: Path, name: str) -> Path:
    home = tmp_path / name
    home.mkdir()
    return home


def commit(home: Path, clone: Path, text: str) -> None:
    (clone / "index.html").write_text(text)
    git(home, "commit", "--quiet", "-am", "Edit the title", cwd=clone)


@pytest.fixture(scope="module")
def forja(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Forja]:
    root = tmp_path_factory.mktemp("git-tokens")
    with served_forja(root) as server:
        tokens = {}
        for who in PEOPLE:
            email = f"{who}@example.org"
            server.operator.ok("user", "create", email, "--name", who.title(), "--password-stdin", input=PASSWORD)
            tokens[who] = server.operator.ok("token", "create", email).strip()
        yield Forja(server, tokens)


def test_a_read_token_clones_and_fetches_but_its_push_is_refused(forja: Forja, tmp_path: Path) -> None:
    project = forja.project("Read only")
    made = forja.git_token("bo", project)
    token = made["token"]
    home = a_home(tmp_path, "bo")
    clone = run_lines(home, made)
    assert (clone / "index.html").read_text() == TREE["index.html"]

    # The token is in git's credential store in the home folder (its owner's only), never in the clone's settings.
    assert token not in (clone / ".git" / "config").read_text()
    assert git(home, "config", "--get", "remote.origin.url", cwd=clone).stdout.strip() == made["url"]
    store = home / ".git-credentials"
    assert token in store.read_text() and stat.S_IMODE(store.stat().st_mode) == 0o600

    forja.api("ana", "PUT", f"/api/projects/{project}/files/README.md", json={"content": "# Two\n", "message": "Second"})
    git(home, "pull", "--quiet", "--ff-only", cwd=clone)
    assert (clone / "README.md").read_text() == "# Two\n"

    commit(home, clone, "<h1>Not allowed</h1>\n")
    refused = git(home, "push", "origin", "main", cwd=clone, ok=False)
    assert refused.returncode != 0
    assert "This git token may clone and fetch, not push." in refused.stderr
    assert len(forja.versions(project)) == 2
    forja.log_is_clean()


def test_a_read_write_token_pushes_and_each_project_keeps_its_own_token(forja: Forja, tmp_path: Path) -> None:
    first, second = forja.project("Pushed"), forja.project("Beside it")
    home = a_home(tmp_path, "cy")
    clones = [run_lines(home, forja.git_token("cy", project, access="write", days=7)) for project in (first, second)]
    for clone in clones:
        commit(home, clone, "<h1>From my editor</h1>\n")
        pushed = git(home, "push", "--quiet", "origin", "main", cwd=clone)
        assert "Forja saved 1 commit(s); the project is at version 2." in pushed.stderr
    for project in (first, second):
        assert [v["message"] for v in forja.versions(project)][1:] == ["Pushed by Cy: Edit the title"]

    # The person's role is read at each use: once a viewer, the same token's push is refused.
    forja.api("ana", "PATCH", f"/api/projects/{first}/members/{member_id(forja, first, 'cy')}", json={"role": "viewer"})
    commit(home, clones[0], "<h1>After the change</h1>\n")
    demoted = git(home, "push", "origin", "main", cwd=clones[0], ok=False)
    assert demoted.returncode != 0 and "You are a viewer of this project" in demoted.stderr
    assert len(forja.versions(first)) == 2
    forja.log_is_clean()


def member_id(forja: Forja, project: str, who: str) -> str:
    members = forja.api("ana", "GET", f"/api/projects/{project}/members").json()
    return next(m["user_id"] for m in members if m["email"] == f"{who}@example.org")


def test_a_token_of_one_project_opens_no_other_and_not_the_api(forja: Forja, tmp_path: Path) -> None:
    mine, other = forja.project("Mine"), forja.project("Not mine")
    token = forja.git_token("ana", mine, access="write")["token"]
    home = a_home(tmp_path, "ana")
    host = forja.url.removeprefix("http://")
    # Given as the password for the other project (here in its address, as a hand-made clone would).
    refused = git(home, "clone", f"http://ana:{token}@{host}/git/{other}.git", str(home / "other"), ok=False)
    assert refused.returncode != 0
    assert "This git token is for another project." in refused.stderr
    assert not (home / "other").exists()
    answer = httpx.get(f"{forja.url}/api/projects", headers={"Authorization": f"Bearer {token}"}, trust_env=False)
    assert answer.status_code == 401 and "A git token works only for git" in answer.json()["detail"]
    forja.log_is_clean()


async def expire(forja: Forja, token_id: int) -> None:
    engine = db.create_engine(forja.server.operator.database_url.replace("sqlite://", "sqlite+aiosqlite://", 1))
    try:
        async with db.session_factory(engine)() as session, session.begin():
            when = datetime(2026, 11, 1, tzinfo=UTC)
            await session.exec(update(GitToken).where(col(GitToken.id) == token_id).values(expires_at=when))
    finally:
        await engine.dispose()


def test_revoked_and_expired_tokens_are_refused_in_a_sentence(forja: Forja, tmp_path: Path) -> None:
    project = forja.project("Refusals")
    home = a_home(tmp_path, "bo")
    revoked = forja.git_token("bo", project)
    clone = run_lines(home, revoked)
    assert forja.api("bo", "DELETE", f"/api/account/git-tokens/{revoked['id']}").status_code == 204
    fetched = git(home, "fetch", cwd=clone, ok=False)
    assert fetched.returncode != 0
    assert "This git token was revoked. Make a new one in the project's Clone dialog." in fetched.stderr
    assert revoked["token"] not in (home / ".git-credentials").read_text()  # git dropped it from its store on the 401

    expired = forja.git_token("bo", project)
    home = a_home(tmp_path, "bo-again")
    clone = run_lines(home, expired)
    asyncio.run(expire(forja, expired["id"]))
    fetched = git(home, "fetch", cwd=clone, ok=False)
    assert fetched.returncode != 0
    assert "This git token expired on 01 Nov 2026 (UTC)." in fetched.stderr
    listed = [t["id"] for t in forja.api("bo", "GET", "/api/account/git-tokens").json()]
    assert revoked["id"] not in listed and expired["id"] not in listed
    forja.log_is_clean()


def test_the_cli_makes_lists_and_revokes_git_tokens(forja: Forja, tmp_path: Path) -> None:
    project = forja.project("From the CLI")
    laptop = Cli(tmp_path / "laptop-data", FORJA_SERVER=forja.url)
    assert laptop.ok("clone-url", project, token=forja.api_tokens["cy"]).strip() == f"git clone {forja.url}/git/{project}.git"

    printed = laptop.ok("git-token", "create", project, "--push", "--days", "7", "--name", "laptop", token=forja.api_tokens["cy"])
    setup, clone_line, *words = printed.splitlines()
    token = setup.split("password=")[1].split()[0]
    forja.made.append(token)
    assert "may clone, fetch and push From the CLI" in " ".join(words)
    home = a_home(tmp_path, "cy")
    clone = run_lines(home, {"setup": setup, "clone": clone_line, "project_id": project})
    commit(home, clone, "<h1>From the CLI's clone</h1>\n")
    git(home, "push", "--quiet", "origin", "main", cwd=clone)

    [listed] = [t for t in laptop.json("git-token", "list", token=forja.api_tokens["cy"]) if t["project_id"] == project]
    assert (listed["project_id"], listed["name"], listed["access"]) == (project, "laptop", "write")
    assert "token" not in listed and listed["last_used_at"]
    laptop.ok("git-token", "revoke", str(listed["id"]), token=forja.api_tokens["cy"])
    assert "This git token was revoked." in git(home, "fetch", cwd=clone, ok=False).stderr
    refused = laptop.refused("git-token", "create", project, "--push", token=forja.api_tokens["bo"])
    assert refused.startswith("You are a viewer of this project")
    forja.log_is_clean()


def test_a_clone_made_with_an_api_token_keeps_working_and_moves_to_a_git_token(forja: Forja, tmp_path: Path) -> None:
    """As before git tokens (the old Clone dialog's command): the API token in the address still works; the steps in
    docs/accounts.md take it out of the clone's settings and put a git token in git's store instead."""
    project = forja.project("Cloned before")
    home = a_home(tmp_path, "ana")
    host = forja.url.removeprefix("http://")
    old_address = f"http://ana:{forja.api_tokens['ana']}@{host}/git/{project}.git"
    git(home, "clone", "--quiet", old_address, cwd=home)
    clone = home / project
    assert forja.api_tokens["ana"] in (clone / ".git" / "config").read_text()

    made = forja.git_token("ana", project, access="write")
    setup = subprocess.run(["bash", "-e", "-c", made["setup"]], cwd=home, env=git_env(home), capture_output=True, text=True)
    assert setup.returncode == 0, setup.stderr
    git(home, "remote", "set-url", "origin", made["url"], cwd=clone)
    git(home, "config", "credential.helper", "store", cwd=clone)
    git(home, "config", "credential.useHttpPath", "true", cwd=clone)
    assert forja.api_tokens["ana"] not in (clone / ".git" / "config").read_text()
    commit(home, clone, "<h1>Moved over</h1>\n")
    git(home, "push", "--quiet", "origin", "main", cwd=clone)
    assert len(forja.versions(project)) == 2
    forja.log_is_clean()
