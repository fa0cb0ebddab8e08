"""The pure helpers behind the pages: file tree rows, the conversation, the first file shown, log and diff rows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from builder.components.panels import LEVEL_COLORS
from builder.generation.providers.offline import CANNOT_CHANGE
from builder.generation.who_connects import HOW_TO_CONNECT
from builder.logview import group_lines
from builder.models import Author
from builder.schemas import AcceptanceInfo, GenerationInfo, Usage, VerificationInfo, VersionInfo
from builder.state.views import (
    LONG_MESSAGE_CHARS,
    MAX_DIFF_LINES,
    ChatEntry,
    DiffLine,
    TreeRow,
    author_label,
    chat_entries,
    default_file,
    diff_lines,
    is_long_message,
    log_fields,
    logs_text,
    preview_words,
    tree_rows,
    usage_words,
)
from builder.wording import plural
from preview_runtime.logs import LogLevel, LogLine
from preview_runtime.runner import PreviewInfo, PreviewState
from preview_runtime.verify import Problem

T0 = datetime(2025, 3, 4, 9, 5, 7, tzinfo=UTC)

PATHS = ["src/App.jsx", "README.md", "index.html", "src/components/Button.jsx", "assets/logo.png", "Zeta.txt", "src/main.jsx"]


# -- tree_rows ------------------------------------------------------------------------------------


def test_tree_rows_put_folders_first_then_files_each_sorted_case_insensitively() -> None:
    rows = tree_rows(PATHS, collapsed=set())
    assert [(r.path, r.depth, r.is_dir) for r in rows] == [
        ("assets", 0, True),
        ("assets/logo.png", 1, False),
        ("src", 0, True),
        ("src/components", 1, True),
        ("src/components/Button.jsx", 2, False),
        ("src/App.jsx", 1, False),
        ("src/main.jsx", 1, False),
        ("index.html", 0, False),
        ("README.md", 0, False),
        ("Zeta.txt", 0, False),
    ]
    assert [r.name for r in rows if r.path.startswith("src/c")] == ["components", "Button.jsx"]
    assert all(r.expanded for r in rows if r.is_dir) and not any(r.expanded for r in rows if not r.is_dir)


def test_tree_rows_hide_what_is_inside_a_collapsed_folder() -> None:
    rows = tree_rows(PATHS, collapsed={"src"})
    assert [r.path for r in rows] == ["assets", "assets/logo.png", "src", "index.html", "README.md", "Zeta.txt"]
    assert rows[2] == TreeRow("src", "src", 0, True, False)


def test_tree_rows_collapse_a_nested_folder_only() -> None:
    rows = tree_rows(PATHS, collapsed={"src/components"})
    src = [r for r in rows if r.path.startswith("src")]
    assert [(r.path, r.expanded) for r in src] == [
        ("src", True),
        ("src/components", False),
        ("src/App.jsx", False),
        ("src/main.jsx", False),
    ]


def test_tree_rows_of_nothing() -> None:
    assert tree_rows([], collapsed=set()) == []


# -- chat_entries ---------------------------------------------------------------------------------


def version(
    number: int, at: datetime, author: Author = Author.ai, message: str = "Made it", files_changed: int = 2
) -> VersionInfo:
    return VersionInfo(
        id=number,
        number=number,
        parent_number=number - 1 or None,
        author=author,
        message=message,
        files_changed=files_changed,
        created_at=at,
    )


def generation(
    at: datetime,
    prompt: str,
    version: int | None,
    provider: str = "anthropic",
    cost: float | None = 0.0123,
    outcome: str = "saved",
    error: str = "",
) -> GenerationInfo:
    return GenerationInfo(
        id=1,
        project_id="p",
        version=version,
        prompt=prompt,
        provider=provider,
        model="m",
        input_tokens=1200,
        output_tokens=345,
        cache_read_tokens=0,
        cache_write_tokens=0,
        cost_usd=cost,
        duration_s=1.0,
        outcome=outcome,
        summary="",
        error=error,
        created_at=at,
    )


def test_chat_entries_put_each_prompt_before_what_came_of_it_in_time_order() -> None:
    versions = [version(2, T0 + timedelta(minutes=2)), version(1, T0, Author.template, "Starter", 5)]
    generations = [
        generation(T0 + timedelta(minutes=5), "make it blue", None, outcome="failed", error="The model stopped."),
        generation(T0 + timedelta(minutes=2), "add a menu", 2),  # same moment as version 2: the prompt first
    ]
    entries = chat_entries(versions, generations)
    assert [(e.kind, e.message) for e in entries] == [
        ("version", "Starter"),
        ("prompt", "add a menu"),
        ("version", "Made it"),
        ("prompt", "make it blue"),
        ("error", "The model stopped."),
    ]
    assert [e.author for e in entries] == ["Starter", "You", "Forja AI", "You", "Forja"]
    assert entries[0].time == "04 Mar, 09:05"
    assert entries[-1] == ChatEntry("error", "Forja", "The model stopped.", "04 Mar, 09:10", "Nothing was changed.", tone="red")


def test_chat_entries_word_replies_and_refusals_for_their_reader() -> None:
    """An admin reading an offline reply or refusal is told to connect a model themselves, with the Models section
    linked; anyone else, to ask the person who runs this Forja."""
    versions = [version(1, T0, message=f"Made it offline. Not built: a chart; connect a model: {HOW_TO_CONNECT}.")]
    generations = [generation(T0 + timedelta(minutes=1), "add a cart", None, "offline", outcome="failed", error=CANNOT_CHANGE)]
    for admin in (False, True):
        replies = [e for e in chat_entries(versions, generations, admin=admin) if e.kind in ("version", "error")]
        assert [HOW_TO_CONNECT in e.message for e in replies] == [not admin, not admin]
        assert [e.links_models for e in replies] == [admin, admin]


def check(at: datetime, version: int, problems: list[str], check_id: int = 1) -> VerificationInfo:
    return VerificationInfo(
        id=check_id,
        project_id="p",
        version=version,
        status="problems" if problems else "passed",
        problems=[Problem(kind="exception", message=m) for m in problems],
        attempts=0,
        screenshot=f"/api/projects/p/verifications/{check_id}/screenshot",
        duration_s=1.0,
        created_at=at,
    )


def test_chat_entries_show_checks_and_repairs_and_offer_fix_this_on_the_last_check_only() -> None:
    versions = [version(1, T0), version(2, T0 + timedelta(minutes=2))]
    first = generation(T0, "a greeting page", 1)
    repair = generation(T0 + timedelta(minutes=1), "Fixing 1 problem found by the check: x", 2).model_copy(
        update={"kind": "repair"}
    )
    checks = [
        check(T0 + timedelta(seconds=30), 1, ["The page stopped with an error: x is null"], 1),
        check(T0 + timedelta(minutes=3), 2, ["The page is blank: nothing is visible on it."], 2),
    ]
    entries = chat_entries(versions, [first, repair], checks)
    assert [(e.kind, e.author) for e in entries] == [
        ("prompt", "You"),
        ("version", "Forja AI"),
        ("check", "Forja"),
        ("repair", "Forja"),
        ("version", "Forja AI"),
        ("check", "Forja"),
    ]
    first_check, last_check = entries[2], entries[5]
    assert first_check.message == "Checked: it runs, with 1 problem left."
    assert first_check.detail == "\u2022 The page stopped with an error: x is null"
    assert first_check.image == "/api/projects/p/verifications/1/screenshot"
    assert (first_check.fixable, last_check.fixable) == (False, True)
    assert (first_check.tone, entries[3].tone) == ("amber", "orange")

    passed = chat_entries(versions, [first], [check(T0 + timedelta(minutes=3), 2, [])])
    assert (passed[-1].message, passed[-1].fixable, passed[-1].tone) == ("Checked: runs, no errors.", False, "green")


def test_a_check_that_could_not_start_the_app_says_why_once_and_offers_no_fix() -> None:
    refused = "bubblewrap is not installed, and Forja does not run generated code on this machine without a sandbox."
    failed = check(T0 + timedelta(minutes=1), 1, [f"The app could not be started: {refused}"]).model_copy(
        update={"status": "failed"}
    )
    unchecked = check(T0 + timedelta(minutes=2), 1, [refused], 2).model_copy(update={"status": "unchecked"})
    entries = chat_entries([version(1, T0)], [generation(T0, "a page", 1)], [failed, unchecked])
    assert entries[-2].message == f"Checked: the app does not start. The app could not be started: {refused}"
    assert entries[-2].detail == ""  # not the same sentence again under it
    assert (entries[-1].message, entries[-1].detail, entries[-1].fixable) == (f"Not checked: {refused}", "", False)


def test_usage_words_sum_the_projects_generations() -> None:
    assert usage_words(Usage()) == ""
    assert usage_words(Usage(generations=2, input_tokens=12000, output_tokens=345, cost_usd=0.0412)) == (
        "2 generations \u00b7 12,345 tokens \u00b7 about $0.041"
    )
    unknown = Usage(generations=1, input_tokens=10, output_tokens=5, cost_usd=0.0, cost_unknown=1)
    assert usage_words(unknown) == "1 generation \u00b7 15 tokens (1 at an unknown price)"


def test_chat_entries_detail_counts_files_tokens_and_cost() -> None:
    versions = [
        version(1, T0, Author.import_, "", 1),
        version(2, T0 + timedelta(minutes=1)),
        version(3, T0 + timedelta(minutes=2)),
        version(4, T0 + timedelta(minutes=3), Author.user, "Edited"),
    ]
    generations = [
        generation(T0 + timedelta(minutes=1), "one", 2),
        generation(T0 + timedelta(minutes=2), "two", 3, cost=None),
        generation(T0 + timedelta(minutes=3), "three", 4, provider="offline"),
    ]
    details = [e.detail for e in chat_entries(versions, generations) if e.kind == "version"]
    assert details == [
        "version 1 \u00b7 1 file changed",
        "version 2 \u00b7 2 files changed \u00b7 1,545 tokens \u00b7 about $0.012",
        "version 3 \u00b7 2 files changed \u00b7 1,545 tokens \u00b7 cost unknown",
        "version 4 \u00b7 2 files changed",  # offline: no tokens, no cost
    ]
    assert next(e.message for e in chat_entries(versions, generations) if e.kind == "version") == "(no message)"


def test_chat_entries_of_nothing() -> None:
    assert chat_entries([], []) == []


# -- default_file ---------------------------------------------------------------------------------


def test_default_file_prefers_the_app_then_the_page_then_the_server() -> None:
    assert default_file(PATHS) == "src/App.jsx"
    assert default_file(["README.md", "server.js", "index.html"]) == "index.html"
    assert default_file(["README.md", "main.py", "app.py"]) == "app.py"
    assert default_file(["README.md", "server.js"]) == "server.js"


def test_default_file_falls_back_to_the_first_text_file_then_the_first_file() -> None:
    assert default_file(["logo", "notes/todo.txt", "b.css"], {"logo"}) == "notes/todo.txt"
    assert default_file(["logo.png", "font.woff2"], {"logo.png", "font.woff2"}) == "logo.png"


# -- log_fields, LEVEL_COLORS ------------------------------------------------------------------------


def test_log_row_shows_the_clock_time_level_and_source() -> None:
    line = LogLine(seq=7, time=T0, level=LogLevel.error, source="dev-server", text="SyntaxError: x")
    assert log_fields(line) == (7, "09:05:07", "error", "dev-server", "SyntaxError: x")


def test_every_log_level_has_a_colour() -> None:
    assert set(LEVEL_COLORS) == {level.value for level in LogLevel}
    assert LEVEL_COLORS["error"] != LEVEL_COLORS["info"]


# -- diff_lines, plural ---------------------------------------------------------------------------


def test_diff_lines_are_told_apart_by_their_first_characters() -> None:
    diff = "--- a/app.js\n+++ b/app.js\n@@ -1,2 +1,2 @@\n same\n-old\n+new\n\\ No newline at end of file"
    assert diff_lines(diff) == [
        DiffLine("meta", "--- a/app.js"),
        DiffLine("meta", "+++ b/app.js"),
        DiffLine("hunk", "@@ -1,2 +1,2 @@"),
        DiffLine("context", " same"),
        DiffLine("remove", "-old"),
        DiffLine("add", "+new"),
        DiffLine("context", "\\ No newline at end of file"),
    ]


def test_diff_lines_are_cut_for_the_page() -> None:
    lines = diff_lines("\n".join(f"+{i}" for i in range(MAX_DIFF_LINES + 50)))
    assert len(lines) == MAX_DIFF_LINES and lines[-1].text == f"+{MAX_DIFF_LINES - 1}"


@pytest.mark.parametrize(("n", "text"), [(0, "0 files"), (1, "1 file"), (2, "2 files")])
def test_plural(n: int, text: str) -> None:
    assert plural(n, "file") == text


def test_log_rows_and_their_copy_text() -> None:
    line = LogLine(
        seq=7, time=datetime(2025, 3, 4, 10, 30, tzinfo=UTC), level=LogLevel.error, source="dev-server", text="Error: boom"
    )
    entries = group_lines([log_fields(line), (8, "10:30:01", "info", "forja", "ok")])
    assert logs_text(entries) == ("10:30:00 [error] dev-server: Error: boom\n10:30:01 [info] forja: ok")


def test_preview_words_follow_the_preview_service_reports() -> None:
    info = PreviewInfo(preview_id="x", project_id="p", version=1, runner="local", state=PreviewState.installing)
    assert preview_words(info) == "Installing dependencies..."
    assert preview_words(info.model_copy(update={"state": PreviewState.running})) == "Starting the dev server..."
    assert preview_words(info.model_copy(update={"state": PreviewState.running, "url": "http://x.localhost"})) == ""
    assert preview_words(info.model_copy(update={"state": PreviewState.failed})) == "The preview failed: see the Logs tab."
    failed = info.model_copy(update={"state": PreviewState.failed, "detail": "npm exited with code 1"})
    assert preview_words(failed) == "The preview failed: npm exited with code 1."
    with_tail = failed.model_copy(
        update={"detail": "The dev server exited with code 1 (the command failed). Last lines:\nError: boom\n    at x.js:1"}
    )
    assert preview_words(with_tail) == "The preview failed: the dev server exited with code 1 (the command failed)."


def test_a_parked_preview_is_said_to_be_waking_until_it_answers() -> None:
    parked = PreviewInfo(preview_id="x", project_id="p", version=1, runner="local", state=PreviewState.parked)
    waking = "Waking the app up: it was parked after a while unused..."
    assert preview_words(parked) == waking
    for state in (PreviewState.starting, PreviewState.running):
        assert preview_words(parked.model_copy(update={"state": state}), waking=True) == waking
    assert preview_words(parked.model_copy(update={"state": PreviewState.running, "url": "http://x.localhost"}), True) == ""
    assert preview_words(parked.model_copy(update={"state": PreviewState.failed}), True).startswith("The preview failed")


def test_a_duplicate_says_copy_and_from_what_not_import() -> None:
    """A copy's first version is stored as an import; the conversation and History call it a copy (issue 15)."""
    copy = version(1, T0, Author.import_, "Duplicated from Menu version 2")
    imported = version(1, T0, Author.import_, "Imported 3 files from menu.zip")
    assert author_label(copy.author, copy.message) == "Copy"
    assert author_label(imported.author, imported.message) == "Import"
    [entry] = chat_entries([copy], [])
    assert (entry.author, entry.message) == ("Copy", "Duplicated from Menu version 2")


