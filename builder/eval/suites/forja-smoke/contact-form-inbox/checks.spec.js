import { test, expect } from '@playwright/test';

test('Send a message: a thank-you note shows', async ({ page }) => {
  await page.goto('/');
  await page.getByLabel(/name/i).first().fill('Ingrid Berg');
  await page.getByLabel(/e-?mail/i).first().fill('ingrid.berg@example.com');
  await page.getByLabel(/message/i).first().fill('Do you make gluten-free birthday cakes?');
  await page.getByRole('button', { name: /send|submit/i }).first().click();
  await expect(page.getByText(/thank/i).first()).toBeVisible();
});

test('Send a message: the owner reads it on /messages', async ({ page }) => {
  await page.goto('/');
  await page.getByLabel(/name/i).first().fill('Samuel Adeyemi');
  await page.getByLabel(/e-?mail/i).first().fill('samuel.adeyemi@example.com');
  await page.getByLabel(/message/i).first().fill('Could I order two dozen croissants for Saturday morning?');
  await page.getByRole('button', { name: /send|submit/i }).first().click();
  await expect(page.getByText(/thank/i).first()).toBeVisible();
  await page.goto('/messages');
  await expect(page.getByText(/two dozen croissants/i).first()).toBeVisible();
});

test('The owner sees who sent each message, also after a reload', async ({ page }) => {
  await page.goto('/');
  await page.getByLabel(/name/i).first().fill('Chloe Marchetti');
  await page.getByLabel(/e-?mail/i).first().fill('chloe.marchetti@example.com');
  await page.getByLabel(/message/i).first().fill('Is the rye bread baked every day?');
  await page.getByRole('button', { name: /send|submit/i }).first().click();
  await expect(page.getByText(/thank/i).first()).toBeVisible();
  await page.goto('/messages');
  await page.reload();
  await expect(page.getByText(/rye bread baked every day/i).first()).toBeVisible();
  await expect(page.getByText(/Chloe Marchetti/).first()).toBeVisible();
  await expect(page.getByText(/chloe\.marchetti@example\.com/).first()).toBeVisible();
  await expect(page.getByText(/gluten-free birthday cakes/i).first()).toBeVisible();
});
