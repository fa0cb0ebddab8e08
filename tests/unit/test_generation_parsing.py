"""The generation engine's pure parts: edits applied exactly once, files read from prose, the streaming parser, redaction."""

from __future__ import annotations

import json
from typing import Any

import pytest

from builder.generation import guard
from builder.generation.engine import apply_edits, files_from_prose
from builder.generation.schema import FileEdit
from builder.generation.stream_parser import FieldDone, FileStarted, FileTreeStreamParser, ItemDone

SECRET = "supersecretvalue123456"


def edit(path: str, search: str, replace: str) -> FileEdit:
    return FileEdit(path=path, search=search, replace=replace)


def test_apply_edits_exactly_once() -> None:
    tree = {"a.txt": "one two two three", "b.txt": "alpha"}
    changed, failures = apply_edits(
        tree,
        [
            edit("a.txt", "one", "1"),  # once: applied
            edit("a.txt", "two", "2"),  # twice: refused
            edit("a.txt", "four", "4"),  # missing: refused
            edit("missing.txt", "x", "y"),  # no such file
            edit("a.txt", "1 two two", "1 two 2"),  # sees the first edit
            edit("b.txt", "alpha", "alpha alpha"),
            edit("b.txt", "alpha", "beta"),  # now twice: refused, b.txt keeps the previous edit
        ],
    )
    assert changed == {"a.txt": "1 two 2 three", "b.txt": "alpha alpha"}
    assert failures == [("a.txt", "two"), ("a.txt", "four"), ("missing.txt", "x"), ("b.txt", "alpha")]
    assert tree == {"a.txt": "one two two three", "b.txt": "alpha"}  # the input is not modified


def test_apply_edits_replaces_literally() -> None:
    changed, failures = apply_edits({"a.py": "x = re.sub(r'\\d+', '$1', s)\n"}, [edit("a.py", "'$1'", "'\\\\1 $&'")])
    assert failures == [] and changed == {"a.py": "x = re.sub(r'\\d+', '\\\\1 $&', s)\n"}


def test_files_from_prose() -> None:
    text = (
        "Here it is.\n\n**index.html**\n```html\n<h1>Hi</h1>\n```\n\n"
        "```js src/app.js\nconsole.log(1)\n\nconsole.log(2)\n```\n"
        "File: `styles/main.css`\n```css\nbody {}\n```\n"
        "A snippet with no file name:\n```bash\nnpm install\n```\n"
        "```\njust code\n```\n"
    )
    assert files_from_prose(text) == {
        "index.html": "<h1>Hi</h1>\n",
        "src/app.js": "console.log(1)\n\nconsole.log(2)\n",
        "styles/main.css": "body {}\n",
    }
    assert files_from_prose("```python app.py\nprint('first line of the answer')\n```") == {
        "app.py": "print('first line of the answer')\n"
    }
    assert files_from_prose("No code at all, just words about index.html.") == {}
    assert files_from_prose("```html\n<p>unnamed</p>\n```") == {}


PARSER_DOC: dict[str, Any] = {
    "title": 'Café "quoted" {app}',
    "summary": "Backslash \\ and newline\n and emoji 😀 and CJK 你好",
    "stack": ["react", "title"],
    "files": [
        {"path": "a.txt", "content": 'tricky }{][ ,: "path": "fake.txt" \\" \\\\ \t\u0001 end'},
        {"content": "content before path 🇵🇹", "path": "dir/b.js", "title": "not the root title"},
        {"path": "c/ü.md", "content": "", "extra": {"nested": [{"path": "no.txt", "content": "no"}]}},
    ],
    "edits": [{"path": "a.txt", "search": "{", "replace": "}"}],
    "delete": ["old.txt"],
    "run": {"install": "npm i", "port": 3000},
}


def parse(chunks: list[str]) -> list[Any]:
    parser = FileTreeStreamParser()
    events = [event for chunk in chunks for event in parser.feed(chunk)]
    assert parser.text == "".join(chunks)
    return events


@pytest.mark.parametrize("ascii_only", [False, True], ids=["utf8", "escaped"])
def test_stream_parser_at_every_boundary(ascii_only: bool) -> None:
    doc = json.dumps(PARSER_DOC, ensure_ascii=ascii_only)
    files, edits = PARSER_DOC["files"], PARSER_DOC["edits"]
    expected = parse([doc])
    assert [e for e in expected if isinstance(e, FieldDone)] == [
        FieldDone("title", PARSER_DOC["title"]),
        FieldDone("summary", PARSER_DOC["summary"]),
    ]
    assert [e for e in expected if isinstance(e, FileStarted)] == [FileStarted(i, f["path"]) for i, f in enumerate(files)]
    assert [e for e in expected if isinstance(e, ItemDone)] == [
        *(ItemDone("files", i, f) for i, f in enumerate(files)),
        ItemDone("edits", 0, edits[0]),
    ]
    for i, item in enumerate(files):  # announced before it is complete
        assert expected.index(FileStarted(i, item["path"])) < expected.index(ItemDone("files", i, item))

    assert parse(list(doc)) == expected
    ends = [
        doc.index(json.dumps(item, ensure_ascii=ascii_only)) + len(json.dumps(item, ensure_ascii=ascii_only)) for item in files
    ]
    for cut in range(1, len(doc)):
        assert parse([doc[:cut], doc[cut:]]) == expected, cut
        # Cut off here: exactly the files whose object closed before the cut, complete.
        prefix = [e for e in parse([doc[:cut]]) if isinstance(e, ItemDone) and e.array == "files"]
        assert prefix == [ItemDone("files", i, f) for i, f in enumerate(files) if ends[i] <= cut], cut


def test_stream_parser_counts_files_and_ignores_non_files() -> None:
    parser = FileTreeStreamParser()
    events = parser.feed('{"edits": [{"path": "x", "search": "a", "replace": "b"}], "files": [')
    assert events == [ItemDone("edits", 0, {"path": "x", "search": "a", "replace": "b"})]
    assert parser.feed('{"path": "a", "content": "1"}, {"path": "b", "con') == [
        FileStarted(0, "a"),
        ItemDone("files", 0, {"path": "a", "content": "1"}),
        FileStarted(1, "b"),
    ]
    assert parser.files_done == 1


def test_redact_key_shapes_and_environment_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FORJA_TEST_SECRET_TOKEN", SECRET)
    monkeypatch.setenv("MY_SERVICE_PASSWORD", SECRET + "-longer")
    monkeypatch.setenv("SHORT_TOKEN", "1234")  # too short to be told from ordinary text
    monkeypatch.setenv("PLAIN_SETTING", "notasecretvalue123")
    guard.secret_values.cache_clear()
    try:
        for key in (
            "sk-ant-api03-" + "A1b2_C3d4-" * 6,
            "sk-proj-" + "abcDEF123_" * 4,
            "sk-" + "abcdefghij0123456789",
            "ghp_" + "a1B2c3D4e5" * 3,
            "xoxb-1234567890-abcdefghij",
            "AKIAIOSFODNN7EXAMPLE",
        ):
            assert guard.redact(f"key={key};") == "key=[redacted];", key
            assert guard.contains_secret(key)
        assert guard.redact(f"a {SECRET}-longer b {SECRET} c") == "a [redacted] b [redacted] c"
        for harmless in ("task-manager", "sk-short", "AKIA1234", "port 1234", "notasecretvalue123", "ask-anthropic"):
            assert guard.redact(harmless) == harmless
            assert not guard.contains_secret(harmless)
    finally:
        guard.secret_values.cache_clear()
