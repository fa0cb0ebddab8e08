import { test, expect } from '@playwright/test';

// "First" is the one the second check added.
test([[ plan_checks[3]|tojson ]], async ({ page }) => {
  await page.goto('/');
  const rows = page.locator('#items > li').filter({ hasText: /^First/ });
  await rows.first().getByRole('button', { name: 'Remove First', exact: true }).click();
  await expect(rows).toHaveCount(0);
  await expect(page.getByRole('alert')).toBeHidden();
});
