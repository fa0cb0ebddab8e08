"""A copy's name: the first is "(copy)", a copy of a copy counts on instead of stacking "(copy) (copy)"."""

from __future__ import annotations

import pytest

from builder.store.projects import copy_name


@pytest.mark.parametrize(
    ("name", "copied"),
    [
        ("Barber shop", "Barber shop (copy)"),
        ("Barber shop (copy)", "Barber shop (copy 2)"),
        ("Barber shop (copy 2)", "Barber shop (copy 3)"),
        ("Barber shop (copy 19)", "Barber shop (copy 20)"),
        # Only Forja's own suffix counts: a name that merely mentions a copy is copied as any other.
        ("Photocopy shop", "Photocopy shop (copy)"),
        ("Shop (copy two)", "Shop (copy two) (copy)"),
        ("(copy)", "(copy) (copy)"),
    ],
)
def test_a_copy_is_named_after_its_original(name: str, copied: str) -> None:
    assert copy_name(name) == copied
