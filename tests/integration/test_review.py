"""The review before publish through the real services, the HTTP API and the CLI: a private value pasted into a page
stops its publish (409, the previous release still live) until the owner publishes anyway with a reason (kept with the
release) or confirms the finding, which holds until its file changes. Plain-HTML projects publish with no build, so
these run no preview. SQLite and PostgreSQL. Then the project deleted for good takes its reviews with it."""

from __future__ import annotations

from pathlib import Path

from builder.composition import Services
from builder.models import LOCAL_USER_ID, ProjectRole
from builder.services.reviews import BLOCKED, PROJECT_FILES, SERVER_FILES, SITE_FILES
from tests.accounts import Person
from tests.integration.test_cli import Cli, write_folder
from tests.integration.test_publish import starter_files

SHOP_SECRET = "shop-" + "hush-41f9c2a7d3"  # in parts, so no scanner of this repository takes it for a real one
AWS_KEY = "AKIA" + "IOSFODNN7EXAMPLE"
CLEAN = b"<!doctype html>\n<html><body><h1>Cuts</h1>\n<script>fetch('/api/pay')</script>\n</body></html>\n"
PASTED = CLEAN.replace(b"fetch('/api/pay')", f"fetch('/api/pay', {{headers: {{key: '{SHOP_SECRET}'}}}})".encode())


async def test_a_pasted_private_value_stops_the_publish_until_overridden_or_confirmed(
    accounts_on: Services, bo: Person, cy: Person
) -> None:
    pid = (await accounts_on.projects.create("Cuts", {"index.html": CLEAN}, owner=bo.actor.user_id)).project_id
    await accounts_on.access.add_member(pid, cy.actor.email, ProjectRole.editor)
    await accounts_on.app_env.set(pid, "SHOP_SECRET", SHOP_SECRET, bo.actor.user_id)
    none = await bo.http.get(f"/api/projects/{pid}/review")
    assert none.status_code == 404 and none.json()["detail"].startswith("This project has not been reviewed yet")
    assert (await bo.http.post(f"/api/projects/{pid}/review", json={"version": 9})).status_code == 404
    first = await bo.http.post(f"/api/projects/{pid}/publish", json={})
    assert first.status_code == 201, first.text
    assert (first.json()["review"]["looked_at"], first.json()["review"]["findings"]) == ("the built files of release 1", [])

    await accounts_on.projects.save(pid, {"index.html": PASTED})
    blocked = await cy.http.post(f"/api/projects/{pid}/publish", json={})
    assert blocked.status_code == 409, blocked.text
    body = blocked.json()
    assert (body["detail"], body["release"]) == (BLOCKED.format("1 critical problem", "it"), 2)
    (finding,) = body["review"]["findings"]
    assert (
        finding["finding"]["kind"],
        finding["finding"]["severity"],
        finding["finding"]["file"],
        finding["finding"]["line"],
    ) == (
        "env-value",
        "critical",
        "index.html",
        3,
    )
    assert "SHOP_SECRET" in finding["finding"]["message"] and SHOP_SECRET not in blocked.text
    app = await accounts_on.publishing.app(pid)
    assert app is not None and (app.live_release, app.live_version) == (1, 1)  # the previous release still serves
    assert [(r.number, r.state, r.live) for r in await accounts_on.publishing.releases(pid)] == [
        (2, "blocked", False),
        (1, "ready", True),
    ]
    rollback = await bo.http.post(f"/api/projects/{pid}/releases/2/rollback")
    assert rollback.status_code == 422 and "stopped by the review" in rollback.json()["detail"]

    # Only its owner may publish anyway, and says why in words.
    editor = await cy.http.post(f"/api/projects/{pid}/publish", json={"override_reason": "It is a test key."})
    assert editor.status_code == 403, editor.text
    for reason, words in (("   ", "Say in a few words why"), ("x" * 501, "The reason is 501 characters long")):
        refused = await bo.http.post(f"/api/projects/{pid}/publish", json={"override_reason": reason})
        assert refused.status_code == 422 and refused.json()["detail"].startswith(words), refused.text
    anyway = await bo.http.post(f"/api/projects/{pid}/publish", json={"override_reason": "It is a test key."})
    assert anyway.status_code == 201, anyway.text
    assert (anyway.json()["release"]["number"], anyway.json()["app"]["live_release"]) == (3, 3)
    releases = await accounts_on.publishing.releases(pid)
    assert (releases[0].override_reason, releases[0].user_id) == ("It is a test key.", bo.actor.user_id)

    # Confirmed by its owner, the finding stops no publish while its file is as it was.
    latest = (await cy.http.get(f"/api/projects/{pid}/review")).json()
    fingerprint = latest["findings"][0]["fingerprint"]
    assert (latest["release"], latest["blocking"], latest["findings"][0]["confirmed"]) == (3, 1, None)
    confirm = f"/api/projects/{pid}/review/confirm"
    unknown = await bo.http.post(confirm, json={"fingerprint": "f" * 24, "reason": "Meant."})
    assert unknown.status_code == 404 and "no such finding" in unknown.json()["detail"]
    empty = await bo.http.post(confirm, json={"fingerprint": fingerprint, "reason": ""})
    assert empty.status_code == 422 and empty.json()["detail"].startswith("Say in a few words why")
    assert (await cy.http.post(confirm, json={"fingerprint": fingerprint, "reason": "Meant."})).status_code == 403
    confirmed = await bo.http.post(confirm, json={"fingerprint": fingerprint, "reason": "The shop's key is a demo key."})
    assert confirmed.status_code == 200, confirmed.text
    assert confirmed.json()["blocking"] == 0
    assert confirmed.json()["findings"][0]["confirmed"]["reason"] == "The shop's key is a demo key."
    again = await cy.http.post(f"/api/projects/{pid}/publish", json={})
    assert again.status_code == 201, again.text
    assert again.json()["review"]["findings"][0]["confirmed"]["reason"] == "The shop's key is a demo key."

    # The file changes: the finding is stale, and the next review finds it again, open (the confirmation was of the
    # file as it was).
    await accounts_on.projects.save(pid, {"index.html": b"<!-- moved -->\n" + PASTED})
    stale = (await bo.http.get(f"/api/projects/{pid}/review")).json()
    assert stale["findings"][0]["stale"] is True
    fresh = await cy.http.post(f"/api/projects/{pid}/review", json={})
    assert fresh.status_code == 200, fresh.text
    assert (fresh.json()["looked_at"], fresh.json()["version"], fresh.json()["blocking"]) == (SITE_FILES, 3, 1)
    assert [(f["finding"]["line"], f["stale"], f["confirmed"]) for f in fresh.json()["findings"]] == [(4, False, None)]

    # Deleted for good, the project takes its reviews and confirmations with it.
    await accounts_on.history.delete(pid)
    assert (await accounts_on.history.purge_expired(days=0)).projects == [pid]


