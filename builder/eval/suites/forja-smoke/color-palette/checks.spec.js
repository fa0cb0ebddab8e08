import { test, expect } from '@playwright/test';

test('Pick #3366cc: the palette starts with it and has five hex codes', async ({ page }) => {
  await page.goto('/');
  await page.locator('input[type=color]').first().fill('#3366cc');
  await expect(page.getByText(/#3366cc\b/i).filter({ visible: true }).first()).toBeVisible();
  await expect(page.getByText(/#[0-9a-f]{6}\b/i).filter({ visible: true }).nth(4)).toBeVisible();
});

test('Pick another colour: the palette follows it', async ({ page }) => {
  await page.goto('/');
  await page.locator('input[type=color]').first().fill('#e07a5f');
  await expect(page.getByText(/#e07a5f\b/i).filter({ visible: true }).first()).toBeVisible();
  await expect(page.getByText(/#[0-9a-f]{6}\b/i).filter({ visible: true }).nth(4)).toBeVisible();
  await page.locator('input[type=color]').first().fill('#2a9d8f');
  await expect(page.getByText(/#2a9d8f\b/i).filter({ visible: true }).first()).toBeVisible();
  await expect(page.getByText(/#e07a5f\b/i)).toHaveCount(0);
});

test('Each of the five swatches has a Copy button that copies its code', async ({ page }) => {
  await page.goto('/');
  await page.locator('input[type=color]').first().fill('#8338ec');
  await expect(page.getByText(/#8338ec\b/i).filter({ visible: true }).first()).toBeVisible();
  await expect(page.getByRole('button', { name: /copy/i }).nth(4)).toBeVisible();
  await page.getByRole('button', { name: /copy/i }).first().click();
  await expect(page.getByText(/copied/i).filter({ visible: true }).first()).toBeVisible();
});
