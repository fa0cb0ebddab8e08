"""Acceptance checks (Playwright Test files read by preview_runtime.check_script) run by preview_runtime.acceptance
against a small booking page on loopback, in real headless Chromium."""

from __future__ import annotations

import time

from preview_runtime.acceptance import run_acceptance
from preview_runtime.verify import PageChecker
from tests.local_site import Site

BOOKING_PAGE = """<!doctype html><title>Barber</title>
<h1>Book a cut</h1>
<label>Name <input id="name"></label>
<label>Day <select id="day"><option>Thursday</option><option>Friday</option></select></label>
<label><input type="checkbox" id="beard"> Beard trim</label>
<button id="book">Book</button>
<ul id="list"></ul>
<a href="/about">About us</a>
<script>
document.getElementById('book').onclick = () => {
  const li = document.createElement('li');
  const beard = document.getElementById('beard').checked ? ' + beard' : '';
  li.textContent = document.getElementById('name').value + ' on ' + document.getElementById('day').value + beard;
  document.getElementById('list').append(li);
};
</script>"""

PASSING = """import { test, expect } from '@playwright/test';

// What a visitor does, then what they see.
test('Book Friday for Ana: it appears in the list', async ({ page }) => {
  await page.goto('/');
  await page.getByLabel('Name').fill("Ana");
  await page.getByLabel('Day').selectOption('Friday');
  await page.getByLabel(/beard/i).check();
  const book = page.getByRole('button', { name: 'Book' });
  await book.click();
  await expect(page.getByRole('listitem')).toHaveText('Ana on Friday + beard');
  await expect(page.getByRole('listitem')).toHaveCount(1);
  const count = await page.getByRole('listitem').count();
  expect(count).toBe(1);
  await expect(page.getByText('Bo on')).not.toBeVisible();
});

test('Open About us: its page says who we are', async ({ page }) => {
  await page.goto('/');
  await page.getByRole('link', { name: 'About us' }).click();
  await expect(page).toHaveURL('/about');
  await expect(page.getByRole('heading')).toContainText('Who we are');
});
"""

FAILING = """import { test, expect } from '@playwright/test';
test("Cancel Ana's booking: it leaves the list", async ({ page }) => {
  await page.goto('/');
  await page.getByRole('button', { name: 'Cancel' }).click();
  await expect(page.getByRole('listitem')).toHaveCount(0);
});
"""

UNREADABLE = """test('Loops are code', async ({ page }) => {
  for (const day of ['Friday']) { await page.goto('/'); }
});
"""

ESCAPING = """test('Leave the app', async ({ page }) => {
  await page.goto('http://127.0.0.2:9/');
});
test('Run code in the page', async ({ page }) => {
  await page.evaluate('document.title');
});
"""


async def test_checks_pass_fail_and_say_why(checker: PageChecker, sites: list[Site]) -> None:
    site = Site({"/": (200, BOOKING_PAGE), "/about": (200, "<h1>Who we are</h1><p>Barbers since 1990.</p>")})
    sites.append(site)
    scripts = {
        ".forja/checks/01-book.spec.js": PASSING,
        ".forja/checks/02-cancel.spec.js": FAILING,
        ".forja/checks/03-loop.spec.js": UNREADABLE,
        ".forja/checks/04-escape.spec.js": ESCAPING,
    }
    outcomes = await run_acceptance(checker, site.url + "/", scripts, timeout_s=20)
    by_title = {o.title: o for o in outcomes}
    assert [o.title for o in outcomes] == [
        "Book Friday for Ana: it appears in the list",
        "Open About us: its page says who we are",
        "Cancel Ana's booking: it leaves the list",
        "03-loop.spec.js",
        "Leave the app",
        "Run code in the page",
    ]
    booked = by_title["Book Friday for Ana: it appears in the list"]
    assert booked.passed, booked.message
    assert booked.screenshot is not None and booked.screenshot[:3] == b"\xff\xd8\xff"
    assert by_title["Open About us: its page says who we are"].passed

    cancel = by_title["Cancel Ana's booking: it leaves the list"]
    assert not cancel.passed
    assert cancel.message.startswith("line 4 (`await page.getByRole('button', { name: 'Cancel' }).click();`): ")
    assert "Timeout" in cancel.message
    assert "Book a cut" in cancel.detail  # the page's text, for the model
    assert cancel.screenshot is not None

    loop = by_title["03-loop.spec.js"]
    assert not loop.passed and "line 2" in loop.message and "cannot start a step" in loop.message

    leave = by_title["Leave the app"]
    assert not leave.passed and "the app's own pages only" in leave.message
    evaluate = by_title["Run code in the page"]
    assert not evaluate.passed and "`.evaluate(...)` is not one of the steps" in evaluate.message
    # Only the app's own pages were asked for.
    assert set(site.requested) <= {"/", "/about"}


# A value's `toMatch` runs in Forja's process, on the text of a page the app wrote: with RE2, never backtracking.
PLANTED_HEADING = "<!doctype html><title>Planted</title><h1>" + "a" * 36 + "!</h1>"
MATCHING = """test('The heading is all a', async ({ page }) => {
  await page.goto('/');
  const text = await page.getByRole('heading').textContent();
  expect(text).toMatch(/^(a+)+$/);
});
test('The heading repeats itself', async ({ page }) => {
  await page.goto('/');
  const text = await page.getByRole('heading').textContent();
  expect(text).toMatch(/^(a+)\\1!$/);
});
test('The heading ends with a bang', async ({ page }) => {
  await page.goto('/');
  const text = await page.getByRole('heading').textContent();
  expect(text).toMatch(/^(A+)+!$/i);
});
"""


async def test_a_values_pattern_runs_in_linear_time_and_one_re2_cannot_run_fails_in_words(
    checker: PageChecker, sites: list[Site]
) -> None:
    site = Site({"/": (200, PLANTED_HEADING)})
    sites.append(site)
    started = time.monotonic()
    outcomes = await run_acceptance(checker, site.url + "/", {".forja/checks/01-a.spec.js": MATCHING}, timeout_s=20)
    took = time.monotonic() - started
    print(f"three checks, one with ^(a+)+$ over {len(PLANTED_HEADING)} characters of page: {took:.1f} s")
    # With Python's re the first alone would take hours, and no timeout can stop it on the event loop.
    assert took < 60
    all_a, repeats, bang = outcomes
    assert not all_a.passed and all_a.message.endswith(f"expected '{'a' * 36}!' toMatch re.compile('^(a+)+$').")
    assert not repeats.passed and "Forja runs patterns in linear time (RE2)" in repeats.message
    assert "refers back to a group" in repeats.message
    assert bang.passed, bang.message
