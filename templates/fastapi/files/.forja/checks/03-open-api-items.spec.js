import { test, expect } from '@playwright/test';

// "First" is the one the check before this one added.
test([[ plan_checks[2]|tojson ]], async ({ page }) => {
  await page.goto('/api/items');
  await expect(page.locator('body')).toHaveText(/^\s*\[\s*\{.*\}\s*\]\s*$/s);
  await expect(page.locator('body')).toContainText('"text":"First"');
});
