"""What a push may bring: every commit it brings is checked (those merged in through a merge's other parent too), no
object outside them, pushes are capped per person and hour, a project's git repository counts in its owner's storage,
and a ref deletion or another odd ref update is refused. The real `git` CLI against a real Forja on a loopback port
(granian, accounts on), on SQLite and on PostgreSQL.

Each refusal is git's `remote: ...` sentence, and leaves the mirror's files, the versions and the owner's storage as
they were, with no traceback in Forja's log.
"""

from __future__ import annotations

import os
import re
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from builder.composition import Services
from builder.filetree import Limits
from builder.git.caps import PushCaps
from builder.git.objects import ObjectReader
from builder.git.trees import Known, PushRefused, check_tree, tree_of
from builder.services.access import LOCAL_ACTOR, Actor
from builder.settings import settings
from builder.store import ProjectStore
from preview_runtime.common import folder_bytes
from tests.conftest import PostgresServer
from tests.git_host import git as host_git
from tests.integration.test_cli_remote import PASSWORD, served_forja
from tests.integration.test_git_server import TREE, Forja

pytestmark = pytest.mark.skipif(not Path("/usr/lib/git-core/git-http-backend").exists(), reason="git is not installed")

PUSHES_PER_HOUR = 4
MB_PER_HOUR = 5
UPLOAD_MB = 7
MB = 1024 * 1024
MERGED = "Forja checks every new commit, merged ones too: take this one out of the history first."


@dataclass
class Pusher:
    """One person of the module's Forja, with a project of their own and a clone of it: the hourly caps count per
    person, so each test pushes as someone new."""

    forja: Forja
    who: str
    project: str
    clone: Path

    def git(self, *args: str, ok: bool = True) -> subprocess.CompletedProcess[str]:
        return self.forja.git(*args, cwd=self.clone, ok=ok)

    def commit(self, files: dict[str, bytes], message: str) -> str:
        for path, data in files.items():
            (self.clone / path).parent.mkdir(parents=True, exist_ok=True)
            (self.clone / path).write_bytes(data)
        self.git("add", "-A")
        self.git("commit", "--quiet", "-m", message)
        return self.head()

    def head(self, ref: str = "HEAD") -> str:
        return self.git("rev-parse", ref).stdout.strip()

    def push(self, *refspec: str) -> str:
        """What git printed of a push that must be taken."""
        return self.git("push", "origin", *(refspec or ("main",))).stderr

    def refused(self, said: str, *refspec: str) -> str:
        """Push, which must be refused with `said` (a regular expression) as git's `remote:` line, leaving everything
        as it was and no traceback in Forja's log; git's output."""
        before, start = self.state(), self.forja.server.log.stat().st_size
        pushed = self.git("push", "origin", *(refspec or ("main",)), ok=False)
        assert pushed.returncode != 0, pushed.stderr
        assert re.search(f"remote: {said}", pushed.stderr), pushed.stderr
        assert self.state() == before
        assert "Traceback" not in self.forja.server.log.read_bytes()[start:].decode("utf-8", "replace")
        return pushed.stderr

    def state(self) -> tuple[int, list[dict[str, object]], int]:
        """The mirror's bytes on disk, the project's versions and the owner's storage, once the last push is done with:
        Forja tags a push's versions after git answered the pusher, holding the project's lock, which a git request
        (this ls-remote) waits for."""
        self.git("ls-remote", "origin")
        return mirror_bytes(self.forja, self.project), self.versions(), storage(self.forja, self.who)

    def versions(self) -> list[dict[str, object]]:
        return self.forja.api(self.who, "GET", f"/api/projects/{self.project}").json()["versions"]


def mirror_bytes(forja: Forja, project: str) -> int:
    return folder_bytes(forja.server.operator.data_dir / "git" / f"{project}.git")


def person_id(forja: Forja, who: str) -> str:
    people = forja.api("ana", "GET", "/api/admin/users").json()
    return next(p["id"] for p in people if p["email"] == f"{who}@example.org")


def storage(forja: Forja, who: str) -> int:
    """The person's storage in bytes, as the admin page shows it."""
    people = forja.api("ana", "GET", "/api/admin/users").json()
    return next(p["storage_bytes"] for p in people if p["email"] == f"{who}@example.org")


