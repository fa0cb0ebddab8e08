import { test, expect } from '@playwright/test';

test('Save a note and come back: it is still in the list', async ({ page }) => {
  await page.goto('/');
  await page.getByRole('textbox', { name: /title/i }).first().fill('Garden plans');
  await page.keyboard.press('Tab');
  await page.keyboard.press('Control+A');
  await page.keyboard.type('Plant tomatoes by the fence in May');
  await page.getByRole('button', { name: /save|add/i }).first().click();
  await expect(page.getByText('Garden plans').first()).toBeVisible();
  await page.reload();
  await expect(page.getByText('Garden plans').first()).toBeVisible();
});

test('Search a word of a note\'s text: only that note shows', async ({ page }) => {
  await page.goto('/');
  await page.getByRole('textbox', { name: /title/i }).first().fill('Trip to Iceland');
  await page.keyboard.press('Tab');
  await page.keyboard.press('Control+A');
  await page.keyboard.type('See the volcano and the hot springs');
  await page.getByRole('button', { name: /save|add/i }).first().click();
  await expect(page.getByText('Trip to Iceland').first()).toBeVisible();
  await page.getByRole('textbox', { name: /title/i }).first().fill('Gift for Leo');
  await page.keyboard.press('Tab');
  await page.keyboard.press('Control+A');
  await page.keyboard.type('A red kite and a jigsaw puzzle');
  await page.getByRole('button', { name: /save|add/i }).first().click();
  await expect(page.getByText('Gift for Leo').first()).toBeVisible();
  await page.getByPlaceholder(/search/i).first().fill('volcano');
  await expect(page.getByText('Trip to Iceland').first()).toBeVisible();
  await expect(page.getByText('Gift for Leo')).not.toBeVisible();
});

test('Search a word of a title, then clear the search: all notes show again', async ({ page }) => {
  await page.goto('/');
  await page.getByRole('textbox', { name: /title/i }).first().fill('Book club');
  await page.keyboard.press('Tab');
  await page.keyboard.press('Control+A');
  await page.keyboard.type('Finish the last chapter before Thursday');
  await page.getByRole('button', { name: /save|add/i }).first().click();
  await expect(page.getByText('Book club').first()).toBeVisible();
  await page.getByRole('textbox', { name: /title/i }).first().fill('Car service');
  await page.keyboard.press('Tab');
  await page.keyboard.press('Control+A');
  await page.keyboard.type('Change the oil and check the tyres');
  await page.getByRole('button', { name: /save|add/i }).first().click();
  await expect(page.getByText('Car service').first()).toBeVisible();
  await page.getByPlaceholder(/search/i).first().fill('club');
  await expect(page.getByText('Book club').first()).toBeVisible();
  await expect(page.getByText('Car service')).not.toBeVisible();
  await page.getByPlaceholder(/search/i).first().fill('');
  await expect(page.getByText('Book club').first()).toBeVisible();
  await expect(page.getByText('Car service').first()).toBeVisible();
});
