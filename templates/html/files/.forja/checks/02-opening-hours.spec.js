import { test, expect } from '@playwright/test';

test([[ plan_checks[1]|tojson ]], async ({ page }) => {
  await page.goto('/');
  await page.getByRole('link', { name: 'Hours & contact' }).click();
  await expect(page).toHaveURL(/#visit$/);
  await expect(page.getByRole('heading', { name: 'Opening hours' })).toBeVisible();
  await expect(page.getByRole('row')).toHaveCount(3);
  await expect(page.getByRole('row').filter({ hasText: 'Monday – Friday' })).toContainText('8:00 – 18:00');
  await expect(page.getByRole('row').filter({ hasText: 'Saturday' })).toContainText('9:00 – 16:00');
  await expect(page.getByRole('row').filter({ hasText: 'Sunday' })).toContainText('Closed');
  await expect(page.getByText(/^(Open now|Closed now)$/)).toBeVisible();
});
