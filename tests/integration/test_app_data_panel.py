"""A published app's data as its owner sees it over Forja's API (builder.api.app_data_panel, the Data panel's), on
SQLite and PostgreSQL, with real API tokens: the owner and this Forja's admin list the collections and every row
whoever made it, change a row's data and delete it (written to the change log the app's streams read), and export a collection as
CSV; a viewer of the project is refused (403), a stranger learns nothing (404); bad input is told in a sentence."""

from __future__ import annotations

import csv
import io
import json

import pytest

from builder.app_backend.identity import AppViewer
from builder.app_backend.rules import parse_rules
from builder.composition import Services
from builder.models import ProjectRole
from builder.services.access import no_such_project
from builder.services.app_data import Scope
from builder.store import ProjectStore
from tests.accounts import Person, someone
from tests.integration.test_app_rows import RULES

LIVE = Scope.live
KIM, LEE = AppViewer(user_id="kim"), AppViewer(user_id="lee")


@pytest.fixture
async def project(accounts_on: Services, bo: Person, cy: Person) -> str:
    """Bo's project (Bo is no admin of this Forja; Ana, the first account, is), which Cy may view."""
    created = await accounts_on.projects.create("Barber", {"index.html": b"<h1>Cuts</h1>"}, owner=bo.actor.user_id)
    await accounts_on.access.add_member(created.project_id, "cy@example.org", ProjectRole.viewer)
    return created.project_id


async def test_the_owner_sees_changes_deletes_and_exports_every_row_and_no_one_else_reaches_them(
    accounts_on: Services, store: ProjectStore, ana: Person, bo: Person, cy: Person, project: str
) -> None:
    rows, rules = accounts_on.app_rows, parse_rules(json.dumps(RULES).encode())
    first = await rows.create(project, LIVE, rules, "bookings", KIM, {"slot": "10:00", "who": "Kim"})
    second = await rows.create(project, LIVE, rules, "bookings", LEE, {"slot": "11:00", "who": "=HYPERLINK(1)", "n": 2})
    await rows.create(project, LIVE, rules, "notes", KIM, {"text": "Closed on Monday"})
    base = f"/api/projects/{project}/app-data"

    assert (await bo.http.get(base)).json() == [{"name": "bookings", "rows": 2}, {"name": "notes", "rows": 1}]
    assert (await ana.http.get(base)).status_code == 200  # this Forja's admin, with no role in the project
    assert (await bo.http.get(base, params={"scope": "preview"})).json() == []  # the preview's data is apart
    page = (await bo.http.get(f"{base}/bookings", params={"limit": 1})).json()
    assert [row["id"] for row in page["rows"]] == [second.id] and page["next_offset"] == 1  # both users' rows, newest first
    rest = (await bo.http.get(f"{base}/bookings", params={"offset": 1})).json()
    assert [row["id"] for row in rest["rows"]] == [first.id] and rest["next_offset"] is None

    exported = await bo.http.get(f"{base}/bookings/csv")
    assert exported.status_code == 200 and exported.headers["content-type"] == "text/csv; charset=utf-8"
    assert exported.headers["content-disposition"] == 'attachment; filename="bookings.csv"'
    table = list(csv.reader(io.StringIO(exported.text)))
    assert table[0] == ["id", "owner", "created_at", "updated_at", "slot", "who", "n"]
    assert table[1] == [second.id, "lee", second.created_at, second.updated_at, "11:00", "'=HYPERLINK(1)", "2"]
    assert table[2] == [first.id, "kim", first.created_at, first.updated_at, "10:00", "Kim", ""]

    changed = await bo.http.put(f"{base}/bookings/{first.id}", json={"data": {"slot": "09:00"}})
    assert changed.status_code == 200 and changed.json()["data"] == {"slot": "09:00"}
    assert (await rows.get(project, LIVE, rules, "bookings", KIM, first.id)).data == {"slot": "09:00"}
    assert (await bo.http.delete(f"{base}/bookings/{first.id}")).status_code == 204
    gone = await bo.http.delete(f"{base}/bookings/{first.id}")
    assert gone.status_code == 404 and "There is no row" in gone.json()["detail"]
    # Written like the app's own changes: a change stream of the app hears them.
    kinds = [change.kind for change in await store.data_changes(project, LIVE, "bookings", 0, 10)]
    assert kinds == ["create", "create", "update", "delete"]

    for answer, status, words in [
        (await bo.http.put(f"{base}/bookings/{second.id}", json={"data": [1]}), 422, "A row is a JSON object"),
        (await bo.http.put(f"{base}/bookings/{second.id}", json={"data": {"t": "x" * (65 * 1024)}}), 413, "at most 64 KB"),
        (await bo.http.get(f"{base}/bookings", params={"limit": 500}), 422, "1 to 100 rows"),
    ]:
        assert answer.status_code == status, answer.text
        assert words in answer.json()["detail"], answer.text
    assert (await bo.http.get(base, params={"scope": "elsewhere"})).status_code == 422

    # The project's viewer is refused; a person with no role in it learns nothing, not even that it exists.
    async with someone(accounts_on, "dee@example.org", "Dee Ray") as dee:
        for method, path in [
            ("GET", base),
            ("GET", f"{base}/bookings"),
            ("GET", f"{base}/bookings/csv"),
            ("DELETE", f"{base}/bookings/{second.id}"),
        ]:
            viewer = await cy.http.request(method, path)
            assert viewer.status_code == 403 and "Ask its owner" in viewer.json()["detail"], viewer.text
            stranger = await dee.http.request(method, path)
            assert (stranger.status_code, stranger.json()["detail"]) == (404, no_such_project(project).message)
    refused = await cy.http.put(f"{base}/bookings/{second.id}", json={"data": {"slot": "x"}})
    assert refused.status_code == 403
    assert (await accounts_on.app_rows.get(project, LIVE, rules, "bookings", LEE, second.id)).data["slot"] == "11:00"