def files_bytes(files: dict[str, str]) -> int:
    return sum(len(text.encode()) for text in set(files.values()))


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def forja(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Forja]:
    root = tmp_path_factory.mktemp("git-push-checks")
    database = ""
    if request.param == "postgresql":
        server: PostgresServer = request.getfixturevalue("postgres_server")
        database = server.url(server.migrated_database())
    caps = {"FORJA_GIT_PUSHES_PER_HOUR": str(PUSHES_PER_HOUR), "FORJA_GIT_PUSH_MB_PER_HOUR": str(MB_PER_HOUR)}
    caps["FORJA_MAX_UPLOAD_BYTES"] = str(UPLOAD_MB * MB)  # a push's body may be 1 MB more
    with served_forja(root, database_url=database, **caps) as served:
        served.operator.ok("user", "create", "ana@example.org", "--name", "Ana", "--password-stdin", input=PASSWORD)
        (root / "home").mkdir()
        yield Forja(served, {"ana": served.operator.ok("token", "create", "ana@example.org").strip()}, root / "home")


_people = iter(range(1, 10_000))


@pytest.fixture
def pusher(forja: Forja, tmp_path: Path) -> Pusher:
    who = f"dev{next(_people)}"
    operator = forja.server.operator
    operator.ok("user", "create", f"{who}@example.org", "--name", who.title(), "--password-stdin", input=PASSWORD)
    forja.tokens[who] = operator.ok("token", "create", f"{who}@example.org").strip()
    project = forja.api(who, "POST", "/api/projects", json={"name": f"Site of {who}", "files": TREE}).json()["id"]
    clone = tmp_path / "clone"
    forja.git("clone", "--quiet", forja.remote(who, project), str(clone))
    return Pusher(forja, who, project, clone)


def hostile(kind: str) -> tuple[dict[str, bytes], str]:
    """Files an import would refuse, and the start of git's `remote:` line saying so."""
    if kind == "large":
        return {"video.bin": os.urandom(3 * MB)}, r"video\.bin in {commit} is 3 MB; the limit per file is 2 MB\."
    if kind == "many":
        return {
            f"many/f{n}.txt": f"{n}\n".encode() for n in range(2001)
        }, r"{commit} has more than 2000 files; the limit is 2000\."
    return {"node_modules/left-pad/index.js": b"module.exports = 1\n"}, (
        r"node_modules/left-pad/index\.js in {commit} is in a folder Forja does not keep; add it to \.gitignore\."
    )


@pytest.mark.parametrize("kind", ["symlink", "large", "node_modules", "many"])
def test_a_merge_whose_other_parent_breaks_the_rules_is_refused(pusher: Pusher, kind: str) -> None:
    # Work on a side branch that holds what an import refuses, merged into main with main's own tree (-s ours): main's
    # first-parent line, the commits that become versions, holds nothing wrong; the merge brings the side commit along.
    pusher.git("checkout", "--quiet", "-b", "side")
    if kind == "symlink":
        (pusher.clone / "escape").symlink_to("/etc/passwd")
        side = pusher.commit({}, "Side: a link")
        said = r"escape in {commit} is a symbolic link; Forja keeps regular files only\. Remove it first\."
    else:
        files, said = hostile(kind)
        side = pusher.commit(files, f"Side: {kind}")
    pusher.git("checkout", "--quiet", "main")
    pusher.commit({"README.md": b"# Edited on main\n"}, "Edit the readme")
    pusher.git("merge", "--quiet", "--no-edit", "-s", "ours", "side")
    assert pusher.git("ls-tree", "-r", "--name-only", "HEAD").stdout.split() == sorted(TREE)

    pusher.refused(said.format(commit=side[:10]) + " " + re.escape(MERGED))
    assert len(pusher.versions()) == 1


def test_a_second_push_cannot_bring_what_the_first_could_not(pusher: Pusher) -> None:
    """The finding's second round: the side branch grows, and is merged again."""
    pusher.git("checkout", "--quiet", "-b", "side")
    side = pusher.commit({"data.bin": os.urandom(MB)}, "Side: data")
    pusher.git("checkout", "--quiet", "main")
    pusher.git("merge", "--quiet", "--no-edit", "--no-ff", "side")
    pusher.git("rm", "--quiet", "data.bin")
    pusher.git("commit", "--quiet", "-m", "Drop the data")
    pusher.push()  # a megabyte within the rules: taken
    assert len(pusher.versions()) == 3

    pusher.git("checkout", "--quiet", "side")
    files, said = hostile("node_modules")
    grown = pusher.commit(files, "Side: packages")
    pusher.git("checkout", "--quiet", "main")
    pusher.git("merge", "--quiet", "--no-edit", "-s", "ours", "side")
    pusher.refused(said.format(commit=grown[:10]) + " " + re.escape(MERGED))
    assert side != grown and len(pusher.versions()) == 3


