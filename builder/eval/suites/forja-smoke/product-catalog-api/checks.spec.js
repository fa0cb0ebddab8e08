import { test, expect } from '@playwright/test';

test('Add a product: it is listed with its price', async ({ page }) => {
  await page.goto('/');
  await page.getByLabel(/name/i).first().fill('Ceramic Teapot');
  await page.getByLabel(/price/i).first().fill('24.50');
  await page.getByRole('button', { name: /add|save|create/i }).first().click();
  await expect(page.getByText(/Ceramic Teapot\D*24[.,]50/).first()).toBeVisible();
});

test('Add a product and come back: it is still listed with its price', async ({ page }) => {
  await page.goto('/');
  await page.getByLabel(/name/i).first().fill('Linen Apron');
  await page.getByLabel(/price/i).first().fill('18.90');
  await page.getByRole('button', { name: /add|save|create/i }).first().click();
  await expect(page.getByText(/Linen Apron\D*18[.,]90?/).first()).toBeVisible();
  await page.reload();
  await expect(page.getByText(/Linen Apron\D*18[.,]90?/).first()).toBeVisible();
});

test('Add a product: /api/products gives it as JSON', async ({ page }) => {
  await page.goto('/');
  await page.getByLabel(/name/i).first().fill('Olive Wood Spoon');
  await page.getByLabel(/price/i).first().fill('7.25');
  await page.getByRole('button', { name: /add|save|create/i }).first().click();
  await expect(page.getByText(/Olive Wood Spoon/).first()).toBeVisible();
  await page.goto('/api/products');
  await expect(page.getByText(/^\s*[\[{][\s\S]*Olive Wood Spoon/).first()).toBeVisible();
  await expect(page.getByText(/Olive Wood Spoon[^{}]*[^\d.]7\.?25\D|[^\d.]7\.?25\D[^{}]*Olive Wood Spoon/).first()).toBeVisible();
  await expect(page.getByText(/Ceramic Teapot/).first()).toBeVisible();
});
