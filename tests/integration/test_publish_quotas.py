"""Published apps everywhere a person looks, and their quotas: a publish past the owner's live apps or build minutes
today is refused before it builds anything (429, a sentence that names the limit), the admin lists every app with
its owner and size, and the home cards get every card's app in one query. Plain-HTML projects publish with no build,
so these run no preview; build minutes come from releases written through the store. SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import event

from builder.composition import Services
from builder.errors import Forbidden, QuotaExceeded
from builder.models import Author, ProjectRole
from builder.publish.addresses import app_url
from builder.schemas import QuotaSet
from builder.services.quotas import midnight
from builder.state.account import quota_note
from builder.state.home import app_fields
from builder.store import ProjectStore
from tests.accounts import Person

PAGE = "<!doctype html><html><head><title>{0}</title></head><body><h1>{0}</h1>" + "<p>Open daily.</p>" * 100 + "</body></html>"


async def site(services: Services, owner: Person, name: str) -> str:
    created = await services.projects.create(name, {"index.html": PAGE.format(name).encode()}, owner=owner.actor.user_id)
    return created.project_id


async def spent(store: ProjectStore, project_id: str, user_id: str, seconds: float, days_ago: int = 0) -> None:
    """A release that took `seconds` to build (failed: nothing on disk), made today or `days_ago` days before."""
    release = await store.new_release(project_id, 1, user_id)
    release.state, release.error, release.build_s = "failed", "made by the test", seconds
    if days_ago:
        release.created_at = midnight() - timedelta(days=days_ago, hours=-1)
    await store.finish_release(release)


async def test_published_apps_past_the_limit_are_refused_until_one_is_taken_down(
    accounts_on: Services, ana: Person, bo: Person
) -> None:
    await accounts_on.accounts.set_quotas(ana.actor, bo.actor.user_id, QuotaSet(published_apps=1))
    first, second = await site(accounts_on, bo, "Barber"), await site(accounts_on, bo, "Bakery")
    assert (await accounts_on.publishing.publish(first, user_id=bo.actor.user_id)).app.state == "live"

    refused = await bo.http.post(f"/api/projects/{second}/publish", json={})
    assert refused.status_code == 429, refused.text
    body = refused.json()
    assert (body["quota"], body["used"], body["limit"]) == ("published_apps", 1, 1)
    assert "1 published apps live" in body["detail"] and "Take one of the others down" in body["detail"]
    assert await accounts_on.publishing.releases(second) == []  # refused before any release or build
    assert await accounts_on.publishing.app(second) is None

    # Publishing the live one again adds no app; someone else's apps are their own.
    again = await accounts_on.publishing.publish(first, user_id=bo.actor.user_id)
    assert again.release.number == 2
    theirs = await site(accounts_on, ana, "Ana's page")
    await accounts_on.publishing.publish(theirs, user_id=ana.actor.user_id)

    usage = {use.name: use for use in await accounts_on.quotas.usage(bo.actor)}
    assert usage["published_apps"].shown == "1 of 1 live"
    note, full = quota_note(list(usage.values()))
    assert "You used all of the published apps you may have live (1 of 1)." in note and full

    await accounts_on.publishing.unpublish(first)
    assert (await accounts_on.publishing.publish(second, user_id=bo.actor.user_id)).app.state == "live"
    # An admin's 0 is no limit.
    await accounts_on.accounts.set_quotas(ana.actor, bo.actor.user_id, QuotaSet(published_apps=0))
    assert (await accounts_on.publishing.publish(first, user_id=bo.actor.user_id)).app.state == "live"


async def test_build_minutes_today_stop_the_next_publish(
    accounts_on: Services, store: ProjectStore, ana: Person, bo: Person, cy: Person
) -> None:
    await accounts_on.quotas.set_defaults(QuotaSet(build_minutes_day=10))
    pid = await site(accounts_on, bo, "Barber")
    # Yesterday's builds and another person's today do not count.
    await spent(store, pid, bo.actor.user_id, 3_000, days_ago=1)
    await spent(store, await site(accounts_on, cy, "Cy's page"), cy.actor.user_id, 3_000)
    assert (await accounts_on.publishing.publish(pid, user_id=bo.actor.user_id)).app.state == "live"

    # 540 s today: 9 of 10 minutes, an amber note, and publishing still works.
    await spent(store, pid, bo.actor.user_id, 540)
    usage = {use.name: use for use in await accounts_on.quotas.usage(bo.actor)}
    assert usage["build_minutes_day"].limit == 10 and 9 <= usage["build_minutes_day"].used < 9.1
    assert "of today's publish build minutes" in quota_note([usage["build_minutes_day"]])[0]
    await accounts_on.publishing.publish(pid, user_id=bo.actor.user_id)

    # Builds count against the project's owner, whoever publishes: 60 s more, published by an editor.
    await accounts_on.access.add_member(pid, cy.actor.email, ProjectRole.editor)
    await spent(store, pid, cy.actor.user_id, 60)
    before = len(await accounts_on.publishing.releases(pid))
    with pytest.raises(QuotaExceeded) as refused:
        await accounts_on.publishing.publish(pid, user_id=cy.actor.user_id)
    assert refused.value.status == 429 and refused.value.quota == "build_minutes_day"
    assert refused.value.limit == 10 and refused.value.used >= 10
    assert "of their 10 minutes today" in refused.value.message and "after midnight (UTC)" in refused.value.message
    assert len(await accounts_on.publishing.releases(pid)) == before  # nothing was built
    # A higher limit of their own lets them go on.
    await accounts_on.accounts.set_quotas(ana.actor, bo.actor.user_id, QuotaSet(build_minutes_day=60))
    await accounts_on.publishing.publish(pid, user_id=cy.actor.user_id)


async def test_the_admin_lists_published_apps_with_owner_and_size(
    accounts_on: Services, store: ProjectStore, ana: Person, bo: Person
) -> None:
    live, down = await site(accounts_on, bo, "Barber"), await site(accounts_on, bo, "Bakery")
    await site(accounts_on, bo, "Never published")
    published = await accounts_on.publishing.publish(live, name="cuts", user_id=bo.actor.user_id)
    await accounts_on.publishing.publish(down, user_id=bo.actor.user_id)
    await accounts_on.publishing.unpublish(down)

    rows = {row.name: row for row in await accounts_on.admin.published_apps(ana.actor)}
    assert set(rows) == {"cuts", "bakery"}
    cuts = rows["cuts"]
    assert (cuts.project_id, cuts.project_name, cuts.owner_email, cuts.url) == (live, "Barber", "bo@example.org", app_url("cuts"))
    assert (cuts.state, cuts.live_release, cuts.live_version) == ("live", 1, 1)
    assert cuts.live_size_bytes == published.release.size_bytes > 0
    # On disk: the page and its compressed forms, so more than the page alone.
    assert cuts.disk_bytes > (cuts.live_size_bytes or 0)
    bakery = rows["bakery"]
    assert (bakery.state, bakery.live_release, bakery.live_size_bytes) == ("unpublished", None, None)

    await store.trash(down)
    assert {row.name: row.state for row in await accounts_on.admin.published_apps(ana.actor)}["bakery"] == "trashed"

    answer = await ana.http.get("/api/admin/apps")
    assert answer.status_code == 200 and [app["name"] for app in answer.json()] == ["bakery", "cuts"]
    assert (await bo.http.get("/api/admin/apps")).status_code == 403
    with pytest.raises(Forbidden):
        await accounts_on.admin.published_apps(bo.actor)


async def test_home_cards_get_every_cards_app_in_one_query(accounts_on: Services, store: ProjectStore, bo: Person) -> None:
    ids = [await site(accounts_on, bo, f"Site {n}") for n in range(4)]
    for pid in ids[:3]:
        await accounts_on.publishing.publish(pid, user_id=bo.actor.user_id)
    await accounts_on.projects.save(ids[2], {"index.html": PAGE.format("New").encode()}, author=Author.user)
    await accounts_on.publishing.publish(ids[2], user_id=bo.actor.user_id)
    await accounts_on.publishing.unpublish(ids[1])
    await accounts_on.publishing.rollback(ids[2], 1)

    statements: list[str] = []

    def counted(_conn, _cursor, statement: str, *_args) -> None:
        statements.append(statement)

    event.listen(store.engine.sync_engine, "before_cursor_execute", counted)
    try:
        apps = await accounts_on.publishing.apps(ids)
    finally:
        event.remove(store.engine.sync_engine, "before_cursor_execute", counted)
    assert len(statements) == 1, statements

    cards = [app_fields(apps.get(pid)) for pid in ids]
    assert cards[0] == {"app_url": app_url("site-0"), "app_state": "live"}
    assert cards[1] == {"app_url": "", "app_state": "unpublished"}  # taken down: no link
    assert cards[2] == {"app_url": app_url("site-2"), "app_state": "live"}
    assert cards[3] == {"app_url": "", "app_state": ""}  # never published
    assert (apps[ids[2]].live_release, apps[ids[2]].live_version) == (1, 1)
