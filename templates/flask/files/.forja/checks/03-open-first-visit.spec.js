import { test, expect } from '@playwright/test';

// "First visit" is the one the check before this one added.
test([[ plan_checks[2]|tojson ]], async ({ page }) => {
  await page.goto('/');
  await page.getByRole('link', { name: 'First visit', exact: true }).first().click();
  await expect(page).toHaveURL(/\/items\/\w+$/);
  await expect(page.getByRole('heading', { level: 1 })).toHaveText('First visit');
  await expect(page.getByText('Coffee and a croissant by the window.')).toBeVisible();
});
