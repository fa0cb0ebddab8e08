import { test, expect } from '@playwright/test';

test('Add an expense: it shows in the list with its amount', async ({ page }) => {
  await page.goto('/');
  await page.getByRole('textbox').first().fill('Coffee with Maria');
  await page.keyboard.press('Tab');
  await page.keyboard.press('Control+A');
  await page.keyboard.type('4.20');
  await page.getByRole('button', { name: /add/i }).first().click();
  await expect(page.getByText('Coffee with Maria')).toBeVisible();
  await expect(page.getByText(/4\.20?\b/).first()).toBeVisible();
});

test('Add two expenses: the total is their sum', async ({ page }) => {
  await page.goto('/');
  await page.getByRole('textbox').first().fill('Groceries at the market');
  await page.keyboard.press('Tab');
  await page.keyboard.press('Control+A');
  await page.keyboard.type('12.50');
  await page.getByRole('button', { name: /add/i }).first().click();
  await expect(page.getByText('Groceries at the market')).toBeVisible();
  await page.getByRole('textbox').first().fill('Cinema tickets');
  await page.keyboard.press('Tab');
  await page.keyboard.press('Control+A');
  await page.keyboard.type('8.25');
  await page.getByRole('button', { name: /add/i }).first().click();
  await expect(page.getByText('Cinema tickets')).toBeVisible();
  await expect(page.getByText(/20\.75/).first()).toBeVisible();
});

test('Add expenses and come back: they and the total are still there', async ({ page }) => {
  await page.goto('/');
  await page.getByRole('textbox').first().fill('Train ticket to Porto');
  await page.keyboard.press('Tab');
  await page.keyboard.press('Control+A');
  await page.keyboard.type('31.40');
  await page.getByRole('button', { name: /add/i }).first().click();
  await expect(page.getByText('Train ticket to Porto')).toBeVisible();
  await page.getByRole('textbox').first().fill('Bike repair');
  await page.keyboard.press('Tab');
  await page.keyboard.press('Control+A');
  await page.keyboard.type('15.35');
  await page.getByRole('button', { name: /add/i }).first().click();
  await expect(page.getByText('Bike repair')).toBeVisible();
  await expect(page.getByText(/46\.75/).first()).toBeVisible();
  await page.reload();
  await expect(page.getByText('Train ticket to Porto')).toBeVisible();
  await expect(page.getByText('Bike repair')).toBeVisible();
  await expect(page.getByText(/46\.75/).first()).toBeVisible();
});
