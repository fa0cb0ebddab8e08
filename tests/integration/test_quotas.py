"""Quotas per person on a server with accounts stop work before it starts, with a sentence that says which limit and what
to do: model tokens and cost a day (before any request reaches the model), previews at once (share links' previews
count in a pool of their own instead), projects owned and storage. Real SDKs against the scripted model server, real
previews, SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from builder.api import api, guarded
from builder.composition import Services
from builder.errors import QuotaExceeded, SharePreviewsBusy, busy
from builder.models import ProjectRole
from builder.schemas import QuotaSet
from builder.services.access import Actor
from builder.settings import settings
from tests.accounts import client
from tests.llm_server import ScriptedLLMServer, ToolAnswer, Usage

PAGE = "<!doctype html><title>Hi</title><h1>Hello</h1>"


async def person(accounts_on: Services, name: str, admin: bool = False) -> Actor:
    user = await accounts_on.accounts.create_user(f"{name}@example.org", name.title(), f"{name}-password-1", admin=admin)
    return Actor(user.id, user.email, user.name, user.role)


def answer() -> dict[str, object]:
    return {"title": "Hello", "summary": "A greeting.", "files": [{"path": "index.html", "content": PAGE}]}


async def test_tokens_a_day_stop_the_next_request_before_it_is_sent(
    accounts_on: Services, scripted_llm: ScriptedLLMServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    admin = await person(accounts_on, "ana", admin=True)
    bo = await person(accounts_on, "bo")
    # The first request could use its input plus 16,000 output tokens; 40,000 a day leaves room for it, and not for
    # another after it used 30,000.
    await accounts_on.accounts.set_quotas(admin, bo.user_id, QuotaSet(tokens_day=40_000, cost_day_usd=0))
    scripted_llm.queue(ToolAnswer(answer(), usage=Usage(20_000, 10_000)))
    project = await accounts_on.generations.create_from_prompt("A greeting page", "anthropic", owner=bo.user_id, verify=False)
    events = [event async for event in accounts_on.generations.follow(project)]
    assert events[-1].type == "done", events[-1]
    with pytest.raises(QuotaExceeded) as refused:
        await accounts_on.generations.start(project, "Make it blue", "anthropic", user_id=bo.user_id, verify=False)
    assert refused.value.status == 429 and refused.value.quota == "tokens_day"
    assert "You used 30,000 of your 40,000 model tokens today" in refused.value.message
    assert len(scripted_llm.requests) == 1
    # Someone else's quota is their own; and the person's usage says where they stand.
    usage = {use.name: use for use in await accounts_on.quotas.usage(bo)}
    assert (usage["tokens_day"].used, usage["tokens_day"].limit) == (30_000, 40_000)
    assert usage["tokens_day"].shown == "30,000 of 40,000 tokens today"
    scripted_llm.queue(ToolAnswer(answer()))
    other = await accounts_on.generations.create_from_prompt("A greeting page", "anthropic", owner=admin.user_id, verify=False)
    assert [event async for event in accounts_on.generations.follow(other)][-1].type == "done"


async def test_cost_a_day_refuses_over_the_api_with_429(accounts_on: Services, scripted_llm: ScriptedLLMServer) -> None:
    admin = await person(accounts_on, "ana", admin=True)
    bo = await person(accounts_on, "bo")
    token = (await accounts_on.accounts.create_token(bo, "script")).token
    # $0.10 a day is less than one request's largest cost (16,000 output tokens at $15/M is $0.24).
    await accounts_on.quotas.set_defaults(QuotaSet(cost_day_usd=0.10))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=guarded(api)), base_url="http://127.0.0.1:3000") as http:
        refused = await http.post(
            "/api/generate", json={"prompt": "A page", "provider": "anthropic"}, headers={"Authorization": f"Bearer {token}"}
        )
    assert refused.status_code == 429, refused.text
    body = refused.json()
    assert body["quota"] == "cost_day_usd" and body["limit"] == 0.10 and "$0.10 a day" in body["detail"]
    assert scripted_llm.requests == []
    assert (await accounts_on.projects.page(bo, 10)).total == 0  # the refused request left no project behind
    # An admin's own value for the person wins over the default; 0 is no limit.
    await accounts_on.accounts.set_quotas(admin, bo.user_id, QuotaSet(cost_day_usd=0))
    assert (await accounts_on.quotas.limits(bo.user_id)).cost_day_usd == 0


async def test_projects_and_storage_quotas(accounts_on: Services) -> None:
    admin = await person(accounts_on, "ana", admin=True)
    bo = await person(accounts_on, "bo")
    await accounts_on.accounts.set_quotas(admin, bo.user_id, QuotaSet(projects=2, storage_mb=1))
    first = await accounts_on.projects.create("One", {"index.html": PAGE}, owner=bo.user_id)
    await accounts_on.history.duplicate(first.project_id, owner=bo.user_id)
    with pytest.raises(QuotaExceeded, match="You own 2 projects, your limit"):
        await accounts_on.projects.create("Three", {"index.html": PAGE}, owner=bo.user_id)
    with pytest.raises(QuotaExceeded, match="You own 2 projects"):
        await accounts_on.history.duplicate(first.project_id, owner=bo.user_id)
    # A project Bo edits but does not own counts to its owner.
    anas = await accounts_on.projects.create("Ana's", {"index.html": PAGE}, owner=admin.user_id)
    await accounts_on.access.add_member(anas.project_id, bo.email, ProjectRole.editor)
    big = "x" * (700 * 1024)
    await accounts_on.projects.save(anas.project_id, {"big.txt": big, "big2.txt": big + "y"})
    # Storage counts each content once, whatever versions keep it: 600 KB is fine twice over, a second 600 KB is not.
    half = "z" * (600 * 1024)
    await accounts_on.projects.save(first.project_id, {"half.txt": half})
    await accounts_on.projects.save(first.project_id, {"index.html": PAGE + "<p>v3</p>"})
    await accounts_on.projects.save(first.project_id, {"copy.txt": half})
    before = await accounts_on.projects.get(first.project_id)
    with pytest.raises(QuotaExceeded, match=r"This would store 1\.2 MB of files, past the 1 MB its owner may keep") as refused:
        await accounts_on.projects.save(first.project_id, {"other.txt": "w" * (600 * 1024)})
    assert refused.value.quota == "storage_mb"
    assert (await accounts_on.projects.get(first.project_id)).current_version == before.current_version  # nothing saved
    usage = {use.name: use for use in await accounts_on.quotas.usage(bo)}
    assert usage["projects"].shown == "2 of 2"
    assert 0.58 < usage["storage_mb"].used < 0.62


@pytest.mark.usefixtures("local_previews")
async def test_previews_at_once_are_the_owners_own_and_share_links_have_a_pool_of_their_own(
    accounts_on: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(settings, "share_previews", 2)
    admin = await person(accounts_on, "ana", admin=True)
    bo = await person(accounts_on, "bo")
    await accounts_on.accounts.set_quotas(admin, bo.user_id, QuotaSet(previews=2))
    ids = [(await accounts_on.projects.create(f"Site {n}", {"index.html": PAGE}, owner=bo.user_id)).project_id for n in range(4)]
    # Strangers open three of Bo's links at once: the pool holds two, and one visitor is told the app is busy.
    opened = await asyncio.gather(*(accounts_on.version_previews.start(pid, 1) for pid in ids[:3]), return_exceptions=True)
    refusals = [result for result in opened if isinstance(result, BaseException)]
    assert len(refusals) == 1 and isinstance(refusals[0], SharePreviewsBusy), opened
    assert refusals[0].status == 503 and busy(refusals[0]) and "This app is busy right now" in refusals[0].message
    waiting = ids[opened.index(refusals[0])]
    # None of them counts against Bo, whose own previews start as many as his quota allows, full pool or not.
    assert {use.name: use.used for use in await accounts_on.quotas.usage(bo)}["previews"] == 0
    await accounts_on.previews.start(ids[0], started_by=bo.user_id)
    await accounts_on.previews.start(ids[1], started_by=bo.user_id)
    await accounts_on.previews.start(ids[0], started_by=bo.user_id)  # the running one is reused: no new preview
    with pytest.raises(QuotaExceeded, match="2 previews of this project owner's apps are running") as refused:
        await accounts_on.previews.start(ids[2], started_by=bo.user_id)
    assert refused.value.quota == "previews"
    # The busy link's page and its status say so in words (503), never the owner's 429.
    token = (await accounts_on.shares.create(waiting)).token
    async with client() as http:
        page = await http.get(f"/s/{token}")
        assert page.status_code == 503 and "This app is busy" in page.text and page.headers["retry-after"]
        status = await http.get(f"/s/{token}/status")
        assert status.status_code == 503 and status.json()["state"] == "busy"
        # Bo's full quota refuses none of his links: once a shared app stops, the waiting one starts.
        running = next(pid for pid in ids[:3] if pid != waiting)
        assert await accounts_on.version_previews.stop(running, 1)
        started = await http.get(f"/s/{token}/status")
        assert started.status_code == 200 and started.json()["state"] in ("starting", "running")
    # An admin's previews are their own count.
    anas = await accounts_on.projects.create("Ana's", {"index.html": PAGE}, owner=admin.user_id)
    await accounts_on.previews.start(anas.project_id, started_by=admin.user_id)
    await accounts_on.previews.stop(ids[0])
    await accounts_on.previews.start(ids[2], started_by=bo.user_id)
    assert {use.name: use.used for use in await accounts_on.quotas.usage(bo)}["previews"] == 2