def test_pushes_past_the_hourly_count_are_refused_saying_when_to_push_again(pusher: Pusher) -> None:
    for n in range(PUSHES_PER_HOUR):
        pusher.commit({"count.txt": f"{n}\n".encode()}, f"Count {n}")
        pusher.push()
    pusher.commit({"count.txt": b"one too many\n"}, "One too many")
    pusher.refused(
        f"You pushed {PUSHES_PER_HOUR} times in the last hour, the most this Forja takes; nothing was saved\\. "
        "Push again in (59|60) minutes\\."
    )
    assert len(pusher.versions()) == PUSHES_PER_HOUR + 1


def test_a_push_past_the_hourly_bytes_is_refused_before_anything_is_kept(pusher: Pusher) -> None:
    # One push larger than the hour allows: never taken, whenever it comes.
    big = {f"part{n}.bin": os.urandom(1900 * 1024) for n in range(3)}
    pusher.commit(big, "Three parts")
    pusher.refused(
        rf"This push is 5\.\d MB, more than the {MB_PER_HOUR} MB this Forja takes from one person in an hour; nothing "
        r"was saved\. Push fewer commits at a time, or smaller files\."
    )
    pusher.git("reset", "--quiet", "--hard", "origin/main")

    # Pushes that fit one by one, until the next would pass the hour's bytes.
    pusher.commit({"one.bin": os.urandom(1500 * 1024), "two.bin": os.urandom(1500 * 1024)}, "Two parts")
    pusher.push()
    pusher.commit({"three.bin": os.urandom(1500 * 1024), "four.bin": os.urandom(1500 * 1024)}, "Two more")
    pusher.refused(
        rf"You pushed 2\.9 MB in the last hour; this push's 2\.9 MB would pass the {MB_PER_HOUR} MB this Forja takes "
        r"from one person in an hour, so nothing was saved\. Push again in (59|60) minutes\."
    )
    assert len(pusher.versions()) == 2


def test_a_push_larger_than_a_request_may_be_is_refused_before_it_is_read(pusher: Pusher) -> None:
    pusher.commit({f"part{n}.bin": os.urandom(1900 * 1024) for n in range(5)}, "Five parts")
    before, start = pusher.state(), pusher.forja.server.log.stat().st_size
    refused = pusher.git("push", "origin", "main", ok=False)
    assert refused.returncode != 0 and "413" in refused.stderr, refused.stderr
    # Forja answered as soon as the body passed the limit; git, handed the cut pack, refuses it and drops what it had.
    deadline = time.monotonic() + 30
    while pusher.state() != before:
        assert time.monotonic() < deadline, (pusher.state(), before)
        time.sleep(0.2)
    assert "Traceback" not in pusher.forja.server.log.read_bytes()[start:].decode("utf-8", "replace")


def test_the_git_repository_counts_in_the_owners_storage_and_a_push_past_it_is_refused(pusher: Pusher) -> None:
    forja = pusher.forja
    # The clone made the project's git repository: it counts, beside the files of every version.
    assert storage(forja, pusher.who) == files_bytes(TREE) + mirror_bytes(forja, pusher.project)
    assert mirror_bytes(forja, pusher.project) > 0
    usage = {u["name"]: u for u in forja.api(pusher.who, "GET", "/api/account/usage").json()}
    assert usage["storage_mb"]["used"] == round(storage(forja, pusher.who) / MB, 2)

    person = person_id(forja, pusher.who)
    forja.api("ana", "PATCH", f"/api/admin/users/{person}", json={"quotas": {"storage_mb": 1}})
    # 600 KB of files: within a megabyte on their own, past it with the 600 KB git receives to keep them.
    pusher.commit({"photo.bin": os.urandom(600 * 1024)}, "A photo")
    pusher.refused(
        r"This would store 1\.\d MB of files and git history, past the 1 MB its owner may keep on this Forja\. Nothing "
        r"was saved\."
    )

    forja.api("ana", "PATCH", f"/api/admin/users/{person}", json={"quotas": {"storage_mb": 3}})
    pusher.push()
    expected = files_bytes(TREE) + 600 * 1024

    def counted() -> bool:  # measured after the pusher heard back
        return storage(forja, pusher.who) == expected + mirror_bytes(forja, pusher.project)

    deadline = time.monotonic() + 10
    while not counted():
        assert time.monotonic() < deadline, (storage(forja, pusher.who), expected, mirror_bytes(forja, pusher.project))
        time.sleep(0.1)
    assert mirror_bytes(forja, pusher.project) > 600 * 1024