def test_long_messages_are_folded_and_short_ones_are_not() -> None:
    """A 20,000-character prompt made a 9,760 px bubble (issue 15): the page folds what this marks long."""
    assert not ChatEntry("prompt", "You", "make it blue", "now", "").long
    assert ChatEntry("prompt", "You", "pizza " * 4000, "now", "").long
    assert ChatEntry("prompt", "You", "\n".join(f"step {n}" for n in range(12)), "now", "").long
    assert not is_long_message("x" * LONG_MESSAGE_CHARS)
    assert is_long_message("x" * (LONG_MESSAGE_CHARS + 1))


def test_in_a_team_each_prompt_names_who_asked_and_yours_say_you() -> None:
    mine = generation(T0, "add a menu", None).model_copy(update={"user_id": "u-cy"})
    theirs = generation(T0 + timedelta(minutes=1), "make it blue", None).model_copy(update={"user_id": "u-dee"})
    gone = generation(T0 + timedelta(minutes=2), "a footer", None).model_copy(update={"user_id": "u-left"})
    unknown = generation(T0 + timedelta(minutes=3), "a header", None)
    names = {"u-cy": "Cy Diaz", "u-dee": "Dee Moss"}
    entries = chat_entries([], [mine, theirs, gone, unknown], names=names, me="u-cy")
    assert [e.author for e in entries if e.kind == "prompt"] == ["You", "Dee Moss", "Someone", "You"]


