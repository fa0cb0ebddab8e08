"""Offline starter mode tells the truth: a starter only when one fits, and no feature claimed that is not built."""

from __future__ import annotations

import time

import pytest

from builder.generation.offline_edits import COLOURS, edit
from builder.generation.offline_fit import decide
from builder.generation.providers.offline import OfflineProvider, look_done, offline_plan, personalise
from builder.generation.starters import StarterVariables, get_starter, load_starters, render_starter
from builder.state.home import EXAMPLE_PROMPTS
from preview_runtime.check_script import is_check_path, parse_checks


@pytest.mark.parametrize(
    ("prompt", "starter", "fits", "built", "not_built"),
    [
        ("a simple expense tracker with categories and a chart", "react-vite-tailwind", True, [], ["Categories", "A chart"]),
        ("A tip calculator that splits the bill", "html", False, [], ["tip calculator", "Splits the bill"]),
        ("a landing page for my bakery", "html", True, [], []),
        ("a todo list with dark mode", "react-vite-tailwind", True, ["Dark mode"], []),
        ("a REST API for books", "fastapi", True, [], []),
        ("a blog", "flask", True, [], []),
        ("a chat app with login", "bookings", False, ["Login"], ["chat app"]),
        ("a shopping list with login", "react-vite-tailwind", True, ["Login"], []),
        ("a website for my yoga studio where people can book classes", "bookings", True, ["Book classes"], []),
        ("a booking page with sign-in and a calendar", "bookings", True, ["Sign-in"], ["A calendar"]),
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
    assert "the person who runs this Forja can connect one on its admin page" in summary
    assert "_API_KEY" not in summary and "127.0.0.1" not in summary and "restart" not in summary


def test_nothing_fitting_still_says_what_it_did_not_build() -> None:
    prompt = "A tip calculator that splits the bill"
    summary = decide(prompt, personalise(prompt).features, load_starters()).summary("Tip Calculator")
    assert "no starter for \u201ctip calculator\u201d" in summary and "\u201csplits the bill\u201d" in summary


LIST = (
    "a list of {} you can add to (each with an optional date), tick off, search and remove, kept in this browser, or with "
    "each person's own account once they sign in"
)
PAGE = (
    "a one-page site with a welcome section, cards of what you offer, opening hours with an open-now badge and a contact "
    "form that opens the visitor's email"
)
FULLSTACK = (
    "a list of {} you can add to (each with an optional date), tick off, search and remove, kept in a database on the server"
)
POSTS = "a site of {}, each with a title, details and a page of its own, with a form to add them and delete"
BOOKINGS = (
    "a booking page where customers make an account, sign in, pick a day and a time, and see and cancel their own "
    "appointments, while the people you make its admins see everyone's and mark them done; Forja keeps the accounts and "
    "the appointments"
)
# What the bookings starter does not do of a booking system: its customers pick a slot, but nothing more.
BOOKING = ("a calendar", "a check that no two bookings overlap", "confirmations sent to customers")


# What people type, what the conversation then says was made, and what it says was not (empty: all of it was made).
@pytest.mark.parametrize(
    ("prompt", "made", "not_built"),
    [
        ("A booking page for my barber shop", BOOKINGS, BOOKING),
        ("Appointment scheduler for my dental clinic", BOOKINGS, BOOKING),
        ("a reservation system for my restaurant", BOOKINGS, BOOKING),
        ("Make me a booking system with a calendar", BOOKINGS, ("\u201ca calendar\u201d", *BOOKING[1:])),
        ("an app where customers can book a table at my restaurant", BOOKINGS, BOOKING),
        ("a website for my yoga studio where people can book classes", BOOKINGS, ()),
        ("a website for my gym where members can log in", BOOKINGS.replace("appointments", "items"), ()),
        ("a members area for my club", BOOKINGS.replace("appointments", "items"), ("\u201cmembers area\u201d",)),
        ("a todo list where I sign in and see my own tasks", LIST.format("tasks"), ()),
        ("a full-stack todo app where I sign in", FULLSTACK.format("tasks"), ("sign-in, with each person's own list",)),
        (
            "a simple expense tracker with categories and a chart",
            LIST.format("expenses"),
            ("\u201ccategories\u201d", "\u201ca chart\u201d", "amounts added up into totals"),
        ),
        ("a budget planner for our household", LIST.format("expenses"), ("amounts added up into totals",)),
        ("an inventory app for my shop", LIST.format("items"), ("stock counts that go up and down",)),
        ("a habit tracker", LIST.format("habits"), ("a check-in for every day, with streaks",)),
        ("a shopping list I can share with my partner", LIST.format("items"), ("\u201cshare with my partner\u201d",)),
        ("a workout tracker with a chart of my progress", LIST.format("workouts"), ("\u201ca chart of my progress\u201d",)),
        ("a todo list with dark mode", LIST.format("tasks"), ()),
        ("A recipe box where I can save and search recipes", LIST.format("recipes"), ()),
        ("a meal planner for the week", LIST.format("meals"), ()),
        ("a reading list", LIST.format("books"), ()),
        ("A landing page for my bakery", PAGE, ()),
        ("a site for my plumbing business with a contact form", PAGE, ()),
        ("a wedding website with RSVP", PAGE, ("\u201cRSVP\u201d",)),
        ("a page where people can sign up for my newsletter", PAGE, ("\u201csign up for my newsletter\u201d",)),
        ("A tip calculator that splits the bill", PAGE, ("\u201ctip calculator\u201d", "\u201csplits the bill\u201d")),
        ("an online shop for my handmade candles", PAGE, ("\u201conline shop\u201d",)),
        ("a chat app for my family", PAGE, ("\u201cchat app\u201d",)),
        ("a quiz game for my class", PAGE, ("\u201cquiz game\u201d",)),
        ("a pomodoro timer", PAGE, ("\u201cpomodoro timer\u201d",)),
        ("a dashboard for my sales", PAGE, ("\u201cdashboard\u201d",)),
        ("a blog for my travels", POSTS.format("posts"), ()),
        ("a journal where I write every day", POSTS.format("entries"), ()),
        ("a notes app", POSTS.format("notes"), ()),
        ("a Flask app to keep notes", POSTS.format("notes"), ()),
        (
            "a to-do list in Vue with reminders",
            "a list of tasks you can add to, tick off, search and remove",
            ("\u201creminders\u201d",),
        ),
        (
            "a REST API for my book collection",
            "a JSON API to list, add, change and delete books, kept in SQLite, with its docs and a small page that uses it",
            (),
        ),
    ],
)
def test_the_summary_says_what_was_built_and_what_was_not(prompt: str, made: str, not_built: tuple[str, ...]) -> None:
    variables = personalise(prompt)
    fit = decide(prompt, variables.features, load_starters())
    summary = fit.summary(variables.title, variables.item_noun_plural)
    assert made in summary, summary
    if not_built:
        assert f"Not built offline: {', '.join(not_built)}; connect a model to build them: the person who runs" in summary
        assert "it is only" in summary or "only a starting point" in summary, summary
    else:
        assert "Not built" not in summary and "only" not in summary and fit.complete, summary


def test_the_app_shows_only_what_it_does() -> None:
    """A partial fit claims nothing more in the app itself: no feature cards for what is missing, and its tagline is the
    starter's own rather than the whole request."""
    prompt = "a booking page for my barber shop with a calendar"
    variables = personalise(prompt)
    fit = decide(prompt, variables.features, load_starters())
    assert not fit.complete and fit.built == []
    head, files = OfflineProvider()._new(prompt)
    page = files["index.html"]
    assert "Book your next appointment:" in page and "calendar" not in page.lower()
    assert "it is only a booking page where customers make an account" in str(head["summary"])


@pytest.mark.parametrize(
    "prompt",
    [
        "a todo list with dark mode",
        "a landing page for Tom's Bakery & Café",
        "a REST API for books",
        "an express api for products",
        "a blog",
        "a habit tracker built with Svelte",
        "a todo list in Vue with search and a calendar",
        "a full-stack app with a React front end and a Python API",
        "a booking page for my barber shop",
    ],
)
def test_the_offline_plans_checks_are_the_check_files_it_writes(prompt: str) -> None:
    """The app offline mode builds has a check file for each check its plan promised, titled with the same words."""
    _head, files = OfflineProvider()._new(prompt)
    scripts = {path: text for path, text in files.items() if is_check_path(path)}
    titles = [test.title for path in sorted(scripts) for test in parse_checks(scripts[path])]
    assert titles == offline_plan(prompt, {}).checks


@pytest.mark.parametrize("prompt", EXAMPLE_PROMPTS)
def test_every_home_example_is_honoured_offline(prompt: str) -> None:
    fit = decide(prompt, personalise(prompt).features, load_starters())
    assert fit.complete, fit


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


@pytest.mark.parametrize(
    "prompt",
    [
        "a todo app with a" + " " * 19_990 + "b",
        "a shop for " + "\t\n " * 6_600 + "x",
        "call it " + " " * 19_990 + "x",
        "make it red" + " " * 19_980 + "then",
    ],
    ids=["spaces", "tabs-and-newlines", "rename", "parts"],
)
def test_a_prompt_built_to_make_the_offline_reader_backtrack_is_read_at_once(prompt: str) -> None:
    """A prompt may hold 20,000 characters, and the offline reader's patterns run on the event loop: a run of spaces
    took `\\s+with\\s+` a minute to read, tried from each of its spaces."""
    started = time.monotonic()
    variables = personalise(prompt)
    decide(prompt, variables.features, load_starters())
    offline_plan(prompt, {})
    edit(prompt, {"index.html": "<!doctype html><title>Shop</title><h1>Shop</h1>"})
    took = time.monotonic() - started
    print(f"{len(prompt)} characters read offline in {took:.2f} s")
    assert took < 10  # a bound the quadratic reading was far past (over a minute), not a speed test


@pytest.mark.parametrize(
    ("prompt", "tagline", "accent", "look"),
    [
        (
            "A to-do list for my errands, in green",
            "Add tasks, tick them off when they are done, and find any of them in a second.",
            "green",
            "Made it green.",
        ),
        (
            "A todo list with dark mode",
            "Add tasks, tick them off when they are done, and find any of them in a second.",
            None,
            "Gave it a dark theme.",
        ),
        (
            "A portfolio, dark theme, in purple",
            "What we offer, when we are open and how to reach us, all on one page.",
            "purple",
            "Made it purple, with a dark theme.",
        ),
        ("A blog with blue accents", "Our posts, newest first, each on a page of its own.", "blue", "Made it blue."),
        # A colour word that is not asked of the look is not the accent: an asked one wins.
        (
            "Red velvet cake recipes in blue",
            "Add recipes, tick them off when they are done, and find any of them in a second.",
            "blue",
            "Made it blue.",
        ),
        (
            "A booking page for my barber shop",
            "Book your next appointment: pick a day and a time that suit you.",
            None,
            "",
        ),
        # No starter is a tip calculator: its tagline is the thing asked for, not a starter's claim.
        ("A tip calculator that splits the bill", "Tip calculator", None, ""),
    ],
)
def test_the_tagline_is_the_starters_own_and_the_summary_says_the_look(
    prompt: str, tagline: str, accent: str | None, look: str
) -> None:
    variables = personalise(prompt)
    assert variables.tagline == tagline
    if accent is not None:
        assert variables.accent == COLOURS[accent]
    assert look_done(prompt) == look
    head, _files = OfflineProvider()._new(prompt)
    assert str(head["summary"]).endswith(look)


# The five requests, and the words each app's checks must use (its nouns, its name, its examples).
OWN_WORDS = {
    "a booking page for my barber shop": ("Barber Shop", "book"),
    "a to-do list for my errands, in green": ("Errands", "tasks", "Pick up the parcel"),
    "a recipe box for my family": ("Family Recipe Box", "recipes", "Lemon cake", "Tomato soup"),
    "an inventory for my bike shop": ("Bike Shop", "items", "First item"),
    "a landing page for my bakery": ("Bakery", "opening hours", "contact form"),
}


@pytest.mark.parametrize("prompt", OWN_WORDS)
def test_an_apps_checks_are_in_its_own_words_never_a_starters_filler(prompt: str) -> None:
    """Every check an offline app is made with, its title and every step, speaks of that app: its name, its nouns, items
    it would hold; never the errand ("Call the bank") or the visit a starter was written with."""
    _head, files = OfflineProvider()._new(prompt)
    scripts = {path: text for path, text in files.items() if is_check_path(path)}
    titles = [test.title for path in sorted(scripts) for test in parse_checks(scripts[path])]
    assert titles == offline_plan(prompt, {}).checks and len(titles) >= 4
    everything = " ".join([*titles, *scripts]) + " ".join(scripts.values())
    for filler in ("bank", "Buy bread", "First visit", "croissant"):
        assert filler.lower() not in everything.lower(), (filler, titles)
    for word in OWN_WORDS[prompt]:
        assert word.lower() in " ".join(titles).lower(), (word, titles)


def test_the_search_check_looks_for_a_word_only_its_first_example_holds() -> None:
    """The list starters' search check adds both examples, types the search word and expects one item left: a word
    both examples hold would leave two."""
    for prompt in ("a recipe box", "a habit tracker", "a to-do list", "an inventory", "a reading list", "my contacts"):
        variables = personalise(prompt)
        first, second = variables.examples
        assert variables.search_word in first.lower() and variables.search_word not in second.lower(), variables
    same = StarterVariables(item_noun="plant", examples=("Fern", "Ferns"))
    assert same.examples == ("First plant", "Second plant") and same.search_word == "first"