def test_deleting_a_ref_and_other_odd_updates_are_refused_in_words(pusher: Pusher) -> None:
    pusher.refused(r"Forja keeps every version, so a push cannot delete refs/heads/main; nothing was changed\.", ":main")
    pusher.refused(r"Forja keeps every version, so a push cannot delete refs/tags/v1; nothing was changed\.", ":refs/tags/v1")
    pusher.commit({"README.md": b"# New\n"}, "New readme")
    one_branch = r"Forja keeps one branch, main; push to it \(git push origin HEAD:main\), not {ref}\."
    pusher.refused(one_branch.format(ref="refs/tags/mine"), "HEAD:refs/tags/mine")
    pusher.refused(one_branch.format(ref="refs/heads/HEAD"), "main:HEAD")
    pusher.refused(one_branch.format(ref="refs/heads/other"), "HEAD:other")
    tree = pusher.head("HEAD^{tree}")
    # git asks for --force to send it; Forja refuses it, forced or not.
    pusher.refused(f"main takes commits only, and {tree[:10]} is a tree\\.", "--force", f"{tree}:refs/heads/main")
    pusher.push()  # the same commit to main: taken
    assert len(pusher.versions()) == 2


def _pkt(line: bytes) -> bytes:
    return b"%04x" % (len(line) + 4) + line


def _bands(body: bytes) -> dict[int, bytes]:
    """The side-band channels of receive-pack's answer: 1 its report, 2 what the hook printed."""
    bands: dict[int, bytes] = {}
    while body:
        size = int(body[:4], 16)
        if size == 0:
            body = body[4:]
            continue
        payload, body = body[4:size], body[size:]
        bands[payload[0]] = bands.get(payload[0], b"") + payload[1:]
    return bands


def raw_push(pusher: Pusher, old: str, new: str, objects: list[str]) -> dict[int, bytes]:
    """A push whose pack holds exactly `objects`, as a client other than git's own may send it."""
    pack = subprocess.run(
        ["git", "pack-objects", "--stdout"], cwd=pusher.clone, input="\n".join(objects).encode() + b"\n", capture_output=True
    )
    assert pack.returncode == 0, pack.stderr
    body = _pkt(f"{old} {new} refs/heads/main\0report-status side-band-64k agent=test\n".encode()) + b"0000" + pack.stdout
    answer = httpx.post(
        f"{pusher.forja.url}/git/{pusher.project}.git/git-receive-pack",
        content=body,
        headers={"Content-Type": "application/x-git-receive-pack-request"},
        auth=(pusher.who, pusher.forja.tokens[pusher.who]),
        trust_env=False,
        timeout=60,
    )
    assert answer.status_code == 200, answer.text
    return _bands(answer.content)


