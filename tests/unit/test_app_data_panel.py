"""The Data dialog's words for a row: who made it (by email where the app still has them), when, and its data on one
line and as the edit box starts; and what it says when the box does not hold JSON."""

from __future__ import annotations

import json

import pytest

from builder.errors import InvalidInput
from builder.services.app_rows import RowOut
from builder.state.app_data_panel import data_row, parsed


def row(owner: str | None) -> RowOut:
    data = {"name": "Zoë", "when": "2026-12-01T10:00", "party": 2}
    return RowOut(id="r1", owner=owner, created_at="2026-11-28T09:12:00+00:00", updated_at="2026-11-28T09:13:00+00:00", data=data)


def test_a_row_shows_its_maker_by_email_its_time_and_its_data() -> None:
    shown = data_row(row("u1"), {"u1": "kim@example.org"})
    assert (shown.id, shown.who, shown.made) == ("r1", "kim@example.org", "28 Nov 2026, 09:12")
    assert shown.text == '{"name": "Zoë", "when": "2026-12-01T10:00", "party": 2}'
    assert shown.pretty.splitlines()[1] == '  "name": "Zoë",'
    assert json.loads(shown.pretty) == row(None).data


def test_a_row_made_by_nobody_signed_in_or_by_someone_removed_says_so() -> None:
    assert data_row(row(None), {"u1": "kim@example.org"}).who == "someone not signed in"
    assert data_row(row("u2"), {"u1": "kim@example.org"}).who == "someone no longer signed up"


def test_the_box_is_read_as_json() -> None:
    assert parsed('{"name": "Kim"}') == {"name": "Kim"}
    assert parsed("[1]") == [1]  # the service says a row is an object, in its own words


def test_text_that_is_not_json_gets_a_sentence_saying_where() -> None:
    with pytest.raises(InvalidInput) as refused:
        parsed('{"name": "Kim"\n  "cut": "fade"}')
    assert refused.value.message == (
        "This is not valid JSON: expecting ',' delimiter at line 2, column 3. Nothing is saved yet; fix it and save again."
    )
