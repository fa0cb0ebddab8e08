import { test, expect } from '@playwright/test';

test([[ plan_checks[4]|tojson ]], async ({ page }) => {
  await page.goto('/');
  await page.getByLabel('Title').fill([[ examples[1]|tojson ]]);
  await page.getByLabel('Details').fill('Written to try it again.');
  await page.getByRole('button', { name: [[ ("Add " ~ item_noun)|tojson ]] }).click();
  await expect(page.getByRole('article').first()).toContainText([[ examples[1]|tojson ]]);
  await page.reload();
  await expect(page.getByRole('article').first()).toContainText([[ examples[1]|tojson ]]);
  await expect(page.getByRole('article').first()).toContainText('Written to try it again.');
  // Leave the app's data as it was.
  await page.getByRole('link', { name: [[ examples[1]|tojson ]], exact: true }).first().click();
  await page.getByText('Delete', { exact: true }).click();
  await page.getByRole('button', { name: 'Yes, delete' }).click();
  await expect(page).toHaveURL('/');
});
