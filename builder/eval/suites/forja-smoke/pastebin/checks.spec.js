import { test, expect } from '@playwright/test';

test('Save a paste: it opens on a page of its own that shows the text', async ({ page }) => {
  await page.goto('/');
  await page.locator('textarea').first().fill('Meeting notes: bring the projector and the blue folder.');
  await page.getByRole('button', { name: /save|create|paste|share|submit/i }).first().click();
  await expect(page).toHaveURL(/\/\/[^/]+\/.+/);
  await expect(page.getByText(/bring the projector and the blue folder/).first()).toBeVisible();
});

test('Save a paste and reload its page: the text is still there', async ({ page }) => {
  await page.goto('/');
  await page.locator('textarea').first().fill('Wifi password for the studio: ask Marta at the front desk.');
  await page.getByRole('button', { name: /save|create|paste|share|submit/i }).first().click();
  await expect(page).toHaveURL(/\/\/[^/]+\/.+/);
  await expect(page.getByText(/ask Marta at the front desk/).first()).toBeVisible();
  await page.reload();
  await expect(page.getByText(/ask Marta at the front desk/).first()).toBeVisible();
});

test('Save text of several lines: every line shows on its page, also after a reload', async ({ page }) => {
  await page.goto('/');
  await page.locator('textarea').first().fill('Packing list\nsleeping bag\nhead torch\nwater filter');
  await page.getByRole('button', { name: /save|create|paste|share|submit/i }).first().click();
  await expect(page).toHaveURL(/\/\/[^/]+\/.+/);
  await expect(page.getByText(/sleeping bag/).first()).toBeVisible();
  await page.reload();
  await expect(page.getByText(/head torch/).first()).toBeVisible();
  await expect(page.getByText(/water filter/).first()).toBeVisible();
});
