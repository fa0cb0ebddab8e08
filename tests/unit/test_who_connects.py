"""Who can connect a model, in the words each reader can act on: an admin is told to do it themselves, anyone else to
ask the person who runs this Forja."""

from __future__ import annotations

import pytest

from builder.generation.offline_fit import decide
from builder.generation.providers.offline import CANNOT_CHANGE, personalise
from builder.generation.starters import load_starters
from builder.generation.who_connects import ASK_ADMIN, NOT_CONNECTED, for_reader, tells_admin
from builder.state.plan import AGENT_OFFLINE

ASK = "the person who runs"


def expense_summary() -> str:
    prompt = "a simple expense tracker with categories and a chart"
    return decide(prompt, personalise(prompt).features, load_starters()).summary("Expense Tracker")


@pytest.mark.parametrize(
    "text",
    [CANNOT_CHANGE, AGENT_OFFLINE, f"Claude refused the key. {ASK_ADMIN}", NOT_CONNECTED.format(label="Claude")],
)
def test_an_admin_is_told_to_connect_it_themselves_and_anyone_else_to_ask(text: str) -> None:
    assert ASK in text.lower()
    assert for_reader(text, admin=False) == text
    assert not tells_admin(text)
    mine = for_reader(text, admin=True)
    assert ASK not in mine.lower()
    assert "yourself in the Models section of the admin page" in mine
    assert tells_admin(mine)


def test_an_offline_summary_tells_an_admin_to_connect_one_themselves() -> None:
    mine = for_reader(expense_summary(), admin=True)
    assert "connect a model to build them: you can connect one yourself in the Models section of the admin page." in mine
    assert mine.startswith("Made \u201cExpense Tracker\u201d")
