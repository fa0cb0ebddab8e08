"""The wait an app's people are told after too many failed sign-ins, in words."""

from builder.services.app_users import waiting


def test_a_wait_is_said_in_seconds_then_minutes() -> None:
    assert [waiting(s) for s in (1, 2, 119, 120, 900)] == ["1 second", "2 seconds", "119 seconds", "2 minutes", "15 minutes"]