async def test_an_unpublished_version_is_reviewed_in_what_its_publish_would_read(services: Services) -> None:
    """A server app: its static folder as the project has it (its code is not served, so not read); a front end still to
    be built: all of the project's files stand in for its page. The starters themselves have no finding but that their
    packages could not be checked (no registry answers in tests; low, for the React starter's lockfile), and the Flask
    starter's doors that it sends neither X-Content-Type-Options nor a Content-Security-Policy (low)."""
    for starter, planted, looked_at in (
        ("flask", "static/app.js", SERVER_FILES),
        ("react-vite-tailwind", "src/App.jsx", PROJECT_FILES),
    ):
        files = starter_files(starter, "Visits")
        clean = (await services.projects.create("Visits", files, owner=LOCAL_USER_ID)).project_id
        review = await services.reviews.review(clean)
        packages = [(f.finding.check, f.finding.severity) for f in review.findings if f.finding.check == "packages"]
        assert packages == ([] if starter == "flask" else [("packages", "low")])
        # The Flask starter's doors, probed in a scratch sandbox: only the basic headers it does not send.
        doors = [(f.finding.kind, f.finding.severity) for f in review.findings if f.finding.check == "doors"]
        assert doors == ([("no-csp", "low"), ("no-nosniff", "low")] if starter == "flask" else [])
        assert (review.looked_at, [f for f in review.findings if f.finding.check not in ("packages", "doors")]) == (looked_at, [])
        key = f"\nconst uploads = '{AWS_KEY}'\n".encode()
        leaky = files | {planted: files[planted] + key, "server.py": b"KEY = '" + AWS_KEY.encode() + b"'\n"}
        pid = (await services.projects.create("Visits", leaky, owner=LOCAL_USER_ID)).project_id
        found = [
            (f.finding.kind, f.finding.file)
            for f in (await services.reviews.review(pid)).findings
            if f.finding.check not in ("packages", "doors")
        ]
        expected = [("aws-access-key", planted)] + ([("aws-access-key", "server.py")] if starter != "flask" else [])
        assert found == sorted(expected, key=lambda kind_file: kind_file[1]), starter


def test_forja_review_exits_1_while_a_critical_finding_is_open(tmp_path: Path) -> None:
    cli = Cli(tmp_path / "data")
    leaky = cli.ok(
        "import",
        str(write_folder(tmp_path / "leaky", {"index.html": f"<h1>Up</h1>\n<script>const k='{AWS_KEY}'</script>\n".encode()})),
    ).strip()
    result = cli.run("review", leaky)
    assert result.returncode == 1, result.stderr
    assert "index.html:2  critical  An AWS Access Key is written in index.html" in result.stdout
    assert AWS_KEY not in result.stdout
    clean = cli.ok("import", str(write_folder(tmp_path / "clean", {"index.html": CLEAN}))).strip()
    assert cli.json("review", clean)["findings"] == []  # exit 0
