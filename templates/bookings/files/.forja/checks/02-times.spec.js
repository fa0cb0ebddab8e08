import { test, expect } from '@playwright/test';

test([[ plan_checks[1]|tojson ]], async ({ page }) => {
  await page.goto('/');
  await page.getByLabel('Day').selectOption({ index: 1 });
  await expect(page.getByRole('radio')).toHaveCount(16);
  await expect(page.getByText('09:00', { exact: true })).toBeVisible();
  await expect(page.getByText('16:30', { exact: true })).toBeVisible();
  await expect(page.getByText('17:00', { exact: true })).not.toBeVisible();
});
