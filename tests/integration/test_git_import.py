"""A new project from a git URL (POST /api/projects/import-git): a bare repository served by `git daemon` on loopback.

The same checks as a zip's; only public addresses unless FORJA_GIT_IMPORT_PRIVATE; only https, http and git URLs.
"""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

import builder.git.addresses
from builder.api import api, guarded
from builder.composition import Services
from builder.settings import settings
from tests.accounts import BASE
from tests.conftest import free_port

LOGO = bytes(range(256))


def git(*args: str, cwd: Path) -> str:
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(cwd),
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_AUTHOR_NAME": "Dev",
        "GIT_AUTHOR_EMAIL": "dev@example.org",
        "GIT_COMMITTER_NAME": "Dev",
        "GIT_COMMITTER_EMAIL": "dev@example.org",
    }
    return subprocess.run(["git", *args], cwd=cwd, env=env, capture_output=True, text=True, check=True).stdout


def publish(root: Path, name: str, files: dict[str, bytes], then: dict[str, bytes] | None = None) -> None:
    """A bare repository `name`.git under `root`: `files` tagged v1, then `then` (if any) on main."""
    work = root / f"{name}-work"
    work.mkdir()
    git("init", "--quiet", "-b", "main", cwd=work)
    for commit in (files, then):
        if commit is None:
            continue
        for path, data in commit.items():
            (work / path).parent.mkdir(parents=True, exist_ok=True)
            if data.startswith(b"->"):
                (work / path).symlink_to(data[2:].decode())
            else:
                (work / path).write_bytes(data)
        git("add", "-A", cwd=work)
        git("commit", "--quiet", "-m", "Files", cwd=work)
        if commit is files:
            git("tag", "v1", cwd=work)
    git("clone", "--quiet", "--bare", str(work), str(root / f"{name}.git"), cwd=root)


@pytest.fixture(scope="module")
def daemon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    root = tmp_path_factory.mktemp("git-daemon")
    publish(root, "site", {"index.html": b"<h1>v1</h1>\n", "img/logo.png": LOGO}, {"index.html": b"<h1>v2</h1>\n"})
    publish(root, "linked", {"index.html": b"<h1>Hi</h1>\n", "secrets": b"->/etc/passwd"})
    port = free_port()
    command = ["git", "daemon", "--reuseaddr", "--export-all", f"--base-path={root}", "--listen=127.0.0.1", f"--port={port}"]
    process = subprocess.Popen([*command, str(root)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"git://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while subprocess.run(["git", "ls-remote", f"{url}/site.git"], capture_output=True).returncode != 0:
            assert time.monotonic() < deadline, "git daemon did not start"
            time.sleep(0.2)
        yield url
    finally:
        process.terminate()
        process.wait(10)


@pytest.fixture
async def client(services: Services, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[httpx.AsyncClient]:
    monkeypatch.setattr(settings, "git_import_private", True)  # the daemon is on loopback
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=guarded(api)), base_url=BASE) as http:
        yield http


async def test_a_project_from_a_git_url_has_its_files_byte_for_byte(
    client: httpx.AsyncClient, services: Services, daemon: str
) -> None:
    answer = await client.post("/api/projects/import-git", json={"url": f"{daemon}/site.git"})
    assert answer.status_code == 201, answer.text
    project = answer.json()["id"]
    assert await services.projects.read_tree(project) == {"index.html": b"<h1>v2</h1>\n", "img/logo.png": LOGO}
    detail = await services.projects.get(project)
    assert detail.name == "site"
    assert [v.message for v in detail.versions] == [f"Imported 2 files from {daemon}/site.git"]

    tagged = await client.post("/api/projects/import-git", json={"url": f"{daemon}/site.git", "ref": "v1", "name": "Old"})
    assert tagged.status_code == 201, tagged.text
    assert (await services.projects.read_tree(tagged.json()["id"]))["index.html"] == b"<h1>v1</h1>\n"


@pytest.mark.parametrize(
    ("body", "said"),
    [
        ({"url": "{daemon}/linked.git"}, "secrets in "),
        ({"url": "{daemon}/nothing-here.git"}, "Could not fetch {daemon}/nothing-here.git"),
        ({"url": "{daemon}/site.git", "ref": "no-such-branch"}, "Could not fetch"),
        ({"url": "{daemon}/site.git", "ref": "--upload-pack=touch /tmp/x"}, "is not a branch or tag name"),
        ({"url": "file:///etc"}, "Import from an https://, http:// or git:// address"),
        ({"url": "ext::sh -c touch% /tmp/pwned"}, "Import from an https://, http:// or git:// address"),
    ],
)
async def test_a_bad_git_url_or_tree_is_refused_in_words(
    client: httpx.AsyncClient, services: Services, daemon: str, body: dict[str, str], said: str
) -> None:
    sent = {k: v.format(daemon=daemon) for k, v in body.items()}
    answer = await client.post("/api/projects/import-git", json=sent)
    assert answer.status_code == 422, answer.text
    assert said.format(daemon=daemon) in answer.json()["detail"]
    if "linked" in sent["url"]:
        assert "is a symbolic link" in answer.json()["detail"]
    assert await services.projects.count() == 0


async def test_a_local_address_is_refused_unless_allowed(
    client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch, daemon: str
) -> None:
    monkeypatch.setattr(settings, "git_import_private", False)
    answer = await client.post("/api/projects/import-git", json={"url": f"{daemon}/site.git"})
    assert answer.status_code == 422
    assert answer.json()["detail"] == "127.0.0.1 is a private or local address; Forja imports only from public git servers."


async def test_a_git_url_s_name_is_looked_up_once_and_git_goes_to_that_address(
    client: httpx.AsyncClient, services: Services, monkeypatch: pytest.MonkeyPatch, daemon: str
) -> None:
    """Over git:// the URL handed to git names the address Forja checked: a name only Forja's lookup knows reaches the
    daemon, and a lookup that answers a private address is refused when private addresses are."""
    monkeypatch.setattr(
        builder.git.addresses, "resolve", lambda name, _port: ["127.0.0.1"] if name == "repo.forja-test.invalid" else []
    )
    url = daemon.replace("127.0.0.1", "repo.forja-test.invalid") + "/site.git"
    answer = await client.post("/api/projects/import-git", json={"url": url})
    assert answer.status_code == 201, answer.text
    assert (await services.projects.read_tree(answer.json()["id"]))["index.html"] == b"<h1>v2</h1>\n"

    monkeypatch.setattr(settings, "git_import_private", False)
    refused = await client.post("/api/projects/import-git", json={"url": url})
    assert refused.status_code == 422
    assert refused.json()["detail"] == (
        "repo.forja-test.invalid is a private or local address; Forja imports only from public git servers."
    )
