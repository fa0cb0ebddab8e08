"""Random JSON at every API route that takes a body: deep, wide, huge numbers, NaN and Infinity, odd types, control
characters, lone surrogates, and the routes' own field names with values of any type. Whatever arrives, Forja answers
with a status below 500 (issue 30: "no 500s").

Hypothesis draws the bodies, derandomized and a fixed number of them, so CI sends the same ones every run; they go to
every route (listed from the app's own routes, as tests/integration/test_access.py lists them) as the owner and admin of
a real project, through the guards Forja serves, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.integration.test_access import Team, client_for, concrete, team  # noqa: F401 (team: a fixture, used by name)
from tests.integration.test_attacks import api_routes

EXAMPLES = 30
# Field names of the routes' bodies, so random values land in real fields too, not only in unknown ones.
FIELDS = [
    "name", "files", "content", "prompt", "provider", "model", "verify", "images", "data", "version", "expires_in",
    "quotas", "tokens_day", "cost_day_usd", "previews", "projects", "storage_mb", "role", "disabled", "email", "lines",
    "text", "source", "level", "old", "new", "dom_path", "current", "password", "token", "invite", "setup_code", "next",
]  # fmt: skip
# Starts a preview when its (all optional) fields are left out: its own tests run it; here nothing would wait for it.
NOT_SENT = {("POST", "/api/projects/{project_id}/preview")}

scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.sampled_from([2**31, 2**63, -(2**63) - 1, 10**30, 0, -1])
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=30)
    | st.sampled_from(["\x00", "\x1b[31m", "a\r\nb", "\u202eexe", "\ud800", "../../etc/passwd", "", " " * 5])
)
keys = st.sampled_from(FIELDS) | st.text(max_size=10)
values = st.recursive(
    scalars, lambda inner: st.lists(inner, max_size=5) | st.dictionaries(keys, inner, max_size=5), max_leaves=25
)


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


def collected_bodies() -> list[str]:
    """The bodies, as the bytes a client sends (json.dumps writes NaN and Infinity as JavaScript does), plus shapes no
    encoder makes: very deep and very wide."""
    bodies: list[str] = []

    @settings(
        max_examples=EXAMPLES,
        derandomize=True,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(st.dictionaries(keys, values, max_size=8) | values)
    def collect(value: Any) -> None:
        bodies.append(json.dumps(value))

    collect()
    return [*bodies, nested(100_000), nested(40), "[" + "1," * 60_000 + "1]", '{"name": 1e999}', "{"]


BODIES = collected_bodies()


def body_routes() -> list[tuple[str, str]]:
    """(method, path) of every route that reads a JSON body."""
    found = set()
    for path, route in api_routes():
        reads_json = route.body_field is not None or path == "/api/projects"
        for method in set(route.methods or ()) & {"POST", "PUT", "PATCH", "DELETE"}:
            if reads_json and (method, path) not in NOT_SENT:
                found.add((method, path))
    return sorted(found)


def test_the_bodies_are_random_and_the_routes_many() -> None:
    assert len(set(BODIES)) > EXAMPLES // 2
    assert len(body_routes()) >= 20


@pytest.mark.parametrize("who", ["ana"])
async def test_no_body_makes_a_route_answer_5xx(team: Team, who: str) -> None:  # noqa: F811
    failures: list[tuple[str, str, int, str]] = []
    async with client_for() as http:
        for method, path in body_routes():
            for body in BODIES:
                answer = await http.request(
                    method,
                    concrete(path, team),
                    content=body,
                    headers={**team.headers(who), "Content-Type": "application/json"},
                )
                if answer.status_code >= 500:
                    failures.append((method, path, answer.status_code, body[:200]))
    assert failures == []
