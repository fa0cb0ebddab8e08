import { test, expect } from '@playwright/test';

// The first example is the one the check before this one added.
test([[ plan_checks[2]|tojson ]], async ({ page }) => {
  await page.goto('/');
  await page.getByRole('link', { name: [[ examples[0]|tojson ]], exact: true }).first().click();
  await expect(page).toHaveURL(/\/items\/\w+$/);
  await expect(page.getByRole('heading', { level: 1 })).toHaveText([[ examples[0]|tojson ]]);
  await expect(page.getByText('Written to try the app.')).toBeVisible();
});
