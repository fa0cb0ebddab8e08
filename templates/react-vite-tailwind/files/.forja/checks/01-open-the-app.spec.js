import { test, expect } from '@playwright/test';

test([[ plan_checks[0]|tojson ]], async ({ page }) => {
  await page.goto('/');
  await expect(page).toHaveTitle([[ title|tojson ]]);
  await expect(page.getByRole('banner')).toContainText([[ title|tojson ]]);
  await expect(page.getByRole('heading', { level: 1 })).toHaveText([[ ("Your " ~ item_noun_plural)|tojson ]]);
  // A new visitor's list is empty, and says so.
  await expect(page.getByText([[ ("No " ~ item_noun_plural ~ " yet.")|tojson ]])).toBeVisible();
});
