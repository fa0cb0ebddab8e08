import { test, expect } from '@playwright/test';

test('Add a habit: it shows with a checkbox for today', async ({ page }) => {
  await page.goto('/');
  await page.getByRole('textbox').first().fill('Stretch for ten minutes');
  await page.getByRole('button', { name: /add/i }).first().click();
  await expect(page.getByText('Stretch for ten minutes')).toBeVisible();
  await expect(page.getByRole('checkbox').first()).toBeVisible();
  await expect(page.getByRole('checkbox').first()).not.toBeChecked();
});

test('Tick a habit and come back: it is still ticked', async ({ page }) => {
  await page.goto('/');
  await page.getByRole('textbox').first().fill('Read twenty pages');
  await page.getByRole('button', { name: /add/i }).first().click();
  await expect(page.getByText('Read twenty pages')).toBeVisible();
  await page.getByRole('checkbox').first().check();
  await expect(page.getByRole('checkbox').first()).toBeChecked();
  await page.reload();
  await expect(page.getByText('Read twenty pages')).toBeVisible();
  await expect(page.getByRole('checkbox').first()).toBeChecked();
});

test('Two habits, one ticked: after coming back only that one is ticked', async ({ page }) => {
  await page.goto('/');
  await page.getByRole('textbox').first().fill('Practise guitar');
  await page.getByRole('button', { name: /add/i }).first().click();
  await expect(page.getByText('Practise guitar')).toBeVisible();
  await page.getByRole('textbox').first().fill('Walk the dog');
  await page.getByRole('button', { name: /add/i }).first().click();
  await expect(page.getByText('Walk the dog')).toBeVisible();
  await expect(page.getByRole('checkbox')).toHaveCount(2);
  await page.getByRole('checkbox').nth(1).check();
  await page.reload();
  await expect(page.getByText('Practise guitar')).toBeVisible();
  await expect(page.getByText('Walk the dog')).toBeVisible();
  await expect(page.getByRole('checkbox')).toHaveCount(2);
  await expect(page.getByRole('checkbox').nth(1)).toBeChecked();
  await expect(page.getByRole('checkbox').nth(0)).not.toBeChecked();
});
