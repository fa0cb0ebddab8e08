"""Offline starter mode tells the truth: a starter only when one fits, and no feature claimed that is not built."""

from __future__ import annotations

import pytest

from builder.generation.offline_edits import edit
from builder.generation.offline_fit import decide
from builder.generation.providers.offline import personalise
from builder.generation.starters import get_starter, load_starters, render_starter
from builder.state.home import EXAMPLE_PROMPTS


@pytest.mark.parametrize(
    ("prompt", "starter", "fits", "built", "not_built"),
    [
        ("a simple expense tracker with categories and a chart", "react-vite-tailwind", True, [], ["Categories", "A chart"]),
        ("A tip calculator that splits the bill", "html", False, [], ["tip calculator", "Splits the bill"]),
        ("a landing page for my bakery", "html", True, [], []),
        ("a todo list with dark mode", "react-vite-tailwind", True, ["Dark mode"], []),
        ("a REST API for books", "fastapi", True, [], []),
        ("a blog", "flask", True, [], []),
        ("a chat app with login", "html", False, [], ["chat app", "Login"]),
        ("a todo list in Vue with search and a calendar", "vue-vite", True, ["Search"], ["A calendar"]),
    ],
)
def test_fit_and_feature_claims(prompt: str, starter: str, fits: bool, built: list[str], not_built: list[str]) -> None:
    fit = decide(prompt, personalise(prompt).features, load_starters())
    assert (fit.starter.name, fit.fits, fit.built, fit.not_built) == (starter, fits, built, not_built)


def test_summary_names_what_was_not_built_and_how_to_connect_a_model() -> None:
    prompt = "a simple expense tracker with categories and a chart"
    summary = decide(prompt, personalise(prompt).features, load_starters()).summary("Expense Tracker")
    assert "Not built offline: \u201ccategories\u201d, \u201ca chart\u201d" in summary
    assert "ANTHROPIC_API_KEY" in summary and "OPENAI_BASE_URL=http://127.0.0.1:11434/v1" in summary


def test_nothing_fitting_still_says_what_it_did_not_build() -> None:
    prompt = "A tip calculator that splits the bill"
    summary = decide(prompt, personalise(prompt).features, load_starters()).summary("Tip Calculator")
    assert "no starter for \u201ctip calculator\u201d" in summary and "\u201csplits the bill\u201d" in summary


@pytest.mark.parametrize("prompt", EXAMPLE_PROMPTS)
def test_every_home_example_is_honoured_offline(prompt: str) -> None:
    fit = decide(prompt, personalise(prompt).features, load_starters())
    assert fit.fits and fit.not_built == [], fit


def _bakery() -> dict[str, str]:
    return render_starter(get_starter("html"), personalise("a landing page for my bakery"))


def test_rename_recolour_and_dark_theme() -> None:
    files = _bakery()
    change = edit("call it Luna Bakery and make it green, dark theme", files)
    assert change.title == "Luna Bakery" and change.not_done == []
    assert "<title>Luna Bakery</title>" in change.files["index.html"]
    assert '<html lang="en" class="dark">' in change.files["index.html"]
    assert "--accent: #16a34a" in change.files["styles.css"]
    assert ">L</text>" in change.files["favicon.svg"]
    assert all("<title>Bakery</title>" not in text for text in change.files.values())


def test_rename_in_a_react_starter_and_back_to_light() -> None:
    files = render_starter(get_starter("react-vite-tailwind"), personalise("a todo list with dark mode"))
    change = edit('rename it to "Chores"', files)
    assert 'title: "Chores"' in change.files["src/site.js"]
    light = edit("light theme", files)
    assert 'class="dark"' not in light.files["index.html"]


def test_dark_theme_in_flask_goes_through_site_json() -> None:
    files = render_starter(get_starter("flask"), personalise("a blog"))
    change = edit("make it dark", files)
    assert set(change.files) == {"site.json"} and '"dark": true' in change.files["site.json"]


def test_text_replacement_and_what_was_not_done() -> None:
    files = _bakery()
    change = edit('replace "Bakery" with "Boulangerie" and add a login page', files)
    assert "<title>Boulangerie</title>" in change.files["index.html"]
    assert change.not_done == ["add a login page"]


def test_unsupported_follow_up_changes_nothing() -> None:
    change = edit("add a shopping cart", _bakery())
    assert change.files == {} and change.done == []
