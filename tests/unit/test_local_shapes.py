"""The readers of local servers' tool-call shapes (builder/generation/providers/local_shapes.py), rule by rule."""

from __future__ import annotations

import json

import pytest

from builder.errors import ProviderError
from builder.generation.providers.base import FILE_TREE_TOOL, ProviderEvent, TextDelta, ToolDelta, ToolStart
from builder.generation.providers.local_shapes import (
    CallReader,
    ContentReader,
    held_back,
    input_from_text,
    refuses_tools,
    text_instruction,
)

TREE = {"title": "Bakery", "files": [{"path": "index.html", "content": "<h1>Hi {there}</h1>\n"}]}
CALL = json.dumps({"name": "emit_file_tree", "arguments": TREE})


def read(pieces: list[str]) -> list[ProviderEvent]:
    reader = ContentReader()
    events = [event for piece in pieces for event in reader.feed(piece)]
    return [*events, *reader.end()]


def text(events: list[ProviderEvent]) -> str:
    return "".join(e.text for e in events if isinstance(e, TextDelta))


def calls(events: list[ProviderEvent]) -> list[tuple[str, dict]]:
    """(name, arguments) of each call: a ToolStart and the ToolDeltas after it."""
    found: list[tuple[str, list[str]]] = []
    for event in events:
        if isinstance(event, ToolStart):
            assert event.id.startswith("call_") and len(event.id) > 8
            found.append((event.name, []))
        elif isinstance(event, ToolDelta):
            found[-1][1].append(event.partial_json)
    return [(name, json.loads("".join(parts))) for name, parts in found]


def cut(whole: str, size: int) -> list[str]:
    return [whole[i : i + size] for i in range(0, len(whole), size)]


def test_prose_streams_and_holds_back_only_a_possible_marker() -> None:
    reader = ContentReader()
    assert reader.feed("Here is the page <to") == [TextDelta("Here is the page ")]
    assert reader.feed("day> list") == [TextDelta("<today> list")]
    assert reader.end() == []


def test_held_back_is_the_longest_tail_that_starts_the_marker() -> None:
    assert held_back("abc <tool_", "<tool_call>") == 6
    assert held_back("abc <", "<tool_call>") == 1
    assert held_back("abc", "<tool_call>") == 0


@pytest.mark.parametrize("size", [1, 3, 7, 1000])
def test_hermes_call_in_content_split_anywhere(size: int) -> None:
    events = read(cut(f"Sure.\n<tool_call>\n{CALL}\n</tool_call>", size))
    assert text(events) == "Sure.\n"
    assert calls(events) == [("emit_file_tree", TREE)]


def test_two_hermes_calls_and_an_unclosed_last_one() -> None:
    other = json.dumps({"name": "read_file", "parameters": {"path": "a.js"}})
    events = read([f"<tool_call>{CALL}</tool_call>\n<tool_call>{other}"])
    assert calls(events) == [("emit_file_tree", TREE), ("read_file", {"path": "a.js"})]


@pytest.mark.parametrize("size", [1, 5, 1000])
def test_think_block_at_the_start_is_dropped(size: int) -> None:
    events = read(cut(f"  <think>\nShould I use <tool_call>? Yes.\n</think>\n\n<tool_call>{CALL}</tool_call>", size))
    assert calls(events) == [("emit_file_tree", TREE)]
    assert "Should I" not in text(events)


def test_think_then_prose_keeps_only_the_prose() -> None:
    assert text(read(["<think>hmm</think>", "All done."])) == "All done."


def test_unclosed_think_is_all_thinking() -> None:
    assert read(["<think>still thinking and cut"]) == []


@pytest.mark.parametrize("size", [2, 1000])
def test_bare_json_call_as_the_whole_content(size: int) -> None:
    assert calls(read(cut(f"\n{CALL}", size))) == [("emit_file_tree", TREE)]


