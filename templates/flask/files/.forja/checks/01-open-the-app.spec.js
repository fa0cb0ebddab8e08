import { test, expect } from '@playwright/test';

test([[ plan_checks[0]|tojson ]], async ({ page }) => {
  await page.goto('/');
  await expect(page).toHaveTitle([[ title|tojson ]]);
  await expect(page.getByRole('heading', { level: 1 })).toHaveText([[ title|tojson ]]);
  // The list: its items, newest first, or the words that say there are none yet.
  await expect(page.locator('.stack > article, .stack > .empty').first()).toBeVisible();
});
