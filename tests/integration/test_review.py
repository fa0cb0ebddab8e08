"""The review before publish through the real services, the HTTP API and the CLI: a private value pasted into a page
stops its publish (409, the previous release still live) until the owner publishes anyway with a reason (kept with the
release) or confirms the finding, which holds until its file changes; meanwhile the admin page's list of apps live with
open findings names it (with the owner's reason), and not once the finding is confirmed or a clean version is live, nor
a project never published. Plain-HTML projects publish with no build, so these run no preview. SQLite and PostgreSQL.
Then the project deleted for good takes its reviews with it."""

from __future__ import annotations

import asyncio
from pathlib import Path

from builder.composition import Services
from builder.models import LOCAL_USER_ID, ProjectRole
from builder.review.shown import fix_request
from builder.services.reviews import BLOCKED, PROJECT_FILES, SERVER_FILES, SITE_FILES
from tests.accounts import Person
from tests.integration.test_cli import Cli, write_folder
from tests.integration.test_publish import starter_files
from tests.integration.test_review_doors import APPS, REPLAYED
from tests.llm_server import ScriptedLLMServer, ToolAnswer

SHOP_SECRET = "shop-" + "hush-41f9c2a7d3"  # in parts, so no scanner of this repository takes it for a real one
AWS_KEY = "AKIA" + "IOSFODNN7EXAMPLE"
CLEAN = b"<!doctype html>\n<html><body><h1>Cuts</h1>\n<script>fetch('/api/pay')</script>\n</body></html>\n"
# Anyone may read every dish: a high finding, which stops no publish.
MENU_RULES = b'{"collections": {"dishes": {"read": "public", "create": "signed-in", "update": "owner", "delete": "owner"}}}'
PASTED = CLEAN.replace(b"fetch('/api/pay')", f"fetch('/api/pay', {{headers: {{key: '{SHOP_SECRET}'}}}})".encode())


async def live_with_findings(admin: Person) -> list[tuple[str, int, int, str]]:
    """The admin's list of apps live with open findings: each project, its critical and high counts, and the reason."""
    answer = await admin.http.get("/api/admin/reviews")
    assert answer.status_code == 200, answer.text
    return [(row["project_id"], row["critical"], row["high"], row["override_reason"]) for row in answer.json()]


