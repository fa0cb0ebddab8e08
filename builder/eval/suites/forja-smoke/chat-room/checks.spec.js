import { test, expect } from '@playwright/test';

test('Send a message: it shows with its name', async ({ page }) => {
  await page.goto('/');
  await page.getByRole('textbox', { name: /name/i }).first().fill('Rosa Delgado');
  await page.getByRole('textbox', { name: /message/i }).first().fill('Anyone up for coffee at ten?');
  await page.getByRole('button', { name: /send/i }).first().click();
  await expect(page.getByText(/Anyone up for coffee at ten/).first()).toBeVisible();
  await expect(page.getByText(/Rosa Delgado/).first()).toBeVisible();
});

test('Send a message and reload: it is still there', async ({ page }) => {
  await page.goto('/');
  await page.getByRole('textbox', { name: /name/i }).first().fill('Kenji Sato');
  await page.getByRole('textbox', { name: /message/i }).first().fill('The train is late, start without me');
  await page.getByRole('button', { name: /send/i }).first().click();
  await expect(page.getByText(/The train is late, start without me/).first()).toBeVisible();
  await page.reload();
  await expect(page.getByText(/The train is late, start without me/).first()).toBeVisible();
  await expect(page.getByText(/Kenji Sato/).first()).toBeVisible();
});

test('Another visitor sees the earlier messages and can answer', async ({ page }) => {
  await page.goto('/');
  await expect(page.getByText(/Anyone up for coffee at ten/).first()).toBeVisible();
  await page.getByRole('textbox', { name: /name/i }).first().fill('Lena Fischer');
  await page.getByRole('textbox', { name: /message/i }).first().fill('Count me in for coffee!');
  await page.getByRole('button', { name: /send/i }).first().click();
  await expect(page.getByText(/Count me in for coffee/).first()).toBeVisible();
  await expect(page.getByText(/Lena Fischer/).first()).toBeVisible();
});
