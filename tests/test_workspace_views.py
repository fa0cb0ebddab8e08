"""The workspace page's views (builder.state.views), without Reflex state."""

from __future__ import annotations

from datetime import UTC, datetime

from builder.models import Author
from builder.schemas import GenerationInfo, VersionInfo
from builder.state.views import (
    ChatEntry,
    LogRow,
    TreeRow,
    chat_entries,
    default_file,
    log_row,
    logs_text,
    preview_words,
    tree_rows,
)
from preview_runtime.logs import LogLevel, LogLine
from preview_runtime.runner import PreviewInfo, PreviewState

AT = datetime(2025, 3, 4, 10, 30, tzinfo=UTC)


def test_tree_rows_put_folders_first_and_hide_collapsed_ones() -> None:
    paths = ["src/b.js", "README.md", "src/lib/a.js", "a.txt"]
    assert tree_rows(paths, set()) == [
        TreeRow("src", "src", 0, True, True),
        TreeRow("src/lib", "lib", 1, True, True),
        TreeRow("src/lib/a.js", "a.js", 2, False, False),
        TreeRow("src/b.js", "b.js", 1, False, False),
        TreeRow("a.txt", "a.txt", 0, False, False),
        TreeRow("README.md", "README.md", 0, False, False),
    ]
    assert tree_rows(paths, {"src"}) == [
        TreeRow("src", "src", 0, True, False),
        TreeRow("a.txt", "a.txt", 0, False, False),
        TreeRow("README.md", "README.md", 0, False, False),
    ]


def test_default_file_prefers_the_app_then_any_text_file() -> None:
    assert default_file(["README.md", "src/App.jsx", "index.html"]) == "src/App.jsx"
    assert default_file(["logo.png", "notes.txt"]) == "notes.txt"
    assert default_file(["logo.png"]) == "logo.png"


def test_log_rows_and_their_copy_text() -> None:
    line = LogLine(seq=7, time=AT, level=LogLevel.error, source="dev-server", text="Error: boom")
    row = log_row(line)
    assert row == LogRow(7, "10:30:00", "error", "dev-server", "Error: boom")
    assert logs_text([row, LogRow(8, "10:30:01", "info", "forja", "ok")]) == (
        "10:30:00 [error] dev-server: Error: boom\n10:30:01 [info] forja: ok"
    )


def test_chat_shows_each_prompt_then_its_outcome_in_time_order() -> None:
    failed = GenerationInfo(
        id=1,
        project_id="p",
        version=None,
        prompt="make it blue",
        provider="anthropic",
        model="m",
        input_tokens=0,
        output_tokens=0,
        cache_read_tokens=0,
        cache_write_tokens=0,
        cost_usd=None,
        duration_s=1,
        outcome="failed",
        summary="",
        error="The model gave up.",
        created_at=AT,
    )
    built = failed.model_copy(
        update={
            "id": 2,
            "version": 1,
            "prompt": "a todo app",
            "outcome": "ok",
            "error": "",
            "input_tokens": 1000,
            "cost_usd": 0.0125,
        }
    )
    built.created_at = AT.replace(minute=20)
    version = VersionInfo(
        id=1,
        number=1,
        parent_number=None,
        author=Author.ai,
        message="Todo app",
        files_changed=3,
        created_at=AT.replace(minute=21),
    )
    assert chat_entries([version], [failed, built]) == [
        ChatEntry("prompt", "You", "a todo app", "04 Mar, 10:20", ""),
        ChatEntry(
            "version",
            "Forja AI",
            "Todo app",
            "04 Mar, 10:21",
            "version 1 \u00b7 3 files changed \u00b7 1,000 tokens \u00b7 about $0.013",
        ),
        ChatEntry("prompt", "You", "make it blue", "04 Mar, 10:30", ""),
        ChatEntry("error", "Forja", "The model gave up.", "04 Mar, 10:30", "Nothing was changed."),
    ]


def test_preview_words_follow_the_preview_service_reports() -> None:
    info = PreviewInfo(preview_id="x", project_id="p", version=1, runner="local", state=PreviewState.installing)
    assert preview_words(info) == "Installing dependencies..."
    assert preview_words(info.model_copy(update={"state": PreviewState.running})) == "Starting the dev server..."
    assert preview_words(info.model_copy(update={"state": PreviewState.running, "url": "http://x.localhost"})) == ""
    assert preview_words(info.model_copy(update={"state": PreviewState.failed})) == "The preview failed: see the Logs tab."
    failed = info.model_copy(update={"state": PreviewState.failed, "detail": "npm exited with code 1"})
    assert preview_words(failed) == "The preview failed: npm exited with code 1."
