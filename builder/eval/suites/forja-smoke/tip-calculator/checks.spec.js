import { test, expect } from '@playwright/test';

test('A bill of 84 with a 15% tip for 3 people: tip 12.60, each pays 32.20', async ({ page }) => {
  await page.goto('/');
  await page.getByLabel(/bill/i).first().fill('84');
  await page.getByLabel(/tip/i).first().fill('15');
  await page.getByLabel(/people|person|split|guests|diners/i).first().fill('3');
  await expect(page.getByText(/\b12\.60?\b/).filter({ visible: true }).first()).toBeVisible();
  await expect(page.getByText(/\b32\.20?\b/).filter({ visible: true }).first()).toBeVisible();
});

test('A bill of 47.80 with a 20% tip for 2 people: tip 9.56, each pays 28.68', async ({ page }) => {
  await page.goto('/');
  await page.getByLabel(/bill/i).first().fill('47.80');
  await page.getByLabel(/tip/i).first().fill('20');
  await page.getByLabel(/people|person|split|guests|diners/i).first().fill('2');
  await expect(page.getByText(/\b9\.56\b/).filter({ visible: true }).first()).toBeVisible();
  await expect(page.getByText(/\b28\.68\b/).filter({ visible: true }).first()).toBeVisible();
});

test('Change the number of people: each share is worked out again', async ({ page }) => {
  await page.goto('/');
  await page.getByLabel(/bill/i).first().fill('130');
  await page.getByLabel(/tip/i).first().fill('18');
  await page.getByLabel(/people|person|split|guests|diners/i).first().fill('4');
  await expect(page.getByText(/\b38\.35\b/).filter({ visible: true }).first()).toBeVisible();
  await page.getByLabel(/people|person|split|guests|diners/i).first().fill('5');
  await expect(page.getByText(/\b30\.68\b/).filter({ visible: true }).first()).toBeVisible();
  await expect(page.getByText(/\b38\.35\b/)).toHaveCount(0);
});
