"""The pure parts of an app's data API: what a row may hold, what a list may ask, and the sentence of each refusal
(who is refused, and whether signing in would help)."""

from __future__ import annotations

import pytest

from builder.app_backend.identity import AppViewer
from builder.app_backend.rules import Action, parse_rules
from builder.errors import Forbidden, InvalidInput, NotSignedIn, TooLarge
from builder.services.app_rows import MAX_PAGE, MAX_ROW_BYTES, ListQuery, checked_data, checked_query, refusal

RULES = parse_rules(
    b'{"collections": {"bookings": {"read": "owner", "create": "signed-in", "delete": "admin"},'
    b' "notes": {"read": "public", "update": "owner"}}}'
)
ANA, NOBODY = AppViewer(user_id="ana"), AppViewer(user_id=None)


def test_a_row_is_a_json_object_of_at_most_64_kb() -> None:
    assert checked_data({"slot": "10:00", "nested": {"a": [1, 2]}}) == {"slot": "10:00", "nested": {"a": [1, 2]}}
    for wrong in ([1], "text", 3, None):
        with pytest.raises(InvalidInput, match="A row is a JSON object"):
            checked_data(wrong)
    just = {"t": "x" * (MAX_ROW_BYTES - len('{"t":""}'))}
    assert checked_data(just) is just
    with pytest.raises(TooLarge, match="at most 64 KB"):
        checked_data({"t": "x" * MAX_ROW_BYTES})
    # Measured in UTF-8 bytes, not characters.
    with pytest.raises(TooLarge):
        checked_data({"t": "é" * (MAX_ROW_BYTES // 2)})
    # Half a character (a lone surrogate, which JSON's escapes allow) is refused in words, not stored or a 500.
    with pytest.raises(InvalidInput, match="whole characters"):
        checked_data({"t": "ok \ud800"})


def test_a_list_asks_for_a_bounded_page_and_plain_field_names() -> None:
    assert checked_query(ListQuery(fields={"slot": "a", "_n2": "b"}, limit=MAX_PAGE)).limit == MAX_PAGE
    for query, words in [
        (ListQuery(limit=0), "1 to 100 rows"),
        (ListQuery(limit=MAX_PAGE + 1), "1 to 100 rows"),
        (ListQuery(offset=-1), "`offset` is a count"),
        (ListQuery(offset=10**9), "`offset` is a count"),
        (ListQuery(fields={f"f{n}": "x" for n in range(6)}), "at most 5 fields"),
        (ListQuery(fields={"a.b": "x"}), "cannot name a field"),
        (ListQuery(fields={"$": "x"}), "cannot name a field"),
        (ListQuery(fields={"1st": "x"}), "cannot name a field"),
        (ListQuery(fields={"x" * 64: "x"}), "cannot name a field"),
    ]:
        with pytest.raises(InvalidInput, match=words):
            checked_query(query)


@pytest.mark.parametrize(
    ("collection", "action", "viewer", "kind", "sentence"),
    [
        ("secrets", "read", ANA, Forbidden, "This app's data rules name no collection 'secrets', so no one may use it."),
        ("notes", "delete", ANA, Forbidden, "This app's data rules let no one delete rows of 'notes'."),
        ("bookings", "update", ANA, Forbidden, "This app's data rules let no one change rows of 'bookings'."),
        ("bookings", "create", NOBODY, NotSignedIn, "Sign in to add rows of 'bookings'."),
        ("bookings", "read", NOBODY, NotSignedIn, "Sign in to read rows of 'bookings'."),
        ("bookings", "delete", NOBODY, NotSignedIn, "Sign in to delete rows of 'bookings'."),
        ("bookings", "delete", ANA, Forbidden, "Only the app's admins may delete rows of 'bookings'."),
        ("notes", "update", ANA, Forbidden, "Only the user who made a row and the app's admins may change rows of 'notes'."),
    ],
)
def test_each_refusal_says_who_may(collection: str, action: Action, viewer: AppViewer, kind: type, sentence: str) -> None:
    refused = refusal(RULES, collection, action, viewer)
    assert type(refused) is kind and refused.message == sentence
    assert refused.status == (401 if kind is NotSignedIn else 403)
