"""Git tokens through the HTTP API and git's HTTP routes as Forja serves them (its guards in front), on SQLite and
PostgreSQL: made, listed and revoked by their person only; each opens git's routes of its own project and nothing
else, a read token never pushes, and an expired, revoked or orphaned one is refused with a sentence.

tests/integration/test_git_tokens.py runs the real `git` CLI against a real Forja with them.
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import update
from sqlmodel import col, select

from builder.composition import Services
from builder.db import session_factory
from builder.models import GitToken, ProjectRole, utcnow
from builder.services.access import no_such_project
from builder.settings import settings
from builder.store import ProjectStore
from tests.accounts import Person, client

TREE = {"index.html": "<h1>Ana's page</h1>\n"}
UPLOAD, RECEIVE = "git-upload-pack", "git-receive-pack"


@dataclass
class Team:
    services: Services
    store: ProjectStore
    ana: Person  # owns both projects
    bo: Person  # a viewer of `site`
    cy: Person  # an editor of `site`
    site: str
    other: str


@pytest.fixture
async def team(accounts_on: Services, store: ProjectStore, ana: Person, bo: Person, cy: Person) -> AsyncIterator[Team]:
    site = (await accounts_on.projects.create("Site", TREE, owner=ana.actor.user_id)).project_id
    other = (await accounts_on.projects.create("Other", TREE, owner=ana.actor.user_id)).project_id
    await accounts_on.access.add_member(site, bo.actor.email, ProjectRole.viewer)
    await accounts_on.access.add_member(site, cy.actor.email, ProjectRole.editor)
    yield Team(accounts_on, store, ana, bo, cy, site, other)


async def make(person: Person, project: str, **body: object) -> dict[str, object]:
    made = await person.http.post(f"/api/projects/{project}/git-tokens", json=body)
    assert made.status_code == 201, made.text
    return made.json()


async def refs(project: str, token: str, service: str = UPLOAD) -> httpx.Response:
    """What `git clone` (upload-pack) or `git push` (receive-pack) asks first, with the token as the password."""
    async with client() as http:
        return await http.get(f"/git/{project}.git/info/refs", params={"service": service}, auth=("git", token))


def said(answer: httpx.Response) -> str:
    """git's plain-text refusal, checked to be one: a 4xx in words, never a 500 or a traceback."""
    assert 400 <= answer.status_code < 500, answer.text
    assert answer.headers["content-type"].startswith("text/plain") and "Traceback" not in answer.text
    return answer.text.strip()


async def test_a_git_token_is_made_listed_and_revoked_by_its_person_only(team: Team) -> None:
    before = utcnow()
    made = await make(team.bo, team.site)
    token = str(made["token"])
    assert made["access"] == "read" and made["project_name"] == "Site"
    assert token.startswith("forja_git_") and token.startswith(str(made["hint"])) and len(token) == len("forja_git_") + 43
    expires = datetime.fromisoformat(str(made["expires_at"]))
    assert timedelta(days=30) <= expires - before < timedelta(days=30, minutes=1)
    assert made["url"] == f"http://127.0.0.1:3000/git/{team.site}.git"
    assert f"password={token}" in str(made["setup"]) and token not in str(made["clone"])

    # Kept as its SHA-256 only: no column holds the token.
    async with session_factory(team.store.engine)() as session:
        row = (await session.exec(select(GitToken).where(GitToken.id == made["id"]))).one()
    assert row.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert token not in repr(row.model_dump())

    # A viewer gets a read token only; someone with no role in the project, none.
    pushing = await team.bo.http.post(f"/api/projects/{team.site}/git-tokens", json={"access": "write"})
    assert pushing.status_code == 403 and "You are a viewer of this project" in pushing.json()["detail"]
    stranger = await team.bo.http.post(f"/api/projects/{team.other}/git-tokens", json={})
    assert stranger.status_code == 404 and stranger.json()["detail"] == no_such_project(team.other).message
    for days, status in ((0, 422), (91, 422), (-1, 422), (10**30, 422)):
        asked = await team.bo.http.post(f"/api/projects/{team.site}/git-tokens", json={"days": days})
        assert asked.status_code == status, (days, asked.text)
    too_long = await team.bo.http.post(f"/api/projects/{team.site}/git-tokens", json={"days": 91})
    assert "from 1 to 90 days" in too_long.json()["detail"]

    listed = (await team.bo.http.get("/api/account/git-tokens")).json()
    assert [(t["id"], t["project_name"], t["access"]) for t in listed] == [(made["id"], "Site", "read")]
    assert all("token" not in t for t in listed), "a listed git token shows only its first characters"
    assert (await team.cy.http.get("/api/account/git-tokens")).json() == []
    assert (await team.cy.http.delete(f"/api/account/git-tokens/{made['id']}")).status_code == 404
    assert (await refs(team.site, token)).status_code == 200
    assert (await team.bo.http.delete(f"/api/account/git-tokens/{made['id']}")).status_code == 204
    assert (await team.bo.http.get("/api/account/git-tokens")).json() == []
    again = await team.bo.http.delete(f"/api/account/git-tokens/{made['id']}")
    assert again.status_code == 404 and "no such git token" in again.json()["detail"]
    assert (await team.bo.http.delete(f"/api/account/git-tokens/{2**63}")).status_code == 404


