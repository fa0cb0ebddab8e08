"""Props of the page's components that Reflex passes on as CSS: a Radix scale step there ("2") is not a length, so the
browser drops it. `gap="2"` on a flex gave the home page's git URL, branch and Import button no room between them;
Radix's spacing is `spacing="2"`."""

from __future__ import annotations

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
# CSS lengths a bare number is not one of (0 aside, which needs no unit).
LENGTHS = {"gap", "row_gap", "column_gap", "padding", "margin", "width", "height", "min_width", "max_width"}


def unitless(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if not isinstance(node, ast.Call):
            continue
        for keyword in node.keywords:
            value = keyword.value
            if (
                keyword.arg in LENGTHS
                and isinstance(value, ast.Constant)
                and isinstance(value.value, str)
                and value.value.isdigit()
                and value.value != "0"
            ):
                found.append(f"{path.relative_to(REPO)}:{node.lineno}: {keyword.arg}={value.value!r}")
    return found


def test_no_component_gets_a_css_length_without_its_unit() -> None:
    sources = [*(REPO / "builder" / "components").glob("*.py"), *(REPO / "builder" / "pages").glob("*.py")]
    assert sources
    assert [line for path in sorted(sources) for line in unitless(path)] == []
