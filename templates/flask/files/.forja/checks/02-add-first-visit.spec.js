import { test, expect } from '@playwright/test';

test([[ plan_checks[1]|tojson ]], async ({ page }) => {
  await page.goto('/');
  await page.getByLabel('Title').fill('First visit');
  await page.getByLabel('Details').fill('Coffee and a croissant by the window.');
  await page.getByRole('button', { name: [[ ("Add " ~ item_noun)|tojson ]] }).click();
  await expect(page).toHaveURL('/');
  const top = page.getByRole('article').first();
  await expect(top.getByRole('heading')).toHaveText('First visit');
  await expect(top).toContainText('Coffee and a croissant by the window.');
});