async def test_a_pasted_private_value_stops_the_publish_until_overridden_or_confirmed(
    accounts_on: Services, ana: Person, bo: Person, cy: Person
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

    # Live with a critical finding: the admin's list names it with the owner's reason, before an app live with a high
    # one (anyone may read its rows); a project never published with the same finding is not in it; a member may not
    # read it.
    menu_files = {"index.html": CLEAN, ".forja/data.json": MENU_RULES}
    menu = (await accounts_on.projects.create("Menu", menu_files, owner=bo.actor.user_id)).project_id
    menu_live = await bo.http.post(f"/api/projects/{menu}/publish", json={})
    assert menu_live.status_code == 201, menu_live.text
    unpublished = (await accounts_on.projects.create("Drafts", {"index.html": PASTED}, owner=bo.actor.user_id)).project_id
    await accounts_on.app_env.set(unpublished, "SHOP_SECRET", SHOP_SECRET, bo.actor.user_id)
    assert (await accounts_on.reviews.review(unpublished)).blocking == 1
    assert await live_with_findings(ana) == [(pid, 1, 0, "It is a test key."), (menu, 0, 1, "")]
    row = (await accounts_on.admin.live_findings(ana.actor))[0]
    assert (row.name, row.owner_email, row.live_release, row.reviewed_version) == ("cuts", bo.actor.email, 3, 2)
    member = await cy.http.get("/api/admin/reviews")
    assert member.status_code == 403 and member.json()["detail"] == "Only an admin of this Forja may do that."

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
    assert await live_with_findings(ana) == [(menu, 0, 1, "")]
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
    # The live release went out with it confirmed: no reason.
    assert await live_with_findings(ana) == [(pid, 1, 0, ""), (menu, 0, 1, "")]
    await accounts_on.projects.save(pid, {"index.html": CLEAN})
    assert (await bo.http.post(f"/api/projects/{pid}/publish", json={})).status_code == 201
    assert await live_with_findings(ana) == [(menu, 0, 1, "")]

    # Deleted for good, the project takes its reviews and confirmations with it.
    await accounts_on.history.delete(pid)
    assert (await accounts_on.history.purge_expired(days=0)).projects == [pid]


async def test_an_unpublished_version_is_reviewed_in_what_its_publish_would_read(services: Services) -> None:
    """A server app: its static folder as the project has it (its code is not served, so not read); a front end still to
    be built: all of the project's files stand in for its page. The starters themselves have no finding but that their
    packages could not be checked (no registry answers in tests; low, for the React starter's lockfile), and the Flask
    starter's doors that it sends no Content-Security-Policy (low); it does send X-Content-Type-Options."""
    for starter, planted, looked_at in (
        ("flask", "static/app.js", SERVER_FILES),
        ("react-vite-tailwind", "src/App.jsx", PROJECT_FILES),
    ):
        files = starter_files(starter, "Visits")
        clean = (await services.projects.create("Visits", files, owner=LOCAL_USER_ID)).project_id
        review = await services.reviews.review(clean)
        packages = [(f.finding.check, f.finding.severity) for f in review.findings if f.finding.check == "packages"]
        assert packages == ([] if starter == "flask" else [("packages", "low")])
        # The Flask starter's doors, probed in a scratch sandbox: only the basic header it does not send.
        doors = [(f.finding.kind, f.finding.severity) for f in review.findings if f.finding.check == "doors"]
        assert doors == ([("no-csp", "low")] if starter == "flask" else [])
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


async def test_a_server_app_that_knows_its_people_is_used_as_one_and_tried_as_another(services: Services) -> None:
    """A Flask app that reads who is asking from Forja's header, reviewed on demand: in its scratch sandbox it is used
    in Chromium as one made-up person and each of its requests tried as another and as nobody. Its list keeps each
    person's notes apart; its note by id does not, and the review says so with the request that showed it."""
    notes = {name: (APPS / name).read_bytes() for name in ("notes_page.html", "notes_page.js")}
    files = starter_files("flask", "Notes") | notes | {"app.py": (APPS / "flask_notes_open.py").read_bytes()}
    pid = (await services.projects.create("Notes", files, owner=LOCAL_USER_ID)).project_id
    review = await services.reviews.review(pid)
    replayed = {
        (f.finding.kind, f.finding.severity.value, f.finding.request) for f in review.findings if f.finding.check == "replay"
    }
    assert replayed == REPLAYED["flask_notes_open"]


async def test_fix_this_sends_the_finding_and_a_scripted_models_change_clears_it(
    services: Services, scripted_llm: ScriptedLLMServer
) -> None:
    """What the Publish dialog's Fix this sends (the finding's fix and place, no value), answered by a model that
    takes the value out: the next review finds nothing, and the value never reached the model, not even in the file
    it was sent (it saw a placeholder, which its edit names)."""
    pid = (await services.projects.create("Cuts", {"index.html": PASTED}, owner=LOCAL_USER_ID)).project_id
    await services.app_env.set(pid, "SHOP_SECRET", SHOP_SECRET, LOCAL_USER_ID)
    (found,) = (await services.reviews.review(pid)).findings
    assert (found.finding.kind, found.finding.severity) == ("env-value", "critical")
    # The model saw the value as a placeholder (builder/generation/hidden.py), and names it so in its edit.
    seen = "{headers: {key: '[hidden: the value of SHOP_SECRET]'}}"
    edit = {"path": "index.html", "search": f"fetch('/api/pay', {seen})", "replace": "fetch('/api/pay')"}
    scripted_llm.queue(ToolAnswer({"summary": "The key is read on the server now.", "edits": [edit]}))
    await services.generations.start(pid, fix_request(found.finding), "anthropic", verify=False, user_id=LOCAL_USER_ID)
    async with asyncio.timeout(120):
        events = [event async for event in services.generations.follow(pid)]
    assert events[-1].type == "done" and events[-1].version == 2, [e.message for e in events]
    asked = scripted_llm.requests[0].text
    assert "SHOP_SECRET" in asked and "index.html" in asked and seen in asked
    assert all(SHOP_SECRET not in request.text for request in scripted_llm.requests)
    assert (await services.reviews.review(pid)).findings == []


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
