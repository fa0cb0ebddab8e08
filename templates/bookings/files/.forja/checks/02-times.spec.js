import { test, expect } from '@playwright/test';

test([[ plan_checks[1]|tojson ]], async ({ page }) => {
  await page.goto('/');
  const day = page.getByLabel('Day');
  await day.selectOption({ index: 1 });
  const times = page.getByRole('radio');
  await expect(times).toHaveCount(16);
  await expect(times.first()).toHaveAccessibleName('09:00');
  await expect(times.last()).toHaveAccessibleName('16:30');
});
