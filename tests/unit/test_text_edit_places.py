"""Where Select mode may write typed words: the app's own files, the written words of a text built from pieces of
code, and the acceptance checks that quote the old words (pure halves; tests/integration/test_text_edits.py saves)."""

from __future__ import annotations

import html
import json
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from builder.app_files import shown_by_the_app
from builder.errors import TextNotFound
from builder.services.check_quotes import following_checks
from builder.services.text_edits import TextChange, locate
from preview_runtime.annotate import expression_end
from preview_runtime.check_script import js_string, parse_checks, step_strings


@pytest.mark.parametrize(
    "path",
    [
        "index.html",
        "public/about.html",
        "src/App.jsx",
        "src/site.js",
        "src/config.js",
        "src/locales/en.json",
        "web/src/components/Header.tsx",
        "src/App.vue",
        "src/routes/+page.svelte",
        "app/page.tsx",
        "src/latest.js",
    ],
)
def test_the_app_shows_its_pages_and_their_sources(path: str) -> None:
    assert shown_by_the_app(path)


@pytest.mark.parametrize(
    "path",
    [
        ".forja/checks/01-open-the-app.spec.js",
        ".github/workflows/x.json",
        "tests/app.test.js",
        "test/home.js",
        "src/__tests__/App.jsx",
        "src/App.test.jsx",
        "src/App.spec.tsx",
        "src/Button.stories.tsx",
        "e2e/home.js",
        "cypress/e2e/home.cy.js",
        "playwright/fixtures.ts",
        "docs/index.html",
        "README.md",
        "package.json",
        "web/package-lock.json",
        "tsconfig.app.json",
        "vite.config.js",
        "tailwind.config.cjs",
        "node_modules/react/index.js",
        "dist/index.html",
        "api/main.py",
        "src/.hidden.js",
    ],
)
def test_tests_checks_docs_and_tool_files_are_not_the_app(path: str) -> None:
    assert not shown_by_the_app(path)


HEADING = 'export default function App() {\n  return (\n    <main>\n      <h1 className="mt-2">Your {noun}</h1>\n'
HEADING_PLACE = "src/App.jsx:4:7"


def typed(source: str, old: str, new: str, place: str = HEADING_PLACE) -> str:
    """The source (of the file `place` names) once `new` is typed over the element there that showed `old`."""
    return locate({place.split(":")[0]: source}, TextChange(old=old, new=new, src=place)).content


@pytest.mark.parametrize(
    ("new", "heading"),
    [
        ("My appointments", "My {noun}"),
        ("Yours appointments", "Yours {noun}"),
        ("appointments", "{noun}"),
        ("See your appointments", "See your {noun}"),
        ("Tom & Jerry's {x} appointments", "Tom &amp; Jerry's &#123;x&#125; {noun}"),
    ],
)
def test_a_split_heading_takes_a_change_of_its_written_words(new: str, heading: str) -> None:
    assert typed(HEADING, "Your appointments", new) == HEADING.replace("Your {noun}", heading)


@pytest.mark.parametrize(
    "new",
    [
        "Book your cut",  # the review's case: the whole text, the worked-out value too
        "Your bookings",  # the value alone
        "Your appointments today",  # after the value: its own word or the value's?
        "Your new appointments",  # right before the value, likewise
    ],
)
def test_a_change_that_reaches_the_worked_out_part_is_refused_with_a_sentence(new: str) -> None:
    with pytest.raises(TextNotFound) as refused:
        typed(HEADING, "Your appointments", new)
    assert str(refused.value) == (
        "\u201cYour appointments\u201d is built from pieces of code in src/App.jsx, and only its written words "
        "(\u201cYour\u201d) can be typed over here. Ask for this change in the follow-up box, or make it in the Code tab."
    )


def test_text_split_by_several_values_and_lines() -> None:
    source = "const x = (\n  <p>\n    {count} of {total}\n    items left\n  </p>\n)\n"
    assert typed(source, "3 of 7 items left", "3 out of 7 items left", "src/A.jsx:2:3") == source.replace(" of ", " out of ")
    assert typed(source, "3 of 7 items left", "3 of 7 items to do", "src/A.jsx:2:3") == source.replace("left", "to do")
    # One change from the first written words to the last takes a value with it.
    with pytest.raises(TextNotFound, match=r"only its written words \(\u201cof\u201d, \u201citems left\u201d\)"):
        typed(source, "3 of 7 items left", "3 out of 7 items to do", "src/A.jsx:2:3")


def test_which_words_are_written_must_be_clear() -> None:
    source = "const x = <p>{a}-{b}</p>\n"
    with pytest.raises(TextNotFound, match="built from pieces of code"):
        typed(source, "1-2-3", "1+2-3", "src/A.jsx:1:11")


