import { test, expect } from '@playwright/test';

test([[ plan_checks[0]|tojson ]], async ({ page }) => {
  await page.goto('/');
  await expect(page).toHaveTitle([[ title|tojson ]]);
  await expect(page.getByRole('banner')).toContainText([[ title|tojson ]]);
  await expect(page.getByRole('heading', { level: 1 })).toHaveText([[ ("Your " ~ item_noun_plural)|tojson ]]);
  // The page is drawn (above), so the list says "Loading…" until the API has answered, then shows its
  // items or that there are none yet; an error would be an alert.
  await expect(page.getByText('Loading…')).toBeHidden();
  await expect(page.getByRole('alert')).toBeHidden();
});