@pytest.mark.parametrize("arrives", ["loose", "as a pack"])
def test_a_pushed_object_no_commit_holds_is_refused(pusher: Pusher, arrives: str) -> None:
    # git keeps up to 100 objects of a push loose in its quarantine, more as one pack: both are read.
    many = arrives == "as a pack"
    old = pusher.head()
    files = {f"many/f{n}.txt": f"{n}\n".encode() for n in range(120)} if many else {"README.md": b"# Pushed by hand\n"}
    new = pusher.commit(files, "By hand")
    objects = [line.split()[0] for line in pusher.git("rev-list", "--objects", f"{old}..{new}").stdout.splitlines()]
    assert len(objects) > 100 if many else len(objects) < 100
    (pusher.clone.parent / "junk.bin").write_bytes(os.urandom(MB))
    junk = pusher.git("hash-object", "-w", str(pusher.clone.parent / "junk.bin")).stdout.strip()

    before, start = pusher.state(), pusher.forja.server.log.stat().st_size
    refused = raw_push(pusher, old, new, [*objects, junk])
    said = (
        b"This push holds 1 object(s) none of its commits uses; Forja keeps only what the commits hold, so nothing was "
        b"saved. Push with git itself (git push origin main)."
    )
    assert said in refused[2] and b"ng refs/heads/main pre-receive hook declined" in refused[1], refused
    assert pusher.state() == before
    assert "Traceback" not in pusher.forja.server.log.read_bytes()[start:].decode("utf-8", "replace")

    # The same push without the stray object is taken: the client above speaks git's protocol. An object the mirror
    # holds already (the unchanged page's) is no stray one.
    taken = raw_push(pusher, old, new, [*objects, pusher.head("HEAD:index.html")])
    assert b"ok refs/heads/main" in taken[1], taken
    assert [v["message"] for v in pusher.versions()][1:] == [f"Pushed by {pusher.who.title()}: By hand"]


async def test_without_accounts_pushes_are_not_capped(
    services: Services, sqlite_store: ProjectStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Without accounts only this machine may push (tests/integration/test_git_mirror.py): there is nobody to cap.
    monkeypatch.setattr(settings, "git_pushes_per_hour", 1)
    info = await services.accounts.create_user("eve@example.org", "Eve", PASSWORD)
    eve = Actor(info.id, info.email, info.name, info.role)
    await sqlite_store.git_pushed("no-such-project", 0, eve.user_id, 1000)
    caps = PushCaps(sqlite_store)
    for actor in (eve, LOCAL_ACTOR):
        await caps.check(actor, 1000)
    monkeypatch.setattr(settings, "auth", "password")
    with pytest.raises(PushRefused, match="You pushed 1 time in the last hour"):
        await caps.check(eve, 1000)
    await caps.check(LOCAL_ACTOR, 1000)


def committed(repo: Path, files: dict[str, bytes]) -> str:
    """A repository at `repo` with one commit of `files`; the commit."""
    host_git("init", "--quiet", "-b", "main", str(repo), cwd=repo.parent)
    for path, data in files.items():
        (repo / path).parent.mkdir(parents=True, exist_ok=True)
        (repo / path).write_bytes(data)
    host_git("add", "-A", cwd=repo)
    host_git("commit", "--quiet", "-m", "Files", cwd=repo)
    return host_git("rev-parse", "HEAD", cwd=repo).strip()


DEEP = "deep/" + "d/" * 300 + "f.txt"


@pytest.mark.parametrize(
    ("files", "limits", "said"),
    [
        ({}, Limits(1, 2 * MB, 50 * MB, 200), "{commit} has more than 1 files; the limit is 1."),
        ({}, Limits(10, 500, 50 * MB, 200), "big.txt in {commit} is 600 bytes; the limit per file is 500 bytes."),
        ({}, Limits(10, 2 * MB, 650, 200), "{commit}'s files add up to 700 bytes; a project may hold 650 bytes."),
        ({"ok/.env": b"", "ok/link": b""}, Limits(10, 2 * MB, 50 * MB, 200), ""),
        ({DEEP: b"z"}, Limits(10, 2 * MB, 50 * MB, 200), f"File name '{DEEP[:60]}'... is longer than 512 characters."),
        ({"web/dist/app.js": b""}, Limits(10, 2 * MB, 50 * MB, 200), "web/dist/app.js in {commit} is in a folder Forja"),
    ],
)
def test_a_merged_commit_is_held_to_the_rules_a_saved_one_is(
    tmp_path: Path, files: dict[str, bytes], limits: Limits, said: str
) -> None:
    """check_tree (commits merged in: each folder summed once) refuses what tree_of (commits saved) refuses, in the
    same words, and takes what it takes."""
    sha = committed(tmp_path / "repo", {"big.txt": b"x" * 600, "src/app.js": b"y" * 100, **files})
    with ObjectReader(tmp_path / "repo" / ".git", {}) as reader:
        commit = reader.commit(sha)
        for check in (tree_of, check_tree):
            if not said:
                check(reader, sha, commit, limits, Known())
                continue
            with pytest.raises(PushRefused) as refused:
                check(reader, sha, commit, limits, Known())
            assert refused.value.message.startswith(said.format(commit=sha[:10])), (check, refused.value.message)
