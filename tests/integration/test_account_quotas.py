"""A quota that refuses a generation says so in its own sentence, on SQLite and PostgreSQL: the day's model tokens
before the first request is sent (the follow-up box shows the refusal), the storage before a save (the page shows the
generation's error event, never "an internal error")."""

from __future__ import annotations

import pytest

from builder.composition import Services
from builder.errors import QuotaExceeded
from builder.schemas import QuotaSet
from tests.accounts import Person
from tests.llm_server import ScriptedLLMServer

PAGE = {"index.html": "<!doctype html>\n<title>Bread</title>\n<h1>Fresh Bread at seven</h1>\n"}


async def follow_up(services: Services, ana: Person, project_id: str, prompt: str, provider: str) -> str:
    """The error a follow-up that started ended with."""
    await services.generations.start(project_id, prompt, provider, verify=False, user_id=ana.actor.user_id)
    events = [event async for event in services.generations.follow(project_id)]
    assert events[-1].type == "error", events[-1]
    return events[-1].message


async def test_the_days_tokens_stop_a_request_before_it_is_sent(
    accounts_on: Services, ana: Person, scripted_llm: ScriptedLLMServer
) -> None:
    project_id = (await accounts_on.projects.create("Bakery", PAGE, owner=ana.actor.user_id)).project_id
    await accounts_on.accounts.set_quotas(ana.actor, ana.actor.user_id, QuotaSet(tokens_day=500))
    with pytest.raises(QuotaExceeded) as refused:
        await accounts_on.generations.start(project_id, "add a contact form", "anthropic", user_id=ana.actor.user_id)
    message = refused.value.message
    assert refused.value.status == 429
    assert message.startswith("You used 0 of your 500 model tokens today, and the next request could use up to ")
    assert "Your quota starts again at midnight (UTC)" in message
    assert scripted_llm.requests == [], "nothing was sent to the model"
    assert await accounts_on.generations.records(project_id) == []


async def test_the_storage_stops_a_save(accounts_on: Services, ana: Person) -> None:
    big = {**PAGE, "data.txt": "x" * 1_200_000}
    project_id = (await accounts_on.projects.create("Big bakery", big, owner=ana.actor.user_id)).project_id
    await accounts_on.accounts.set_quotas(ana.actor, ana.actor.user_id, QuotaSet(storage_mb=1))
    message = await follow_up(accounts_on, ana, project_id, 'replace "Fresh Bread" with "Warm Cake"', "offline")
    assert message.startswith(
        "This would store 1.1 MB of files, past the 1 MB its owner may keep on this Forja. Nothing was saved."
    )
    # Ana is the admin: she raises her own limit, and is not told to ask one.
    assert message.endswith("or raise the storage limit on the admin page.")
    assert [v.number for v in await accounts_on.projects.versions(project_id)] == [1]


async def test_someone_not_an_admin_is_told_to_ask_one(accounts_on: Services, ana: Person, bo: Person) -> None:
    await accounts_on.projects.create("Bikes", PAGE, owner=bo.actor.user_id)
    await accounts_on.accounts.set_quotas(ana.actor, bo.actor.user_id, QuotaSet(projects=1))
    with pytest.raises(QuotaExceeded) as refused:
        await accounts_on.projects.create("More bikes", PAGE, owner=bo.actor.user_id)
    assert refused.value.message.startswith("You own 1 project, your limit on this Forja.")
    assert refused.value.message.endswith("or ask an admin to raise your limit.")
