"""The CLI against a real Forja HTTP server (`--server URL` and an API token), as from a laptop.

The server is Forja's API with the guards builder/builder.py puts in front of it (read from that file, so the two
cannot drift apart), served by granian on a loopback port with accounts on, in its own process and data dir. The
"laptop" runs `python -m builder` with a data dir of its own, which stays empty: everything goes through the API.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from builder.client.backend import NO_TOKEN
from builder.services.access import no_such_project
from tests.conftest import free_port
from tests.dns_server import LocalDNS
from tests.integration.test_cli import PICTURE, REPO, TREE, Cli, write_folder, zip_bytes, zip_contents

PASSWORD = "correct horse battery"


# The API behind the guards Forja serves it with (builder.api.guarded, which builder/builder.py uses too).
SERVED_MODULE = "from builder.api import api, guarded\n\napp = guarded(api)\n"


@dataclass
class Server:
    url: str
    operator: Cli  # `python -m builder` on the server's machine: its data dir, no --server
    log: Path


@contextmanager
def served_forja(tmp_path: Path, **settings: str) -> Iterator[Server]:
    """Forja's API behind its guards on a loopback port, with accounts on, its data in `tmp_path` (the git server's
    tests use it too)."""
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "forja_served.py").write_text(SERVED_MODULE)
    port = free_port()
    operator = Cli(tmp_path / "server-data", **({"FORJA_AUTH": "password"} | settings))
    operator.env["FORJA_PORT"] = str(port)
    env = operator.env | {"PYTHONPATH": str(REPO)}
    log = tmp_path / "server.log"
    granian = Path(sys.executable).with_name("granian")
    command = [str(granian), "--interface", "asgi", "--host", "127.0.0.1", "--port", str(port), "--no-ws"]
    with log.open("wb") as output:
        process = subprocess.Popen(
            [*command, "--working-dir", str(tmp_path / "app"), "forja_served:app"],
            cwd=REPO,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            assert process.poll() is None, f"the server exited:\n{log.read_text()}"
            try:
                if httpx.get(f"{url}/health", timeout=2, trust_env=False).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, f"the server did not answer:\n{log.read_text()}"
            time.sleep(0.5)
        yield Server(url, operator, log)
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(5)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    with served_forja(tmp_path) as served:
        yield served


def test_a_laptop_works_on_the_server_with_its_token_and_sees_only_its_own(server: Server, tmp_path: Path) -> None:
    operator = server.operator
    operator.ok("user", "create", "ana@example.org", "--name", "Ana", "--password-stdin", input=PASSWORD)
    operator.ok("user", "create", "bo@example.org", "--name", "Bo", "--password-stdin", input=PASSWORD)
    ana = operator.ok("token", "create", "ana@example.org").strip()
    bo = operator.ok("token", "create", "bo@example.org").strip()

    laptop = Cli(tmp_path / "laptop-data", FORJA_SERVER=server.url)
    site = write_folder(tmp_path / "my-site", TREE)
    created = laptop.json("import", str(site), token=ana)
    project = created["id"]
    assert (created["version"], created["files"]) == (1, 3)
    (tmp_path / "shop.zip").write_bytes(zip_bytes(TREE, root="shop/"))
    shop = laptop.ok("import", str(tmp_path / "shop.zip"), "--name", "Barber shop", "--server", server.url, token=ana).strip()

    listed = laptop.json("projects", token=ana)
    assert {(p["id"], p["name"], p["role"]) for p in listed} == {(project, "My site", "owner"), (shop, "Barber shop", "owner")}
    files = laptop.json("files", project, token=ana)
    assert [(f["path"], f["size"]) for f in files] == [(path, len(TREE[path])) for path in sorted(TREE)]
    assert laptop.ok("export", project, "--out", str(tmp_path / "out.zip"), token=ana).strip() == (
        f"Wrote 3 files to {tmp_path / 'out.zip'}"
    )
    assert zip_contents(tmp_path / "out.zip") == TREE
    history = laptop.ok("history", project, token=ana)
    assert history.startswith("* v1") and "Imported 3 files from my-site.zip" in history
    assert laptop.ok("rename", project, "Landing", token=ana).strip() == f"Renamed {project} to Landing"

    share = laptop.json("share", project, "--expires", "24h", token=ana)
    assert share["url"].startswith(f"{server.url}/s/") and share["version"] == 1
    links = laptop.json("shares", project, token=ana)
    assert [(link["id"], link["revoked"]) for link in links] == [(share["id"], False)]

    # Bo's token sees none of it and changes none of it.
    unknown = no_such_project(project).message
    assert laptop.json("projects", token=bo) == []
    assert laptop.refused("files", project, token=bo) == unknown
    assert laptop.refused("export", project, "--out", str(tmp_path / "stolen.zip"), token=bo) == unknown
    assert laptop.refused("history", project, token=bo) == unknown
    assert laptop.refused("share", project, token=bo) == unknown
    assert laptop.refused("shares", project, token=bo) == unknown
    assert laptop.refused("revoke", str(share["id"]), token=bo) == f"There is no share link {share['id']}."
    assert laptop.refused("delete", project, token=bo) == unknown
    assert not (tmp_path / "stolen.zip").exists()

    # The app's variables through the API: names come back, never a value; Bo's token reaches none of them.
    said = laptop.ok("env", "set", project, "MAIL_KEY=mk_remote_5e6f7a8b", token=ana)
    assert "MAIL_KEY is set" in said and "mk_remote" not in said
    assert [v["name"] for v in laptop.json("env", "list", project, token=ana)] == ["MAIL_KEY"]
    assert laptop.refused("env", "list", project, token=bo) == unknown
    assert laptop.refused("env", "set", project, "MAIL_KEY=stolen", token=bo) == unknown
    assert laptop.json("env", "unset", project, "MAIL_KEY", token=ana) == []
    # The preview's data: Ana (its owner) resets it through the API; Bo's token cannot.
    assert laptop.json("data", "reset", project, token=ana) == {"project_id": project, "scope": "preview", "reset": True}
    assert laptop.refused("data", "reset", project, token=bo) == unknown

    assert (
        laptop.ok("revoke", str(share["id"]), token=ana).strip()
        == f"Share link {share['id']} is turned off; people who open it are told so."
    )
    assert [link["revoked"] for link in laptop.json("shares", project, token=ana)] == [True]
    assert httpx.get(share["url"], trust_env=False, timeout=10).status_code == 410  # the server turned it off

    # The rest of the project commands, through the API too.
    with httpx.Client(base_url=server.url, trust_env=False, headers={"Authorization": f"Bearer {ana}"}) as api:
        api.put(f"/api/projects/{project}/files/index.html", json={"content": "<h1>Two</h1>"}).raise_for_status()
    diff = laptop.ok("diff", project, "2", token=ana)
    assert diff.startswith("--- a/index.html\n+++ b/index.html\n") and "\n-<h1>Hi</h1>\n" in diff and "\n+<h1>Two</h1>\n" in diff
    assert diff.strip().endswith("1 files changed, 1 lines added, 1 removed (version 2 against version 1).")
    assert laptop.ok("restore", project, "1", token=ana).strip() == "Restored version 1 as version 3."
    assert laptop.ok("restore", project, "3", token=ana).strip() == "Version 3 already matches the current version 3."
    bundle = laptop.json("export-bundle", project, "--out", str(tmp_path / "site.bundle"), token=ana)
    assert bundle["commits"] == 3 and (tmp_path / "site.bundle").stat().st_size == bundle["bytes"]
    copy = laptop.json("duplicate", project, "--version", "2", "--name", "Two", token=ana)
    assert (copy["name"], copy["version"]) == ("Two", 1)
    (tmp_path / "Logo.png").write_bytes(PICTURE)
    added = laptop.json("add-picture", shop, str(tmp_path / "Logo.png"), token=ana)
    assert (added["path"], added["version"]["number"]) == ("assets/logo.png", 2)
    assert laptop.refused("add-picture", shop, str(tmp_path / "Logo.png"), token=bo) == no_such_project(shop).message
    assert laptop.ok("delete", shop, token=ana).strip().startswith(f"Moved {shop} to the trash")
    assert [t["id"] for t in laptop.json("trash", token=ana)] == [shop]
    assert laptop.refused("undelete", shop, token=bo) == no_such_project(shop).message
    assert laptop.ok("undelete", shop, token=ana).strip() == f"Restored {shop} (Barber shop) from the trash."
    assert {p["id"] for p in laptop.json("projects", token=ana)} == {project, shop, copy["id"]}
    offline = ("--provider", "offline", "--no-verify")
    made = laptop.json("generate", "A page for a bakery", *offline, token=bo)
    assert made["version"] == 1 and made["files"] and made["verification"] is None
    assert [p["id"] for p in laptop.json("projects", token=bo)] == [made["id"]]
    assert laptop.refused("generate", "Make it mine", "--project", project, *offline, token=bo) == unknown

    # Without a token, or with a made-up one, the server refuses in a sentence.
    assert laptop.refused("projects") == NO_TOKEN
    assert laptop.refused("projects", token="forja_made_up").startswith("That API token does not work")
    assert not (laptop.data_dir / "forja.db").exists()  # nothing was done on the laptop's own database


def test_an_admin_made_on_the_command_line_signs_in(server: Server) -> None:
    operator = server.operator
    operator.ok("user", "create", "ana@example.org", "--password-stdin", input=PASSWORD)
    made = operator.json("user", "create", "root@example.org", "--name", "Root", "--admin", "--password-stdin", input=PASSWORD)
    assert made["role"] == "admin"
    with httpx.Client(base_url=server.url, trust_env=False, timeout=10) as client:
        wrong = client.post("/api/auth/sign-in", json={"email": "root@example.org", "password": "not it at all"})
        assert wrong.status_code == 400
        signed_in = client.post("/api/auth/sign-in", json={"email": "root@example.org", "password": PASSWORD})
        assert signed_in.status_code == 200 and signed_in.json() == {"next": "/"}
        me = client.get("/api/auth/me")
        assert me.status_code == 200
        assert (me.json()["email"], me.json()["role"]) == ("root@example.org", "admin")


def test_run_settings_through_the_cli_and_the_api(server: Server, tmp_path: Path, local_dns: LocalDNS) -> None:
    operator = server.operator
    operator.ok("user", "create", "ana@example.org", "--name", "Ana", "--password-stdin", input=PASSWORD)
    ana = operator.ok("token", "create", "ana@example.org").strip()
    laptop = Cli(tmp_path / "laptop-data", FORJA_SERVER=server.url)
    files = {"web/index.html": "<h1>Web</h1>", "api/app.py": "print('api')\n"}
    headers = {"Authorization": f"Bearer {ana}"}
    with httpx.Client(base_url=server.url, trust_env=False, headers=headers, timeout=30) as api:
        project = api.post("/api/projects", json={"name": "Two apps", "files": files}).json()["id"]

        shown = laptop.json("run-settings", project, token=ana)
        assert shown == {"command": "", "folder": "", "folders": ["api", "web"]}
        changed = laptop.json("run-settings", project, "--command", "python app.py --port $PORT", "--folder", "api/", token=ana)
        assert (changed["command"], changed["folder"]) == ("python app.py --port $PORT", "api")
        # The server's own CLI (its database, no --server) reads what the API kept, and changes one setting alone.
        assert operator.ok("run-settings", project, "--folder", "", token=ana) == (
            "command: python app.py --port $PORT\nfolder:  (the project root)\n"
        )
        refused = laptop.refused("run-settings", project, "--folder", "mobile", token=ana)
        assert (
            refused
            == "There is no folder mobile/ in this project: pick one of its folders, or leave it empty for the project's root."
        )
        path = f"/api/projects/{project}/run-settings"
        assert api.get(path).json() == {"command": "python app.py --port $PORT", "folder": "", "folders": ["api", "web"]}
        for body, said in (
            ({"command": "a\u0000b"}, "the command must be one line"),
            ({"folder": "../etc"}, "must be a path inside the project"),
            ({"folder": "web\nx"}, "without newlines"),
            ({"comand": "typo"}, "comand"),
        ):
            answer = api.put(path, json=body)
            assert answer.status_code == 422 and said in answer.text, (body, answer.text)
        missing = api.put(path, json={"folder": "docs"})
        assert missing.status_code == 422 and missing.json()["detail"].startswith("There is no folder docs/ in this project")
        cleared = api.put(path, json={"command": "", "folder": "web"})
        assert cleared.status_code == 200 and cleared.json()["folder"] == "web"
        copy = api.post(f"/api/projects/{project}/duplicate", json={}).json()["id"]
        assert api.get(f"/api/projects/{copy}/run-settings").json()["folder"] == "web"

        # Published from the laptop: the page folder the run settings name, served by the server at the app's own host.
        published = laptop.json("publish", project, "--name", "two-apps", token=ana)
        assert published["name"] == "two-apps" and published["release"]["number"] == 1
        host = published["url"].split("://", 1)[1]
        assert api.get("/", headers={"Host": host}).text == "<h1>Web</h1>"
        assert api.get("/api/projects", headers={"Host": host}).status_code == 404  # the app's host is not Forja's
        assert laptop.ok("releases", project, token=ana).split()[:4] == ["1", "v1", "ready", "live"]
        domain = laptop.json("domain", project, "--set", "two.example.test", token=ana)
        assert (domain["record_name"], domain["record_value"]) == ("two.example.test", host.split(":")[0])
        assert api.get("/", headers={"Host": "two.example.test"}).status_code == 400  # not proved yet: not served
        local_dns.set(domain["proof_name"], "TXT", domain["proof_value"])  # the server asks the tests' DNS server
        checked = laptop.ok("domain", project, "--check", token=ana)
        assert checked.startswith("two.example.test: proved (served)\n"), checked
        assert f"TXT  _forja-verify.two.example.test  ->  {domain['proof_value']}" in checked
        assert api.get("/", headers={"Host": "two.example.test"}).text == "<h1>Web</h1>"
        assert laptop.ok("domain", project, "--remove", token=ana).strip().endswith("has no domain of its own any more.")
        assert laptop.ok("unpublish", project, token=ana).strip().endswith("it answers that the app was unpublished.")
        assert api.get("/", headers={"Host": host}).status_code == 410
        assert laptop.refused("rollback", project, "7", token=ana) == f"Project {project} has no release 7."


def test_publish_on_the_command_line_refuses_unreadable_data_rules_and_prints_risky_ones(server: Server, tmp_path: Path) -> None:
    operator = server.operator
    operator.ok("user", "create", "ana@example.org", "--name", "Ana", "--password-stdin", input=PASSWORD)
    ana = operator.ok("token", "create", "ana@example.org").strip()
    laptop = Cli(tmp_path / "laptop-data", FORJA_SERVER=server.url)
    files = {"index.html": "<h1>Bookings</h1>", ".forja/data.json": '{"collections": {"bookings": {"read": "all"}}}'}
    with httpx.Client(base_url=server.url, trust_env=False, headers={"Authorization": f"Bearer {ana}"}, timeout=30) as api:
        project = api.post("/api/projects", json={"name": "Bookings", "files": files}).json()["id"]
        assert laptop.refused("publish", project, token=ana) == (
            'In collection "bookings", "read" must be "public", "signed-in", "owner" or "admin" (or leave it out, and no '
            "one may)."
        )
        assert laptop.ok("releases", project, token=ana).strip() == f"Project {project} was never published."

        risky = '{"collections": {"bookings": {"read": "signed-in", "create": "signed-in"}}}'
        api.put(f"/api/projects/{project}/files/.forja/data.json", json={"content": risky}).raise_for_status()
        said = laptop.ok("publish", project, token=ana)
        assert said.endswith(
            "Check its data rules (.forja/data.json):\n"
            "  - Anyone who signs in can see every row of 'bookings', not only their own.\n"
        ), said
        assert laptop.json("publish", project, token=ana)["risks"] == [
            "Anyone who signs in can see every row of 'bookings', not only their own."
        ]

        # Rules that let anyone delete rows: the review stops the publish, unless its owner publishes anyway, saying why.
        public = '{"collections": {"bookings": {"read": "owner", "create": "signed-in", "delete": "public"}}}'
        api.put(f"/api/projects/{project}/files/.forja/data.json", json={"content": public}).raise_for_status()
        assert laptop.refused("publish", project, token=ana).startswith("The review found 1 critical problem in this version")
        anyway = laptop.json("publish", project, "--anyway", "A demo for the shop.", token=ana)
        assert (anyway["release"]["override_reason"], anyway["release"]["live"]) == ("A demo for the shop.", True)
