"""The people of a published app managed over Forja's API (builder.api.app_people), on SQLite and PostgreSQL, with real
API tokens: the project's owner and this Forja's admin list, turn off and on, make admin and remove the app's accounts;
a turned-off person is signed out at once and cannot sign in; a viewer of the project is refused (403), a stranger
learns nothing (404); bad input is told in a sentence."""

from __future__ import annotations

import pytest

from builder.composition import Services
from builder.errors import SignInRefused
from builder.models import ProjectRole
from builder.services.access import no_such_project
from builder.services.app_data import Scope
from builder.services.throttle import Attempt
from tests.accounts import Person, someone

LIVE = Scope.live
WHO = Attempt("127.0.0.7")
SECRET = "a long secret"


@pytest.fixture
async def project(accounts_on: Services, bo: Person, cy: Person) -> str:
    """Bo's project (Bo is no admin of this Forja; Ana, the first account, is), which Cy may view."""
    created = await accounts_on.projects.create("Barber", {"index.html": b"<h1>Cuts</h1>"}, owner=bo.actor.user_id)
    await accounts_on.access.add_member(created.project_id, "cy@example.org", ProjectRole.viewer)
    return created.project_id


async def test_the_owner_turns_a_person_off_and_on_makes_them_admin_and_removes_them(
    accounts_on: Services, bo: Person, project: str
) -> None:
    users = accounts_on.app_users
    base = f"/api/projects/{project}/app-users"
    assert (await bo.http.get(base)).json() == []
    kept = await users.sign_up(project, LIVE, "kim@example.org", SECRET, WHO)
    token = await users.sign_up(project, LIVE, "lee@example.org", SECRET, WHO)
    listed = await bo.http.get(base)
    assert listed.status_code == 200, listed.text
    people = {person["email"]: person for person in listed.json()}
    assert list(people) == ["kim@example.org", "lee@example.org"]
    lee = people["lee@example.org"]
    assert (lee["role"], lee["disabled_at"]) == ("user", None) and lee["created_at"]

    off = await bo.http.post(f"{base}/{lee['id']}/disable")
    assert off.status_code == 200, off.text
    assert off.json()["disabled_at"] is not None
    # Signed out at once, and refused at the next sign-in; the other person stays signed in.
    assert await users.account_of(project, LIVE, token) is None
    with pytest.raises(SignInRefused, match="turned off"):
        await users.sign_in(project, LIVE, "lee@example.org", SECRET, WHO)
    assert await users.account_of(project, LIVE, kept) is not None

    on = await bo.http.post(f"{base}/{lee['id']}/enable")
    assert on.status_code == 200 and on.json()["disabled_at"] is None
    again = await users.sign_in(project, LIVE, "lee@example.org", SECRET, WHO)

    made = await bo.http.put(f"{base}/{lee['id']}/role", json={"role": "admin"})
    assert made.status_code == 200 and made.json()["role"] == "admin"
    assert (await users.viewer_of(project, LIVE, again)).role == "admin"
    back = await bo.http.put(f"{base}/{lee['id']}/role", json={"role": "user"})
    assert back.json()["role"] == "user" and (await users.viewer_of(project, LIVE, again)).role == "user"

    removed = await bo.http.delete(f"{base}/{lee['id']}")
    assert removed.status_code == 204, removed.text
    assert [person["email"] for person in (await bo.http.get(base)).json()] == ["kim@example.org"]
    assert await users.account_of(project, LIVE, again) is None
    with pytest.raises(SignInRefused, match="do not match"):
        await users.sign_in(project, LIVE, "lee@example.org", SECRET, WHO)
    gone = await bo.http.post(f"{base}/{lee['id']}/disable")
    assert gone.status_code == 404 and "Nobody with that id has an account on this app" in gone.json()["detail"]


async def test_a_viewer_and_a_stranger_are_refused_and_an_admin_of_forja_is_let_in(
    accounts_on: Services, ana: Person, bo: Person, cy: Person, project: str
) -> None:
    users = accounts_on.app_users
    token = await users.sign_up(project, LIVE, "lee@example.org", SECRET, WHO)
    lee = (await bo.http.get(f"/api/projects/{project}/app-users")).json()[0]["id"]
    base = f"/api/projects/{project}/app-users"
    doors = [
        ("GET", base, None),
        ("POST", f"{base}/{lee}/disable", None),
        ("POST", f"{base}/{lee}/enable", None),
        ("PUT", f"{base}/{lee}/role", {"role": "admin"}),
        ("DELETE", f"{base}/{lee}", None),
    ]
    async with someone(accounts_on, "dee@example.org", "Dee Stranger") as dee:
        for method, path, body in doors:
            viewer = await cy.http.request(method, path, json=body)
            assert viewer.status_code == 403, (method, path, viewer.text)
            assert "only its owner may do that" in viewer.json()["detail"]
            stranger = await dee.http.request(method, path, json=body)
            assert stranger.status_code == 404, (method, path, stranger.text)
            assert stranger.json()["detail"] == no_such_project(project).message
    assert await users.account_of(project, LIVE, token) is not None, "nothing refused changed anything"
    assert (await users.viewer_of(project, LIVE, token)).role == "user"

    # Ana has no role in Bo's project, but looks after every app of this Forja.
    assert [p["email"] for p in (await ana.http.get(base)).json()] == ["lee@example.org"]
    assert (await ana.http.post(f"{base}/{lee}/disable")).status_code == 200
    assert await users.account_of(project, LIVE, token) is None
    # ...yet a project that does not exist is one for her too.
    assert (await ana.http.get("/api/projects/nosuchproject/app-users")).status_code == 404


async def test_bad_input_is_told_in_a_sentence(accounts_on: Services, bo: Person, project: str) -> None:
    users = accounts_on.app_users
    other = (await accounts_on.projects.create("Polls", {"index.html": b"<h1>b</h1>"}, owner=bo.actor.user_id)).project_id
    await users.sign_up(other, LIVE, "lee@example.org", SECRET, WHO)
    elsewhere = (await bo.http.get(f"/api/projects/{other}/app-users")).json()[0]["id"]
    base = f"/api/projects/{project}/app-users"
    # Another app's person is nobody on this one, even to the owner of both.
    for method, path, body in [
        ("POST", f"{base}/{elsewhere}/disable", None),
        ("PUT", f"{base}/{elsewhere}/role", {"role": "admin"}),
        ("DELETE", f"{base}/{elsewhere}", None),
        ("POST", f"{base}/{'x' * 500}/enable", None),
    ]:
        answer = await bo.http.request(method, path, json=body)
        assert answer.status_code == 404, (method, path, answer.text)
        assert "Nobody with that id" in answer.json()["detail"]
    for body in ({"role": "owner"}, {}, {"role": "admin", "email": "x@example.org"}):
        answer = await bo.http.put(f"{base}/{elsewhere}/role", json=body)
        assert answer.status_code == 422, (body, answer.text)
        # FastAPI's own answer, as for every other body of the API: the field and what is wrong with it.
        assert answer.json()["detail"][0]["msg"] and answer.json()["detail"][0]["loc"][0] == "body"
    assert (await users.viewer_of(other, LIVE, None)).user_id is None
    roles = [p["role"] for p in (await bo.http.get(f"/api/projects/{other}/app-users")).json()]
    assert roles == ["user"]
