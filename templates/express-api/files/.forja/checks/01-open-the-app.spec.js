import { test, expect } from '@playwright/test';

test([[ plan_checks[0]|tojson ]], async ({ page }) => {
  await page.goto('/');
  await expect(page).toHaveTitle([[ title|tojson ]]);
  await expect(page.getByRole('heading', { name: [[ (item_noun_plural|capitalize)|tojson ]], exact: true })).toBeVisible();
  // The list came from the API: its items, or the words that say there are none yet.
  await expect(page.locator('#items > li, #empty:not([hidden])').first()).toBeVisible();
  await expect(page.getByRole('alert')).toBeHidden();
});
