import { test, expect } from '@playwright/test';

test('Add a task: it shows in the list', async ({ page }) => {
  await page.goto('/');
  await page.getByRole('textbox').first().fill('Buy bread for Sunday');
  await page.getByRole('button', { name: /add/i }).first().click();
  await expect(page.getByText('Buy bread for Sunday')).toBeVisible();
});

test('Add a task and come back: it is still there', async ({ page }) => {
  await page.goto('/');
  await page.getByRole('textbox').first().fill('Call the plumber');
  await page.getByRole('button', { name: /add/i }).first().click();
  await expect(page.getByText('Call the plumber')).toBeVisible();
  await page.reload();
  await expect(page.getByText('Call the plumber')).toBeVisible();
});

test('Delete a task: it is gone', async ({ page }) => {
  await page.goto('/');
  await page.getByRole('textbox').first().fill('Water the plants');
  await page.getByRole('button', { name: /add/i }).first().click();
  await expect(page.getByText('Water the plants')).toBeVisible();
  await page.getByRole('listitem').filter({ hasText: 'Water the plants' }).getByRole('button', { name: /delete|remove/i }).click();
  await expect(page.getByText('Water the plants')).toHaveCount(0);
});
