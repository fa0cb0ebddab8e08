import { test, expect } from '@playwright/test';

test([[ plan_checks[0]|tojson ]], async ({ page }) => {
  await page.goto('/');
  await expect(page).toHaveTitle([[ title|tojson ]]);
  await expect(page.getByRole('banner')).toContainText([[ title|tojson ]]);
  await expect(page.getByRole('heading', { level: 1 })).toHaveText([[ title|tojson ]]);
  await expect(page.getByRole('button', { name: 'Book', exact: true })).toBeVisible();
});
