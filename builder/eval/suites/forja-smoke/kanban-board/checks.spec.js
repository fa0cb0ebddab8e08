import { test, expect } from '@playwright/test';

test('Add a card: it shows in To do, not in Doing or Done', async ({ page }) => {
  await page.goto('/');
  await page.getByRole('textbox').first().fill('Write the quarterly report');
  await page.getByRole('button', { name: /add/i }).first().click();
  await expect(page.getByText('Write the quarterly report')).toBeVisible();
  await expect(page.getByRole('heading', { name: /to ?do/i }).first().locator('xpath=following::*').filter({ hasText: 'Write the quarterly report' }).first()).toBeVisible();
  await expect(page.getByRole('heading', { name: /doing/i }).first().locator('xpath=following::*').filter({ hasText: 'Write the quarterly report' })).toHaveCount(0);
});

test('Move a card to Doing, then to Done: it ends in the Done column', async ({ page }) => {
  await page.goto('/');
  await page.getByRole('textbox').first().fill('Fix the login page');
  await page.getByRole('button', { name: /add/i }).first().click();
  await expect(page.getByText('Fix the login page')).toBeVisible();
  await page.getByRole('button', { name: /doing/i }).first().click();
  await expect(page.getByRole('heading', { name: /doing/i }).first().locator('xpath=following::*').filter({ hasText: 'Fix the login page' }).first()).toBeVisible();
  await expect(page.getByRole('heading', { name: /done/i }).first().locator('xpath=following::*').filter({ hasText: 'Fix the login page' })).toHaveCount(0);
  await page.getByRole('button', { name: /done/i }).first().click();
  await expect(page.getByRole('heading', { name: /done/i }).first().locator('xpath=following::*').filter({ hasText: 'Fix the login page' }).first()).toBeVisible();
});

test('Move a card to Done and come back: it is still in Done', async ({ page }) => {
  await page.goto('/');
  await page.getByRole('textbox').first().fill('Book the venue');
  await page.getByRole('button', { name: /add/i }).first().click();
  await expect(page.getByText('Book the venue')).toBeVisible();
  await page.getByRole('button', { name: /done/i }).first().click();
  await expect(page.getByRole('heading', { name: /done/i }).first().locator('xpath=following::*').filter({ hasText: 'Book the venue' }).first()).toBeVisible();
  await page.reload();
  await expect(page.getByText('Book the venue')).toBeVisible();
  await expect(page.getByRole('heading', { name: /done/i }).first().locator('xpath=following::*').filter({ hasText: 'Book the venue' }).first()).toBeVisible();
});
