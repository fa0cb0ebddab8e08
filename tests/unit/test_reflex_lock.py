"""The committed reflex.lock/package.json is byte for byte what a `reflex run` writes back to it.

`reflex run` renders .web/package.json from reflex.lock/package.json in its own key order, npm's `add` of the
framework packages rewrites it (keeping that order, compact because the rendered file has no line breaks), and
Reflex copies the result back to reflex.lock/. A committed copy in any other key order or layout is rewritten by
every test run that starts Forja (tests/e2e), leaving the checkout dirty; this test says so without starting anything.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from reflex.utils import frontend_skeleton

REPO = Path(__file__).resolve().parents[2]


def test_committed_package_json_is_in_the_form_reflex_writes(monkeypatch: pytest.MonkeyPatch) -> None:
    committed = (REPO / "reflex.lock" / "package.json").read_text()
    persisted = json.loads(committed)
    monkeypatch.chdir(REPO)  # Reflex reads reflex.lock/ from the working directory
    rendered = json.loads(frontend_skeleton._compile_package_json())
    hint = "commit the reflex.lock/package.json a `reflex run` leaves behind"
    assert list(persisted) == list(rendered), hint
    assert persisted == rendered, hint
    assert committed == json.dumps(persisted, separators=(",", ":"), ensure_ascii=False), hint
