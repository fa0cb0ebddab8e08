import { test, expect } from '@playwright/test';

test([[ plan_checks[1]|tojson ]], async ({ page }) => {
  await page.goto('/');
  await page.getByLabel('Title').fill([[ examples[0]|tojson ]]);
  await page.getByLabel('Details').fill('Written to try the app.');
  await page.getByRole('button', { name: [[ ("Add " ~ item_noun)|tojson ]] }).click();
  await expect(page).toHaveURL('/');
  const top = page.getByRole('article').first();
  await expect(top.getByRole('heading')).toHaveText([[ examples[0]|tojson ]]);
  await expect(top).toContainText('Written to try the app.');
});
