import { test, expect } from '@playwright/test';

// The first example is the one the second check added.
test([[ plan_checks[3]|tojson ]], async ({ page }) => {
  await page.goto('/');
  await page.getByRole('link', { name: [[ examples[0]|tojson ]], exact: true }).first().click();
  await expect(page.getByRole('heading', { level: 1 })).toHaveText([[ examples[0]|tojson ]]);
  await page.getByText('Delete', { exact: true }).click();
  await page.getByRole('button', { name: 'Yes, delete' }).click();
  await expect(page).toHaveURL('/');
  await expect(page.getByRole('link', { name: [[ examples[0]|tojson ]], exact: true })).toHaveCount(0);
});