def test_json_that_is_not_a_call_stays_text() -> None:
    whole = '{"answer": 42}'
    assert read([whole]) == [TextDelta(whole)]


def test_malformed_call_in_content_is_a_provider_error_in_words() -> None:
    with pytest.raises(ProviderError, match=r"wrote a tool call as text, but it is not valid JSON"):
        read(['<tool_call>{"name": "emit_file_tree", "arguments": {"files": [}</tool_call>'])
    with pytest.raises(ProviderError, match="without the tool's name"):
        read(['<tool_call>{"arguments": {}}</tool_call>'])


def test_call_without_id_starts_with_one_of_forjas() -> None:
    reader = CallReader()
    events = [*reader.feed(0, None, "emit_file_tree", ""), *reader.feed(0, None, None, '{"title": "x"}'), *reader.end()]
    assert calls(events) == [("emit_file_tree", {"title": "x"})]


def test_server_id_is_kept_and_a_late_id_changes_nothing() -> None:
    reader = CallReader()
    first = reader.feed(0, "call_server", "emit_file_tree", "{")
    assert first == [ToolStart("call_server", "emit_file_tree"), ToolDelta("{")]
    assert reader.feed(0, "call_other", None, "}") == [ToolDelta("}")]


def test_arguments_before_the_name_follow_the_start() -> None:
    reader = CallReader()
    assert reader.feed(0, None, None, '{"a"') == []
    assert reader.feed(0, "call_1", "write_file", ": 1}") == [
        ToolStart("call_1", "write_file"),
        ToolDelta('{"a"'),
        ToolDelta(": 1}"),
    ]


def test_calls_without_index_are_one_call_each() -> None:
    reader = CallReader()
    events = [
        *reader.feed(None, "call_aaaaaaaa", "read_file", '{"path": "a"}'),
        *reader.feed(None, "call_bbbbbbbb", "read_file", '{"path": "b"}'),
    ]
    assert calls(events) == [("read_file", {"path": "a"}), ("read_file", {"path": "b"})]


def test_a_call_whose_name_never_came() -> None:
    only = CallReader(only_tool="emit_file_tree")
    only.feed(0, None, None, '{"title": "x"}')
    assert calls(only.end()) == [("emit_file_tree", {"title": "x"})]
    several = CallReader()
    several.feed(0, None, None, "{}")
    with pytest.raises(ProviderError, match="without the tool's name"):
        several.end()


@pytest.mark.parametrize(
    ("status", "message", "refused"),
    [
        (400, "registry.ollama.ai/library/gemma3:4b does not support tools", True),
        (422, '"auto" tool choice is not supported by this server', True),
        (400, "tool_choice is not allowed here", True),
        (400, "max_tokens is too large", False),
        (500, "model does not support tools", False),
    ],
)
def test_refuses_tools(status: int, message: str, refused: bool) -> None:
    assert refuses_tools(status, message) is refused


def test_text_instruction_names_the_tool_and_its_schema() -> None:
    said = text_instruction(FILE_TREE_TOOL)
    assert "`emit_file_tree`" in said
    assert json.dumps(FILE_TREE_TOOL.input_schema, ensure_ascii=False) in said


@pytest.mark.parametrize(
    "answer",
    [
        json.dumps(TREE),
        f"<think>plan the page {{}}</think>\nHere are the files:\n```json\n{json.dumps(TREE, indent=2)}\n```\nEnjoy!",
        f"Sure! The input is {json.dumps(TREE)} as asked.",
        f"```\n{CALL}\n```",
    ],
)
def test_input_from_text(answer: str) -> None:
    assert json.loads(input_from_text(answer, FILE_TREE_TOOL)) == TREE


def test_input_from_text_without_json_is_a_provider_error_in_words() -> None:
    with pytest.raises(ProviderError, match="held no complete JSON object"):
        input_from_text('Here you go: {"title": "Bakery", "files": [', FILE_TREE_TOOL)
