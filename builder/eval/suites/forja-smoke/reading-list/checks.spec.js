import { test, expect } from '@playwright/test';

test('Filter by Reading: only the book being read shows', async ({ page }) => {
  await page.goto('/');
  await page.getByRole('textbox').first().fill('Dune');
  await page.getByRole('combobox').first().selectOption('Reading');
  await page.getByRole('button', { name: /add/i }).first().click();
  await expect(page.getByText('Dune').first()).toBeVisible();
  await page.getByRole('textbox').first().fill('Emma');
  await page.getByRole('combobox').first().selectOption('Read');
  await page.getByRole('button', { name: /add/i }).first().click();
  await expect(page.getByText('Emma').first()).toBeVisible();
  await page.getByRole('button', { name: /^reading/i }).first().click();
  await expect(page.getByText('Dune').first()).toBeVisible();
  await expect(page.getByText('Emma')).not.toBeVisible();
});

test('Filter by Read, then All: the filter narrows and All shows every book again', async ({ page }) => {
  await page.goto('/');
  await page.getByRole('textbox').first().fill('The Hobbit');
  await page.getByRole('combobox').first().selectOption('Read');
  await page.getByRole('button', { name: /add/i }).first().click();
  await expect(page.getByText('The Hobbit').first()).toBeVisible();
  await page.getByRole('textbox').first().fill('Moby Dick');
  await page.getByRole('combobox').first().selectOption('Reading');
  await page.getByRole('button', { name: /add/i }).first().click();
  await expect(page.getByText('Moby Dick').first()).toBeVisible();
  await page.getByRole('button', { name: /^read\b/i }).first().click();
  await expect(page.getByText('The Hobbit').first()).toBeVisible();
  await expect(page.getByText('Moby Dick')).not.toBeVisible();
  await page.getByRole('button', { name: /^all\b/i }).first().click();
  await expect(page.getByText('The Hobbit').first()).toBeVisible();
  await expect(page.getByText('Moby Dick').first()).toBeVisible();
});

test('Add books and come back: they and their statuses are kept', async ({ page }) => {
  await page.goto('/');
  await page.getByRole('textbox').first().fill('Middlemarch');
  await page.getByRole('combobox').first().selectOption('Read');
  await page.getByRole('button', { name: /add/i }).first().click();
  await expect(page.getByText('Middlemarch').first()).toBeVisible();
  await page.getByRole('textbox').first().fill('Ulysses');
  await page.getByRole('combobox').first().selectOption('Reading');
  await page.getByRole('button', { name: /add/i }).first().click();
  await expect(page.getByText('Ulysses').first()).toBeVisible();
  await page.reload();
  await expect(page.getByText('Middlemarch').first()).toBeVisible();
  await expect(page.getByText('Ulysses').first()).toBeVisible();
  await page.getByRole('button', { name: /^read\b/i }).first().click();
  await expect(page.getByText('Middlemarch').first()).toBeVisible();
  await expect(page.getByText('Ulysses')).not.toBeVisible();
});
