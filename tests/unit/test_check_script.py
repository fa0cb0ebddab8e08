"""preview_runtime.check_script: what it reads of a Playwright Test file, and the sentences for what it cannot."""

from __future__ import annotations

import pytest

from preview_runtime.check_script import (
    MAX_STATEMENTS,
    Call,
    Member,
    Name,
    Regex,
    ScriptError,
    Value,
    is_check_path,
    parse_checks,
)


def test_steps_values_and_titles_are_read() -> None:
    source = """import { test, expect } from "@playwright/test";
/* Two tests in one file. */
test(`Search "bank":   only matching items stay`, async ({ page }) => {
  await page.goto('/');
  const box = page.getByPlaceholder('Search\\u2026', { exact: true })
  await box.fill('bank');
  await expect(page.getByRole('listitem').filter({ hasText: /bank/i })).toHaveCount(1, { timeout: 2000 });
  expect(await box.inputValue()).toBe("bank");
});
test('Nothing else', async ({ page }) => { await page.goto('/about'); });
"""
    first, second = parse_checks(source)
    assert first.title == 'Search "bank": only matching items stay' and first.line == 3
    assert [s.line for s in first.statements] == [4, 5, 6, 7, 8]
    assert first.statements[1].binds == "box"
    assert first.statements[1].expr == Call(
        Member(Name("page"), "getByPlaceholder"), (Value("Search\u2026"), Value({"exact": True}))
    )
    count = first.statements[3].expr
    assert isinstance(count, Call) and count.args == (Value(1), Value({"timeout": 2000}))
    listed = count.target
    assert isinstance(listed, Member) and isinstance(listed.target, Call)
    filtered = listed.target.args[0]
    assert isinstance(filtered, Call) and filtered.args == (Value({"hasText": Regex("bank", "i")}),)
    assert first.statements[3].source.startswith("await expect(page.getByRole('listitem')")
    assert second.title == "Nothing else" and len(second.statements) == 1


@pytest.mark.parametrize(
    ("source", "line", "words"),
    [
        ("", 1, "has no `test("),
        ("import fs from 'node:fs';\ntest('x', async ({ page }) => {});", 1, "only from '@playwright/test'"),
        ("test('x', async ({ page }) => {\n  for (const a of [1]) {}\n});", 2, "`for` cannot start a step"),
        ("test('x', async ({ page }) => {\n  await page.goto('/' + path);\n});", 2, "cannot read '+ path);'"),
        ("test('x', async ({ page }) => {\n  await page.goto(`/${path}`);\n});", 2, "cannot read"),
        ("test('x', async ({ page }) => {\n  await page.click({ name: page.url() });\n});", 2, "not a call"),
        ("console.log('hi');", 1, "imports and `test("),
        ("test('x', async ({ page, request }) => {});", 1, "expected `}`"),
    ],
)
def test_what_it_cannot_read_is_named_by_line(source: str, line: int, words: str) -> None:
    with pytest.raises(ScriptError) as caught:
        parse_checks(source)
    assert caught.value.line == line and words in str(caught.value), str(caught.value)


def test_a_check_has_a_step_cap_and_paths_are_recognised() -> None:
    body = "\n".join("  await page.reload();" for _ in range(MAX_STATEMENTS + 1))
    with pytest.raises(ScriptError, match="at most"):
        parse_checks(f"test('x', async ({{ page }}) => {{\n{body}\n}});")
    assert is_check_path(".forja/checks/01-add.spec.js") and is_check_path(".forja/checks/x.test.ts")
    assert not is_check_path("tests/01-add.spec.js") and not is_check_path(".forja/checks/notes.md")


def test_string_escapes_read_as_javascript_reads_them() -> None:
    # `\u` takes four hex digits or braces, as in JavaScript: "\u0026Butter" (how jinja's `tojson` writes "&Butter") is
    # "&Butter", not the character U+26B and "utter".
    [test] = parse_checks(r"""test("Bread\u0026Butter \u003cb\u003e \u{1F35E} \x41 \u{FFFFFFF}", async ({ page }) => {
  await page.goto('/');
});""")
    assert test.title == "Bread&Butter <b> \U0001f35e A \ufffd"
