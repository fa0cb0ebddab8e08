import { test, expect } from '@playwright/test';

test('Open the game: 16 face-down cards and no moves yet', async ({ page }) => {
  await page.goto('/');
  await expect(page.getByText('?', { exact: true })).toHaveCount(16);
  await expect(page.getByText(/moves?\W*0\b|\b0\s*moves?\b/i).filter({ visible: true }).first()).toBeVisible();
});

test('Turn over two cards: the moves counter shows 1', async ({ page }) => {
  await page.goto('/');
  await page.getByText('?', { exact: true }).nth(0).click();
  await page.getByText('?', { exact: true }).nth(1).click();
  await expect(page.getByText(/moves?\W*1\b|\b1\s*moves?\b/i).filter({ visible: true }).first()).toBeVisible();
});

test('New game: the moves go back to 0 and all cards are face down', async ({ page }) => {
  await page.goto('/');
  await page.getByText('?', { exact: true }).nth(2).click();
  await page.getByText('?', { exact: true }).nth(3).click();
  await expect(page.getByText(/moves?\W*1\b|\b1\s*moves?\b/i).filter({ visible: true }).first()).toBeVisible();
  await page.getByRole('button', { name: /new game|restart|play again|reset/i }).first().click();
  await expect(page.getByText(/moves?\W*0\b|\b0\s*moves?\b/i).filter({ visible: true }).first()).toBeVisible();
  await expect(page.getByText('?', { exact: true })).toHaveCount(16);
});