def test_a_checks_acceptance_checks_are_listed_under_it_and_counted_in_its_headline() -> None:
    def ran(number: int, passed: bool) -> AcceptanceInfo:
        shot = f"/api/projects/p/verifications/3/acceptance/{number}/screenshot"
        return AcceptanceInfo(
            number=number, path=f".forja/checks/0{number}-x.spec.js", title=f"Check {number}", passed=passed,
            message="" if passed else "line 4 (`await page.click();`): Timeout", screenshot=shot,
        )  # fmt: skip

    passing = check(T0, 1, [], check_id=3).model_copy(update={"acceptance": [ran(1, True), ran(2, True)]})
    assert passing.headline == "Checked: runs, no errors. 2 of 2 acceptance checks pass."
    failing_problem = Problem(kind="acceptance", message="The acceptance check \u201cCheck 2\u201d failed: line 4")
    failing = passing.model_copy(
        update={"status": "problems", "problems": [failing_problem], "acceptance": [ran(1, True), ran(2, False)]}
    )
    assert failing.headline == "Checked: runs, no errors. 1 of 2 acceptance checks pass."
    [entry] = chat_entries([], [], [failing])
    # The failed check is listed with its reason once, as a row, not again among the problems.
    assert (entry.message, entry.detail, entry.fixable) == (failing.headline, "", True)
    assert [(row.title, row.passed, row.image) for row in entry.acceptance] == [
        ("Check 1", True, "/api/projects/p/verifications/3/acceptance/1/screenshot"),
        ("Check 2", False, "/api/projects/p/verifications/3/acceptance/2/screenshot"),
    ]
    assert entry.acceptance[1].message.startswith("line 4")
    one = passing.model_copy(update={"acceptance": [ran(1, True)]})
    assert one.headline == "Checked: runs, no errors. 1 of 1 acceptance check passes."
