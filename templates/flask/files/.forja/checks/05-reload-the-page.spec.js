import { test, expect } from '@playwright/test';

test([[ plan_checks[4]|tojson ]], async ({ page }) => {
  await page.goto('/');
  await page.getByLabel('Title').fill('Second visit');
  await page.getByLabel('Details').fill('Tea this time.');
  await page.getByRole('button', { name: [[ ("Add " ~ item_noun)|tojson ]] }).click();
  await expect(page.getByRole('article').first()).toContainText('Second visit');
  await page.reload();
  await expect(page.getByRole('article').first()).toContainText('Second visit');
  await expect(page.getByRole('article').first()).toContainText('Tea this time.');
  // Leave the app's data as it was.
  await page.getByRole('link', { name: 'Second visit', exact: true }).first().click();
  await page.getByText('Delete', { exact: true }).click();
  await page.getByRole('button', { name: 'Yes, delete' }).click();
  await expect(page).toHaveURL('/');
});
