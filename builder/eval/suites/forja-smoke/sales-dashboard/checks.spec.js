import { test, expect } from '@playwright/test';

test('Open the dashboard: a chart and the total of January to June', async ({ page }) => {
  await page.goto('/');
  await expect(page.locator('svg, canvas, [role=img], figure').first()).toBeVisible();
  await expect(page.getByText(/7[,\s]?600/).first()).toBeVisible();
});

test('Add a month: the total updates', async ({ page }) => {
  await page.goto('/');
  await expect(page.getByText(/7[,\s]?600/).first()).toBeVisible();
  await page.getByRole('textbox').first().fill('July');
  await page.keyboard.press('Tab');
  await page.keyboard.press('Control+A');
  await page.keyboard.type('1500');
  await page.getByRole('button', { name: /add/i }).first().click();
  await expect(page.getByText(/9[,\s]?100/).first()).toBeVisible();
  await expect(page.getByText(/7[,\s]?600/)).toHaveCount(0);
  await expect(page.locator('svg, canvas, [role=img], figure').first()).toBeVisible();
});

test('Add a month and come back: the new total is still there', async ({ page }) => {
  await page.goto('/');
  await page.getByRole('textbox').first().fill('July');
  await page.keyboard.press('Tab');
  await page.keyboard.press('Control+A');
  await page.keyboard.type('2000');
  await page.getByRole('button', { name: /add/i }).first().click();
  await expect(page.getByText(/9[,\s]?600/).first()).toBeVisible();
  await page.reload();
  await expect(page.getByText(/9[,\s]?600/).first()).toBeVisible();
  await expect(page.getByText(/7[,\s]?600/)).toHaveCount(0);
});
