import { test, expect } from '@playwright/test';

test('Add an item with its stock: it is listed with its count', async ({ page }) => {
  await page.goto('/');
  await page.getByRole('textbox', { name: /name|item|product/i }).first().fill('Walnut cutting board');
  await page.getByRole('spinbutton', { name: /stock|quantity|qty|count|how many|units|amount/i }).first().fill('3');
  await page.getByRole('button', { name: /add|save|create/i }).first().click();
  await expect(page.getByText(/Walnut cutting board\D*3(?!\d)/).first()).toBeVisible();
});

test('Sell one: the count goes down by one, also after a reload', async ({ page }) => {
  await page.goto('/');
  await page.getByRole('textbox', { name: /name|item|product/i }).first().fill('Enamel camping mug');
  await page.getByRole('spinbutton', { name: /stock|quantity|qty|count|how many|units|amount/i }).first().fill('5');
  await page.getByRole('button', { name: /add|save|create/i }).first().click();
  await expect(page.getByText(/Enamel camping mug\D*5(?!\d)/).first()).toBeVisible();
  await page.locator('li, tr, article').filter({ hasText: 'Enamel camping mug' }).getByRole('button', { name: /sell/i }).first().click();
  await expect(page.getByText(/Enamel camping mug\D*4(?!\d)/).first()).toBeVisible();
  await page.reload();
  await expect(page.getByText(/Enamel camping mug\D*4(?!\d)/).first()).toBeVisible();
});

test('Sell the last one and press Sell again: the count stays at zero and the page says it is out of stock', async ({ page }) => {
  await page.goto('/');
  await page.getByRole('textbox', { name: /name|item|product/i }).first().fill('Brass bottle opener');
  await page.getByRole('spinbutton', { name: /stock|quantity|qty|count|how many|units|amount/i }).first().fill('1');
  await page.getByRole('button', { name: /add|save|create/i }).first().click();
  await expect(page.getByText(/Brass bottle opener\D*1(?!\d)/).first()).toBeVisible();
  await page.locator('li, tr, article').filter({ hasText: 'Brass bottle opener' }).getByRole('button', { name: /sell/i }).first().click();
  await expect(page.getByText(/Brass bottle opener\D*(0(?!\d)|out of stock|sold out)/i).first()).toBeVisible();
  await page.locator('li, tr, article').filter({ hasText: 'Brass bottle opener' }).getByRole('button', { name: /sell/i }).first().click({ force: true });
  await expect(page.getByText(/out of stock|sold out|none left|no stock/i).first()).toBeVisible();
  await page.goto('/');
  await expect(page.getByText(/Brass bottle opener\D*(0(?!\d)|out of stock|sold out)/i).first()).toBeVisible();
  await expect(page.getByText(/Brass bottle opener\D*-\s*\d/)).toHaveCount(0);
});
