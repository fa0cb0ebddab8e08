"""The change stream's pure parts: which changes a viewer hears, how they are sent, and where a stream has read to."""

from __future__ import annotations

import json

from builder.app_backend.changes import GRACE_S, Cursor, event, hears, last_event_id
from builder.app_backend.identity import AppViewer
from builder.app_backend.rules import DataRules

RULES = DataRules.model_validate({"collections": {"bookings": {"read": "owner"}, "notes": {"read": "public"}}})
ANA, BO, ADMIN, NOBODY = (
    AppViewer(user_id="ana"),
    AppViewer(user_id="bo"),
    AppViewer(user_id="z", role="admin"),
    AppViewer(user_id=None),
)


def test_a_change_is_heard_by_whoever_may_read_its_row() -> None:
    assert [hears(RULES, "bookings", viewer, "ana") for viewer in (ANA, BO, ADMIN, NOBODY)] == [True, False, True, False]
    assert [hears(RULES, "notes", viewer, "ana") for viewer in (ANA, BO, ADMIN, NOBODY)] == [True, True, True, True]
    assert not hears(RULES, "secrets", ADMIN, "z")  # a collection the rules leave out: not even an admin
    assert not hears(RULES, "bookings", NOBODY, None)  # a row made by nobody signed in is no one's own


def test_an_event_names_its_change_so_a_reconnecting_browser_resumes_after_it() -> None:
    text = event(42, "delete", {"id": "row1"})
    assert text == 'id: 42\nevent: delete\ndata: {"id":"row1"}\n\n'
    assert json.loads(event(7, "create", {"data": {"a": "x\ny"}}).split("data: ")[1]) == {"data": {"a": "x\ny"}}  # one line
    assert [last_event_id(value) for value in ("42", None, "", "-1", "4x", "9" * 19)] == [42, None, None, None, None, None]


def test_the_cursor_sends_each_change_once_and_waits_for_late_commits_before_moving_on() -> None:
    cursor = Cursor(floor=10)
    assert [cursor.fresh(n, 0.0) for n in (9, 10, 12, 13)] == [False, False, True, True]
    assert not cursor.fresh(12, 0.5)  # read again on the next poll: not sent again
    cursor.settle(1.0)
    assert cursor.floor == 10  # 11 may be a write not committed yet: it is still asked for
    assert cursor.fresh(11, 1.0)  # ... and heard when it comes
    cursor.settle(GRACE_S)
    assert (cursor.floor, cursor.seen) == (13, {})  # past what was seen long enough ago, 11 with it
    assert cursor.fresh(14, 5.0)
    cursor.settle(5.0, full=True)  # a whole page of nothing new: move past it all at once
    assert (cursor.floor, cursor.seen) == (14, {})