def test_a_space_two_written_pieces_share_is_not_one_piece_s_to_change() -> None:
    # With `v` empty the page shows "Your a": one space for the two written ones. Typed over, it is either's.
    with pytest.raises(TextNotFound, match=r"cannot be written into src/A\.jsx"):
        typed("const x = <p>Your {v} a</p>\n", "Your a", "YourMya", "src/A.jsx:1:11")


def jsx_shows(text: str) -> str:
    """What JSX shows of a text between tags or expressions (Babel's cleanJSXElementLiteralChild), entities read:
    written apart from element_text's own reading, to check its saves against."""
    lines = re.split(r"\r\n|\n|\r", text)
    last = max((n for n, line in enumerate(lines) if re.search(r"[^ \t]", line)), default=-1)
    shown = ""
    for n, line in enumerate(lines):
        line = line.replace("\t", " ")
        line = line if n == 0 else line.lstrip(" ")
        line = line if n == len(lines) - 1 else line.rstrip(" ")
        if line:
            shown += line if n == last else line + " "
    return html.unescape(shown)


def page_shows(source: str, values: list[str], jsx: bool) -> str:
    """The element's text as the preview reports it, with `values` for its expressions `{v0}`, `{v1}`..."""
    body = source[source.index(">") + 1 : source.rindex("</p>")]
    parts = re.split(r"(\{v\d\})", body)
    text = "".join(
        values[int(part[2])] if re.fullmatch(r"\{v\d\}", part) else jsx_shows(part) if jsx else html.unescape(part)
        for part in parts
    )
    return " ".join(text.split())


WORDS = ["Your", "my", "cut", "&amp;", "Tom", "x", ",", "&#123;"]
SPACES = ["", " ", "  ", "\n    ", "\n"]


@settings(max_examples=800, deadline=None)
@given(st.data())
def test_a_saved_change_shows_exactly_what_was_typed_or_nothing_is_saved(data: st.DataObject) -> None:
    jsx = data.draw(st.booleans())
    written = st.tuples(st.sampled_from(SPACES), st.sampled_from(WORDS), st.sampled_from(SPACES)).map("".join)
    kinds = data.draw(st.lists(st.one_of(written, st.just("")), min_size=1, max_size=5))
    body = "".join(piece or f"{{v{n}}}" for n, piece in enumerate(kinds))
    values = data.draw(st.lists(st.sampled_from(["appointments", "3", "Ann Lee", "", " ", " b", "c "]), min_size=5, max_size=5))
    source = f"<p>{body}</p>\n"
    old = page_shows(source, values, jsx)
    start = data.draw(st.integers(0, len(old)))
    end = data.draw(st.integers(start, min(len(old), start + 6)))
    new = " ".join((old[:start] + data.draw(st.sampled_from(["", "My", " ", "big ", "&", "{", " y "])) + old[end:]).split())
    if not old or not new or new == old:
        return
    place = "src/A.jsx:1:1" if jsx else "src/A.svelte:1:1"
    try:
        saved = typed(source, old, new, place)
    except TextNotFound:
        return
    assert page_shows(saved, values, jsx) == new


def test_jsx_drops_the_whitespace_of_a_line_break_at_a_text_s_ends() -> None:
    source = "const x = (\n  <p>\n    Hello,\n    {name}\n  </p>\n)\n"
    # JSX shows "Hello,Ann": the line break between the word and the value is no space.
    assert typed(source, "Hello,Ann", "Hi,Ann", "src/A.jsx:2:3") == source.replace("Hello,", "Hi,")
    # A space typed at the end of such a line would be dropped the same way: not saved as if it showed.
    with pytest.raises(TextNotFound, match=r"cannot be written into src/A\.jsx so that the page shows exactly"):
        typed(source, "Hello,Ann", "Hell, Ann", "src/A.jsx:2:3")


def test_vue_and_svelte_values_are_pieces_of_code_too() -> None:
    vue = "<template>\n  <h1>Your {{ site.itemNounPlural }}</h1>\n</template>\n"
    assert typed(vue, "Your appointments", "My appointments", "src/App.vue:2:3") == vue.replace("Your", "My")
    with pytest.raises(TextNotFound, match=r"built from pieces of code in src/App\.vue"):
        typed(vue, "Your appointments", "Book your cut", "src/App.vue:2:3")
    svelte = "<h1>Your {site.itemNounPlural}</h1>\n"
    assert typed(svelte, "Your bookings", "Our bookings", "src/App.svelte:1:1") == svelte.replace("Your", "Our")
    # A block shows one of its texts, by the app's choice: not written text to match.
    block = "<p>{#if done}Done{:else}Open{/if}</p>\n"
    with pytest.raises(TextNotFound, match="not written as plain text"):
        typed(block, "Open", "Closed", "src/A.svelte:1:1")


