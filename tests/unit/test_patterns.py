"""Patterns someone else wrote run with RE2 (preview_runtime/patterns.py), and agent mode's search reads a bounded part
of a project (builder/code_search.py): a pattern that makes Python's `re` backtrack for minutes answers at once, a
pattern RE2 cannot run gets a sentence saying what to write instead, and the search stops at its caps."""

from __future__ import annotations

import time

import pytest

from builder import code_search
from builder.code_search import LINE_CHARS, MOST_COUNTED, SHOWN_MATCHES, search_files
from preview_runtime.patterns import MAX_PATTERN_CHARS, PatternError, compile_pattern

# Python's `re` needs about 2**33 steps for this line (minutes); RE2 reads it once.
PLANTED = "a" * 33 + "!"


def test_a_catastrophic_pattern_over_a_planted_line_answers_at_once() -> None:
    pattern = compile_pattern(r"^(a+)+$")
    started = time.monotonic()
    assert pattern.search(PLANTED) is False
    took = time.monotonic() - started
    print(f"^(a+)+$ over {len(PLANTED)} characters: {took * 1000:.3f} ms")
    # A bound Python's re could not meet (seconds for 24 characters, doubling with each): not a speed test.
    assert took < 1
    assert pattern.search("a" * 33) is True


@pytest.mark.parametrize(
    ("pattern", "said"),
    [
        (r"(\w+) \1", "refers back to a group"),
        (r"(?P<x>a)(?P=x)", "refers back to a group"),
        (r"foo(?=bar)", "looks ahead or behind"),
        (r"(?<!un)safe", "looks ahead or behind"),
        (r"(?>a+)b", "atomic group or a possessive quantifier"),
        (r"end\Z", r"write \z (or $)"),
    ],
)
def test_what_re2_cannot_run_is_said_with_what_to_write_instead(pattern: str, said: str) -> None:
    with pytest.raises(PatternError, match="Forja runs patterns in linear time") as refused:
        compile_pattern(pattern)
    assert said in str(refused.value)


def test_a_broken_pattern_and_a_long_one_are_refused_in_words() -> None:
    with pytest.raises(PatternError, match=r"not a regular expression Forja can read \(missing \)"):
        compile_pattern("(abc")
    assert compile_pattern("x" * MAX_PATTERN_CHARS).search("x" * MAX_PATTERN_CHARS)
    with pytest.raises(PatternError, match=f"{MAX_PATTERN_CHARS + 1} characters long; Forja runs patterns of at most"):
        compile_pattern("x" * (MAX_PATTERN_CHARS + 1))
    with pytest.raises(PatternError, match="at most 300"):
        compile_pattern("x" * 301, most_chars=300)


def test_javascript_flags_become_re2_s() -> None:
    assert compile_pattern("hello", "i").search("HeLLo")
    assert not compile_pattern("hello").search("HeLLo")
    assert compile_pattern("^b$", "m").search("a\nb\nc")
    assert not compile_pattern("^b$").search("a\nb\nc")
    assert compile_pattern("a.b", "s").search("a\nb")


def test_the_search_shows_at_most_its_lines_and_stops_counting() -> None:
    tree = {f"f{index:03}.txt": ("needle\n" * 10).encode() for index in range(200)}
    found = search_files(tree, compile_pattern("needle"))
    assert len(found.lines) == SHOWN_MATCHES and found.lines[0] == "f000.txt:1: needle"
    assert found.matches == MOST_COUNTED and found.stopped
    assert found.summary() == f"... and at least {MOST_COUNTED - SHOWN_MATCHES} more matches"
    long = search_files({"a.js": ("x" * 5000).encode()}, compile_pattern("x"))
    assert long.lines == [f"a.js:1: {'x' * LINE_CHARS}"]


def test_the_search_reads_a_bounded_number_of_bytes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(code_search, "SEARCHED_BYTES", 1000)
    tree = {"a/big.txt": b"needle " * 200, "a/small.txt": b"needle", "b/small.txt": b"needle", "c.png": b"\x89PNG\0needle"}
    found = search_files(tree, compile_pattern("needle"))
    assert found.lines == ["a/small.txt:1: needle", "b/small.txt:1: needle"] and found.unread == 1
    assert "1 file not searched (a search reads at most 1000 bytes); give a folder to search them." in found.summary()
    assert search_files(tree, compile_pattern("needle"), "b").lines == ["b/small.txt:1: needle"]
