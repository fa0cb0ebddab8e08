"""Regular expressions written by someone else (agent mode's model, a project's acceptance check), run with RE2.

Python's `re` backtracks: `^(a+)+$` over 24 `a`s and a `!` takes seconds, twice as long for each `a` more
(bench/agent_search.py), and a search runs in Forja's process, so one line planted in a project's file would freeze a
worker. RE2 matches in time linear in the text, whatever the pattern, and refuses what needs backtracking
(backreferences, lookaround) when it compiles: those get a sentence saying what to write instead.
"""

from __future__ import annotations

import re

import re2

MAX_PATTERN_CHARS = 1000

_ALTERNATIVES = (
    (
        re.compile(r"\\[1-9]|\(\?P=|\\k<"),
        "it refers back to a group (\\1, (?P=name)), which needs backtracking: write out the text the group should "
        "match again, or match the parts one at a time.",
    ),
    (
        re.compile(r"\(\?<?[=!]"),
        "it looks ahead or behind ((?=...), (?!...), (?<=...), (?<!...)), which needs backtracking: make the "
        "surrounding text part of the match instead.",
    ),
    (
        re.compile(r"\(\?>|[*+?}][+]"),
        "it uses an atomic group or a possessive quantifier ((?>...), *+, ++), which this engine never needs: write the "
        "plain group or quantifier.",
    ),
    (re.compile(r"\\Z"), "it uses \\Z: write \\z (or $) for the end of the text."),
)


class PatternError(ValueError):
    """A pattern that cannot be run, with the sentence that says why and what to write instead."""


class LinearPattern:
    """A compiled pattern whose search takes time linear in the text it reads."""

    def __init__(self, compiled: re2._Regexp) -> None:  # pyright: ignore[reportPrivateUsage]  # re2's compiled type
        self._compiled = compiled

    def search(self, text: str) -> bool:
        """Whether the pattern matches somewhere in `text`."""
        return self._compiled.search(text) is not None


def _options() -> re2.Options:
    options = re2.Options()
    options.log_errors = False  # RE2 would print every refused pattern on stderr; the caller says why in words
    return options


def compile_pattern(pattern: str, flags: str = "", most_chars: int = MAX_PATTERN_CHARS) -> LinearPattern:
    """`pattern` compiled by RE2 (Python's syntax, mostly), with JavaScript's `flags` (i, m, s) when given; PatternError
    in words for one too long or that RE2 cannot run."""
    if len(pattern) > most_chars:
        raise PatternError(f"The pattern is {len(pattern)} characters long; Forja runs patterns of at most {most_chars}.")
    inline = "".join(flag for flag in "ims" if flag in flags)
    try:
        return LinearPattern(re2.compile(f"(?{inline}){pattern}" if inline else pattern, _options()))
    except re2.error as exc:
        raise PatternError(_why(pattern, exc)) from None


def _why(pattern: str, exc: Exception) -> str:
    for construct, why in _ALTERNATIVES:
        if construct.search(pattern):
            return f"Forja runs patterns in linear time (RE2) and cannot run this one: {why}"
    reason = exc.args[0].decode("utf-8", "replace") if exc.args and isinstance(exc.args[0], bytes) else str(exc)
    return f"The pattern is not a regular expression Forja can read ({reason})."
