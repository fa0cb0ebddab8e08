import { test, expect } from '@playwright/test';

test([[ plan_checks[3]|tojson ]], async ({ page }) => {
  await page.goto('/');
  const html = page.locator('html');
  const button = page.getByRole('button', { name: 'Switch between light and dark mode' });
[% if dark %]
  await expect(html).toHaveClass(/\bdark\b/);
  await button.click();
  await expect(html).not.toHaveClass(/\bdark\b/);
  await button.click();
  await expect(html).toHaveClass(/\bdark\b/);
[% else %]
  await expect(html).not.toHaveClass(/\bdark\b/);
  await button.click();
  await expect(html).toHaveClass(/\bdark\b/);
  await button.click();
  await expect(html).not.toHaveClass(/\bdark\b/);
[% endif %]
});
