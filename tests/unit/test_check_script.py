"""Check scripts are read as JavaScript reads them (preview_runtime.check_script)."""

from __future__ import annotations

from preview_runtime.check_script import parse_checks


def test_string_escapes_read_as_javascript_reads_them() -> None:
    # `\u` takes four hex digits or braces, as in JavaScript: "\u0026Butter" (how jinja's `tojson` writes "&Butter") is
    # "&Butter", not the character U+26B and "utter".
    [test] = parse_checks(r"""test("Bread\u0026Butter \u003cb\u003e \u{1F35E} \x41 \u{FFFFFFF}", async ({ page }) => {
  await page.goto('/');
});""")
    assert test.title == "Bread&Butter <b> \U0001f35e A \ufffd"