def test_a_value_written_once_in_the_app_s_data_is_changed_there_but_never_in_a_check_or_test() -> None:
    app = "export default () => <h1>{site.title}</h1>\n"
    data = 'export const site = { title: "Luna Bakery" }\n'
    check = "test('x', async ({ page }) => {\n  await expect(page.getByRole('heading')).toHaveText('Luna Bakery');\n});\n"
    files = {"src/App.jsx": app, "src/site.js": data, ".forja/checks/01-open.spec.js": check, "src/App.test.jsx": check}
    changed = locate(files, TextChange(old="Luna Bakery", new="Sol's Bakery", src="src/App.jsx:1:22"))
    assert changed == type(changed)("src/site.js", data.replace('"Luna Bakery"', '"Sol\'s Bakery"'))
    without_data = {path: text for path, text in files.items() if path != "src/site.js"}
    with pytest.raises(TextNotFound) as refused:
        locate(without_data, TextChange(old="Luna Bakery", new="Sol Bakery", src="src/App.jsx:1:22"))
    assert "It is written only in .forja/checks/01-open.spec.js, src/App.test.jsx, which the app does not show." in str(
        refused.value
    )
    twice = {**files, "src/other.js": "export const name = 'Luna Bakery'\n"}
    with pytest.raises(TextNotFound, match=r"written in 2 places of the app \(src/other.js, src/site.js\)"):
        locate(twice, TextChange(old="Luna Bakery", new="Sol Bakery", src="src/App.jsx:1:22"))


def test_a_translated_text_is_changed_in_the_app_s_messages() -> None:
    app = 'export default () => <h1>{t("home.title")}</h1>\n'
    messages = '{\n  "home": { "title": "Your appointments" }\n}\n'
    files = {"src/App.jsx": app, "src/locales/en.json": messages, "package.json": '{"description": "Your appointments"}'}
    changed = locate(files, TextChange(old="Your appointments", new='Your "booked" cuts', src="src/App.jsx:1:22"))
    assert changed.path == "src/locales/en.json"
    assert json.loads(changed.content) == {"home": {"title": 'Your "booked" cuts'}}


def test_an_element_in_a_test_file_is_not_the_app_s() -> None:
    with pytest.raises(TextNotFound, match="not one of the files the app shows"):
        locate({"src/App.test.jsx": "render(<h1>Hi</h1>)\n"}, TextChange(old="Hi", new="Ho", src="src/App.test.jsx:1:8"))


CHECK = """import { test, expect } from '@playwright/test';

test('Open the app: Your appointments are listed', async ({ page }) => {
  await page.goto('/');
  await expect(page.getByRole('heading', { level: 1 })).toHaveText("Your appointments");
  await expect(page.getByText('Your   appointments')).toBeVisible();
  await expect(page.getByText('No appointments yet.')).toBeVisible();
});
"""


def test_a_check_quoting_the_old_words_follows_in_its_steps_not_its_title() -> None:
    files = {"src/App.jsx": "<h1>My {noun}</h1>", ".forja/checks/01-open.spec.js": CHECK, "README.md": "Your appointments"}
    followed = following_checks(files, "Your appointments", "My \"own\" 'list'")
    assert list(followed) == [".forja/checks/01-open.spec.js"]
    steps = [s.value for s in step_strings(followed[".forja/checks/01-open.spec.js"])]
    assert steps == ["/", "heading", "My \"own\" 'list'", "My \"own\" 'list'", "No appointments yet."]
    assert parse_checks(followed[".forja/checks/01-open.spec.js"])[0].title == "Open the app: Your appointments are listed"


def test_a_check_stays_when_the_app_still_writes_the_old_words_or_cannot_be_read() -> None:
    still = {
        "src/App.jsx": "<h1>My {noun}</h1>",
        "src/Other.jsx": "<h2>Your\n  appointments</h2>",
        ".forja/checks/a.spec.js": CHECK,
    }
    assert following_checks(still, "Your appointments", "My appointments") == {}
    unreadable = CHECK.replace("await page.goto('/');", "for (;;) {}")
    assert following_checks({".forja/checks/a.spec.js": unreadable}, "Your appointments", "My appointments") == {}


@pytest.mark.parametrize("quote", ["'", '"', "`"])
@pytest.mark.parametrize("text", ["plain", 'it\'s "quoted"', "back\\slash", "${not a value}", "line\nbreak"])
def test_js_string_reads_back_as_its_text(quote: str, text: str) -> None:
    check = f"test('t', async ({{ page }}) => {{\n  await page.getByText({js_string(text, quote)}).click();\n}});\n"
    assert [s.value for s in step_strings(check)] == [text]


def test_expression_end_follows_strings_templates_and_jsx() -> None:
    jsx = "<p>{a ? '}' : `${b}}`} rest</p>"
    assert jsx[: expression_end(jsx, 3, jsx=True)] == "<p>{a ? '}' : `${b}}`}"
    vue = "<p>{{ a ? '}}' : b }} rest</p>"
    assert vue[: expression_end(vue, 3, jsx=False)] == "<p>{{ a ? '}}' : b }}"
    assert expression_end("<p>{unclosed</p>", 3, jsx=True) is None