async def test_a_git_token_opens_git_of_its_own_project_and_nothing_else(team: Team) -> None:
    read = str((await make(team.cy, team.site))["token"])
    write = str((await make(team.cy, team.site, access="write", days=7))["token"])
    assert (await refs(team.site, read)).status_code == 200
    assert (await refs(team.site, write, RECEIVE)).status_code == 200
    assert said(await refs(team.site, read, RECEIVE)) == (
        "This git token may clone and fetch, not push. Make one that may push in the project's Clone dialog."
    )
    async with client() as http:
        posted = await http.post(f"/git/{team.site}.git/git-receive-pack", auth=("git", read))
        assert posted.status_code == 403  # the push itself, not only its first request

    # Another project, one that exists or one that does not: the same answer, so a token tells nothing of either.
    for project in (team.other, "nosuchproject"):
        refused = await refs(project, write)
        assert refused.status_code == 403
        assert said(refused) == "This git token is for another project. Make one for this project in its Clone dialog."

    # The API and the pages take no git token.
    async with client(authorization=f"Bearer {write}") as script:
        for method, path in (("GET", "/api/projects"), ("GET", f"/api/projects/{team.site}"), ("GET", "/api/auth/me")):
            answer = await script.request(method, path)
            assert answer.status_code == 401, path
            assert "A git token works only for git" in answer.json()["detail"]
        more = await script.post(f"/api/projects/{team.site}/git-tokens", json={})
        assert more.status_code == 401
    assert len((await team.services.projects.get(team.site)).versions) == 1


async def test_the_role_is_checked_each_time_a_git_token_is_used(team: Team) -> None:
    write = str((await make(team.cy, team.site, access="write"))["token"])
    assert (await refs(team.site, write, RECEIVE)).status_code == 200
    await team.services.access.add_member(team.site, team.cy.actor.email, ProjectRole.viewer)
    demoted = await refs(team.site, write, RECEIVE)
    assert demoted.status_code == 403 and said(demoted).startswith("You are a viewer of this project")
    assert (await refs(team.site, write)).status_code == 200  # still a viewer: may fetch
    await team.services.access.remove_member(team.site, team.cy.actor.user_id)
    gone = await refs(team.site, write)
    assert gone.status_code == 404 and said(gone) == "Not found."


async def test_expired_revoked_and_unknown_git_tokens_are_refused_in_a_sentence(team: Team) -> None:
    made = await make(team.bo, team.site)
    token = str(made["token"])
    async with session_factory(team.store.engine)() as session, session.begin():
        yesterday = datetime(2026, 11, 27, 9, 30, tzinfo=UTC)
        await session.exec(update(GitToken).where(col(GitToken.id) == made["id"]).values(expires_at=yesterday))
    expired = await refs(team.site, token)
    assert expired.status_code == 401 and expired.headers["www-authenticate"].startswith("Basic")
    assert said(expired) == "This git token expired on 27 Nov 2026 (UTC). Make a new one in the project's Clone dialog."
    assert (await team.bo.http.get("/api/account/git-tokens")).json() == []  # only those that still work are listed

    revoked = str((await make(team.bo, team.site))["token"])
    [listed] = (await team.bo.http.get("/api/account/git-tokens")).json()
    assert (await team.bo.http.delete(f"/api/account/git-tokens/{listed['id']}")).status_code == 204
    refused = await refs(team.site, revoked)
    assert refused.status_code == 401
    assert said(refused) == "This git token was revoked. Make a new one in the project's Clone dialog."

    unknown = await refs(team.site, "forja_git_" + "x" * 43)
    assert unknown.status_code == 401
    assert (
        said(unknown)
        == "That token does not work: it was revoked, or never existed. Make a new one in the project's Clone dialog."
    )

    # A disabled account's git tokens stop at once, as its API tokens do.
    working = str((await make(team.cy, team.site))["token"])
    await team.services.accounts.set_disabled(team.ana.actor, team.cy.actor.user_id, True)
    disabled = await refs(team.site, working)
    assert disabled.status_code == 401 and "account is disabled" in said(disabled)


async def test_revoking_an_api_token_revokes_the_git_tokens_made_with_it(team: Team) -> None:
    script_token = await team.services.accounts.create_token(team.ana.actor, "script")
    async with client(authorization=f"Bearer {script_token.token}") as script:
        made = await script.post(f"/api/projects/{team.site}/git-tokens", json={"access": "write"})
    assert made.status_code == 201, made.text
    by_script = str(made.json()["token"])
    by_sign_in = (await team.services.git_tokens.create(team.ana.actor, team.site, "http://127.0.0.1:3000")).token
    assert (await refs(team.site, by_script, RECEIVE)).status_code == 200

    assert (await team.ana.http.delete(f"/api/account/tokens/{script_token.id}")).status_code == 204
    assert said(await refs(team.site, by_script, RECEIVE)).startswith("This git token was revoked.")
    assert (await refs(team.site, by_sign_in)).status_code == 200  # made without that API token: it stays
    assert made.json()["id"] not in [t["id"] for t in (await team.ana.http.get("/api/account/git-tokens")).json()]


async def test_a_person_has_a_bounded_number_of_git_tokens(team: Team, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(settings, "tokens_per_person", 2)
    for _ in range(2):
        await make(team.bo, team.site)
    third = await team.bo.http.post(f"/api/projects/{team.site}/git-tokens", json={})
    assert third.status_code == 429 and "You have 2 git tokens" in third.json()["detail"]


async def test_a_purged_project_takes_its_git_tokens_along(team: Team) -> None:
    token = str((await make(team.bo, team.site))["token"])
    await team.services.history.delete(team.site)
    purged = await team.store.purge_trashed(utcnow() + timedelta(seconds=1))
    assert team.site in purged.projects
    assert (await team.bo.http.get("/api/account/git-tokens")).json() == []
    assert (await refs(team.site, token)).status_code == 401
