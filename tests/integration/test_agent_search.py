"""Agent mode's `search_code` as the service layer runs it for a model (AgentWorkspace.do): a line planted in a project
file cannot make the model's pattern freeze the worker, a pattern RE2 cannot run is answered with a sentence the model
can act on, and what comes back is capped and redacted."""

from __future__ import annotations

import time

from builder.composition import Services
from builder.generation.agent_tools import SearchCode
from builder.services.agent_workspace import AgentWorkspace

# Thirty-six `a`s and a `!`: Python's `re` would try about 2**36 ways of splitting them for `^(a+)+$`.
PLANTED = "a" * 36 + "!"


def workspace(services: Services, tree: dict[str, bytes]) -> AgentWorkspace:
    return services.generations._workspace("p1", tree)  # pyright: ignore[reportPrivateUsage]  # as an agent run makes it


async def test_a_catastrophic_pattern_over_a_planted_line_answers_at_once(services: Services) -> None:
    tree = {"src/app.js": b"const x = 1;\n", "notes.txt": f"{PLANTED}\n".encode()}
    started = time.monotonic()
    outcome = await workspace(services, tree).do("search_code", SearchCode(pattern=r"^(a+)+$"))
    took = time.monotonic() - started
    print(f"search_code ^(a+)+$ over a planted line of {len(PLANTED)}: {took * 1000:.1f} ms")
    assert outcome.ok and outcome.text == "No line matches." and outcome.detail == "0 matches"
    assert took < 1  # Python's re would take hours here; this is a bound, not a speed test (bench/agent_search.py)

    found = await workspace(services, tree).do("search_code", SearchCode(pattern=r"^(a+)+!$"))
    assert found.ok and found.text == f"notes.txt:1: {PLANTED}"


async def test_a_pattern_re2_cannot_run_gets_a_sentence_saying_what_to_use(services: Services) -> None:
    tree = {"src/app.js": b"const total = total + 1;\n"}
    outcome = await workspace(services, tree).do("search_code", SearchCode(pattern=r"(\w+) = \1"))
    assert not outcome.ok and outcome.label == "Search code (\\w+) = \\1"
    assert outcome.text.startswith("Forja runs patterns in linear time (RE2) and cannot run this one: it refers back")
    assert "write out the text the group should match again" in outcome.text
    behind = await workspace(services, tree).do("search_code", SearchCode(pattern=r"(?<=const )total"))
    assert not behind.ok and "make the surrounding text part of the match instead" in behind.text


async def test_results_are_capped_and_redacted(services: Services) -> None:
    # A key pasted into a file (a well-known key's shape): the model never sees it.
    tree = {f"f{index:03}.js": b"// TODO: sk-ant-api03-planted4eC39HqLyjWDarjt\n" * 20 for index in range(100)}
    outcome = await workspace(services, tree).do("search_code", SearchCode(pattern="TODO"))
    lines = outcome.text.splitlines()
    assert len(lines) == 81 and lines[-1] == "... and at least 920 more matches"
    assert lines[0] == "f000.js:1: // TODO: [redacted]" and "sk-ant" not in outcome.text
    assert outcome.detail == "1000 matches"
