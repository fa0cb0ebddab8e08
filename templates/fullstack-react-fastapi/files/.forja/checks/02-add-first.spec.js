import { test, expect } from '@playwright/test';

test([[ plan_checks[1]|tojson ]], async ({ page }) => {
  await page.goto('/');
  // Once the page is drawn, the list has loaded when "Loading…" is gone.
  await expect(page.getByRole('heading', { level: 1 })).toBeVisible();
  await expect(page.getByText('Loading…')).toBeHidden();
  await page.getByRole('textbox', { name: [[ ("New " ~ item_noun)|tojson ]] }).fill('First');
  await page.getByRole('button', { name: 'Add', exact: true }).click();
  // The list shows what the server stored, newest first.
  await expect(page.getByRole('listitem').first()).toHaveText('First');
  await expect(page.getByRole('alert')).toBeHidden();
});
