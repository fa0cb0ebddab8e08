import { test, expect } from '@playwright/test';

// "First" is the one the check before this one added. This check's browser is a new one, with nothing stored in it.
test([[ plan_checks[2]|tojson ]], async ({ page }) => {
  await page.goto('/');
  const first = page.getByRole('listitem').filter({ hasText: 'First' });
  await expect(first.first()).toBeVisible();
  await page.reload();
  await expect(first.first()).toBeVisible();
  await page.goto('/api/items');
  await expect(page.locator('body')).toContainText('"text":"First"');
});
