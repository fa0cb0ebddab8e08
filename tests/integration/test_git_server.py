"""Forja as a git server: the real `git` CLI against a real Forja on a loopback port (test_cli_remote's server).

Clone gives every version as a commit, byte for byte; a push makes versions; roles, tokens, fast-forwards and the
import rules are enforced, each refusal in words git prints.
"""

from __future__ import annotations

import asyncio
import base64
import io
import os
import subprocess
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.integration.test_cli_remote import PASSWORD, Server, served_forja

pytestmark = pytest.mark.skipif(not Path("/usr/lib/git-core/git-http-backend").exists(), reason="git is not installed")

TREE = {"index.html": "<h1>Hello</h1>\n", "src/app.js": "console.log('hi')\n", "README.md": "# Site\n"}


@dataclass
class Forja:
    server: Server
    tokens: dict[str, str]  # ana (owns the projects), bo (a viewer), cy (no role)
    home: Path

    @property
    def url(self) -> str:
        return self.server.url

    def api(self, who: str, method: str, path: str, **kwargs: object) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.tokens[who]}"}
        response = httpx.request(method, self.url + path, headers=headers, timeout=30, trust_env=False, **kwargs)  # type: ignore[arg-type]
        assert response.status_code < 400, response.text
        return response

    def remote(self, who: str, project: str, token: str | None = None) -> str:
        host = self.url.removeprefix("http://")
        return f"http://{who}:{token or self.tokens[who]}@{host}/git/{project}.git"

    def git(self, *args: str, cwd: Path | None = None, ok: bool = True) -> subprocess.CompletedProcess[str]:
        env = {
            "PATH": os.environ["PATH"],
            "HOME": str(self.home),
            "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_TERMINAL_PROMPT": "0",
            "GIT_AUTHOR_NAME": "Ana Dev",
            "GIT_AUTHOR_EMAIL": "ana@example.org",
            "GIT_COMMITTER_NAME": "Ana Dev",
            "GIT_COMMITTER_EMAIL": "ana@example.org",
        }
        done = subprocess.run(["git", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120)
        if ok:
            assert done.returncode == 0, f"git {args} exited {done.returncode}: {done.stderr}"
        return done

    def project(self, name: str) -> str:
        project = self.api("ana", "POST", "/api/projects", json={"name": name, "files": TREE}).json()["id"]
        self.api("ana", "POST", f"/api/projects/{project}/members", json={"email": "bo@example.org", "role": "viewer"})
        return project

    def versions(self, project: str) -> list[dict[str, object]]:
        return self.api("ana", "GET", f"/api/projects/{project}").json()["versions"]

    def files(self, project: str, version: int) -> dict[str, bytes]:
        data = self.api("ana", "GET", f"/api/projects/{project}/versions/{version}/export").content
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            return {name: archive.read(name) for name in archive.namelist() if not name.endswith("/")}


@pytest.fixture(scope="module")
def forja(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Forja]:
    root = tmp_path_factory.mktemp("git-server")
    with served_forja(root) as server:
        tokens = {}
        for who in ("ana", "bo", "cy"):
            email = f"{who}@example.org"
            server.operator.ok("user", "create", email, "--name", who.title(), "--password-stdin", input=PASSWORD)
            tokens[who] = server.operator.ok("token", "create", email).strip()
        (root / "home").mkdir()
        yield Forja(server, tokens, root / "home")


def committed_files(forja: Forja, clone: Path, ref: str) -> dict[str, bytes]:
    names = forja.git("ls-tree", "-r", "--name-only", "-z", ref, cwd=clone).stdout.split("\0")
    return {
        name: subprocess.run(["git", "cat-file", "blob", f"{ref}:{name}"], cwd=clone, capture_output=True, check=True).stdout
        for name in names
        if name
    }


def test_a_clone_has_every_version_byte_for_byte_and_reuses_its_commits(forja: Forja, tmp_path: Path) -> None:
    project = forja.project("Clone me")
    picture = bytes(range(256)) * 4
    forja.api("ana", "PUT", f"/api/projects/{project}/files/index.html", json={"content": "<h1>Two</h1>\n", "message": "Second"})
    encoded = base64.b64encode(picture).decode()
    forja.api("ana", "PUT", f"/api/projects/{project}/files/logo.png", json={"content": encoded, "encoding": "base64"})
    versions = forja.versions(project)
    assert len(versions) == 3

    clone = tmp_path / "clone"
    forja.git("clone", "--quiet", forja.remote("bo", project), str(clone))  # a viewer may clone
    log = forja.git("log", "--reverse", "--format=%s|%an", "main", cwd=clone).stdout.splitlines()
    assert [line.split("|")[0] for line in log] == [v["message"] for v in versions]
    for version in versions:
        number = int(str(version["number"]))
        assert committed_files(forja, clone, f"v{number}") == forja.files(project, number)
    assert committed_files(forja, clone, "main")["logo.png"] == picture
    before = forja.git("rev-parse", "v1", "v2", "v3", cwd=clone).stdout
    # The readable alias (owner's email's local part, the project's name as a slug) is the same repository.
    aliased = forja.remote("bo", project).replace(f"/git/{project}.git", "/git/ana/clone-me.git")
    forja.git("clone", "--quiet", aliased, str(tmp_path / "aliased"))
    assert forja.git("rev-parse", "main", cwd=tmp_path / "aliased").stdout == forja.git("rev-parse", "main", cwd=clone).stdout

    forja.api("ana", "PUT", f"/api/projects/{project}/files/README.md", json={"content": "# Four\n", "message": "Fourth"})
    forja.git("pull", "--quiet", "--ff-only", cwd=clone)
    assert forja.git("rev-parse", "v1", "v2", "v3", cwd=clone).stdout == before  # the old commits are the same
    assert forja.git("log", "-1", "--format=%s", cwd=clone).stdout.strip() == "Fourth"
    assert (clone / "README.md").read_text() == "# Four\n"


def test_a_push_makes_a_version_per_commit_and_keeps_the_pushers_commits(forja: Forja, tmp_path: Path) -> None:
    project = forja.project("Push me")
    clone = tmp_path / "clone"
    forja.git("clone", "--quiet", forja.remote("ana", project), str(clone))
    (clone / "index.html").write_text("<h1>Edited in my editor</h1>\n")
    forja.git("commit", "--quiet", "-am", "Edit the title", cwd=clone)
    (clone / "src" / "app.js").unlink()
    (clone / "src" / "main.js").write_text("export {}\n")
    forja.git("add", "-A", cwd=clone)
    forja.git("commit", "--quiet", "-m", "Move the script", cwd=clone)
    pushed = forja.git("push", "--quiet", "origin", "main", cwd=clone)
    assert "Forja saved 2 commit(s); the project is at version 3." in pushed.stderr

    versions = forja.versions(project)
    assert [v["message"] for v in versions[1:]] == ["Pushed by Ana: Edit the title", "Pushed by Ana: Move the script"]
    assert forja.files(project, 3) == committed_files(forja, clone, "HEAD")
    assert "src/app.js" not in forja.files(project, 3)

    # A second clone has the pusher's own commits: their next push is a plain fast-forward.
    again = tmp_path / "again"
    forja.git("clone", "--quiet", forja.remote("ana", project), str(again))
    head = forja.git("rev-parse", "HEAD", cwd=clone).stdout
    assert forja.git("rev-parse", "HEAD", "v3", cwd=again).stdout == head * 2


def test_a_merge_that_reaches_the_last_push_through_its_other_parent_is_a_fast_forward(forja: Forja, tmp_path: Path) -> None:
    project = forja.project("Merged")
    clone = tmp_path / "clone"
    forja.git("clone", "--quiet", forja.remote("ana", project), str(clone))
    (clone / "src" / "app.js").unlink()
    (clone / "notes.txt").write_text("kept on main\n")
    forja.git("add", "-A", cwd=clone)
    forja.git("commit", "--quiet", "-m", "Drop the script", cwd=clone)
    forja.git("push", "--quiet", "origin", "main", cwd=clone)
    # Work begun on version 1 (the script, no notes), then the pushed main merged into it: main's last commit
    # is the merge's second parent, not on the first-parent line that becomes versions.
    forja.git("checkout", "--quiet", "-b", "side", "v1", cwd=clone)
    (clone / "side.txt").write_text("from the side\n")
    forja.git("add", "side.txt", cwd=clone)
    forja.git("commit", "--quiet", "-m", "Side work", cwd=clone)
    forja.git("merge", "--quiet", "--no-edit", "main", cwd=clone)
    pushed = forja.git("push", "--quiet", "origin", "side:main", cwd=clone)
    assert "the project is at version 4." in pushed.stderr

    assert [v["message"] for v in forja.versions(project)][2:] == [
        "Pushed by Ana: Side work",
        "Pushed by Ana: Merge branch 'main' into side",
    ]
    assert forja.files(project, 3) == committed_files(forja, clone, "HEAD^1")  # the script back, as in version 1
    assert "src/app.js" in forja.files(project, 3) and "notes.txt" not in forja.files(project, 3)
    assert forja.files(project, 4) == committed_files(forja, clone, "HEAD")
    remote_main = forja.git("ls-remote", forja.remote("ana", project), "refs/heads/main", cwd=clone).stdout.split()[0]
    assert remote_main == forja.git("rev-parse", "HEAD", cwd=clone).stdout.strip()


def test_a_viewer_a_stranger_and_a_wrong_token_change_nothing(forja: Forja, tmp_path: Path) -> None:
    project = forja.project("Guarded")
    clone = tmp_path / "clone"
    forja.git("clone", "--quiet", forja.remote("bo", project), str(clone))
    (clone / "index.html").write_text("<h1>Viewer was here</h1>\n")
    forja.git("commit", "--quiet", "-am", "Not allowed", cwd=clone)
    refused = forja.git("push", "origin", "main", cwd=clone, ok=False)
    assert refused.returncode != 0 and "403" in refused.stderr

    stranger = forja.git("clone", forja.remote("cy", project), str(tmp_path / "cy"), ok=False)
    assert stranger.returncode != 0 and "not found" in stranger.stderr
    wrong = forja.git("clone", forja.remote("ana", project, token="forja_not_a_token"), str(tmp_path / "x"), ok=False)
    assert wrong.returncode != 0 and "Authentication failed" in wrong.stderr
    anonymous = httpx.get(f"{forja.url}/git/{project}.git/info/refs?service=git-upload-pack", trust_env=False)
    assert anonymous.status_code == 401 and anonymous.headers["www-authenticate"].startswith("Basic")
    assert len(forja.versions(project)) == 1


def test_a_non_fast_forward_push_is_refused_and_nothing_is_lost(forja: Forja, tmp_path: Path) -> None:
    project = forja.project("Race")
    first, second = tmp_path / "first", tmp_path / "second"
    for clone in (first, second):
        forja.git("clone", "--quiet", forja.remote("ana", project), str(clone))
    (first / "README.md").write_text("# First\n")
    forja.git("commit", "--quiet", "-am", "First", cwd=first)
    forja.git("push", "--quiet", "origin", "main", cwd=first)
    (second / "README.md").write_text("# Second\n")
    forja.git("commit", "--quiet", "-am", "Second", cwd=second)
    behind = forja.git("push", "origin", "main", cwd=second, ok=False)
    assert behind.returncode != 0 and "rejected" in behind.stderr
    forced = forja.git("push", "--force", "origin", "main", cwd=second, ok=False)
    assert forced.returncode != 0 and "non-fast-forward" in forced.stderr
    assert [v["message"] for v in forja.versions(project)][1:] == ["Pushed by Ana: First"]
    assert forja.files(project, 2)["README.md"] == b"# First\n"


def _hostile_commit(forja: Forja, clone: Path, kind: str) -> None:
    if kind == "symlink":
        (clone / "escape").symlink_to("/etc/passwd")
    elif kind == "submodule":
        sha = forja.git("rev-parse", "HEAD", cwd=clone).stdout.strip()
        forja.git("update-index", "--add", "--cacheinfo", f"160000,{sha},vendor/lib", cwd=clone)
        forja.git("commit", "--quiet", "-m", f"Hostile: {kind}", cwd=clone)  # `add -A` would drop the gitlink
        return
    elif kind == "large":
        (clone / "video.bin").write_bytes(os.urandom(50 * 1024 * 1024))
    else:
        many = clone / "many"
        many.mkdir()
        for i in range(10_000):
            (many / f"f{i}.txt").write_text(str(i))
    forja.git("add", "-A", cwd=clone)
    forja.git("commit", "--quiet", "-m", f"Hostile: {kind}", cwd=clone)


@pytest.mark.parametrize(
    ("kind", "said"),
    [
        ("symlink", "escape in {commit} is a symbolic link; Forja keeps regular files only"),
        ("submodule", "vendor/lib in {commit} is a submodule (a gitlink); Forja keeps files only"),
        ("large", "video.bin in {commit} is 50 MB; the limit per file is 2 MB."),
        ("many", "{commit} has more than 2000 files; the limit is 2000"),
    ],
)
def test_a_hostile_push_is_refused_with_a_reason(forja: Forja, tmp_path: Path, kind: str, said: str) -> None:
    project = forja.project(f"Hostile {kind}")
    clone = tmp_path / "clone"
    forja.git("clone", "--quiet", forja.remote("ana", project), str(clone))
    _hostile_commit(forja, clone, kind)
    commit = forja.git("rev-parse", "--short=10", "HEAD", cwd=clone).stdout.strip()
    refused = forja.git("push", "origin", "main", cwd=clone, ok=False)
    assert refused.returncode != 0
    assert f"remote: {said.format(commit=commit)}" in refused.stderr
    assert "pre-receive hook declined" in refused.stderr
    assert len(forja.versions(project)) == 1


def test_a_first_push_fills_an_empty_project(forja: Forja, tmp_path: Path) -> None:
    async def empty_project() -> str:
        services = forja.server.operator.services()
        try:
            ana = await services.accounts.actor_by_email("ana@example.org")
            return await services.projects.create_empty("Empty", owner=ana.user_id)
        finally:
            await services.close()

    project = asyncio.run(empty_project())
    clone = tmp_path / "clone"
    cloned = forja.git("clone", forja.remote("ana", project), str(clone))
    assert "empty repository" in cloned.stderr
    (clone / "index.html").write_text("<h1>From my editor</h1>\n")
    forja.git("add", "-A", cwd=clone)
    forja.git("commit", "--quiet", "-m", "First page", cwd=clone)
    forja.git("push", "--quiet", "origin", "HEAD:main", cwd=clone)
    assert [v["message"] for v in forja.versions(project)] == ["Pushed by Ana: First page"]
    assert forja.files(project, 1) == {"index.html": b"<h1>From my editor</h1>\n"}
