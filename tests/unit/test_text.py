"""Titles and initials are cut between the characters and the words a person sees (issue 15)."""

from __future__ import annotations

import re

import pytest

from builder.generation.providers.offline import personalise
from builder.generation.starters import StarterVariables, load_starters, render_starter
from builder.text import first_grapheme, graphemes, initial, shorten


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("pizza night", "P"),
        ("  élan", "É"),
        ("e\u0301clair", "E\u0301"),  # e + combining acute stays one letter
        ("\U0001f355 Pizza", "\U0001f355"),
        ("\U0001f1e9\U0001f1ea Deutschland", "\U0001f1e9\U0001f1ea"),  # a flag is two code points
        ("\U0001f469\U0001f3fd\u200d\U0001f4bb coders", "\U0001f469\U0001f3fd\u200d\U0001f4bb"),
        ("\u2764\ufe0f Love", "\u2764\ufe0f"),
        ("1\ufe0f\u20e3 first", "1\ufe0f\u20e3"),
        ("", "?"),
        ("   ", "?"),
    ],
)
def test_an_initial_is_one_whole_visible_character(name: str, expected: str) -> None:
    assert initial(name) == expected


def test_graphemes_put_every_code_point_back_together() -> None:
    text = "\U0001f1e9\U0001f1ea\U0001f469\u200d\U0001f469\u200d\U0001f467ab\u0301"
    assert graphemes(text) == ["\U0001f1e9\U0001f1ea", "\U0001f469\u200d\U0001f469\u200d\U0001f467", "a", "b\u0301"]
    assert "".join(graphemes(text)) == text
    assert first_grapheme("") == ""


def test_shorten_cuts_at_a_word_and_not_on_a_joining_word() -> None:
    assert shorten("Pizza Night Planner für Familien", 26) == "Pizza Night Planner"
    assert shorten("Booking for my barber shop", 12) == "Booking"
    assert shorten("Short title", 40) == "Short title"
    assert shorten("Plan for", 40) == "Plan for"  # nothing was cut, so nothing is taken away
    assert shorten("Supercalifragilistic", 5) == "Super"
    # Emoji count as one character each and are never split.
    assert shorten("\U0001f355\U0001f355\U0001f355 party", 4) == "\U0001f355\U0001f355\U0001f355"


def test_the_offline_title_does_not_end_mid_phrase() -> None:
    assert personalise("pizza night party planner für die ganze Familie").title == "Pizza Night Party Planner"
    assert personalise("a recipe box of the").title == "Recipe Box"


@pytest.mark.parametrize("starter", load_starters(), ids=lambda s: s.name)
def test_starters_show_a_whole_emoji_in_their_logo(starter) -> None:
    """The logo letter is worked out in Python: JavaScript's charAt(0) would show half a flag as "�"."""
    files = render_starter(starter, StarterVariables(title="\U0001f1e9\U0001f1ea Deutsch lernen"))
    for path, content in files.items():
        assert "charAt(0)" not in content, path
        assert not re.search("\U0001f1e9(?!\U0001f1ea)", content), f"half a flag in {path}"
    favicons = [content for path, content in files.items() if path.endswith("favicon.svg")]
    assert favicons and all(">\U0001f1e9\U0001f1ea</text>" in svg for svg in favicons)
