import { test, expect } from '@playwright/test';

test('Open the poll: the question and its three options', async ({ page }) => {
  await page.goto('/');
  await expect(page.getByText(/team lunch/i).first()).toBeVisible();
  await expect(page.getByRole('radio', { name: /pizza/i })).toBeVisible();
  await expect(page.getByRole('radio', { name: /sushi/i })).toBeVisible();
  await expect(page.getByRole('radio', { name: /tacos/i })).toBeVisible();
});

test('Vote for Sushi: the results count one vote for it', async ({ page }) => {
  await page.goto('/');
  await page.getByRole('radio', { name: /sushi/i }).check();
  await page.getByRole('button', { name: /vote/i }).first().click();
  await expect(page.getByText(/sushi\D{0,30}1\b/i).first()).toBeVisible();
});

test('Three votes, then come back: the counts are kept', async ({ page }) => {
  await page.goto('/');
  await page.getByRole('radio', { name: /tacos/i }).check();
  await page.getByRole('button', { name: /vote/i }).first().click();
  await expect(page.getByText(/tacos\D{0,30}1\b/i).first()).toBeVisible();
  await page.getByRole('radio', { name: /tacos/i }).check();
  await page.getByRole('button', { name: /vote/i }).first().click();
  await expect(page.getByText(/tacos\D{0,30}2\b/i).first()).toBeVisible();
  await page.getByRole('radio', { name: /pizza/i }).check();
  await page.getByRole('button', { name: /vote/i }).first().click();
  await expect(page.getByText(/pizza\D{0,30}1\b/i).first()).toBeVisible();
  await page.reload();
  await expect(page.getByText(/tacos\D{0,30}2\b/i).first()).toBeVisible();
  await expect(page.getByText(/pizza\D{0,30}1\b/i).first()).toBeVisible();
});
