import { test, expect } from '@playwright/test';

test('Add an item with a quantity: it shows with that quantity', async ({ page }) => {
  await page.goto('/');
  await page.getByRole('textbox').first().fill('Green apples');
  await page.keyboard.press('Tab');
  await page.keyboard.press('Control+A');
  await page.keyboard.type('7');
  await page.getByRole('button', { name: /add/i }).first().click();
  await expect(page.getByText('Green apples')).toBeVisible();
  await expect(page.getByText(/\b7\b/).first()).toBeVisible();
});

test('Tick an item as bought and clear bought: only the unbought item is left', async ({ page }) => {
  await page.goto('/');
  await page.getByRole('textbox').first().fill('Oat milk');
  await page.keyboard.press('Tab');
  await page.keyboard.press('Control+A');
  await page.keyboard.type('2');
  await page.getByRole('button', { name: /add/i }).first().click();
  await expect(page.getByText('Oat milk')).toBeVisible();
  await page.getByRole('checkbox').first().check();
  await expect(page.getByRole('checkbox').first()).toBeChecked();
  await page.getByRole('textbox').first().fill('Sourdough bread');
  await page.keyboard.press('Tab');
  await page.keyboard.press('Control+A');
  await page.keyboard.type('1');
  await page.getByRole('button', { name: /add/i }).first().click();
  await expect(page.getByText('Sourdough bread')).toBeVisible();
  await page.getByRole('button', { name: /clear/i }).first().click();
  await expect(page.getByText('Oat milk')).toHaveCount(0);
  await expect(page.getByText('Sourdough bread')).toBeVisible();
});

test('Tick an item and come back: it is still there and still ticked', async ({ page }) => {
  await page.goto('/');
  await page.getByRole('textbox').first().fill('Paper towels');
  await page.keyboard.press('Tab');
  await page.keyboard.press('Control+A');
  await page.keyboard.type('3');
  await page.getByRole('button', { name: /add/i }).first().click();
  await expect(page.getByText('Paper towels')).toBeVisible();
  await page.getByRole('checkbox').first().check();
  await page.reload();
  await expect(page.getByText('Paper towels')).toBeVisible();
  await expect(page.getByRole('checkbox').first()).toBeChecked();
});
