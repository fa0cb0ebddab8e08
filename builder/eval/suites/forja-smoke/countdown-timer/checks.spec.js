import { test, expect } from '@playwright/test';

test('Set 2 minutes 30 seconds and start: it counts down', async ({ page }) => {
  await page.goto('/');
  await page.getByLabel(/min/i).first().fill('2');
  await page.getByLabel(/sec/i).first().fill('30');
  await page.getByRole('button', { name: /start/i }).first().click();
  await expect(page.getByText(/\b0?2:2\d\b/).filter({ visible: true }).first()).toBeVisible();
});

test('Pause: the time left stays where it is', async ({ page }) => {
  await page.goto('/');
  await page.getByLabel(/min/i).first().fill('0');
  await page.getByLabel(/sec/i).first().fill('4');
  await page.getByRole('button', { name: /start/i }).first().click();
  await expect(page.getByText(/\b0?0:0[0-3]\b/).filter({ visible: true }).first()).toBeVisible();
  await page.getByRole('button', { name: /pause|stop/i }).first().click();
  await page.waitForTimeout(4500);
  await expect(page.getByText(/\b0?0:0[1-3]\b/).filter({ visible: true }).first()).toBeVisible();
});

test('Reset: back to the time that was set, and it stays there', async ({ page }) => {
  await page.goto('/');
  await page.getByLabel(/min/i).first().fill('1');
  await page.getByLabel(/sec/i).first().fill('15');
  await page.getByRole('button', { name: /start/i }).first().click();
  await expect(page.getByText(/\b0?1:1[0-4]\b/).filter({ visible: true }).first()).toBeVisible();
  await page.getByRole('button', { name: /reset/i }).first().click();
  await expect(page.getByText(/\b0?1:15\b/).filter({ visible: true }).first()).toBeVisible();
  await page.waitForTimeout(1500);
  await expect(page.getByText(/\b0?1:15\b/).filter({ visible: true }).first()).toBeVisible();
});
