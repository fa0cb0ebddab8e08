"""An app's data rules (`.forja/data.json`) at publish, through the services and through the HTTP API: a version whose
rules cannot be read is refused with the sentence that says what to write (422), before any release is made; a version
with risky rules publishes, and the answer lists exactly their sentences; the review the Publish dialog reads before the
person presses publish says the same. Plain-HTML projects publish with no build, so these run no preview. SQLite and
PostgreSQL."""

from __future__ import annotations

import json

import pytest

from builder.app_backend.rules import RULES_PATH
from builder.composition import Services
from builder.errors import RulesError
from builder.models import Author
from tests.accounts import Person

PAGE = b"<!doctype html><html><head><title>Bookings</title></head><body><h1>Book a cut</h1></body></html>"
RISKY = {
    "collections": {
        "bookings": {"read": "owner", "create": "signed-in", "update": "owner", "delete": "public"},
        "notes": {"read": "signed-in", "create": "signed-in"},
        "slots": {"read": "public", "create": "admin", "update": "admin", "delete": "admin"},
    }
}
# The owner's words for RISKY, in the order of its collections and their actions (read, create, update, delete).
RISKY_WORDS = [
    "Anyone, even without signing in, can delete any row of 'bookings'.",
    "Anyone who signs in can see every row of 'notes', not only their own.",
    "Anyone, even without signing in, can see every row of 'slots'.",
]
SAFE = {"collections": {"bookings": {"read": "owner", "create": "signed-in", "update": "owner", "delete": "admin"}}}
BROKEN = b'{"collections": {"bookings": {"read": "everyone"}}}'
BROKEN_WORDS = (
    'In collection "bookings", "read" must be "public", "signed-in", "owner" or "admin" (or leave it out, and no one may).'
)


async def app_with(services: Services, owner: Person, rules: bytes | None) -> str:
    files = {"index.html": PAGE} | ({RULES_PATH: rules} if rules is not None else {})
    return (await services.projects.create("Barber bookings", files, owner=owner.actor.user_id)).project_id


async def test_rules_that_cannot_be_read_refuse_the_publish_before_any_release(accounts_on: Services, bo: Person) -> None:
    pid = await app_with(accounts_on, bo, BROKEN)
    assert await accounts_on.publishing.rules_review(pid) == await accounts_on.publishing.rules_review(pid, 1)
    review = await accounts_on.publishing.rules_review(pid)
    assert (review.error, review.risks) == (BROKEN_WORDS, [])

    with pytest.raises(RulesError) as refused:
        await accounts_on.publishing.publish(pid, user_id=bo.actor.user_id)
    assert refused.value.message == BROKEN_WORDS
    answer = await bo.http.post(f"/api/projects/{pid}/publish", json={})
    assert answer.status_code == 422, answer.text
    assert answer.json() == {"detail": BROKEN_WORDS}
    assert await accounts_on.publishing.releases(pid) == []  # nothing was built, no release was made
    assert await accounts_on.publishing.app(pid) is None  # nor was a name taken

    # Fixed in a new version, it publishes; the broken version stays refused by number.
    await accounts_on.projects.save(pid, {RULES_PATH: json.dumps(SAFE).encode()}, author=Author.user)
    assert (await accounts_on.publishing.rules_review(pid)).model_dump() == {"risks": [], "error": ""}
    published = await accounts_on.publishing.publish(pid, user_id=bo.actor.user_id)
    assert (published.release.version, published.app.state, published.risks) == (2, "live", [])
    again = await bo.http.post(f"/api/projects/{pid}/publish", json={"version": 1})
    assert again.status_code == 422 and again.json()["detail"] == BROKEN_WORDS
    assert [r.number for r in await accounts_on.publishing.releases(pid)] == [1]


async def test_risky_rules_publish_and_the_answer_lists_exactly_their_sentences(accounts_on: Services, bo: Person) -> None:
    pid = await app_with(accounts_on, bo, json.dumps(RISKY).encode())
    review = await accounts_on.publishing.rules_review(pid)
    assert (review.risks, review.error) == (RISKY_WORDS, "")  # what the Publish dialog shows before the press

    # Anyone may delete bookings: a critical finding of the review, so the publish goes ahead only with a reason.
    blocked = await bo.http.post(f"/api/projects/{pid}/publish", json={})
    assert blocked.status_code == 409, blocked.text
    assert [f["finding"]["kind"] for f in blocked.json()["review"]["findings"]] == [
        "public-write",
        "public-read",
        "signed-in-read",
    ]
    published = await accounts_on.publishing.publish(pid, user_id=bo.actor.user_id, override_reason="Bookings are a demo.")
    assert (published.app.state, published.release.state, published.risks) == ("live", "ready", RISKY_WORDS)

    answer = await bo.http.post(f"/api/projects/{pid}/publish", json={"override_reason": "Still a demo."})
    assert answer.status_code == 201, answer.text
    body = answer.json()
    assert (body["release"]["number"], body["risks"]) == (3, RISKY_WORDS)


async def test_no_rules_file_or_safe_rules_publish_with_no_risks(accounts_on: Services, bo: Person) -> None:
    bare = await app_with(accounts_on, bo, None)
    assert (await accounts_on.publishing.rules_review(bare)).model_dump() == {"risks": [], "error": ""}
    answer = await bo.http.post(f"/api/projects/{bare}/publish", json={})
    assert answer.status_code == 201, answer.text
    assert answer.json()["risks"] == []

    safe = await app_with(accounts_on, bo, json.dumps(SAFE).encode())
    assert (await accounts_on.publishing.publish(safe, user_id=bo.actor.user_id)).risks == []
