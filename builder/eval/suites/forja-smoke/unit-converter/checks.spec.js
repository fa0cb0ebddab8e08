import { test, expect } from '@playwright/test';

test('Type 100 kilometres: the miles box shows 62.1', async ({ page }) => {
  await page.goto('/');
  await page.getByLabel(/kilomet|km/i).first().fill('100');
  await expect(page.getByLabel(/mile/i).first()).toHaveValue(/^62\.1/);
});

test('Type 10 miles: the kilometres box shows 16.09', async ({ page }) => {
  await page.goto('/');
  await page.getByLabel(/mile/i).first().fill('10');
  await expect(page.getByLabel(/kilomet|km/i).first()).toHaveValue(/^16\.(09|1$|1\D)/);
});

test('Convert one way and then back: both directions follow the last box typed in', async ({ page }) => {
  await page.goto('/');
  await page.getByLabel(/kilomet|km/i).first().fill('42.195');
  await expect(page.getByLabel(/mile/i).first()).toHaveValue(/^26\.2/);
  await page.getByLabel(/mile/i).first().fill('3');
  await expect(page.getByLabel(/kilomet|km/i).first()).toHaveValue(/^4\.8($|[23])/);
});
