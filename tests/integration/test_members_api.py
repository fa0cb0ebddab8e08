"""The people of a project over HTTP (builder.api.members) on SQLite and PostgreSQL: owners add, change and remove
people; viewers see and leave; nobody else learns the project exists; a project always keeps an owner."""

from __future__ import annotations

import pytest

from builder.composition import Services
from tests.accounts import Person


@pytest.fixture
async def project(accounts_on: Services, ana: Person) -> str:
    """Ana's project."""
    return (await accounts_on.projects.create("Bakery", {"index.html": "<h1>Bread</h1>"}, owner=ana.actor.user_id)).project_id


def roles(answer: list[dict[str, str]]) -> dict[str, str]:
    return {member["email"]: member["role"] for member in answer}


async def test_the_owner_adds_a_viewer_who_sees_but_cannot_change(ana: Person, bo: Person, cy: Person, project: str) -> None:
    members = f"/api/projects/{project}/members"
    assert roles((await ana.http.get(members)).json()) == {"ana@example.org": "owner"}
    # Before Bo is added the project does not exist for him, as for anyone without a role.
    assert (await bo.http.get(members)).status_code == 404
    assert (await bo.http.get(f"/api/projects/{project}")).status_code == 404

    added = await ana.http.post(members, json={"email": " BO@example.org ", "role": "viewer"})
    assert added.status_code == 201, added.text
    assert added.json() == {"user_id": bo.actor.user_id, "email": "bo@example.org", "name": "Bo Park", "role": "viewer"}

    listed = await bo.http.get(members)
    assert listed.status_code == 200
    assert [m["email"] for m in listed.json()] == ["ana@example.org", "bo@example.org"], "owners first"
    assert (await bo.http.get(f"/api/projects/{project}/files/index.html")).status_code == 200

    # A viewer cannot change the project or its people; each refusal says what would allow it.
    write = await bo.http.put(f"/api/projects/{project}/files/index.html", json={"content": "<h1>Mine</h1>"})
    assert write.status_code == 403 and "viewer" in write.json()["detail"]
    for method, path, body in [
        ("POST", members, {"email": "cy@example.org", "role": "editor"}),
        ("PATCH", f"{members}/{bo.actor.user_id}", {"role": "owner"}),
        ("DELETE", f"{members}/{ana.actor.user_id}", None),
    ]:
        refused = await bo.http.request(method, path, json=body)
        assert refused.status_code == 403, (method, path)
        assert "only its owner may do that" in refused.json()["detail"]
    # Cy has no role: 404 for every door, as for a project that does not exist.
    for method, path, body in [
        ("GET", members, None),
        ("POST", members, {"email": "cy@example.org", "role": "owner"}),
        ("PATCH", f"{members}/{cy.actor.user_id}", {"role": "owner"}),
        ("DELETE", f"{members}/{bo.actor.user_id}", None),
    ]:
        assert (await cy.http.request(method, path, json=body)).status_code == 404, (method, path)

    # Made an editor, Bo can change the files (still not the people).
    changed = await ana.http.patch(f"{members}/{bo.actor.user_id}", json={"role": "editor"})
    assert changed.status_code == 200 and changed.json()["role"] == "editor"
    write = await bo.http.put(f"/api/projects/{project}/files/index.html", json={"content": "<h1>Ours</h1>"})
    assert write.status_code == 200, write.text
    assert (await bo.http.post(members, json={"email": "cy@example.org", "role": "viewer"})).status_code == 403


async def test_clear_refusals_for_unknown_people_and_roles(accounts_on: Services, ana: Person, bo: Person, project: str) -> None:
    members = f"/api/projects/{project}/members"
    # Ana is the admin, who invites people herself; Bo, on his own project, asks one.
    nobody = await ana.http.post(members, json={"email": "dee@example.org", "role": "editor"})
    assert nobody.status_code == 404
    assert "Invite them from the admin page" in nobody.json()["detail"] and "Ask an admin" not in nobody.json()["detail"]
    his = (await accounts_on.projects.create("Bikes", {"index.html": "<h1>Bikes</h1>"}, owner=bo.actor.user_id)).project_id
    asked = await bo.http.post(f"/api/projects/{his}/members", json={"email": "dee@example.org", "role": "editor"})
    assert asked.status_code == 404 and "Ask an admin to invite them" in asked.json()["detail"]
    bad_role = await ana.http.post(members, json={"email": "bo@example.org", "role": "boss"})
    assert bad_role.status_code == 422
    not_member = await ana.http.patch(f"{members}/{bo.actor.user_id}", json={"role": "viewer"})
    assert not_member.status_code == 404 and "no role in this project" in not_member.json()["detail"]
    assert (await ana.http.delete(f"{members}/{bo.actor.user_id}")).status_code == 404


async def test_a_project_keeps_an_owner_and_members_may_leave(ana: Person, bo: Person, cy: Person, project: str) -> None:
    members = f"/api/projects/{project}/members"
    me = f"{members}/{ana.actor.user_id}"
    # The only owner can neither leave nor step down.
    for refused in [await ana.http.delete(me), await ana.http.patch(me, json={"role": "editor"})]:
        assert refused.status_code == 422
        assert "needs an owner" in refused.json()["detail"]

    assert (await ana.http.post(members, json={"email": "bo@example.org", "role": "viewer"})).status_code == 201
    assert (await ana.http.post(members, json={"email": "cy@example.org", "role": "editor"})).status_code == 201
    # "Leave this project": Bo removes himself with no more than a viewer's role, then no longer sees it.
    assert (await bo.http.delete(f"{members}/{bo.actor.user_id}")).status_code == 204
    assert (await bo.http.get(members)).status_code == 404
    # The owner removes Cy.
    assert (await ana.http.delete(f"{members}/{cy.actor.user_id}")).status_code == 204
    assert (await cy.http.get(f"/api/projects/{project}")).status_code == 404

    # With a second owner, the first may go.
    assert (await ana.http.post(members, json={"email": "bo@example.org", "role": "owner"})).status_code == 201
    assert (await ana.http.delete(me)).status_code == 204
    assert roles((await bo.http.get(members)).json()) == {"bo@example.org": "owner"}
    assert (await ana.http.get(members)).status_code == 404
