import { test, expect } from '@playwright/test';

test('Open the site: the shop name is its heading', async ({ page }) => {
  await page.goto('/');
  await expect(page.getByRole('heading', { name: /sharp/i }).first()).toBeVisible();
});

test('See the services: each with its price in euros', async ({ page }) => {
  await page.goto('/');
  await expect(page.getByText(/haircut/i).filter({ visible: true }).first()).toBeVisible();
  await expect(page.getByText(/€\s?20\b|\b20([.,]00)?\s?€/).filter({ visible: true }).first()).toBeVisible();
  await expect(page.getByText(/beard/i).filter({ visible: true }).first()).toBeVisible();
  await expect(page.getByText(/€\s?12\b|\b12([.,]00)?\s?€/).filter({ visible: true }).first()).toBeVisible();
  await expect(page.getByText(/shave/i).filter({ visible: true }).first()).toBeVisible();
  await expect(page.getByText(/€\s?18\b|\b18([.,]00)?\s?€/).filter({ visible: true }).first()).toBeVisible();
});

test('See the opening hours: the days are named', async ({ page }) => {
  await page.goto('/');
  await expect(page.getByRole('heading', { name: /hours|open/i }).first()).toBeVisible();
  await expect(page.getByText(/\btue/i).filter({ visible: true }).first()).toBeVisible();
  await expect(page.getByText(/\bsat/i).filter({ visible: true }).first()).toBeVisible();
  await expect(page.getByText(/closed/i).filter({ visible: true }).first()).toBeVisible();
});

test('Get in touch: the phone number and a way to book', async ({ page }) => {
  await page.goto('/');
  await expect(page.getByText(/496\D?0732/).filter({ visible: true }).first()).toBeVisible();
  await expect(page.locator('a, button').filter({ hasText: /book|appointment/i }).filter({ visible: true }).first()).toBeVisible();
});
